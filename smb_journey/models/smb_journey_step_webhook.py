import uuid

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.smb_journey.tools.registry import StepType

from .smb_journey_step import StepResult


class SmbJourneyStep(models.Model):
    """The webhook step: a signed JSON call to an endpoint per customer,
    put in the outbox (smb.journey.webhook.delivery) and made by the
    delivery cron, outside the engine's transaction."""

    _inherit = "smb.journey.step"

    webhook_id = fields.Many2one(
        "smb.journey.webhook", "Webhook", check_company=True, ondelete="restrict",
        domain="[('company_id', '=', company_id)]", groups="smb_journey.group_journey_user",
        help="Where the calls go. Sales staff, who read journeys, do not see it: a webhook's URL may "
        "itself be a credential.")
    webhook_done_count = fields.Integer("Calls Delivered", compute="_compute_webhook_statistics")
    webhook_pending_count = fields.Integer("Calls Pending", compute="_compute_webhook_statistics")
    webhook_dead_count = fields.Integer("Calls Dead", compute="_compute_webhook_statistics")

    @api.model
    def _step_types(self):
        _ = self.env._
        return super()._step_types() | {
            "webhook": StepType(
                _("Call a webhook"), icon="fa-plug", treatment=True,
                reasons=(("webhook_queued", _("Webhook call queued")),),
                help=_("POSTs the customer and the journey, signed, to a URL of another system.")),
        }

    def _compute_webhook_statistics(self):
        # sudo: a step's own totals, whoever reads the step
        counts = {
            (step.id, state): count
            for step, state, count in self.env["smb.journey.webhook.delivery"].sudo()._read_group(
                [("step_id", "in", self.ids)], ["step_id", "state"], ["__count"])
        }
        for step in self:
            step.webhook_done_count = counts.get((step.id, "done"), 0)
            step.webhook_pending_count = counts.get((step.id, "pending"), 0)
            step.webhook_dead_count = counts.get((step.id, "dead"), 0)

    def action_view_webhook_deliveries(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("smb_journey.smb_journey_webhook_delivery_action")
        action["domain"] = [("step_id", "=", self.id)]
        return action

    def _check_webhook(self):
        if not self.sudo().webhook_id.active:
            raise UserError(self.env._("Webhook step %s needs an active webhook.", self.name))

    def _describe_webhook(self):
        # sudo: the diagram names the endpoint for whoever reads the journey (not its URL)
        return self.sudo().webhook_id.name or ""

    @api.model
    def _diagram_depends(self):
        return super()._diagram_depends() + ["webhook_id"]

    def _run_webhook(self, enrollments):
        """Queue one call per enrollment in the outbox and wake the delivery
        cron: no network call here, while the engine holds the enrollments."""
        now = fields.Datetime.now()
        journey, endpoint = self.journey_id, self.webhook_id
        records = self._webhook_records(enrollments)
        vals_list = []
        for enrollment in enrollments:
            partner = enrollment.partner_id
            key = str(uuid.uuid4())
            vals_list.append({
                "webhook_id": endpoint.id,
                "company_id": enrollment.company_id.id,
                "journey_id": journey.id,
                "step_id": self.id,
                "enrollment_id": enrollment.id,
                "partner_id": partner.id,
                "idempotency_key": key,
                "next_try_at": now,
                "payload": {
                    "event": "journey.step",
                    "id": key,
                    "created_at": now.isoformat() + "Z",
                    "journey": {"id": journey.id, "name": journey.name},
                    "step": {"id": self.id, "name": self.name},
                    "enrollment_id": enrollment.id,
                    "customer": {
                        "id": partner.id, "name": partner.name or "",
                        "email": partner.email or "", "phone": partner.phone or "",
                    },
                    "record": records.get(enrollment.id),
                    "company": {"id": enrollment.company_id.id, "name": enrollment.company_id.name},
                },
            })
        # sudo: the outbox is technical, filled by the engine whoever runs it
        self.env["smb.journey.webhook.delivery"].sudo().create(vals_list)
        self.env.ref("smb_journey.ir_cron_webhook_delivery")._trigger()
        return [StepResult(enrollment, "done", "webhook_queued", message=endpoint.name) for enrollment in enrollments]

    def _webhook_records(self, enrollments):
        """{enrollment id: {model, id, name}} of the triggering records still
        there (one read per model)."""
        result = {}
        # sudo: the record is named in the payload whoever runs the engine
        for model, group in enrollments.sudo().filtered("res_model").grouped("res_model").items():
            records = self.env[model].sudo().browse(group.mapped("res_id")).exists()
            names = {record.id: record.display_name for record in records}
            for enrollment in group:
                if enrollment.res_id in names:
                    result[enrollment.id] = {"model": model, "id": enrollment.res_id, "name": names[enrollment.res_id]}
        return result
