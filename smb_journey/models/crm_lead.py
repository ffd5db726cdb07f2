from collections import defaultdict

from odoo import api, fields, models
from odoo.fields import Domain


class CrmLead(models.Model):
    _name = "crm.lead"
    _inherit = ["crm.lead", "smb.customer.insight.mixin"]

    smb_enrollment_count = fields.Integer("Journey Count", compute="_compute_smb_enrollment_count")

    @api.model_create_multi
    def create(self, vals_list):
        leads = super().create(vals_list)
        # the lead nurturing journeys: in the events cron (see smb.journey.event)
        self.env["smb.journey.event"]._enqueue("lead_created", leads)
        return leads

    def write(self, vals):
        """One shop event per write, the one that matters most: converted
        into an opportunity (which also says its stage), else moved to a
        stage (a won stage ends the journeys), else lost (crm writes the
        probability 0 of Mark as Lost after archiving)."""
        res = super().write(vals)
        if vals.get("type") == "opportunity":
            self.env["smb.journey.event"]._enqueue("lead_created", self)
        elif "stage_id" in vals:
            self.env["smb.journey.event"]._enqueue("lead_moved", self)
        elif ("probability" in vals and not vals["probability"]) or vals.get("lost_reason_id"):
            self.env["smb.journey.event"]._enqueue("lead_closed", self)
        return res

    def _compute_smb_enrollment_count(self):
        """Journeys of the lead itself or of its customer's company: one query for all leads."""
        commercial = {lead.id: lead.partner_id.commercial_partner_id for lead in self}
        partners = self.env["res.partner"].union(*commercial.values())
        domain = Domain("lead_id", "in", self.ids)
        if partners:
            domain |= Domain("partner_id", "child_of", partners.ids)
        by_lead, by_commercial = defaultdict(set), defaultdict(set)
        for enrollment in self.env["smb.journey.enrollment"].search(domain) if self.ids else []:
            by_lead[enrollment.lead_id.id].add(enrollment.id)
            by_commercial[enrollment.partner_id.commercial_partner_id.id].add(enrollment.id)
        for lead in self:
            found = by_lead[lead.id] | (by_commercial[commercial[lead.id].id] if commercial[lead.id] else set())
            lead.smb_enrollment_count = len(found) if lead.id else 0

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
