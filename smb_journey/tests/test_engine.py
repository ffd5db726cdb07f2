from datetime import datetime, timedelta
from unittest.mock import patch

from odoo.exceptions import ValidationError
from odoo.fields import Datetime
from odoo.tests import freeze_time, tagged
from odoo.tools import mute_logger

from odoo.addons.smb_journey.models.smb_journey_enrollment import SmbJourneyEnrollment
from odoo.addons.smb_journey.models.smb_journey_step import POSTPONED, StepResult
from odoo.addons.smb_journey.models.smb_journey_step_context import SmbJourneyStep as SmbJourneyStepContext

from .common import JourneyCase

T0 = datetime(2026, 3, 2, 9, 0)


class WorkerKilled(BaseException):
    """The worker process dies (not an error the engine can catch and isolate)."""


@tagged("post_install", "-at_install")
class TestEngine(JourneyCase):

    def test_steps_follow_their_timing(self):
        with freeze_time(T0):
            self.journey.action_start()
            enrollment = self.journey.enroll(self.customer)
            self.run_engine()
            self.assertEqual(len(self.mails(self.step_hello)), 1, "first email queued at once")
            self.assertEqual(enrollment.step_id, self.step_again)
            self.assertEqual(enrollment.due_at, T0 + timedelta(days=1))
            mail = self.mails(self.step_hello)
            self.assertEqual(mail.subject, "Hello Ann")
            self.assertEqual(mail.state, "outgoing", "sent by Odoo's mail queue, not by the engine")
            self.assertEqual(mail.mailing_trace_ids.res_id, self.customer.id)
        with freeze_time(T0 + timedelta(hours=23)):
            self.run_engine()
            self.assertFalse(self.mails(self.step_again), "nothing before the wait is over")
        with freeze_time(T0 + timedelta(days=1, minutes=1)):
            self.run_engine()
            self.assertEqual(len(self.mails(self.step_again)), 1)
            self.assertEqual(enrollment.state, "completed")
            self.assertEqual(enrollment.exit_reason, "end")
            self.assertEqual(
                enrollment.log_ids.sorted("id").mapped("outcome"), ["sent", "done", "sent"])
        self.assertEqual(self.step_hello.queued_count, 1, "queued: the mail server has not sent it yet")
        self.assertEqual(self.journey.queued_count, 2)
        self.deliver(self.mails(self.step_hello) | self.mails(self.step_again))
        self.assertEqual((self.step_hello.sent_count, self.step_hello.queued_count), (1, 0))
        self.assertEqual(self.journey.sent_count, 2)

    def test_enroll_is_exactly_once(self):
        self.journey.action_start()
        first = self.journey.enroll(self.customer)
        again = self.journey.enroll(self.customer)
        self.assertEqual(len(first), 1)
        self.assertFalse(again, "policy 'once': a second call enrols nobody")
        self.journey.reentry = "always"
        self.assertTrue(self.journey.enroll(self.customer), "'always' lets the customer in again")

    def test_reentry_after_days(self):
        self.journey.write({"reentry": "after_days", "reentry_days": 10})
        with freeze_time(T0):
            self.journey.action_start()
            first = self.journey.enroll(self.customer)
            first.action_exit()
        with freeze_time(T0 + timedelta(days=5)):
            self.assertFalse(self.journey.enroll(self.customer))
        with freeze_time(T0 + timedelta(days=11)):
            self.assertTrue(self.journey.enroll(self.customer))

    def test_two_workers_never_send_twice(self):
        """A second worker that found the same due rows before the first one
        committed re-checks them under its lock and sends nothing."""
        self.journey.action_start()
        partners = self.env["res.partner"].create([
            {"name": f"Customer {i}", "email": f"c{i}@example.com"} for i in range(5)])
        enrollments = self.journey.enroll(partners)
        stale_view_of_worker_b = enrollments.browse(enrollments.ids)
        enrollments._process()  # worker A
        stale_view_of_worker_b._process()  # worker B, same rows
        self.assertEqual(len(self.mails(self.step_hello)), 5)
        self.assertEqual(self.step_hello.queued_count, 5)

    def test_step_log_is_unique_per_enrollment(self):
        self.journey.action_start()
        enrollment = self.journey.enroll(self.customer)
        enrollment._process()
        with self.assertRaises(Exception), mute_logger("odoo.sql_db"), self.env.cr.savepoint():
            self.env["smb.journey.log"].create({
                "enrollment_id": enrollment.id, "step_id": self.step_hello.id, "outcome": "sent"})
            self.env.flush_all()

    def test_crash_mid_batch_resumes_without_duplicates(self):
        """The worker dies in its second batch: the first batch was committed,
        the second is rolled back whole (mails included) and redone next run."""
        self.journey.action_start()
        partners = self.env["res.partner"].create([
            {"name": f"Customer {i}", "email": f"c{i}@example.com"} for i in range(4)])
        self.journey.enroll(partners)
        self.env["ir.config_parameter"].sudo().set_param("smb_journey.batch_size", 2)
        original = SmbJourneyEnrollment._apply_results
        calls = []

        def crash_in_second_batch(records, step, results):
            calls.append(step)
            if len(calls) == 3:  # batch 1 ran 'Hello' and 'Wait'; batch 2 dies on 'Hello'
                raise WorkerKilled("worker killed")
            return original(records, step, results)

        # not self.assertRaises: it would roll back what the worker committed
        with patch.object(SmbJourneyEnrollment, "_apply_results", crash_in_second_batch), \
                mute_logger("odoo.addons.base.models.ir_cron"):
            try:
                self.run_engine()
            except WorkerKilled:
                self.env.invalidate_all()
            else:
                self.fail("the worker should have died")
        self.assertEqual(len(self.mails(self.step_hello)), 2, "the committed batch stays, the crashed one is gone")
        self.run_engine()
        mails = self.mails(self.step_hello)
        self.assertEqual(len(mails), 4, "every customer got the first email")
        self.assertEqual(len(set(mails.mapped("email_to"))), 4, "and only once")
        self.assertEqual(set(self.journey.enrollment_ids.mapped("step_id")), {self.step_again})

    def test_failing_step_puts_only_that_enrollment_in_error(self):
        self.journey.action_start()
        good, bad = self.env["res.partner"].create([
            {"name": "Good", "email": "good@example.com"}, {"name": "Bad", "email": "bad@example.com"}])
        self.journey.enroll(good | bad)
        original = SmbJourneyStepContext._prepare_render_contexts

        def explode_for_bad(step, enrollments):
            if bad in enrollments.partner_id:
                raise ValueError("product deleted")
            return original(step, enrollments)

        with patch.object(SmbJourneyStepContext, "_prepare_render_contexts", explode_for_bad), \
                mute_logger("odoo.addons.smb_journey.models.smb_journey_step"):
            self.run_engine()
        good_enr = self.journey.enrollment_ids.filtered(lambda e: e.partner_id == good)
        bad_enr = self.journey.enrollment_ids.filtered(lambda e: e.partner_id == bad)
        self.assertEqual(good_enr.state, "running")
        self.assertEqual(good_enr.step_id, self.step_again)
        self.assertEqual(bad_enr.state, "error")
        self.assertIn("product deleted", bad_enr.error_message)
        # the admin fixes the cause and retries
        bad_enr.action_retry()
        self.run_engine()
        self.assertEqual(bad_enr.state, "running")
        self.assertEqual(len(self.mails(self.step_hello)), 2)

    def test_bad_template_is_refused_on_save_and_reported_when_sending(self):
        with self.assertRaises(Exception):
            self.step_hello.subject = "Hello {{ customer.first_name"
        with self.assertRefused("customer.shoe_size"):
            self.step_hello.body_html = "<p>{{ customer.shoe_size }}</p>"
        self.journey.action_start()
        enrollment = self.journey.enroll(self.customer)
        # a template that got past the check (written before it existed) is reported when rendering
        self.env.cr.execute(
            "UPDATE smb_journey_step SET body_html = jsonb_build_object('en_US', %s) WHERE id = %s",
            ["<p>{{ customer.shoe_size }}</p>", self.step_hello.id])
        self.step_hello.invalidate_recordset()
        self.run_engine()
        self.assertEqual(enrollment.state, "error")
        self.assertIn("shoe_size", enrollment.error_message)
        self.assertFalse(self.mails(self.step_hello))

    def test_condition_on_open(self):
        self.journey.step_ids.filtered(lambda s: s.sequence == 3).sequence = 10
        condition = self.env["smb.journey.step"].create({
            "journey_id": self.journey.id, "name": "Opened?", "sequence": 5, "step_type": "condition",
            "condition_type": "opened"})
        yes_step = self.env["smb.journey.step"].create({
            "journey_id": self.journey.id, "name": "Thanks for reading", "parent_id": condition.id,
            "branch": "yes", "step_type": "exit"})
        opener, other = self.env["res.partner"].create([
            {"name": "Opener", "email": "o@example.com"}, {"name": "Other", "email": "x@example.com"}])
        with freeze_time(T0):
            self.journey.action_start()
            self.journey.enroll(opener | other)
            self.run_engine()
        self.mails(self.step_hello).filtered(lambda m: m.res_id == opener.id).mailing_trace_ids.set_opened()
        with freeze_time(T0 + timedelta(days=2)):
            self.run_engine()
        by_partner = {e.partner_id: e for e in self.journey.enrollment_ids}
        self.assertEqual(by_partner[opener].exit_reason, "exit_step")
        self.assertIn(yes_step, by_partner[opener].log_ids.step_id)
        self.assertEqual(len(self.mails(self.step_again)), 1, "only the non-opener got the follow-up")
        self.assertEqual(self.mails(self.step_again).res_id, other.id)
        self.assertEqual(self.step_hello.opened_count, 1)

    def test_paused_journey_waits_and_stopped_journey_exits(self):
        self.journey.action_start()
        enrollment = self.journey.enroll(self.customer)
        self.journey.action_pause()
        self.run_engine()
        self.assertFalse(self.mails(self.step_hello))
        self.journey.action_start()
        self.run_engine()
        self.assertEqual(len(self.mails(self.step_hello)), 1)
        self.journey.action_stop()
        self.assertEqual(enrollment.state, "exited")
        self.assertEqual(enrollment.exit_reason, "journey_stopped")


@tagged("post_install", "-at_install")
class TestMessageGates(JourneyCase):
    """The gates a message passes before it is sent (holdout, quiet hours,
    frequency caps) skip it or postpone it; the engine applies either."""

    def test_postponed_step_runs_later_unlogged(self):
        Step = type(self.env["smb.journey.step"])
        later = T0 + timedelta(hours=3)

        def hold(step, enrollments):
            if Datetime.now() >= later:
                return {}
            return {e: StepResult(e, POSTPONED, "waiting", due_at=later) for e in enrollments}

        with freeze_time(T0), patch.object(Step, "_hold_messages", hold, create=True):
            self.journey.action_start()
            enrollment = self.journey.enroll(self.customer)
            self.run_engine()
            self.assertFalse(self.mails(self.step_hello), "held back, not sent")
            self.assertFalse(enrollment.log_ids, "a postponed step is not logged: it has not run")
            self.assertEqual((enrollment.step_id, enrollment.due_at, enrollment.hold_reason),
                             (self.step_hello, later, "waiting"))
        with freeze_time(later), patch.object(Step, "_hold_messages", hold, create=True):
            self.run_engine()
            self.assertEqual(len(self.mails(self.step_hello)), 1, "sent once the gate lets it through")
            self.assertEqual(enrollment.step_id, self.step_again)
            self.assertFalse(enrollment.hold_reason, "the reason leaves with the step")

    def test_postponed_without_a_time_is_an_error_not_a_silent_wait(self):
        Step = type(self.env["smb.journey.step"])

        def hold(step, enrollments):
            return {e: StepResult(e, POSTPONED, "waiting") for e in enrollments}

        with freeze_time(T0), patch.object(Step, "_hold_messages", hold, create=True), \
                mute_logger("odoo.addons.smb_journey.models.smb_journey_enrollment"):
            self.journey.action_start()
            enrollment = self.journey.enroll(self.customer)
            self.run_engine()
        self.assertEqual(enrollment.state, "error", "shown to the admin, not left waiting forever")
        self.assertIn("without saying until when", enrollment.error_message)

    def test_skipped_by_a_gate_goes_on(self):
        Step = type(self.env["smb.journey.step"])

        def hold(step, enrollments):
            return {e: StepResult(e, "skipped", "opted_out") for e in enrollments}

        with freeze_time(T0), patch.object(Step, "_hold_messages", hold, create=True):
            self.journey.action_start()
            enrollment = self.journey.enroll(self.customer)
            self.run_engine()
            self.assertFalse(self.mails(self.step_hello))
            self.assertEqual(enrollment.log_ids.sorted("id").mapped("reason"), ["opted_out", "waiting"],
                             "a skipped message lets the journey go on (to its wait)")
