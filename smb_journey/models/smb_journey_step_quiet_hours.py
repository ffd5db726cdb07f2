from odoo import api, fields, models

from odoo.addons.smb_journey.lib import schedule

from .smb_journey_step import POSTPONED, StepResult


class SmbJourneyStep(models.Model):
    """Message gate: quiet hours. A message due during the company's quiet
    hours, in the customer's timezone, waits on its step until they end; it
    is never dropped."""

    _inherit = "smb.journey.step"

    ignore_quiet_hours = fields.Boolean(
        "Send Even in Quiet Hours",
        help="This message goes when it is due, even during the quiet hours, like the first cart "
        "reminder an hour after the cart: sent at 08:00 it would come too late to be of use.")

    @api.model
    def _diagram_depends(self):
        return [*super()._diagram_depends(), "ignore_quiet_hours"]

    def _diagram_badges(self):
        badges = super()._diagram_badges()
        if self.ignore_quiet_hours and self._type().mailing_type:
            badges.append(("fa-moon-o", self.env._("Sent even in quiet hours")))
        return badges

    def _hold_messages(self, enrollments):
        held = super()._hold_messages(enrollments)
        journey, company = self.journey_id, self.journey_id.company_id
        if (not self._type().mailing_type  # a coupon, a webhook call: no message to keep from the night
                or not company.smb_quiet_hours or not journey.respect_quiet_hours or self.ignore_quiet_hours):
            return held
        now = fields.Datetime.now()
        start, end = company.smb_quiet_start, company.smb_quiet_end
        for enrollment in enrollments:
            if enrollment in held:
                continue
            tz = enrollment._timezone()
            due = schedule.next_allowed(now, start, end, tz)
            if due > now:
                held[enrollment] = StepResult(enrollment, POSTPONED, "quiet_hours", due_at=due)
        return held
