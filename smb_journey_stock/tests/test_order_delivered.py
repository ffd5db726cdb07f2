from datetime import datetime, timedelta

from odoo import fields
from odoo.tests import freeze_time, tagged

from .common import StockJourneyCase

T0 = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
class TestOrderDelivered(StockJourneyCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.review = cls.env.ref("smb_journey_stock.journey_review_after_delivery")
        cls.review_email = cls.env.ref("smb_journey_stock.journey_review_after_delivery_step_email")
        cls.review.action_start()

    def confirmed_order(self, qty=2):
        self.set_stock(self.storable, qty)
        order = self.env["sale.order"].create({
            "partner_id": self.customer.id,
            "order_line": [(0, 0, {"product_id": self.storable.id, "product_uom_qty": qty})],
        })
        order.action_confirm()
        self.process_events()
        return order

    def deliver(self, picking, qty=None):
        """Validate ``picking`` (all of it, or ``qty``, leaving a backorder)."""
        picking.action_assign()
        if qty is not None:
            picking.move_ids.quantity = qty
        picking.move_ids.picked = True
        picking.with_context(cancel_backorder=False)._action_done()
        return picking

    def test_delivery_validated_enters_once_per_order(self):
        order = self.confirmed_order()
        self.assertFalse(self.review.enrollment_ids, "confirming the order is not enough")
        self.deliver(order.picking_ids)
        self.assertEqual(self.env["smb.journey.event"].search_count(
            [("kind", "=", "order_delivered"), ("res_id", "=", order.id)]), 1, "the validation writes one event")
        self.assertFalse(self.review.enrollment_ids, "the customer enters in the events cron, not in the validation")
        self.env["smb.journey.enrollment"].run_engine()
        self.assertEqual(self.review.enrollment_ids.order_id, order)
        self.assertEqual(self.review.enrollment_ids.partner_id, self.customer)
        # the same order delivered again (a return re-shipped) does not enter twice
        self.env["smb.journey.event"]._enqueue("order_delivered", order)
        self.env["smb.journey.enrollment"].run_engine()
        self.assertEqual(len(self.review.enrollment_ids), 1)

    def test_review_request_goes_out_days_after_delivery_not_after_order(self):
        with freeze_time(T0):
            order = self.confirmed_order()
        with freeze_time(T0.replace(day=6)):  # delivered four days after the order
            self.deliver(order.picking_ids)
            self.env["smb.journey.enrollment"].run_engine()
        with freeze_time(T0.replace(day=10)):  # a week after the order, four days after delivery
            self.env["smb.journey.enrollment"].run_engine()
            self.assertFalse(self.mails(self.review_email), "too early: delivered four days ago")
        with freeze_time(T0.replace(day=11, hour=10)):
            self.env["smb.journey.enrollment"].run_engine()
        mail = self.mails(self.review_email)
        self.assertEqual(len(mail), 1, "five days after the delivery")
        self.assertIn(order.name, mail.body_html)
        self.assertIn("Review this product", mail.body_html)

    def test_partial_delivery_waits_for_the_last_one(self):
        order = self.confirmed_order(qty=2)
        first = order.picking_ids
        self.deliver(first, qty=1)
        self.env["smb.journey.enrollment"].run_engine()
        self.assertFalse(self.review.enrollment_ids, "half the order arrived: no review request yet")
        backorder = order.picking_ids - first
        self.assertEqual(len(backorder), 1)
        self.deliver(backorder)
        self.env["smb.journey.enrollment"].run_engine()
        self.assertEqual(self.review.enrollment_ids.order_id, order, "the last delivery makes the order delivered")

    def test_rest_of_an_order_cancelled_counts_as_delivered(self):
        order = self.confirmed_order(qty=2)
        first = order.picking_ids
        self.deliver(first, qty=1)
        (order.picking_ids - first).action_cancel()
        self.env["smb.journey.enrollment"].run_engine()
        self.assertEqual(self.review.enrollment_ids.order_id, order, "what was delivered is all there will be")

    def test_cancelled_order_exits_before_the_review_request(self):
        with freeze_time(T0):
            order = self.confirmed_order()
            self.deliver(order.picking_ids)
            self.env["smb.journey.enrollment"].run_engine()
            enrollment = self.review.enrollment_ids
            self.assertEqual(enrollment.state, "running")
            order._action_cancel()
            self.process_events()
        with freeze_time(T0.replace(day=8)):
            self.env["smb.journey.enrollment"].run_engine()
        self.assertEqual((enrollment.state, enrollment.exit_reason), ("exited", "cancelled"))
        self.assertFalse(self.mails(self.review_email))

    def test_only_deliveries_of_orders_write_an_event(self):
        def delivered_events():
            return self.env["smb.journey.event"].search_count([("kind", "=", "order_delivered")])

        before = delivered_events()
        receipt = self.env["stock.picking"].create({
            "picking_type_id": self.warehouse.in_type_id.id,
            "location_id": self.env.ref("stock.stock_location_suppliers").id,
            "location_dest_id": self.warehouse.lot_stock_id.id,
            "move_ids": [(0, 0, {"product_id": self.storable.id, "product_uom_qty": 3,
                                 "location_id": self.env.ref("stock.stock_location_suppliers").id,
                                 "location_dest_id": self.warehouse.lot_stock_id.id})],
        })
        receipt.action_confirm()
        self.deliver(receipt)
        self.assertEqual(receipt.state, "done")
        order = self.confirmed_order()
        order._action_cancel()
        self.assertEqual(delivered_events(), before, "a receipt, an order cancelled undelivered: no event")

    def test_post_purchase_journey_no_longer_asks_for_the_review(self):
        post_purchase = self.env.ref("smb_journey.journey_post_purchase")
        self.assertEqual(post_purchase.state, "draft")
        self.assertEqual(post_purchase.step_ids.sorted("sequence").mapped("name"),
                         ["Thank you", "Wait 14 days", "Related products"])
        self.assertFalse(self.env["smb.journey"]._stock_hand_over_review_request(), "done once, at install")
        review = self.env.ref("smb_journey.journey_post_purchase_step_email_2")
        self.assertFalse(review.journey_id.active, "kept in an archived journey, so an update does not bring it back")
        self.assertEqual(review.journey_id.step_ids.mapped("name"), ["Wait 7 days", "Review request"])

    def test_forecast_at_the_rate_of_deliveries(self):
        """Orders delivered in full in the last 30 days, at the same rate: 2 in 30 days, 2/30 a day."""
        delivered = []
        for __ in range(3):
            order = self.confirmed_order()
            self.deliver(order.picking_ids)
            delivered.append(order)
        self.confirmed_order()  # not delivered
        # dated apart from the clock: Odoo dates a validation by the transaction's start, the forecast by now
        now = fields.Datetime.now()
        delivered[0].effective_date = now - timedelta(days=2)
        delivered[1].effective_date = now - timedelta(days=5)
        delivered[2].effective_date = datetime(2020, 1, 1)  # delivered long ago
        self.review.reentry = "always"
        week, month = self.review._forecast(lookback_days=30)["windows"]
        self.assertAlmostEqual(week["entrants"], 2 / 30 * 7)
        self.assertAlmostEqual(month["entrants"], 2.0)
