import time
from datetime import timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import freeze_time, new_test_user, tagged

from odoo.addons.smb_journey.models.smb_journey_conversion import SmbJourneyConversion
from odoo.addons.smb_journey.models.smb_journey_event import SmbJourneyEvent

from .common import JourneyCase
from .test_concurrency import N, ConcurrentCase


class ServerKilled(BaseException):
    """What the events cron sees when its server stops mid-batch: not an
    Exception, so nothing in the addon contains it; its transaction is lost."""


@tagged("post_install", "-at_install")
class TestShopEvents(JourneyCase):
    """The shop's transactions only write an event; the events cron does the
    journeys' part (tier, journey entry, goal, conversion) seconds later,
    exactly once, and nothing is lost if the server stops in between."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Event = cls.env["smb.journey.event"]
        cls.env["smb.loyalty.tier"].search([("company_id", "=", cls.company.id)]).active = False
        cls.silver = cls.env["smb.loyalty.tier"].create({"name": "Event Silver", "min_spend": 50})
        cls.env["smb.loyalty.tier"].recompute_tiers(companies=cls.company)
        cls.post_purchase = cls.env.ref("smb_journey.journey_post_purchase")
        cls.post_purchase.action_start()
        cls.welcome = cls.env.ref("smb_journey.journey_welcome")
        cls.welcome.action_start()

    def run_events_cron(self):
        with self.enter_registry_test_mode():
            self.env.ref("smb_journey.ir_cron_journey_events").method_direct_trigger()
        self.env.invalidate_all()

    def test_confirmation_only_writes_an_event_and_wakes_the_cron(self):
        order = self.make_order(self.customer, website=False)
        self.env.flush_all()
        cron = self.env.ref("smb_journey.ir_cron_journey_events")
        self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]).unlink()
        order.action_confirm()
        self.env.invalidate_all()
        self.assertFalse(self.post_purchase.enrollment_ids, "the customer enters later, not in the checkout")
        self.assertFalse(self.customer.smb_tier_id)
        event = self.Event.search([("res_id", "=", order.id), ("kind", "=", "order_confirmed")])
        self.assertEqual(event.state, "pending")
        self.assertEqual(self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), 1)
        # a second confirmation while the cron is already woken writes no second wake-up
        other = self.make_order(self.customer, website=False)
        other.action_confirm()
        self.assertEqual(self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), 1)

        self.run_events_cron()
        self.assertEqual(self.customer.smb_tier_id, self.silver, "80 spent: Silver, within the cron's run")
        self.assertEqual(self.post_purchase.enrollment_ids.order_id, order | other)
        self.assertFalse(self.Event.search([]), "events done are gone")

    def test_server_stopped_before_the_cron_loses_nothing_and_does_nothing_twice(self):
        order = self.make_order(self.customer, website=False)
        order.action_confirm()
        # the server stops in the middle of the events batch: after the
        # customer entered the journey, before the tier was written
        with patch.object(type(self.env["smb.loyalty.tier"]), "_on_orders_changed", side_effect=ServerKilled), \
                self.assertRaises(ServerKilled), self.env.cr.savepoint():
            self.Event.process_pending()
        self.env.invalidate_all()
        self.assertFalse(self.post_purchase.enrollment_ids, "the stopped batch left no trace")
        self.assertEqual(self.Event.search([]).state, "pending", "its event waits for the next run")

        self.run_events_cron()
        self.run_events_cron()
        self.assertEqual(len(self.post_purchase.enrollment_ids), 1, "entered exactly once")
        self.assertEqual(self.customer.smb_tier_id, self.silver)
        history = self.env["smb.loyalty.tier.history"].search([("partner_id", "=", self.customer.id)])
        self.assertEqual(len(history), 1, "one tier move, one reward")
        self.run_engine()
        first_email = self.post_purchase.step_ids.filtered(lambda s: s.step_type == "email").sorted("sequence")[:1]
        self.assertEqual(len(self.mails(first_email)), 1, "one thank-you email")

    def test_managers_read_and_retry_events_but_cannot_rewrite_them(self):
        manager = new_test_user(self.env, "events_manager", groups="smb_journey.group_journey_manager")
        order = self.make_order(self.customer, website=False)
        order.action_confirm()
        event = self.Event.search([("res_id", "=", order.id)]).with_user(manager)
        self.assertEqual(event.kind, "order_confirmed")
        with self.assertRaises(AccessError):
            event.write({"res_id": self.customer.id})
        other = self.env["res.company"].create({"name": "Other Shop"})
        self.Event.with_company(other)._enqueue("partner_created", self.customer)
        self.assertFalse(self.Event.with_user(manager).search([("company_id", "=", other.id)]),
                         "another company's events are not theirs to see")

    def test_a_cancelled_quotation_is_no_event(self):
        quotation = self.make_order(self.customer, website=False)
        quotation._action_cancel()
        self.assertFalse(self.Event.search([("res_id", "=", quotation.id)]), "nothing to take back: no event")

    def test_confirmed_then_cancelled_before_the_cron_is_a_cancelled_order(self):
        order = self.make_order(self.customer, website=False)
        order.action_confirm()
        order._action_cancel()
        self.run_events_cron()
        self.assertFalse(self.post_purchase.enrollment_ids, "no thank-you for an order already cancelled")
        self.assertFalse(self.customer.smb_tier_id)

    def test_an_event_that_fails_is_set_aside_with_its_reason(self):
        bad, good = self.make_order(self.customer, website=False), self.make_order(self.customer, website=False)
        (bad | good).action_confirm()
        credit = SmbJourneyConversion._credit_orders

        def failing(model, orders):
            if bad in orders:
                raise ValueError("the conversion table is broken")
            return credit(model, orders)

        with patch.object(SmbJourneyConversion, "_credit_orders", failing):
            self.run_events_cron()
        self.assertEqual(self.post_purchase.enrollment_ids.order_id, good, "the good order went through")
        failed = self.Event.search([])
        self.assertEqual((failed.res_id, failed.state, failed.attempts), (bad.id, "error", 3),
                         "tried in three batches, then set aside")
        self.assertIn("the conversion table is broken", failed.error_message)
        failed.action_retry()
        self.run_events_cron()
        self.assertEqual(self.post_purchase.enrollment_ids.order_id, bad | good)
        self.assertFalse(self.Event.search([]))

    def test_credit_note_lowers_the_tier_through_the_cron(self):
        if not self.env["account.journal"].search_count(
                [("type", "=", "sale"), ("company_id", "=", self.company.id)], limit=1):
            self.skipTest("the main company has no chart of accounts")
        product = self.env["product.product"].create({
            "name": "Kettle", "type": "consu", "invoice_policy": "order", "taxes_id": [Command.clear()]})
        order = self.env["sale.order"].create({
            "partner_id": self.customer.id,
            "order_line": [Command.create({"product_id": product.id, "price_unit": 60,
                                           "tax_ids": [Command.clear()]})],
        })
        order.action_confirm()
        invoice = order._create_invoices()
        invoice.action_post()
        self.run_events_cron()
        self.assertEqual(self.customer.smb_tier_id, self.silver)
        invoice._reverse_moves(cancel=True)
        self.assertEqual(self.customer.smb_tier_id, self.silver, "the credit note is not the customer's wait")
        self.run_events_cron()
        self.assertFalse(self.customer.smb_tier_id, "refunded: back to no tier")

    def test_new_contacts_enter_the_welcome_journey_but_imports_do_not(self):
        Partner = self.env["res.partner"]
        signed_up = Partner.create({"name": "Signed Up", "email": "signed@example.com"})
        imported = Partner.with_context(import_file=True).create({"name": "Imported", "email": "imp@example.com"})
        result = Partner.load(["name", "email"], [["Loaded", "loaded@example.com"]])
        loaded = Partner.browse(result["ids"])
        self.assertFalse(result["messages"])
        self.run_events_cron()
        self.assertEqual(self.welcome.enrollment_ids.partner_id, signed_up, "imported customers get no welcome")

        self.welcome.enroll_imported = True
        more = Partner.with_context(import_file=True).create({"name": "Imported 2", "email": "imp2@example.com"})
        self.run_events_cron()
        self.assertEqual(self.welcome.enrollment_ids.partner_id, signed_up | more,
                         "the admin ticked Imported Contacts Enter Too")
        self.assertNotIn(imported | loaded, self.welcome.enrollment_ids.partner_id)

    def test_a_contact_of_a_company_gets_its_tier_from_the_cron(self):
        company = self.env["res.partner"].create({"name": "Acme", "is_company": True})
        order = self.make_order(company, website=False)
        order.action_confirm()
        self.run_events_cron()
        self.assertEqual(company.smb_tier_id, self.silver)
        contact = self.env["res.partner"].create({"name": "Joe Acme", "parent_id": company.id})
        self.run_events_cron()
        self.assertEqual(contact.smb_tier_id, self.silver, "a new contact shares its company's tier")

    def test_the_shop_does_not_pay_for_journeys_per_order(self):
        """A confirmation costs the shop one statement more with the addon: the event."""
        orders = [self.make_order(self.customer, website=False) for __ in range(3)]
        self.env.flush_all()
        orders[0].action_confirm()  # warm the caches
        self.env.flush_all()
        with patch.object(type(self.Event), "_enqueue") as enqueue, self.count_queries() as without:
            orders[1].action_confirm()
            self.env.flush_all()
        self.assertEqual(enqueue.call_count, 1)
        with self.count_queries() as with_addon:
            orders[2].action_confirm()
            self.env.flush_all()
        self.assertLessEqual(with_addon["n"], without["n"] + 1)


@tagged("post_install", "-at_install")
class TestVolumeGuard(JourneyCase):

    def test_a_burst_holds_the_emails_until_the_responsible_goes_on(self):
        self.journey.write({"volume_limit": 3, "user_id": self.env.ref("base.user_admin").id})
        self.journey.action_start()
        partners = self.env["res.partner"].create([
            {"name": f"Burst {i}", "email": f"burst{i}@example.com"} for i in range(5)])
        self.journey.enroll(partners[:3])
        self.assertFalse(self.journey.volume_held_since, "three within the hour: normal")
        self.journey.enroll(partners[3:])
        self.assertTrue(self.journey.volume_held_since, "five within the hour: held")
        self.assertEqual(self.journey.volume_held_count, 5)
        activity = self.journey.activity_ids
        self.assertEqual(activity.user_id, self.env.ref("base.user_admin"))
        self.assertIn("5 customers entered the journey Test journey within an hour", activity.note)
        self.assertIn("5 customers are waiting", activity.note)
        self.run_engine()
        self.assertFalse(self.mails(self.step_hello), "nothing sent while held")
        self.assertEqual(self.journey.action_view_waiting()["domain"],
                         [("journey_id", "in", self.journey.ids), ("state", "=", "running")])

        self.journey.action_release_volume()
        self.assertFalse(self.journey.activity_ids)
        self.run_engine()
        self.assertEqual(len(self.mails(self.step_hello)), 5, "sent once the responsible went on")
        # the guard counts again from the release
        later = self.env["res.partner"].create({"name": "Later", "email": "later@example.com"})
        self.journey.enroll(later)
        self.assertFalse(self.journey.volume_held_since)

    def test_the_hour_slides(self):
        self.journey.write({"volume_limit": 2})
        self.journey.action_start()
        partners = self.env["res.partner"].create([
            {"name": f"Slow {i}", "email": f"slow{i}@example.com"} for i in range(4)])
        now = fields.Datetime.now()
        with freeze_time(now):
            self.journey.enroll(partners[:2])
        with freeze_time(now + timedelta(minutes=90)):
            self.journey.enroll(partners[2:])
        self.assertFalse(self.journey.volume_held_since, "two an hour is what the guard allows")

    def test_default_follows_the_shop_size(self):
        journey = self.env["smb.journey"].create({"name": "Sized", "trigger": "manual"})
        customers = self.env["res.partner"].search_count([("email", "!=", False)])
        self.assertEqual(journey.volume_limit, max(100, customers // 20))


@tagged("post_install", "-at_install")
class TestConcurrentEvents(ConcurrentCase):
    """Two events crons (two workers or two servers) on one queue: each event
    is taken in once, none is lost, a stale view takes nothing."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            env["smb.journey.event"].process_pending()  # what earlier tests left in the queue
            env["ir.config_parameter"].set_param("smb_journey.event_batch_size", N // 2)
            journey = env["smb.journey"].create({
                "name": "Concurrent welcome", "trigger": "partner_created", "volume_limit": 0,
                "step_ids": [(0, 0, {"name": "Hi", "step_type": "email", "subject": "Hi", "body_html": "<p>Hi</p>"})],
            })
            journey.action_start()
            partners = env["res.partner"].create([
                {"name": f"Queued {i}", "email": f"queued{i}@example.com"} for i in range(N)])
            self.journey_id, self.partner_ids = journey.id, partners.ids
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            env["ir.config_parameter"].set_param("smb_journey.event_batch_size", False)
            env["smb.journey.event"].search([("res_id", "in", self.partner_ids)]).unlink()
            journey = env["smb.journey"].browse(self.journey_id)
            mailing, campaign = journey.step_ids.mailing_id, journey.utm_campaign_id
            journey.action_stop()
            journey.unlink()
            mailing.exists().unlink()
            campaign.exists().unlink()
            env["res.partner"].browse(self.partner_ids).unlink()

    def _events(self):
        return self._count("smb.journey.event", [("res_id", "in", self.partner_ids)])

    def _enrolled(self):
        return self._count("smb.journey.enrollment", [("journey_id", "=", self.journey_id)])

    def test_two_workers_split_the_queue(self):
        original = SmbJourneyEvent._process

        def slow_process(records):
            time.sleep(0.3)  # hold the row locks while the other worker takes its batch
            return original(records)

        with patch.object(SmbJourneyEvent, "_process", slow_process):
            processed = self._in_threads(lambda env: env["smb.journey.event"]._process_batch()[0])
        self.assertEqual(sorted(processed), [N // 2, N // 2], "each worker took its own half")
        self.assertEqual(self._events(), 0)
        self.assertEqual(self._enrolled(), N, "every customer entered once")

    def test_a_worker_with_a_stale_snapshot_takes_nothing(self):
        with self.registry.cursor() as cr:
            self._env(cr)["ir.config_parameter"].set_param("smb_journey.event_batch_size", N)
        results = self._race_with_a_stale_snapshot(
            "smb_journey_event", lambda env: env["smb.journey.event"]._process_batch())
        self.assertEqual(results["a"][0], N)
        self.assertEqual(results["b"][0], 0, "B took nothing from its stale view")
        self.assertEqual(self._events(), 0)
        self.assertEqual(self._enrolled(), N)
