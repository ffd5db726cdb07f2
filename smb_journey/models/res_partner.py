from odoo import api, fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    smb_enrollment_ids = fields.One2many("smb.journey.enrollment", "partner_id", "Journeys")
    smb_enrollment_count = fields.Integer("Journey Count", compute="_compute_smb_enrollment_count")
    smb_journey_optout = fields.Boolean(
        "Opted Out of Journeys", tracking=True,
        help="Receives no journey email; other emails (orders, invoices) still go out.",
    )

    def _compute_smb_enrollment_count(self):
        counts = dict(self.env["smb.journey.enrollment"]._read_group(
            [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]))
        for partner in self:
            partner.smb_enrollment_count = counts.get(partner, 0)

    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        with_email = partners.filtered("email")
        if with_email and not self.env.context.get("smb_journey_defer_partner_trigger"):
            self.env["smb.journey"]._fire_trigger("partner_created", with_email)
        return partners

    def write(self, vals):
        res = super().write(vals)
        if vals.get("smb_journey_optout"):
            self.env["smb.journey.enrollment"].sudo().search([
                ("partner_id", "in", self.ids), ("state", "in", ("running", "error")),
            ])._exit("unsubscribed")
        return res

    def action_view_smb_enrollments(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("smb_journey.smb_journey_enrollment_action")
        action["domain"] = [("partner_id", "child_of", self.commercial_partner_id.ids)]
        action["context"] = {"default_partner_id": self[:1].id}
        return action

    def action_smb_enroll(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Enrol in Journey"),
            "res_model": "smb.journey.enroll.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_partner_ids": self.ids},
        }
