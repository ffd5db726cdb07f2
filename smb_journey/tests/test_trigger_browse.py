from datetime import datetime, timedelta

from odoo.tests import freeze_time, tagged

from .common import JourneyCase
from .test_concurrency import ConcurrentCase

T0 = datetime(2026, 3, 2, 9, 0)  # the customer's first product view


class BrowseMixin:

    @classmethod
    def visitor(cls, env, partner=None, token=None):
        """The website visitor website_sale tracks: a signed-in customer's
        access token is their contact's id, an anonymous one's a 32-char hash."""
        return env["website.visitor"].create({
            "access_token": str(partner.id) if partner else token or "0123456789abcdef0123456789abcdef",
            "website_id": env.ref("website.default_website").id,
        })

    @classmethod
    def view(cls, visitor, product, at):
        """A product page seen, as website_sale's _add_viewed_product records it."""
        return visitor.env["website.track"].create({
            "visitor_id": visitor.id, "product_id": product.id, "visit_datetime": at})


@tagged("post_install", "-at_install")
class TestTriggerBrowse(JourneyCase, BrowseMixin):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.teapot = cls.env["product.product"].create({
            "name": "Cast Iron Teapot", "list_price": 55.0, "sale_ok": True, "is_published": True, "type": "consu"})
        cls.journey_browse = cls.env.ref("smb_journey.journey_browse_abandonment")
        cls.journey_browse_emails = cls.journey_browse.step_ids.filtered(lambda s: s.step_type == "email").sorted("sequence")
        with freeze_time(T0 - timedelta(days=1)):
            cls.journey_browse.action_start()
        cls.ann = cls.visitor(cls.env, cls.customer)

    def entered(self):
        return self.journey_browse.with_context(active_test=False).enrollment_ids

    def test_a_visit_enters_two_hours_after_its_last_view_with_the_products_viewed(self):
        first = self.view(self.ann, self.product, T0)
        self.view(self.ann, self.teapot, T0 + timedelta(minutes=20))
        with freeze_time(T0 + timedelta(hours=2, minutes=10)):
            self.run_engine()
        self.assertFalse(self.entered(), "two hours after the first view, but the visit went on until 9:20")
        with freeze_time(T0 + timedelta(hours=2, minutes=25)):
            self.run_engine()
        enrollment = self.entered()
        self.assertEqual((enrollment.partner_id, enrollment.res_model, enrollment.res_id),
                         (self.customer, "website.track", first.id))
        mail = self.mails(self.journey_browse_emails[0])
        self.assertEqual(len(mail), 1)
        self.assertIn("Still thinking about it, Ann?", mail.subject)
        self.assertIn("Espresso Cup", mail.body_html)
        self.assertIn("Cast Iron Teapot", mail.body_html)
        tracked_urls = self.env["link.tracker"].search([]).mapped("url")
        self.assertIn(f"{self.journey_browse.get_base_url()}/shop", tracked_urls, "a link to the shop, tracked")
        self.assertIn(f"{self.journey_browse.get_base_url()}{self.teapot.website_url}", tracked_urls,
                      "each product links to its page")

    def test_an_anonymous_visitor_or_a_customer_without_email_does_not_enter(self):
        self.view(self.visitor(self.env), self.product, T0)
        no_email = self.env["res.partner"].create({"name": "Bob"})
        self.view(self.visitor(self.env, no_email), self.product, T0)
        with freeze_time(T0 + timedelta(hours=3)):
            self.run_engine()
        self.assertFalse(self.entered())

    def test_viewing_then_adding_to_cart_does_not_enter(self):
        self.view(self.ann, self.product, T0)
        with freeze_time(T0 + timedelta(minutes=5)):
            self.make_order(self.customer)  # the cart holds the Espresso Cup
        with freeze_time(T0 + timedelta(hours=3)):
            self.run_engine()
        self.assertFalse(self.entered())

    def test_a_customer_in_a_running_abandoned_cart_journey_does_not_enter(self):
        carts = self.env.ref("smb_journey.journey_abandoned_cart")
        with freeze_time(T0 - timedelta(days=1)):
            carts.action_start()
            carts.enroll(self.make_order(self.customer))
        self.view(self.ann, self.teapot, T0)  # not in the cart: only the running cart journey keeps her out
        with freeze_time(T0 + timedelta(hours=3)):
            self.run_engine()
        self.assertFalse(self.entered())

    def test_one_entry_per_visit_however_often_scanned(self):
        self.view(self.ann, self.product, T0)
        for hours in (3, 4, 30):
            with freeze_time(T0 + timedelta(hours=hours)):
                self.run_engine()
        self.assertEqual(len(self.entered()), 1)
        self.assertEqual(len(self.mails(self.journey_browse_emails[0])), 1)

    def test_a_visit_the_next_day_enters_again_when_the_policy_allows(self):
        self.view(self.ann, self.product, T0)
        with freeze_time(T0 + timedelta(hours=3)):
            self.run_engine()
        next_day = T0 + timedelta(days=1)
        second = self.view(self.ann, self.teapot, next_day)
        with freeze_time(next_day + timedelta(hours=3)):
            self.run_engine()
        self.assertEqual(len(self.entered()), 1, "the shipped journey reminds a customer once a week at most")
        self.journey_browse.reentry = "always"
        with freeze_time(next_day + timedelta(hours=4)):
            self.run_engine()
        self.assertEqual(len(self.entered()), 2)
        self.assertIn(second.id, self.entered().mapped("res_id"))
        mails = self.mails(self.journey_browse_emails[0]).sorted("id")
        self.assertNotIn("Espresso Cup", mails[-1].body_html, "the second email lists the second visit only")
        self.assertIn("Cast Iron Teapot", mails[-1].body_html)

    def test_views_more_than_half_an_hour_apart_are_two_visits(self):
        self.journey_browse.reentry = "always"
        self.view(self.ann, self.product, T0)
        self.view(self.ann, self.teapot, T0 + timedelta(minutes=45))
        with freeze_time(T0 + timedelta(hours=3)):
            self.run_engine()
        self.assertEqual(len(self.entered()), 2)

    def test_putting_the_products_in_a_cart_later_ends_the_reminders(self):
        self.view(self.ann, self.product, T0)
        with freeze_time(T0 + timedelta(hours=3)):
            self.run_engine()
        self.make_order(self.customer)
        with freeze_time(T0 + timedelta(days=2, hours=4)):
            self.run_engine()
        self.assertEqual((self.entered().state, self.entered().exit_reason), ("exited", "browse_carted"))
        self.assertFalse(self.mails(self.journey_browse_emails[1]), "no second reminder")

    def test_the_email_leaves_out_what_went_into_a_cart_or_off_the_shop(self):
        mug = self.env["product.product"].create({
            "name": "Stoneware Mug", "list_price": 18.0, "sale_ok": True, "is_published": True, "type": "consu"})
        self.view(self.ann, self.product, T0)
        self.view(self.ann, self.teapot, T0 + timedelta(minutes=2))
        self.view(self.ann, mug, T0 + timedelta(minutes=4))
        self.make_order(self.customer)  # the Espresso Cup goes into a cart
        mug.is_published = False
        with freeze_time(T0 + timedelta(hours=3)):
            self.run_engine()
        body = self.mails(self.journey_browse_emails[0]).body_html
        self.assertIn("Cast Iron Teapot", body)
        self.assertNotIn("Espresso Cup", body)
        self.assertNotIn("Stoneware Mug", body)

    def test_views_before_signing_in_count_once_website_moves_them_to_the_customer(self):
        anonymous = self.visitor(self.env)
        first = self.view(anonymous, self.teapot, T0)
        with freeze_time(T0 + timedelta(hours=3)):
            self.run_engine()
        self.assertFalse(self.entered(), "nobody to write to yet")
        with freeze_time(T0 + timedelta(hours=5)):
            anonymous._merge_visitor(self.ann)  # what website does when she signs in
        with freeze_time(T0 + timedelta(hours=6)):
            self.run_engine()
        self.assertEqual((self.entered().partner_id, self.entered().res_id), (self.customer, first.id))

    def test_views_on_another_website_do_not_enter_a_journey_of_one_website(self):
        other = self.env["website"].create({"name": "Second shop"})
        self.journey_browse.website_id = other
        self.view(self.ann, self.product, T0)
        with freeze_time(T0 + timedelta(hours=3)):
            self.run_engine()
        self.assertFalse(self.entered())
        self.journey_browse.website_id = self.website
        with freeze_time(T0 + timedelta(hours=4)):
            self.run_engine()
        self.assertEqual(len(self.entered()), 1)

    def test_a_visitor_deleted_mid_journey_ends_it_cleanly(self):
        """website's cron deletes visitors inactive for long, and their views with them."""
        self.view(self.ann, self.product, T0)
        with freeze_time(T0 + timedelta(hours=3)):
            self.run_engine()
        self.ann.unlink()
        with freeze_time(T0 + timedelta(days=2, hours=4)):
            self.run_engine()
        self.assertEqual((self.entered().state, self.entered().exit_reason), ("exited", "record_deleted"))
        self.assertFalse(self.mails(self.journey_browse_emails[1]))

    def test_a_scan_costs_the_same_for_one_visit_or_many(self):
        def scan_queries():
            with freeze_time(T0 + timedelta(hours=3)), self.count_queries() as counter:
                self.journey_browse._scan_browse_abandoned()
            return counter["n"]

        self.view(self.ann, self.product, T0)
        one = scan_queries()
        self.assertEqual(len(self.entered()), 1)
        customers = self.env["res.partner"].create([
            {"name": f"Customer {i}", "email": f"customer{i}@example.com"} for i in range(8)])
        for customer in customers:
            visitor = self.visitor(self.env, customer)
            self.view(visitor, self.product, T0)
            self.view(visitor, self.teapot, T0 + timedelta(minutes=5))
        self.env.flush_all()
        self.assertLessEqual(scan_queries(), one)
        self.assertEqual(len(self.entered()), 9)

    def test_the_journey_form_shows_the_delay_and_the_website(self):
        self.assertIn(",browse_hours,", self.journey_browse.trigger_params)
        self.assertIn(",website_id,", self.journey_browse.trigger_params)


@tagged("post_install", "-at_install")
class TestTriggerBrowseWorkers(ConcurrentCase, BrowseMixin):

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            with freeze_time(T0 - timedelta(days=1)):
                journey = env["smb.journey"].create({
                    "name": "Browse concurrency test", "trigger": "browse_abandoned", "reentry": "always",
                    "step_ids": [(0, 0, {"name": "Only email", "step_type": "email",
                                         "subject": "Hi {{ customer.first_name }}", "body_html": "<p>Hello</p>"})],
                })
                journey.action_start()
            partner = env["res.partner"].create({"name": "Parallel Browser", "email": "browser@example.com"})
            visitor = self.visitor(env, partner)
            self.view(visitor, env["product.product"].search([("sale_ok", "=", True)], limit=1), T0)
            self.journey_id, self.partner_id, self.visitor_id = journey.id, partner.id, visitor.id
            self.mailing_id = journey.step_ids.mailing_id.id
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            journey = env["smb.journey"].browse(self.journey_id)
            campaign = journey.utm_campaign_id
            journey.action_stop()
            env["smb.journey.enrollment"].with_context(active_test=False).search(
                [("journey_id", "=", journey.id)]).unlink()
            journey.unlink()
            env["mailing.mailing"].browse(self.mailing_id).exists().unlink()
            campaign.unlink()
            env["website.visitor"].browse(self.visitor_id).unlink()
            env["smb.journey.event"].search([("res_id", "=", self.partner_id)]).unlink()
            env["res.partner"].browse(self.partner_id).unlink()

    def test_two_workers_scanning_at_once_enrol_the_visit_once(self):
        def scan(env):
            env["smb.journey"].browse(self.journey_id)._scan_browse_abandoned()

        with freeze_time(T0 + timedelta(hours=3)):  # for both threads
            self._in_threads(scan)
        self.assertEqual(self._count("smb.journey.enrollment", [("journey_id", "=", self.journey_id)]), 1)
