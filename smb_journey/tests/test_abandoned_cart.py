from datetime import datetime, timedelta

from odoo.tests import freeze_time, tagged

from .common import JourneyCase

T0 = datetime(2026, 3, 2, 9, 0)  # the customer's last change to the cart


@tagged("post_install", "-at_install")
class TestAbandonedCart(JourneyCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.website.cart_abandoned_delay = 1.0
        cls.journey_cart = cls.env.ref("smb_journey.journey_abandoned_cart")
        cls.cart_steps = cls.journey_cart.step_ids.filtered(lambda s: s.step_type == "email").sorted("sequence")
        with freeze_time(T0 - timedelta(days=1)):
            cls.journey_cart.action_start()

    def new_cart(self, partner=None):
        with freeze_time(T0):
            return self.make_order(partner or self.customer, date_order=T0)

    def test_three_emails_at_one_day_and_three_days(self):
        cart = self.new_cart()
        with freeze_time(T0 + timedelta(minutes=30)):
            self.run_engine()
            self.assertFalse(self.journey_cart.enrollment_ids, "not abandoned yet")
        with freeze_time(T0 + timedelta(hours=1, minutes=1)):
            self.run_engine()
            self.assertEqual(self.journey_cart.enrollment_ids.order_id, cart)
            mail = self.mails(self.cart_steps[0])
            self.assertEqual(len(mail), 1)
            self.assertIn("Espresso Cup", mail.body_html, "the email lists the cart lines")
            tracked_urls = " ".join(self.env["link.tracker"].search([]).mapped("url"))
            self.assertIn(f"/shop/cart?id={cart.id}", tracked_urls, "the cart link is tracked")
        with freeze_time(T0 + timedelta(hours=23)):
            self.run_engine()
            self.assertFalse(self.mails(self.cart_steps[1]))
        with freeze_time(T0 + timedelta(hours=24, minutes=5)):
            self.run_engine()
            self.assertEqual(len(self.mails(self.cart_steps[1])), 1)
        with freeze_time(T0 + timedelta(hours=72, minutes=10)):
            self.run_engine()
            third = self.mails(self.cart_steps[2])
            self.assertEqual(len(third), 1)
            coupon = self.env["loyalty.card"].search([("partner_id", "=", self.customer.id)])
            self.assertEqual(len(coupon), 1, "the last email carries a personal coupon")
            self.assertIn(coupon.code, third.body_html)
            self.run_engine()
        self.assertEqual(len(self.journey_cart.enrollment_ids), 1, "one enrollment per cart")

    def test_purchase_after_first_email_stops_and_counts_revenue(self):
        cart = self.new_cart()
        with freeze_time(T0 + timedelta(hours=1, minutes=1)):
            self.run_engine()
            self.deliver(self.mails(self.cart_steps[0]))
        with freeze_time(T0 + timedelta(hours=5)):
            cart.action_confirm()
            self.process_events()
        enrollment = self.journey_cart.enrollment_ids
        self.assertEqual((enrollment.state, enrollment.exit_reason), ("completed", "purchased"))
        self.assertAlmostEqual(self.cart_steps[0].revenue, cart.amount_untaxed)
        self.assertEqual(self.cart_steps[0].converted_count, 1)
        with freeze_time(T0 + timedelta(hours=30)):
            self.run_engine()
        self.assertFalse(self.mails(self.cart_steps[1]), "no reminder after the purchase")

    def test_emptied_or_deleted_cart_exits(self):
        emptied = self.new_cart()
        other = self.env["res.partner"].create({"name": "Bob", "email": "bob@example.com"})
        deleted = self.new_cart(other)
        with freeze_time(T0 + timedelta(hours=1, minutes=1)):
            self.run_engine()
        emptied.order_line.unlink()
        deleted.unlink()
        with freeze_time(T0 + timedelta(hours=25)):
            self.run_engine()
        reasons = set(self.journey_cart.with_context(active_test=False).enrollment_ids.mapped("exit_reason"))
        self.assertEqual(reasons, {"emptied", "record_deleted"})
        self.assertFalse(self.mails(self.cart_steps[1]))

    def test_website_sale_does_not_send_its_own_reminder(self):
        self.website.send_abandoned_cart_email = True
        cart = self.new_cart()
        with freeze_time(T0 + timedelta(hours=2)):
            self.assertFalse(cart._filter_can_send_abandoned_cart_mail())
            self.journey_cart.action_pause()
            self.assertEqual(cart._filter_can_send_abandoned_cart_mail(), cart,
                             "website_sale takes over when no journey runs")

    def test_a_scan_reads_only_the_carts_that_can_still_enter(self):
        """Odoo keeps every cart forever: a scan reads back to the previous
        one (less the abandon delay and a day of margin), not to the start."""
        Partner = self.env["res.partner"]
        bob, carol = Partner.create([{"name": "Bob"}, {"name": "Carol"}])  # no email yet: they cannot enter
        bobs, carols = self.new_cart(bob), self.new_cart(carol)
        with freeze_time(T0 + timedelta(hours=1, minutes=1)):
            self.run_engine()
        self.assertEqual(self.journey_cart.scanned_at, T0 + timedelta(hours=1, minutes=1))
        bob.email = "bob@example.com"
        with freeze_time(T0 + timedelta(hours=12)):
            self.run_engine()
        self.assertIn(bobs, self.journey_cart.enrollment_ids.order_id, "within the margin: Bob's cart enters")
        with freeze_time(T0 + timedelta(days=3)):
            self.run_engine()
        carol.email = "carol@example.com"
        with freeze_time(T0 + timedelta(days=3, minutes=5)):
            self.assertGreater(self.journey_cart._cart_scan_start(), T0, "the scan no longer reads Tuesday's carts")
            self.run_engine()
        self.assertNotIn(carols, self.journey_cart.enrollment_ids.order_id,
                         "a cart abandoned three days ago that qualifies late does not enter")
