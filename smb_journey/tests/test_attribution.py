from datetime import datetime, timedelta

from odoo.tests import Form, freeze_time, tagged

from .common import JourneyCase

T0 = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
class TestAttribution(JourneyCase):
    """Every number on screen is true: revenue is credited to emails that were
    really sent, once per order, net of what the customer gave back."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.journey.conversion_window_days = 5
        cls.product.write({"invoice_policy": "order", "taxes_id": [(5,)]})
        cls.second = cls.env["smb.journey"].create({
            "name": "Second journey", "conversion_window_days": 5,
            "step_ids": [(0, 0, {"name": "Other hello", "step_type": "email", "subject": "Hi again",
                                 "body_html": "<p>Again</p>"})],
        })
        cls.other_step = cls.second.step_ids

    def start_both(self):
        """Ann gets the first journey's email at T0, the second's at T0 + 1 day, both sent."""
        with freeze_time(T0):
            self.journey.action_start()
            self.second.action_start()
            self.journey.enroll(self.customer)
            self.run_engine()
            self.deliver(self.mails(self.step_hello))
        with freeze_time(T0 + timedelta(days=1)):
            self.second.enroll(self.customer)
            self.run_engine()
            self.deliver(self.mails(self.other_step))

    def confirm_order(self, when, qty=5, **vals):
        with freeze_time(when):
            order = self.make_order(self.customer, qty=qty, website=False, **vals)
            order.action_confirm()
            self.process_events()
        return order

    def test_an_email_still_in_the_queue_earns_nothing(self):
        with freeze_time(T0):
            self.journey.action_start()
            self.journey.enroll(self.customer)
            self.run_engine()
        self.assertEqual(self.mails(self.step_hello).state, "outgoing")
        order = self.confirm_order(T0 + timedelta(hours=2))
        self.assertFalse(self.journey.converted_count)
        self.assertFalse(self.journey.revenue)
        self.assertFalse(self.env["smb.journey.conversion"].search([("order_id", "=", order.id)]))

    def test_an_order_is_credited_once_to_the_last_email(self):
        self.start_both()
        order = self.confirm_order(T0 + timedelta(days=2))
        self.assertEqual(self.journey.converted_count, 0, "the earlier journey's email is not the last touch")
        self.assertEqual(self.second.converted_count, 1)
        self.assertAlmostEqual(self.second.revenue, order.amount_untaxed)
        self.assertAlmostEqual(self.journey.revenue + self.second.revenue, order.amount_untaxed,
                               msg="credited once across journeys")

    def test_first_touch_and_linear_attribution_add_up_to_the_order(self):
        self.env.company.smb_attribution_model = "first"
        self.start_both()
        order = self.confirm_order(T0 + timedelta(days=2))
        self.assertAlmostEqual(self.journey.revenue, order.amount_untaxed)
        self.assertFalse(self.second.revenue)
        self.env.company.smb_attribution_model = "linear"
        order2 = self.confirm_order(T0 + timedelta(days=3))
        conversions = self.env["smb.journey.conversion"].search([("order_id", "=", order2.id)])
        self.assertEqual(conversions.mapped("share"), [0.5, 0.5])
        self.assertAlmostEqual(sum(conversions.mapped("revenue")), order2.amount_untaxed)

    def test_a_linear_split_adds_up_to_the_cent(self):
        self.env.company.smb_attribution_model = "linear"
        third = self.second.copy({"name": "Third journey"})
        self.start_both()
        with freeze_time(T0 + timedelta(days=1, hours=1)):
            third.action_start()
            third.enroll(self.customer)
            self.run_engine()
            self.deliver(self.mails(third.step_ids))
        self.product.list_price = 44.82  # 5 × 44.82 = 224.10, which does not split in three
        order = self.confirm_order(T0 + timedelta(days=2))
        conversions = self.env["smb.journey.conversion"].search([("order_id", "=", order.id)])
        self.assertEqual(len(conversions), 3)
        self.assertAlmostEqual(sum(conversions.mapped("share")), 1.0)
        self.assertAlmostEqual(sum(conversions.mapped("revenue")), order.amount_untaxed, places=2)

    def test_another_company_order_is_not_credited(self):
        self.start_both()
        company_b = self.env["res.company"].create({"name": "Shop B"})
        order = self.make_order(self.customer, website=False, company_id=company_b.id)
        with freeze_time(T0 + timedelta(days=2)):
            order.with_company(company_b).action_confirm()
            self.process_events()
        self.assertFalse(self.env["smb.journey.conversion"].search([("order_id", "=", order.id)]))

    def test_cancellation_and_credit_notes_take_the_revenue_back(self):
        self.start_both()
        order = self.confirm_order(T0 + timedelta(days=2), qty=4)
        self.assertAlmostEqual(self.second.revenue, 160.0)
        # a credit note for one of the four cups
        order._create_invoices().action_post()
        with freeze_time(T0 + timedelta(days=3)):
            credit = order.invoice_ids._reverse_moves()
            with Form(credit) as form:
                with form.invoice_line_ids.edit(0) as line:
                    line.quantity = 1
            credit.action_post()
            self.process_events()
        self.assertAlmostEqual(self.second.revenue, 120.0)
        cancelled = self.confirm_order(T0 + timedelta(days=3), qty=1)
        self.env.invalidate_all()
        self.assertAlmostEqual(self.second.revenue, 160.0)
        cancelled._action_cancel()
        self.process_events()
        self.assertAlmostEqual(self.second.revenue, 120.0, msg="a cancelled order takes its credit back")
        self.assertEqual(self.second.converted_count, 1)

    def test_a_cart_journey_ends_and_earns_only_with_its_own_cart(self):
        cart_journey = self.env.ref("smb_journey.journey_abandoned_cart")
        self.assertEqual(cart_journey.goal_scope, "record")
        with freeze_time(T0):
            cart_journey.action_start()
            cart = self.make_order(self.customer)
            enrollment = cart_journey.enroll(cart)
            self.run_engine()
            first = cart_journey._first_step()
            self.deliver(self.mails(first))
        # a salesperson's phone quotation for something else
        phone = self.confirm_order(T0 + timedelta(hours=5))
        self.run_engine()
        self.assertEqual(enrollment.state, "running", "the reminders go on: the cart is still there")
        self.assertFalse(self.env["smb.journey.conversion"].search([("order_id", "=", phone.id)]))
        with freeze_time(T0 + timedelta(hours=6)):
            cart.action_confirm()
            self.process_events()
        self.assertEqual((enrollment.state, enrollment.exit_reason), ("completed", "purchased"))
        self.assertEqual(self.env["smb.journey.conversion"].search([("order_id", "=", cart.id)]).journey_id,
                         cart_journey)

    def test_goal_counts_this_company_orders_confirmed_after_entering(self):
        self.journey.goal = "order_confirmed"
        before = self.confirm_order(T0 - timedelta(days=1))
        with freeze_time(T0):
            self.journey.action_start()
            enrollment = self.journey.enroll(self.customer)
        company_b = self.env["res.company"].create({"name": "Shop B"})
        with freeze_time(T0 + timedelta(hours=1)):
            other = self.make_order(self.customer, website=False, company_id=company_b.id)
            other.with_company(company_b).action_confirm()
            self.run_engine()
        self.assertTrue(before)
        self.assertEqual(enrollment.state, "running", "an older order or another shop's does not reach the goal")
        self.confirm_order(T0 + timedelta(hours=2))
        self.assertEqual((enrollment.state, enrollment.exit_reason), ("completed", "goal"))

    def test_numbers_agree_with_email_marketing(self):
        self.start_both()
        self.mails(self.step_hello).mailing_trace_ids.set_opened()
        mailing = self.step_hello.mailing_id
        self.env.invalidate_all()
        self.assertEqual(
            (self.step_hello.sent_count, self.step_hello.delivered_count, self.step_hello.opened_count),
            (mailing.sent, mailing.delivered, mailing.opened))
        self.assertEqual(self.journey.sent_count, mailing.sent)
        # the technical mailings stay out of Email Marketing's lists, found by a filter
        Mailing = self.env["mailing.mailing"]
        self.assertNotIn(mailing, Mailing.search([]))
        self.assertIn(mailing, Mailing.search([("smb_journey_step_id", "!=", False), ("active", "in", (True, False))]))
        self.assertNotIn("{{", mailing.subject)

    def test_the_queued_email_is_readable_in_the_customer_chatter(self):
        self.journey.action_start()
        self.journey.enroll(self.customer)
        self.run_engine()
        message = self.mails(self.step_hello).mail_message_id
        self.assertEqual(message.model, "res.partner")
        self.assertIn("Hello Ann", message.body, "the chatter shows the email, not 'This message has been removed'")
