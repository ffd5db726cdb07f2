from odoo import fields, models


class SmbJourney(models.Model):
    """A journey's webhook calls, counted for its form (the webhook step is
    smb_journey_step_webhook.py)."""

    _inherit = "smb.journey"

    webhook_call_count = fields.Integer("Webhook Calls", compute="_compute_webhook_counts")
    webhook_dead_count = fields.Integer("Dead Webhook Calls", compute="_compute_webhook_counts")

    def _compute_webhook_counts(self):
        # sudo: a journey's own totals, whoever reads the journey
        counts = {
            (journey.id, state): count
            for journey, state, count in self.env["smb.journey.webhook.delivery"].sudo()._read_group(
                [("journey_id", "in", self.ids)], ["journey_id", "state"], ["__count"])
        }
        for journey in self:
            journey.webhook_call_count = sum(n for (j, __), n in counts.items() if j == journey.id)
            journey.webhook_dead_count = counts.get((journey.id, "dead"), 0)

    def action_view_webhook_calls(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("smb_journey.smb_journey_webhook_delivery_action")
        action["domain"] = [("journey_id", "=", self.id)]
        if self.webhook_dead_count:
            action["context"] = {"search_default_filter_failing": 1}
        return action
