import time

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import JourneyCase


@tagged("post_install", "-at_install")
class TestAuthoring(JourneyCase):
    """Writing a journey email holds no surprise: what cannot work is refused
    on save, with its name; previews and tests show what customers get."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.coupons = cls.env.ref("smb_journey.loyalty_program_cart_recovery")

    def preview(self, step, partner=None):
        action = step.action_preview()
        form = Form(self.env[action["res_model"]].with_context(action["context"]))
        if partner:
            form.partner_id = partner
        return form.save()

    def test_placeholders_the_journey_cannot_fill_are_refused_naming_them(self):
        with self.assertRefused("order"):
            self.step_hello.body_html = "<p>Your order {{ order.name }}</p>"
        with self.assertRefused("coupon"):
            self.step_hello.body_html = "<p>Code: {{ coupon.code }}</p>"
        with self.assertRefused("custmer"):
            self.step_hello.subject = "Hi {{ custmer.first_name }}"
        # guarded, or with the coupon program set, it is fine
        self.step_hello.body_html = '<p data-smb-if="order">Your order {{ order.name }}</p>'
        self.step_hello.write({"coupon_program_id": self.coupons.id, "body_html": "<p>Code: {{ coupon.code }}</p>"})

    def test_a_broken_translation_is_refused_like_a_broken_source(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        with self.assertRefused("fr_FR"):
            self.step_hello.with_context(lang="fr_FR").subject = "Bonjour {{ customer.first_name"
        with self.assertRefused("fr_FR"):
            self.step_hello.update_field_translations("subject", {"fr_FR": "Bonjour {{ client.prenom }}"})

    def test_runaway_templates_are_refused_quickly(self):
        started = time.monotonic()
        for subject in ("{{ 'x' * 10**9 }}", "{% for i in range(10**9) %}x{% endfor %}", "{{ 10 ** (10 ** 10) }}"):
            with self.assertRaises(ValidationError):
                self.step_hello.subject = subject
        self.assertLess(time.monotonic() - started, 10, "refused in moments, not minutes")

    def test_preview_shows_the_coupon_and_a_sample_order(self):
        cards = self.env["loyalty.card"].search_count([])
        cart_journey = self.env.ref("smb_journey.journey_abandoned_cart")
        coupon_step = cart_journey.step_ids.filtered("coupon_program_id")
        preview = self.preview(coupon_step, partner=self.customer)
        self.assertFalse(preview.error)
        self.assertIn("SAMPLE-CODE", preview.body_html)
        self.assertIn("Espresso Cup", preview.body_html, "a customer without a cart sees a sample one")
        self.assertEqual(self.env["loyalty.card"].search_count([]), cards, "a preview issues no coupon")

    def test_send_a_test_email_that_counts_nowhere(self):
        self.journey.action_start()
        preview = self.preview(self.step_hello, partner=self.customer)
        preview.email_to = "me@example.com"
        with self.mock_mail_gateway():
            preview.action_send_test()
        self.assertEqual(len(self._mails), 1)
        sent = self._mails[0]
        self.assertEqual(sent["email_to"], ["me@example.com"])
        self.assertEqual(sent["subject"], "[TEST] Hello Ann")
        self.assertFalse(self.step_hello.mailing_id.mailing_trace_ids, "no trace: not in the statistics")
        self.assertEqual(self.step_hello.sent_count, 0)
        self.assertIn("me@example.com", self.journey.message_ids[:1].body)

    def test_every_email_can_be_unsubscribed_from(self):
        self.assertNotIn("unsubscribe", self.step_hello.body_html)
        self.journey.action_start()
        self.journey.enroll(self.customer)
        self.run_engine()
        self.assertIn("/unsubscribe_from_list", self.mails(self.step_hello).body_html)
        self.assertIn("Unsubscribe", self.mails(self.step_hello).body_html)

    def test_a_wait_tells_when_in_the_reader_timezone_and_counts_read_right(self):
        self.journey.action_start()
        enrollment = self.journey.enroll(self.customer)
        self.run_engine()
        wait_log = enrollment.log_ids.filtered(lambda l: l.step_id == self.step_wait)
        self.assertEqual(wait_log.due_at, enrollment.due_at, "a datetime the screen shows in the reader's timezone")
        self.assertNotIn("UTC", wait_log.message or "")
        action = self.customer.action_smb_enroll()
        wizard = Form(self.env[action["res_model"]].with_context(action["context"]))
        wizard.journey_id = self.journey.copy({"name": "Copy"})
        wizard.journey_id.action_start()
        result = wizard.save().action_enroll()
        self.assertIn("1 customer enrolled", result["params"]["message"])
        self.assertEqual(self.journey.action_open_enroll_wizard()["name"], "Enrol Customers",
                         "the dialog opened from the journey has a title")

    def test_the_save_check_knows_every_value_an_email_gets(self):
        """The sample a save is checked against has the keys of a real render
        (and of each value), so a new placeholder cannot be refused or missed."""
        cart_journey = self.env.ref("smb_journey.journey_abandoned_cart")
        step = cart_journey.step_ids.filtered("coupon_program_id")
        cart_journey.action_start()
        enrollment = cart_journey.enroll(self.make_order(self.customer))
        step = step.with_context(smb_journey_preview=True)
        providers = step._context_providers()
        self.assertEqual(set(step._sample_context()), set(providers), "every provider has a name in the sample")
        self.assertTrue({"order", "cart", "coupon", "tier"} <= step._available_names())
        for name in step._available_names():
            real = getattr(step, f"_context_{name}")(enrollment, {enrollment.id: self.env}).get(enrollment.id)
            sample = getattr(step, f"_sample_{name}")()
            self.assertEqual(type(real), type(sample), name)
            if isinstance(sample, dict):
                self.assertEqual(set(real), set(sample), name)
                self.assertEqual(set(providers[name].fields), set(sample), f"{name}: the Placeholders tab lists it")
            elif isinstance(sample, list) and real:
                self.assertEqual(set(real[0]), set(sample[0]), name)
        real_order = step._context_order(enrollment, {enrollment.id: self.env})[enrollment.id]
        self.assertEqual(set(real_order["lines"][0]), set(step._sample_order()["lines"][0]))
        # a real render builds only what the templates use (tier and recommendations cost queries)
        rendered = step._prepare_render_contexts(enrollment)[enrollment.id]
        self.assertEqual(set(rendered), set(providers))
        self.assertIsNone(rendered["tier"], "the email does not show the tier")
