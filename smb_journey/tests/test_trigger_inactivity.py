import re
from datetime import datetime, timedelta

from odoo import fields
from odoo.tests import freeze_time, tagged
from odoo.tools import SQL

from .common import JourneyCase
from .test_concurrency import ConcurrentCase

T0 = datetime(2026, 3, 2, 9, 0)


def at(days, hours=0):
    return T0 + timedelta(days=days, hours=hours)


@tagged("post_install", "-at_install")
class TestTriggerInactivity(JourneyCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bob = cls.env["res.partner"].create({"name": "Bob Quiet", "email": "bob@example.com", "lang": "en_US"})
        cls.company_2 = cls.env["res.company"].create({"name": "Other Shop", "email": "other@example.com"})
        cls.mug = cls.env["product.product"].create({
            "name": "Travel Mug", "list_price": 15.0, "sale_ok": True, "is_published": True, "type": "consu"})
        cls.kettle = cls.env["product.product"].create({
            "name": "Gooseneck Kettle", "list_price": 60.0, "sale_ok": True, "is_published": True, "type": "consu"})
        cls.newsletter = cls.env["mailing.mailing"].create({
            "subject": "Newsletter", "body_html": "<p>News</p>", "mailing_model_id": cls.env["ir.model"]._get_id(
                "res.partner")})

    def make_journey(self, trigger, steps=None, **vals):
        steps = steps or [{"name": "Miss you", "step_type": "email", "subject": "We miss you {{ customer.first_name }}",
                           "body_html": "<p>Come back</p>"}]
        return self.env["smb.journey"].create(dict({
            "name": f"Journey {trigger}", "trigger": trigger, "reentry": "always", "volume_limit": 0,
            "step_ids": [(0, 0, dict(step, sequence=i)) for i, step in enumerate(steps, 1)],
        }, **vals))

    def confirm(self, partner, lines=None, company=None):
        """A confirmed order now (its date is the confirmation's)."""
        Order = self.env["sale.order"].with_company(company or self.company)
        order = Order.create({
            "partner_id": partner.id, "company_id": (company or self.company).id,
            "order_line": [(0, 0, {"product_id": product.id, "product_uom_qty": qty})
                           for product, qty in (lines or [(self.product, 1)])],
        })
        order.action_confirm()
        return order

    def trace(self, partner, sent, opened=None, clicked=None):
        return self.env["mailing.trace"].create({
            "trace_type": "mail", "mass_mailing_id": self.newsletter.id, "model": "res.partner",
            "res_id": partner.id, "email": partner.email_normalized, "trace_status": "open" if opened else "sent",
            "sent_datetime": sent, "open_datetime": opened, "links_click_datetime": clicked,
        })

    def set_next_order_date(self, partner, date, company=None):
        """What the nightly scoring writes (one raw UPDATE of the company-dependent column)."""
        company = company or self.company
        self.env.flush_all()
        self.env.cr.execute(SQL(
            "UPDATE res_partner SET smb_next_order_date = COALESCE(smb_next_order_date, '{}'::jsonb) "
            "|| jsonb_build_object(%s, %s) WHERE id = %s", str(company.id), fields.Date.to_string(date), partner.id))
        self.env.invalidate_all()

    def engine(self):
        self.env["smb.journey.enrollment"].run_engine()
        self.env.invalidate_all()

    # ------------------------------------------------------------
    # No order for N days
    # ------------------------------------------------------------

    def test_no_order_enters_once_per_last_order(self):
        journey = self.make_journey("no_order", no_order_days=30)
        with freeze_time(T0):
            first = self.confirm(self.customer)
            journey.action_start()
            self.engine()
        with freeze_time(at(29)):
            self.engine()
            self.assertFalse(journey.enrollment_ids, "29 days without an order: not yet")
        with freeze_time(at(30, 1)):
            self.engine()
            self.engine()
            self.assertEqual(journey.enrollment_ids.partner_id, self.customer, "entered once, at the 30th day")
            self.assertEqual(journey.enrollment_ids.entry_key, f"no_order:sale.order,{first.id}")
            self.assertEqual(len(self.mails(journey.step_ids)), 1)
        with freeze_time(at(40)):
            second = self.confirm(self.customer)
            self.engine()
        with freeze_time(at(69)):
            self.engine()
            self.assertEqual(len(journey.enrollment_ids), 1, "ordered again on day 40: lapses on day 70")
        with freeze_time(at(70, 1)):
            self.engine()
            self.assertEqual(len(journey.enrollment_ids), 2, "lapsed again: enters again")
            self.assertIn(f"no_order:sale.order,{second.id}", journey.enrollment_ids.mapped("entry_key"))

    def test_no_order_counts_the_journeys_company_only(self):
        """An order with another company neither keeps a customer from
        lapsing here nor makes one lapse here."""
        journey = self.make_journey("no_order", no_order_days=30)
        with freeze_time(T0):
            self.confirm(self.customer)
            self.confirm(self.bob, company=self.company_2)
            journey.action_start()
            self.engine()
        with freeze_time(at(10)):
            self.confirm(self.customer, company=self.company_2)
        with freeze_time(at(31)):
            self.engine()
            self.assertEqual(journey.enrollment_ids.partner_id, self.customer)

    def test_no_order_first_pass_reaches_back_one_period(self):
        """Started today, the journey takes those who lapsed in the last 30
        days, not those who lapsed long ago."""
        journey = self.make_journey("no_order", no_order_days=30)
        with freeze_time(at(-100)):
            self.confirm(self.bob)
        with freeze_time(at(-45)):
            self.confirm(self.customer)
        with freeze_time(T0):
            journey.action_start()
            self.engine()
            self.assertEqual(journey.enrollment_ids.partner_id, self.customer)

    # ------------------------------------------------------------
    # No open or click for N days, and sunset
    # ------------------------------------------------------------

    def test_unengaged_enter_engaged_do_not(self):
        journey = self.make_journey("no_engagement", unengaged_days=30)
        with freeze_time(T0):
            journey.action_start()
            self.engine()
            self.trace(self.bob, at(0))
            self.trace(self.bob, at(5))
            self.trace(self.customer, at(0), opened=at(20))
        with freeze_time(at(29)):
            self.engine()
            self.assertFalse(journey.enrollment_ids)
        with freeze_time(at(30, 1)):
            self.engine()
            self.engine()
            self.assertEqual(journey.enrollment_ids.partner_id, self.bob, "Ann opened an email on day 20")
        with freeze_time(at(50, 1)):
            self.engine()
            self.assertEqual(len(journey.enrollment_ids), 1, "Ann's open on day 20 is 30 days old, but she got no "
                             "email since: nothing to be unengaged with")
            self.trace(self.customer, at(51))
        with freeze_time(at(81, 1)):
            self.engine()
            self.assertEqual(journey.enrollment_ids.partner_id, self.bob | self.customer,
                             "30 days after an unopened email: Ann enters")

    def test_a_machine_open_is_no_engagement(self):
        """A mail scanner fetching the pixel on delivery is not the customer reading."""
        journey = self.make_journey("no_engagement", unengaged_days=30)
        with freeze_time(T0):
            journey.action_start()
            self.engine()
            self.trace(self.bob, at(0), opened=at(0)).smb_machine_open = True
            self.trace(self.customer, at(0), opened=at(2))
        with freeze_time(at(30, 1)):
            self.engine()
            self.engine()
            self.assertEqual(journey.enrollment_ids.partner_id, self.bob,
                             "Bob's only open was a machine's: unengaged; Ann opened hers")

    def test_sunset_marks_skips_marketing_and_staff_resume(self):
        journey = self.make_journey("no_engagement", unengaged_days=30, engagement_sunset=True, steps=[
            {"name": "Last chance", "step_type": "email", "subject": "Still want our emails?",
             "body_html": "<p>Last chance</p>"},
            {"name": "Wait", "step_type": "wait", "wait_amount": 7, "wait_unit": "days"},
        ])
        with freeze_time(T0):
            journey.action_start()
            self.engine()
            self.trace(self.bob, at(0))
            self.trace(self.customer, at(0))
        with freeze_time(at(31)):
            self.engine()
            self.assertEqual(journey.enrollment_ids.partner_id, self.bob | self.customer)
            ann_mail = self.mails(journey.step_ids).filtered(lambda m: m.res_id == self.customer.id)
            self.assertTrue(ann_mail)
        # Ann opens the last-chance email; Bob does not
        self.env["mailing.trace"].search([("res_id", "=", self.customer.id), ("sent_datetime", "=", False)]).write(
            {"sent_datetime": at(31), "trace_status": "open", "open_datetime": at(33)})
        with freeze_time(at(39)):
            self.engine()  # the wait ends: the enrollments complete
            self.engine()  # the next pass sunsets who stayed unengaged
            self.assertEqual(set(journey.enrollment_ids.mapped("state")), {"completed"})
            self.assertTrue(self.bob.smb_sunset_date, "Bob went through without opening: sunset")
            self.assertFalse(self.customer.smb_sunset_date, "Ann opened: still mailed")
            # a marketing journey skips Bob's email and says why; a non-marketing one sends it
            self.journey.reentry = "always"
            self.journey.action_start()
            self.journey.enroll(self.bob)
            follow_up = self.make_journey("manual", marketing=False)
            follow_up.action_start()
            follow_up.enroll(self.bob)
            self.engine()
            log = self.env["smb.journey.log"].search(
                [("step_id", "=", self.step_hello.id), ("partner_id", "=", self.bob.id)])
            self.assertEqual((log.outcome, log.reason), ("skipped", "sunset"))
            self.assertFalse(self.mails(self.step_hello))
            self.assertEqual(len(self.mails(follow_up.step_ids)), 1, "not marketing: sent")
        with freeze_time(at(40)):
            self.bob.action_smb_clear_sunset()
            self.assertFalse(self.bob.smb_sunset_date)
            self.journey.enroll(self.bob)
            self.engine()
            self.assertEqual(self.mails(self.step_hello).res_id, self.bob.id, "cleared by staff: mailed again")

    # ------------------------------------------------------------
    # Replenishment
    # ------------------------------------------------------------

    def test_replenishment_enters_days_before_with_usual_products(self):
        journey = self.make_journey("replenishment", replenish_days_before=7, steps=[{
            "name": "Restock", "step_type": "email", "subject": "Time to restock?", "recommendation_count": 2,
            "body_html": '<p data-smb-for="product in usual_products">{{ product.name }} x{{ product.quantity }} '
                         '{{ product.price }}</p>'}])
        with freeze_time(at(-60)):
            self.confirm(self.customer, [(self.mug, 2), (self.kettle, 1)])
        with freeze_time(at(-30)):
            self.confirm(self.customer, [(self.mug, 3), (self.product, 1)])
            # another company's order is not what they usually buy here
            self.confirm(self.customer, [(self.kettle, 5)], company=self.company_2)
            self.confirm(self.customer, [(self.kettle, 5)], company=self.company_2)
        self.set_next_order_date(self.customer, at(10).date())
        self.set_next_order_date(self.bob, at(2).date(), company=self.company_2)
        with freeze_time(T0):
            journey.action_start()
            self.engine()
            self.assertFalse(journey.enrollment_ids, "10 days before the expected order: too early")
        with freeze_time(at(3)):
            self.engine()
            self.engine()
            enrollment = journey.enrollment_ids
            self.assertEqual(enrollment.partner_id, self.customer, "7 days before; Bob's date is another company's")
            self.assertEqual(enrollment.entry_key, f"replenishment:{at(10).date()}")
            body = self.mails(journey.step_ids).body_html
            self.assertIn("Travel Mug x3", body, "bought in both orders, last time 3")
            self.assertLess(body.index("Travel Mug"), body.index("Espresso Cup"), "most frequent first")
            self.assertNotIn("Gooseneck Kettle x5", body)
            self.assertEqual(len(re.findall(r" x\d", body)), 2, "the step's Recommended Products: 2")
        # the dates move only with the day or a scoring run: a pass the same day reads nothing
        self.set_next_order_date(self.customer, at(9).date())
        with freeze_time(at(3, 2)):
            self.engine()
            self.assertEqual(len(journey.enrollment_ids), 1, "same day, no scoring since: not read again")
        # the nightly scoring moved the date: a new expected order enters again
        self.env["smb.churn.run"].create({"company_id": self.company.id, "date": at(3, 3), "state": "done"})
        with freeze_time(at(3, 4)):
            self.engine()
            self.assertEqual(len(journey.enrollment_ids), 2)
            self.assertIn(f"replenishment:{at(9).date()}", journey.enrollment_ids.mapped("entry_key"))

    def test_shipped_journeys_are_drafts_that_start(self):
        reengagement = self.env.ref("smb_journey.journey_reengagement")
        replenishment = self.env.ref("smb_journey.journey_replenishment")
        self.assertEqual((reengagement.state, replenishment.state), ("draft", "draft"))
        self.assertTrue(reengagement.engagement_sunset)
        self.assertFalse(self.env.ref("smb_journey.journey_post_purchase").marketing, "a thank-you is not marketing")
        (reengagement | replenishment).action_start()
        self.assertEqual(set((reengagement | replenishment).mapped("state")), {"running"})

    def test_idle_passes_are_cheap(self):
        """A pass with nothing new costs a few queries per journey, whatever
        the number of customers and orders."""
        journeys = self.make_journey("no_order") | self.make_journey("no_engagement") | self.make_journey(
            "replenishment")
        with freeze_time(T0):
            journeys.action_start()
            self.engine()
        with freeze_time(at(0, 1)):
            self.env.flush_all()
            self.env.invalidate_all()
            with self.count_queries() as idle:
                self.env["smb.journey"]._run_scanners()
        # two queries per scanner, the journeys' search, their lock (savepoint, select, release), one bookmark update
        self.assertLessEqual(idle["n"], 16, "three scanners, a handful of queries")


@tagged("post_install", "-at_install")
class TestInactivityConcurrency(ConcurrentCase):
    """Two engine workers scanning the same journey at once enrol each customer once."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            journey = env["smb.journey"].create({
                "name": "Restock race", "trigger": "replenishment", "reentry": "always", "volume_limit": 0,
                "step_ids": [(0, 0, {"name": "Restock", "step_type": "email", "subject": "Restock",
                                     "body_html": "<p>Hello</p>"})],
            })
            journey.action_start()
            partners = env["res.partner"].create([
                {"name": f"Restock {i}", "email": f"restock{i}@example.com"} for i in range(20)])
            env.flush_all()
            env.cr.execute(SQL(
                "UPDATE res_partner SET smb_next_order_date = jsonb_build_object(%s, %s) WHERE id = ANY(%s)",
                str(journey.company_id.id), fields.Date.to_string(fields.Date.today() + timedelta(days=3)),
                partners.ids))
            self.journey_id, self.partner_ids = journey.id, partners.ids
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            self._drop_journeys(env, [self.journey_id])
            self._drop_records(env, "res.partner", self.partner_ids)

    def test_two_workers_scan_at_once(self):
        def scan(env):
            journey = env["smb.journey"].browse(self.journey_id)
            journey._scan_replenishment()
            return journey.enrollment_ids.ids

        results = self._in_threads(scan)
        self.assertEqual(self._count("smb.journey.enrollment", [("journey_id", "=", self.journey_id)]), 20)
        self.assertEqual(len(set(results[0]) | set(results[1])), 20)
