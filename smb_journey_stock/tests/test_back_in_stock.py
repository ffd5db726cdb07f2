from datetime import datetime, timedelta

from odoo.tests import freeze_time, tagged

from .common import StockJourneyCase

T0 = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
class TestBackInStock(StockJourneyCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.back = cls.env.ref("smb_journey_stock.journey_back_in_stock")
        cls.email_back, cls.email_reminder = cls.back.step_ids.filtered(
            lambda s: s.step_type == "email").sorted("sequence")
        cls.back.action_start()
        cls.other = cls.env["res.partner"].create({"name": "Bob Jones", "email": "bob@example.com"})
        cls.env["smb.journey.event"].process_pending()

    def run_engine(self):
        self.env["smb.journey.enrollment"].run_engine()
        self.env.invalidate_all()

    def send_odoo_availability_emails(self):
        """website_sale_stock's hourly cron; returns the addresses it wrote to."""
        with self.mock_mail_gateway():
            self.env["product.product"]._send_availability_email()
        return " ".join(", ".join(m["email_to"]) for m in self._mails if "is now available" in m["subject"])

    def test_subscriber_enters_once_when_stock_arrives(self):
        self.storable.stock_notification_partner_ids = self.customer
        with freeze_time(T0):
            self.run_engine()
            self.assertFalse(self.back.enrollment_ids, "still sold out")
        with freeze_time(T0 + timedelta(hours=1)):
            self.set_stock(self.storable, 5)
            self.run_engine()
        enrollment = self.back.enrollment_ids
        self.assertEqual((enrollment.partner_id, enrollment.res_model, enrollment.res_id),
                         (self.customer, "product.product", self.storable.id))
        self.assertFalse(self.storable.stock_notification_partner_ids, "taken off Odoo's notification list")
        mail = self.mails(self.email_back)
        self.assertEqual(len(mail), 1)
        self.assertIn("Moka Pot", mail.body_html)
        self.assertIn(f"/web/image/product.product/{self.storable.id}/", mail.body_html)
        with freeze_time(T0 + timedelta(hours=2)):
            self.run_engine()
        self.assertEqual(self.back.enrollment_ids, enrollment, "entered once")

    def test_odoo_back_in_stock_email_is_not_sent_twice(self):
        # Bob is kept out of the journey: Odoo's own email is his
        self.back.audience_domain = f"[('id', '!=', {self.other.id})]"
        self.storable.stock_notification_partner_ids = self.customer | self.other
        self.set_stock(self.storable, 5)
        sent = self.send_odoo_availability_emails()
        self.assertIn("bob@example.com", sent, "Odoo writes to whom the journey does not take")
        self.assertNotIn("ann@example.com", sent, "not to whom the journey took")
        self.assertEqual(self.back.enrollment_ids.partner_id, self.customer)
        self.assertFalse(self.storable.stock_notification_partner_ids)
        self.assertFalse(self.send_odoo_availability_emails(), "nothing more on the next run")
        self.run_engine()
        mail = self.mails(self.email_back)
        self.assertEqual(len(mail), 1)
        self.assertIn("ann@example.com", mail.email_to, "the journey's email instead")

    def test_abandoned_cart_product_back_in_stock_enters_its_customer(self):
        with freeze_time(T0):
            cart = self.env["sale.order"].create({
                "partner_id": self.customer.id, "website_id": self.website.id,
                "order_line": [(0, 0, {"product_id": self.storable.id, "product_uom_qty": 1})],
            })
        with freeze_time(T0 + timedelta(days=1)):
            self.assertTrue(cart.is_abandoned_cart)
            self.run_engine()
            self.assertEqual(self.back.back_in_stock_sold_out_ids, self.storable, "seen sold out")
            self.assertFalse(self.back.enrollment_ids)
        with freeze_time(T0 + timedelta(days=2)):
            self.set_stock(self.storable, 3)
            self.run_engine()
        self.assertEqual(self.back.enrollment_ids.partner_id, self.customer)
        self.assertEqual(self.back.enrollment_ids.res_id, self.storable.id)
        self.assertFalse(self.back.back_in_stock_sold_out_ids)
        with freeze_time(T0 + timedelta(days=2, hours=1)):
            self.run_engine()
        self.assertEqual(len(self.back.enrollment_ids), 1, "one email for one return to stock")

    def test_another_companys_stock_does_not_count(self):
        other_company = self.env["res.company"].create({"name": "Other Shop"})
        other_warehouse = self.env["stock.warehouse"].search([("company_id", "=", other_company.id)], limit=1)
        self.assertTrue(other_warehouse)
        self.storable.stock_notification_partner_ids = self.customer
        self.set_stock(self.storable, 5, warehouse=other_warehouse)
        self.run_engine()
        self.assertFalse(self.back.enrollment_ids, "the stock is another company's")
        self.assertEqual(self.storable.stock_notification_partner_ids, self.customer, "still waiting")

    def test_sold_out_again_before_the_reminder_exits(self):
        self.storable.stock_notification_partner_ids = self.customer
        with freeze_time(T0):
            self.set_stock(self.storable, 1)
            self.run_engine()
            self.assertEqual(len(self.mails(self.email_back)), 1)
            self.set_stock(self.storable, -1)
        with freeze_time(T0 + timedelta(days=3)):
            self.run_engine()
        enrollment = self.back.enrollment_ids
        self.assertEqual((enrollment.state, enrollment.exit_reason), ("exited", "sold_out_again"))
        self.assertFalse(self.mails(self.email_reminder), "no reminder for what cannot be bought")

    def test_shipped_journey_and_its_parameter(self):
        journey = self.env.ref("smb_journey_stock.journey_back_in_stock")
        self.assertIn(",back_in_stock_cart_days,", journey.trigger_params, "the form shows the parameter")
        self.assertEqual(journey.record_model, "product.product")
        self.assertIn("product", journey.step_ids[:1]._available_names(), "emails may use the product")

    def test_template_gallery_copies_the_inventory_journeys(self):
        for name in ("back_in_stock", "review_after_delivery"):
            source = self.env.ref(f"smb_journey_stock.journey_{name}")
            template = self.env.ref(f"smb_journey_stock.journey_template_{name}")
            copy = self.env["smb.journey"].browse(template.action_use()["res_id"])
            self.assertEqual((copy.state, copy.trigger, len(copy.step_ids)), ("draft", source.trigger, len(source.step_ids)))
            self.assertFalse(copy.step_ids & source.step_ids)

    def test_reminder_two_days_later_while_in_stock(self):
        self.storable.stock_notification_partner_ids = self.customer
        with freeze_time(T0):
            self.set_stock(self.storable, 4)
            self.run_engine()
        with freeze_time(T0 + timedelta(days=2, hours=1)):
            self.run_engine()
        self.assertEqual(len(self.mails(self.email_reminder)), 1)
