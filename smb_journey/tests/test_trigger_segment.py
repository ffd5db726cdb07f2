from datetime import datetime, timedelta

from odoo.tests import freeze_time, new_test_user, tagged

from .common import JourneyCase
from .test_concurrency import ConcurrentCase

T0 = datetime(2030, 3, 4, 9, 0)  # after the fixtures' own writes, so they count as unchanged
HOUR = timedelta(hours=1)
N = 20


@tagged("post_install", "-at_install")
class TestSegmentTrigger(JourneyCase):
    """Customers enter when they start matching a segment, and leave when they stop."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.bob = Partner.create({"name": "Bob Ghent", "email": "bob@example.com", "city": "Ghent"})
        cls.carl = Partner.create({"name": "Carl Other", "email": "carl@example.com", "city": "Lyon"})
        cls.segment = cls.env["smb.journey"].create({
            "name": "Ghent customers",
            "trigger": "segment",
            "segment_domain": "[('city', '=', 'Ghent')]",
            "reentry": "always",
            "step_ids": [
                (0, 0, {"name": "Hello Ghent", "sequence": 1, "step_type": "email",
                        "subject": "News from Ghent, {{ customer.first_name }}", "body_html": "<p>Hi</p>"}),
                (0, 0, {"name": "Wait", "sequence": 2, "step_type": "wait", "wait_amount": 3, "wait_unit": "days"}),
                (0, 0, {"name": "Again", "sequence": 3, "step_type": "email",
                        "subject": "Still in Ghent?", "body_html": "<p>Second</p>"}),
            ],
        })
        cls.env["smb.journey.event"].process_pending()

    def start(self, **vals):
        self.segment.write(vals)
        with freeze_time(T0):
            self.segment.action_start()
            self.env["smb.journey.enrollment"].run_engine()

    def edit(self, partner, at, **vals):
        """A user edits the customer at ``at`` (write_date is the transaction's time)."""
        with self.mock_datetime_and_now(at):
            partner.write(vals)
            partner.flush_recordset()

    def engine(self, at):
        with freeze_time(at):
            self.env["smb.journey.enrollment"].run_engine()
        self.env.invalidate_all()

    def entries(self, partner):
        return self.segment.enrollment_ids.filtered(lambda e: e.partner_id == partner)

    def test_customer_who_starts_matching_enters_at_the_next_pass(self):
        self.start()
        self.assertEqual(self.segment.enrollment_ids.partner_id, self.bob, "already in the segment at the start")
        self.edit(self.customer, T0 + HOUR, city="Ghent")
        self.edit(self.carl, T0 + HOUR, phone="+32 9 000 00 00")
        self.engine(T0 + 2 * HOUR)
        self.assertEqual(len(self.entries(self.customer)), 1)
        self.assertFalse(self.entries(self.carl), "changed, but not in the segment")
        entry = self.entries(self.customer)
        self.assertEqual(len(self.mails(self.segment.step_ids[0]).filtered(lambda m: "ann@example.com" in (m.email_to or ""))),
                         1, "the first email went out at once")
        self.assertEqual((entry.step_id.name, entry.due_at), ("Again", T0 + 2 * HOUR + timedelta(days=3)))

    def test_only_customers_who_join_later(self):
        self.start(segment_new_only=True)
        self.assertFalse(self.segment.enrollment_ids, "those in the segment at the start do not enter")
        self.edit(self.customer, T0 + HOUR, city="Ghent")
        self.engine(T0 + 2 * HOUR)
        self.assertEqual(self.segment.enrollment_ids.partner_id, self.customer)

    def test_leaving_the_segment_exits_then_joining_again_enters_again(self):
        self.start(segment_exit=True)
        first = self.entries(self.bob)
        self.edit(self.bob, T0 + HOUR, city="Paris")
        self.engine(T0 + 2 * HOUR)
        self.assertEqual((first.state, first.exit_reason), ("exited", "left_segment"))
        self.edit(self.bob, T0 + 5 * HOUR, city="Ghent")
        self.engine(T0 + 6 * HOUR)
        self.assertEqual(len(self.entries(self.bob)), 2, "rejoined: enters again (re-entry: every time)")
        self.assertEqual((self.entries(self.bob) - first).state, "running")

    def test_leaving_the_segment_does_not_exit_when_the_option_is_off(self):
        self.start()
        self.edit(self.bob, T0 + HOUR, city="Paris")
        self.engine(T0 + 2 * HOUR)
        self.engine(T0 + timedelta(days=4))  # the second email: the journey went on
        self.assertEqual(self.entries(self.bob).state, "completed")
        self.assertEqual(len(self.mails(self.step_again_of_segment())), 1)

    def test_a_change_not_seen_by_the_pass_is_caught_before_the_next_step(self):
        """An edit that leaves write_date alone (a related record, a raw
        update) is not seen by the incremental pass; the engine still checks
        the segment before sending the next email."""
        self.start(segment_exit=True)
        self.env.cr.execute("UPDATE res_partner SET city = 'Paris' WHERE id = %s", [self.bob.id])
        self.env.invalidate_all()
        self.segment.segment_full_at = T0 + timedelta(days=3)  # the next pass is an incremental one
        self.engine(T0 + timedelta(days=3, hours=1))
        self.assertEqual(self.entries(self.bob).exit_reason, "left_segment")
        self.assertFalse(self.mails(self.step_again_of_segment()))

    def test_unchanged_customers_are_not_evaluated_until_the_nightly_full_pass(self):
        self.start()
        bob_entry = self.entries(self.bob)
        self.engine(T0 + 4 * 24 * HOUR - 2 * HOUR)  # walk Bob to the end of the journey
        self.assertEqual(bob_entry.state, "completed")
        # written past write_date (as a related record's change would look to the customer)
        self.env.cr.execute("UPDATE res_partner SET city = 'Ghent' WHERE id = %s", [self.carl.id])
        self.env.invalidate_all()
        # Bob edits his phone: evaluated, still in the segment, so no new entry
        self.edit(self.bob, T0 + 4 * 24 * HOUR - HOUR, phone="+32 9 111 11 11")
        self.segment.segment_full_at = T0 + 4 * 24 * HOUR - 3 * HOUR
        self.engine(T0 + 4 * 24 * HOUR)
        self.assertEqual(len(self.entries(self.bob)), 1, "already in the segment: a change of phone is no entry")
        self.assertFalse(self.entries(self.carl), "unchanged: not evaluated by the incremental pass")
        self.engine(T0 + 5 * 24 * HOUR)  # a day after the last full pass
        self.assertEqual(len(self.entries(self.carl)), 1, "the daily full pass finds him")

    def test_a_filter_on_a_field_the_author_cannot_read_is_refused(self):
        manager = new_test_user(
            self.env, "segment_editor", groups="smb_journey.group_journey_manager,sales_team.group_sale_salesman")
        with self.assertRefused("may not read"):
            self.segment.with_user(manager).segment_domain = "[('user_ids.totp_last_counter', '=', 7)]"
        with self.assertRefused("Segment is not a valid filter"):
            self.segment.segment_domain = "[('city', '=', 'Ghent'"
        self.segment.with_user(manager).segment_domain = "[('city', '=', 'Lyon')]"
        self.assertEqual(self.segment.filter_user_id, manager, "the segment runs with its author's access")

    def step_again_of_segment(self):
        return self.segment.step_ids.filtered(lambda s: s.name == "Again")


@tagged("post_install", "-at_install")
class TestSegmentConcurrency(ConcurrentCase):
    """Two engine workers evaluating the same segment at once enrol each customer once."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            partners = env["res.partner"].create([
                {"name": f"Segment {i}", "email": f"segment{i}@example.com", "city": "Segmentville"}
                for i in range(N)])
            journey = env["smb.journey"].create({
                "name": "Segment concurrency", "trigger": "segment",
                "segment_domain": "[('city', '=', 'Segmentville')]",
                "step_ids": [(0, 0, {"name": "Wait", "step_type": "wait", "wait_amount": 1, "wait_unit": "days"})],
            })
            journey.action_start()
            self.journey_id, self.partner_ids = journey.id, partners.ids
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            self._drop_journeys(env, [self.journey_id])
            self._drop_records(env, "res.partner", self.partner_ids)

    def test_two_workers_scanning_at_once_enrol_each_customer_once(self):
        def scan(env):
            # the engine's entry point: the journey's row is locked, the second worker skips it
            env["smb.journey"]._run_scanners(triggers=["segment"])
            env.flush_all()

        self._in_threads(scan)
        with self.registry.cursor() as cr:  # the retry, or the next pass
            self._env(cr)["smb.journey"].browse(self.journey_id)._scan_segment()
        domain = [("journey_id", "=", self.journey_id)]
        self.assertEqual(self._count("smb.journey.enrollment", domain), N, "each customer entered exactly once")
        self.assertEqual(self._count("smb.journey.segment.member", domain), N)
