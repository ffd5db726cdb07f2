from odoo import api, fields, models


class CrmLead(models.Model):
    _inherit = "crm.lead"

    smb_enrollment_count = fields.Integer("Journey Count", compute="_compute_smb_enrollment_count")
    smb_tier_id = fields.Many2one("smb.loyalty.tier", "Loyalty Tier", compute="_compute_smb_tier")
    smb_tier_color = fields.Integer(compute="_compute_smb_tier")
    smb_trailing_spend = fields.Monetary(
        "Customer's Trailing Spend", compute="_compute_smb_tier", currency_field="company_currency")
    smb_churn_band = fields.Selection(
        [("low", "Low"), ("medium", "Medium"), ("high", "High")], "Churn Risk", compute="_compute_smb_tier")
    smb_clv = fields.Monetary("Predicted Value (12 months)", compute="_compute_smb_tier", currency_field="company_currency")

    @api.depends("partner_id", "company_id")
    def _compute_smb_tier(self):
        for lead in self:
            customer = lead.partner_id.commercial_partner_id.with_company(lead.company_id or self.env.company)
            lead.smb_tier_id = customer.smb_tier_id
            lead.smb_tier_color = customer.smb_tier_id.color
            lead.smb_trailing_spend = customer.smb_trailing_spend
            lead.smb_churn_band = customer.smb_churn_band
            lead.smb_clv = customer.smb_clv

    def _compute_smb_enrollment_count(self):
        Enrollment = self.env["smb.journey.enrollment"]
        for lead in self:
            domain = [("lead_id", "=", lead.id)]
            if lead.partner_id:
                domain = ["|", ("partner_id", "child_of", lead.partner_id.commercial_partner_id.id)] + domain
            lead.smb_enrollment_count = Enrollment.search_count(domain) if lead.id else 0

    def action_view_smb_enrollments(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("smb_journey.smb_journey_enrollment_action")
        domain = [("lead_id", "=", self.id)]
        if self.partner_id:
            domain = ["|", ("partner_id", "child_of", self.partner_id.commercial_partner_id.id)] + domain
        action["domain"] = domain
        return action

    def action_smb_enroll(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Enrol in Journey"),
            "res_model": "smb.journey.enroll.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_lead_ids": self.ids},
        }
