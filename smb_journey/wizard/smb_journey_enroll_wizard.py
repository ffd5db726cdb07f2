from odoo import api, fields, models
from odoo.exceptions import UserError


class SmbJourneyEnrollWizard(models.TransientModel):
    _name = "smb.journey.enroll.wizard"
    _description = "Enrol Customers in a Journey"

    journey_id = fields.Many2one("smb.journey", required=True, domain="[('state', '=', 'running')]")
    partner_ids = fields.Many2many("res.partner", string="Customers")
    lead_ids = fields.Many2many("crm.lead", string="Leads")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        lead_ids = self.env.context.get("default_lead_ids")
        if lead_ids and "partner_ids" in fields_list:
            values["partner_ids"] = [(6, 0, self.env["crm.lead"].browse(lead_ids).partner_id.ids)]
        return values

    def action_enroll(self):
        """Enrol the customers; a lead without a customer gets one from its contact details."""
        self.ensure_one()
        enrollments = self.env["smb.journey.enrollment"]
        for lead in self.lead_ids:
            if not lead.partner_id:
                if not lead.email_from:
                    raise UserError(self.env._("Lead %s has no email: add one or a customer first.", lead.name))
                lead._handle_partner_assignment(create_missing=True)
            enrollments |= self.journey_id.enroll(lead.partner_id, lead=lead)
        others = self.partner_ids - self.lead_ids.partner_id
        if others:
            enrollments |= self.journey_id.enroll(others)
        skipped = len(self.partner_ids | self.lead_ids.partner_id) - len(enrollments)
        _ = self.env._
        if len(enrollments) == 1:
            message = _("1 customer enrolled in %(journey)s.", journey=self.journey_id.name)
        else:
            message = _("%(count)s customers enrolled in %(journey)s.", count=len(enrollments),
                        journey=self.journey_id.name)
        if skipped == 1:
            message += " " + _("1 left out: outside the audience, already in the journey, or not allowed back yet.")
        elif skipped > 1:
            message += " " + _(
                "%(count)s left out: outside the audience, already in the journey, or not allowed back yet.",
                count=skipped)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": message,
                "type": "success" if enrollments else "warning",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
