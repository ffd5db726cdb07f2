from odoo import fields, models

from odoo.addons.smb_journey.lib import send_time

from .smb_journey_step import StepResult


class SmbJourneyStep(models.Model):
    """Wait mode "until the customer's best time": the next time within 24
    hours that the customer's clock shows the hour they usually open their
    email (res_partner_send_time.py), the shop's best hour for customers
    without history of their own. A stable share of the waits ends at
    another daytime hour instead (lib/send_time.py: exploration), so that
    the customer's habits keep being learnt."""

    _inherit = "smb.journey.step"

    wait_mode = fields.Selection(
        selection_add=[("best_time", "Until the customer's best time")],
        ondelete={"best_time": "set default"})

    def _run_wait(self, enrollments, now=None):
        if self.wait_mode != "best_time":
            return super()._run_wait(enrollments, now=now)
        now = now or fields.Datetime.now()
        results = []
        for enrollment in enrollments:
            partner = enrollment.partner_id
            if partner.smb_best_hour_opens:
                best = int(partner.smb_best_hour)
            elif enrollment.company_id.smb_best_hour >= 0:
                best = enrollment.company_id.smb_best_hour
            else:
                best = int(self.wait_hour)  # no open in the whole shop yet: the hour the step names
            hour = send_time.send_hour(best, (enrollment.id, self.id), share=send_time.EXPLORATION_SHARE)
            due = send_time.next_send_time(now, hour, enrollment._timezone())
            results.append(StepResult(enrollment, "done", "waiting", due_at=due))
        return results

    def _describe_wait(self):
        if self.wait_mode == "best_time":
            return self.env._("Until the customer's best time")
        return super()._describe_wait()
