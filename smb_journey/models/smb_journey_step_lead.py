from odoo import api, models
from odoo.tools import formatLang

from odoo.addons.smb_journey.tools.registry import Provider


class SmbJourneyStep(models.Model):
    """The ``lead`` template name: the triggering lead and its salesperson,
    for the journeys of the CRM lead triggers (smb_journey_trigger_lead.py)."""

    _inherit = "smb.journey.step"

    @api.model
    def _context_providers(self):
        return super()._context_providers() | {
            "lead": Provider(self.env._("The triggering lead or opportunity, with its salesperson"), fields=(
                "name", "contact_name", "partner_name", "email", "phone", "stage", "expected_revenue",
                "salesperson.name", "salesperson.email", "salesperson.phone", "team"), labels={
                "name": self.env._("Lead"), "contact_name": self.env._("Contact name"),
                "partner_name": self.env._("Company name"), "email": self.env._("Email"),
                "phone": self.env._("Phone"), "stage": self.env._("Stage"),
                "expected_revenue": self.env._("Expected revenue"), "salesperson.name": self.env._("Salesperson"),
                "salesperson.email": self.env._("Salesperson's email"),
                "salesperson.phone": self.env._("Salesperson's phone"), "team": self.env._("Sales team")}),
        }

    def _context_lead(self, enrollments, envs):
        result = {}
        # sudo: the lead's details go into its own customer's email, whoever previews or runs the step
        for enrollment in enrollments.sudo().filtered("lead_id"):
            env = envs[enrollment.id]
            lead = enrollment.lead_id.with_env(env).sudo()
            user = lead.user_id
            result[enrollment.id] = {
                "name": lead.name or "",
                "contact_name": lead.contact_name or lead.partner_id.name or "",
                "partner_name": lead.partner_name or lead.partner_id.commercial_company_name or "",
                "email": lead.email_from or "",
                "phone": lead.phone or "",
                "stage": lead.stage_id.name or "",
                "expected_revenue": formatLang(env, lead.expected_revenue, currency_obj=lead.company_currency),
                "salesperson": {"name": user.name or "", "email": user.email or "", "phone": user.phone or ""},
                "team": lead.team_id.name or "",
            }
        return result

    def _sample_lead(self):
        company = self.journey_id.company_id or self.env.company
        user = self.env.user
        return {
            "name": "Office chairs for 12 desks", "contact_name": "Ann Smith", "partner_name": "Smith & Co",
            "email": "ann@example.com", "phone": "+32 470 12 34 56", "stage": "Qualified",
            "expected_revenue": formatLang(self.env, 4800.0, currency_obj=company.currency_id),
            "salesperson": {"name": user.name or "Marc Demo", "email": user.email or "marc@example.com",
                            "phone": user.phone or ""},
            "team": "Sales",
        }
