from odoo.addons.mass_mailing_sms.tests.common import MassSMSCase
from odoo.addons.smb_journey.tests.common import JourneyCase


class SmsJourneyCase(JourneyCase, MassSMSCase):
    """JourneyCase with an SMS journey (a text, a day's wait, a second
    text), customers with mobile numbers, the SMS gateway mocked (IAP is
    never called) and the HTTP server for the short and opt-out links."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sms_base_url = cls.env["sms.sms"].get_base_url()
        Partner = cls.env["res.partner"]
        cls.customer.write({"phone": "+32 470 12 34 56", "country_id": cls.env.ref("base.be").id})
        cls.bob = Partner.create({
            "name": "Bob Stone", "email": "bob@example.com", "phone": "+32 470 65 43 21",
            "country_id": cls.env.ref("base.be").id, "lang": "en_US"})
        cls.sms_journey = cls.env["smb.journey"].create({
            "name": "SMS journey",
            "trigger": "manual",
            "step_ids": [
                (0, 0, {"name": "Text", "sequence": 1, "step_type": "sms",
                        "sms_body": "Hi {{ customer.first_name }}, new in {{ company.name }}: {{ shop_url }}"}),
                (0, 0, {"name": "Wait a day", "sequence": 2, "step_type": "wait",
                        "wait_amount": 1, "wait_unit": "days"}),
                (0, 0, {"name": "Again", "sequence": 3, "step_type": "sms", "sms_body": "Still there?"}),
            ],
        })
        cls.step_text, __, cls.step_again = cls.sms_journey.step_ids.sorted("sequence")
        cls.env["smb.journey.event"].process_pending()

    def run_engine(self):
        """Run the engine's cron for real: its cursor is this test's (the HTTP server's test mode)."""
        self.env.ref("smb_journey.ir_cron_journey_engine").method_direct_trigger()
        self.env.invalidate_all()

    def send_sms_queue(self, **gateway):
        """Odoo's SMS cron sends the queue, through the mocked IAP gateway."""
        with self.mockSMSGateway(**gateway):
            self.env.ref("sms.ir_cron_sms_scheduler_action").method_direct_trigger()
        self.env.invalidate_all()

    def sms_of(self, step):
        return self.env["sms.sms"].sudo().search([("mailing_id", "=", step.mailing_id.id)], order="id")

    def traces_of(self, step):
        return self.env["mailing.trace"].sudo().search([("mass_mailing_id", "=", step.mailing_id.id)], order="id")
