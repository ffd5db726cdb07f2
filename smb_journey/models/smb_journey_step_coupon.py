from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.smb_journey.tools.registry import StepType

from .smb_journey_step import StepResult


class SmbJourneyStep(models.Model):
    """The coupon step: a personal coupon of a loyalty program for the
    customer, without an email. The salesperson finds it on the customer
    (their loyalty cards, the journey's log); a later email of the journey
    shows it as ``{{ coupon.code }}`` (the ``coupon`` template name, see
    ``coupon_source_program_id``)."""

    _inherit = "smb.journey.step"

    coupon_source_program_id = fields.Many2one(
        "loyalty.program", "Coupon Shown", compute="_compute_coupon_source_program_id",
        help="The program of the coupon an email shows as {{ coupon }}: its own coupon program, else the "
        "program of the last coupon step every customer goes through before it.")

    @api.model
    def _step_types(self):
        _ = self.env._
        return super()._step_types() | {
            "coupon": StepType(_("Issue a coupon"), icon="fa-ticket", treatment=True,
                               reasons=(("coupon_issued", _("Coupon issued")),),
                               help=_("A personal coupon for the customer, without an email: for the "
                                      "salesperson, or for a later email to show.")),
        }

    @api.depends("step_type", "coupon_program_id", "journey_id.step_ids.step_type",
                 "journey_id.step_ids.coupon_program_id", "journey_id.step_ids.sequence",
                 "journey_id.step_ids.parent_id", "journey_id.step_ids.branch")
    def _compute_coupon_source_program_id(self):
        for step in self:
            program = step.coupon_program_id
            if not program and step.step_type == "email" and step.journey_id:
                earlier = step._coupon_steps_before()
                program = earlier[-1:].coupon_program_id
            step.coupon_source_program_id = program

    @api.model
    def _diagram_depends(self):
        return super()._diagram_depends() + ["coupon_program_id"]

    def _check_coupon(self):
        if not self.coupon_program_id:
            raise UserError(self.env._("'%s' needs a coupon program.", self.name))

    def _check_email(self):
        super()._check_email()
        if not self.coupon_source_program_id and "coupon" in self._referenced_names():
            # the coupon step it showed was removed or moved since the email was saved
            self._check_template()

    def _describe_coupon(self):
        return self.coupon_program_id.name or ""

    def _run_coupon(self, enrollments):
        """One personal coupon per enrollment, in one batched create; the log
        keeps the card and shows its code. A step runs once per enrollment
        (the engine's log), so a customer put back on this step, or a retried
        batch, gets no second coupon."""
        cards = self._issue_coupon_cards(enrollments)
        return [
            StepResult(enrollment, "done", "coupon_issued", message=card.code,
                       log_vals={"loyalty_card_id": card.id})
            for enrollment, card in zip(enrollments, cards)
        ]

    def _coupon_steps_before(self):
        """The coupon steps every customer goes through before this step, in the journey's order."""
        self.ensure_one()
        preceding = self._preceding_steps()
        return self._version_steps().filtered(
            lambda s: s in preceding and s.step_type == "coupon" and s.coupon_program_id)

    def _context_coupon(self, enrollments, envs):
        """An email without a coupon program of its own shows the coupon an
        earlier coupon step of the journey gave the customer."""
        if self.coupon_program_id or self.env.context.get("smb_journey_preview"):
            return super()._context_coupon(enrollments, envs)
        # sudo: the engine's log of the customer's own journey
        logs = self.env["smb.journey.log"].sudo().search(
            [("enrollment_id", "in", enrollments.ids), ("loyalty_card_id", "!=", False)], order="date desc, id desc")
        latest = {}
        for log in logs:
            latest.setdefault(log.enrollment_id.id, log.loyalty_card_id)
        cards = [latest.get(enrollment.id) or self.env["loyalty.card"] for enrollment in enrollments]
        return self._coupon_values(enrollments, cards)
