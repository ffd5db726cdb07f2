from odoo import models

from .smb_journey_step import StepResult


class SmbJourneyStep(models.Model):
    """The holdout, the first message gate: customers of a journey's control
    group (``smb.journey.enrollment.held_out``, drawn at entry) walk the
    journey like everyone else, waits and branches included, but receive
    nothing: every message (email, SMS, any step type that declares a
    ``mailing_type``) and every salesperson's activity is logged as skipped,
    reason "held_out". Steps that only do bookkeeping (a wait, a condition, a
    split, an exit) run for them, so both groups travel the same path and
    leave at the same moments; the journey compares what they buy."""

    _inherit = "smb.journey.step"

    def _hold_messages(self, enrollments):
        held = super()._hold_messages(enrollments)
        left = enrollments - enrollments.browse().union(*held)
        for enrollment in left.filtered("held_out"):
            held[enrollment] = StepResult(enrollment, "skipped", "held_out")
        return held

    def _run_activity(self, enrollments):
        """A salesperson calling a held-out customer is treatment too: no activity."""
        held = enrollments.filtered("held_out")
        results = [StepResult(enrollment, "skipped", "held_out") for enrollment in held]
        if enrollments - held:
            results += super()._run_activity(enrollments - held)
        return results
