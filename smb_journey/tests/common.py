from contextlib import contextmanager

from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, TransactionCase

from odoo.addons.mail.tests.common import MockEmail


class JourneyCase(TransactionCase, MockEmail):
    """Fixtures shared by the engine tests: a shop, customers, and a small
    two-email journey built here so each test reads what it exercises."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.company.email = "shop@example.com"
        cls.website = cls.env.ref("website.default_website")
        cls.product = cls.env["product.product"].create({
            "name": "Espresso Cup", "list_price": 40.0, "sale_ok": True, "is_published": True,
            "type": "consu",
        })
        cls.customer = cls.env["res.partner"].create({
            "name": "Ann Smith", "email": "ann@example.com", "lang": "en_US",
        })
        cls.journey = cls.env["smb.journey"].create({
            "name": "Test journey",
            "trigger": "manual",
            "step_ids": [
                (0, 0, {"name": "Hello", "sequence": 1, "step_type": "email",
                        "subject": "Hello {{ customer.first_name }}",
                        "body_html": "<p>Hi {{ customer.first_name }}, see <a href='{{ shop_url }}'>the shop</a></p>"}),
                (0, 0, {"name": "Wait a day", "sequence": 2, "step_type": "wait",
                        "wait_amount": 1, "wait_unit": "days"}),
                (0, 0, {"name": "Again", "sequence": 3, "step_type": "email",
                        "subject": "Still there, {{ customer.first_name }}?", "body_html": "<p>Second</p>"}),
            ],
        })
        cls.step_hello, cls.step_wait, cls.step_again = cls.journey.step_ids.sorted("sequence")
        # the fixtures' own shop events (contacts created) are behind us
        cls.env["smb.journey.event"].process_pending()

    def process_events(self):
        """What the events cron does seconds after a checkout or a sign-up."""
        self.env["smb.journey.event"].process_pending()
        self.env.invalidate_all()

    def run_engine(self):
        """Run the engine's cron for real (its own cursor, like the scheduler)."""
        with self.enter_registry_test_mode():
            self.env.ref("smb_journey.ir_cron_journey_engine").method_direct_trigger()
        self.env.invalidate_all()

    def mails(self, step):
        return self.env["mail.mail"].search([("mailing_id", "=", step.mailing_id.id)])

    @contextmanager
    def assertRefused(self, pattern, exception=None):
        """Like assertRaisesRegex (ValidationError by default), with Odoo's
        rollback of the refused write (assertRaisesRegex has none)."""
        with self.assertRaises(exception or ValidationError) as caught:
            yield caught
        self.assertRegex(str(caught.exception), pattern)

    def deliver(self, mails):
        """Send queued mails through Odoo's real sending code (SMTP mocked), so
        mass_mailing marks their traces sent as it does in production."""
        with self.mock_mail_gateway():
            mails.sudo().send()
        self.env.invalidate_all()

    @classmethod
    def make_order(cls, partner, qty=2, website=True, **vals):
        return cls.env["sale.order"].create(dict({
            "partner_id": partner.id,
            "website_id": cls.website.id if website else False,
            "order_line": [(0, 0, {"product_id": cls.product.id, "product_uom_qty": qty})],
        }, **vals))

    @contextmanager
    def count_queries(self):
        counter = {}
        start = self.env.cr.sql_log_count
        yield counter
        counter["n"] = self.env.cr.sql_log_count - start


class ConsentCase(JourneyCase, HttpCase):
    """JourneyCase with two mailing lists, one asking a double opt-in, a
    journey that requires consent, and the HTTP server for the signed link."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        List = cls.env["mailing.list"]
        cls.optin_list = List.create({"name": "Newsletter", "is_public": True, "smb_double_optin": True})
        cls.plain_list = List.create({"name": "Offers", "is_public": True})
        cls.journey.consent_required = True
        cls.journey.action_start()

    def run_cron(self, xmlid):
        """Run a cron for real: its cursor is this test's (the HTTP server's test mode)."""
        self.env.ref(xmlid).method_direct_trigger()
        self.env.invalidate_all()

    def run_engine(self):
        self.run_cron("smb_journey.ir_cron_journey_engine")

    def send_confirmations(self):
        self.run_cron("smb_journey.ir_cron_consent_requests")

    def confirmation_mails(self, subscriptions):
        return self.env["mail.mail"].search(
            [("model", "=", "mailing.subscription"), ("res_id", "in", subscriptions.ids)])

    def subscribe(self, email, mailing_list, **vals):
        """A contact added by hand to ``mailing_list``; returns the subscription."""
        contact = self.env["mailing.contact"].create(dict(
            {"name": email.split("@")[0].title(), "email": email,
             "subscription_ids": [(0, 0, {"list_id": mailing_list.id})]}, **vals))
        return contact.subscription_ids
