from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, freeze_time, tagged


@tagged("post_install", "-at_install")
class TestBuilderEndToEnd(HttpCase):
    """A shop owner builds a journey from scratch on its diagram, tests it
    with one contact, reads its forecast, starts it, enrols a customer, and
    edits it into a second version: the customer inside finishes the version
    she entered, a customer who enters later takes the new one."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        # the sender of the emails built on the diagram; no timing rule holding them (quiet hours at night)
        cls.env.company.write({"email": "shop@example.com", "smb_quiet_hours": False, "smb_frequency_cap": False})
        cls.erin = cls.env["res.partner"].create(
            {"name": "Erin Builder", "email": "erin.builder@example.com", "lang": "en_US"})
        # her sign-up is behind us: the journey started later takes only newer contacts
        cls.env["smb.journey.event"].process_pending()

    def run_cron(self, xmlid):
        """Run a cron for real (its cursor is this test's, the HTTP server's test mode)."""
        self.env.ref(xmlid).method_direct_trigger()
        self.env.invalidate_all()

    def mails_to(self, partner):
        return self.env["mail.mail"].search([("model", "=", "res.partner"), ("res_id", "=", partner.id)])

    def test_build_test_start_and_version_a_journey(self):
        self.start_tour("/odoo", "smb_journey_builder", login="admin")

        journey = self.env["smb.journey"].search([("name", "=", "Builder Welcome")])
        self.assertEqual(len(journey), 1, "one journey, created with New")
        self.assertEqual((journey.trigger, journey.state), ("partner_created", "running"))

        # built on the diagram: wait, condition (an email on each outlet), A/B split; then version 2
        v1, v2 = journey.version_ids.sorted("number")
        self.assertEqual((v1.number, v1.state, v2.number, v2.state), (1, "retired", 2, "current"))
        self.assertEqual(journey.version_id, v2)
        Step = self.env["smb.journey.step"].with_context(active_test=False)
        for version in (v1, v2):
            steps = Step.search([("version_id", "=", version.id)])
            main = steps.filtered(lambda s: not s.parent_id).sorted(lambda s: (s.sequence, s.id))
            self.assertEqual(main.mapped("step_type"), ["wait", "condition", "split"])
            self.assertEqual(main[0].name, "Wait 2 days")
            self.assertEqual(sorted(main[1].child_ids.mapped("branch")), ["no", "yes"])
            self.assertEqual(set(main[1].child_ids.mapped("step_type")), {"email"})
        yes_v1, yes_v2 = (Step.search([("version_id", "=", version.id), ("parent_id.step_type", "=", "condition"),
                                       ("branch", "=", "yes")]) for version in (v1, v2))
        self.assertEqual(yes_v1.subject, "Welcome {{ customer.first_name }}", "version 1 keeps its email")
        self.assertEqual(yes_v2.subject, "Welcome aboard {{ customer.first_name }}")
        self.assertEqual(yes_v2.origin_id, yes_v1)
        self.assertFalse(yes_v1.active)

        # Erin entered before the edit: she stays on version 1
        erin_in = journey.enrollment_ids
        self.assertEqual(erin_in.partner_id, self.erin)
        self.assertEqual((erin_in.state, erin_in.version_id), ("running", v1))
        self.assertEqual(erin_in.step_id.version_id, v1)
        self.assertFalse(self.mails_to(self.erin), "the test run sent nothing")

        now = fields.Datetime.now()
        with freeze_time(now):
            self.run_cron("smb_journey.ir_cron_journey_engine")
            # the wait is behind her: version 1's condition is next, in two days
            self.assertEqual((erin_in.step_id.step_type, erin_in.step_id.version_id), ("condition", v1))
            self.assertEqual(erin_in.due_at, now + timedelta(days=2))
            # Nina signs up after the edit: she enters version 2
            nina = self.env["res.partner"].create(
                {"name": "Nina Builder", "email": "nina.builder@example.com", "lang": "en_US"})
            self.run_cron("smb_journey.ir_cron_journey_events")
            self.run_cron("smb_journey.ir_cron_journey_engine")
        nina_in = journey.enrollment_ids - erin_in
        self.assertEqual(nina_in.partner_id, nina)
        self.assertEqual((nina_in.version_id, nina_in.step_id.version_id), (v2, v2))
        self.assertEqual(nina_in.step_id.step_type, "condition")

        # two days later the waits are over: each finishes her own version
        with freeze_time(now + timedelta(days=2, hours=1)):
            self.run_cron("smb_journey.ir_cron_journey_engine")
        for enrollment, version in ((erin_in, v1), (nina_in, v2)):
            self.assertEqual(enrollment.state, "completed")
            self.assertEqual(enrollment.version_id, version)
            self.assertEqual(enrollment.log_ids.step_id.version_id, version, "every step she went through")
        self.assertEqual(self.mails_to(self.erin).mapped("subject"), ["Welcome Erin"])
        self.assertEqual(self.mails_to(nina).mapped("subject"), ["Welcome aboard Nina"])
        self.assertEqual((v1.completed_count, v2.completed_count), (1, 1))
