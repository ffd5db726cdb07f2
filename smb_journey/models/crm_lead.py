from odoo import fields, models


class CrmLead(models.Model):
    _name = "crm.lead"
    _inherit = ["crm.lead", "smb.customer.insight.mixin"]

    smb_enrollment_count = fields.Integer("Journey Count", compute="_compute_smb_enrollment_count")

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
