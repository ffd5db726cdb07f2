from odoo import models

from .smb_journey_step import StepResult


class SmbJourneyStep(models.Model):
    """The holdout, the first message gate: customers of a journey's control
    group (``smb.journey.enrollment.held_out``, drawn at entry) walk the
    journey like everyone else, waits and branches included, but receive
    nothing: every message (email, SMS, any step type that declares a
    ``mailing_type``) and every other treatment (a salesperson's activity, a
    coupon, a webhook: ``StepType(treatment=True)``) is logged as skipped,
    reason "held_out". Steps that only do bookkeeping (a wait, a condition, a
    split, a tag, an exit) run for them, so both groups travel the same path
    and leave at the same moments; the journey compares what they buy."""

    _inherit = "smb.journey.step"

    def _hold_messages(self, enrollments):
        held = super()._hold_messages(enrollments)
        left = enrollments - enrollments.browse().union(*held)
        for enrollment in left.filtered("held_out"):
            held[enrollment] = StepResult(enrollment, "skipped", "held_out")
        return held
