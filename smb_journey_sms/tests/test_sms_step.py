import re
from datetime import datetime, timedelta
from unittest import skipUnless
from urllib.parse import urlencode, urlparse

from odoo.tests import Form, freeze_time, tagged

from .common import SmsJourneyCase

try:
    import phonenumbers
except ImportError:
    phonenumbers = None

T0 = datetime(2026, 3, 2, 9, 0)
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"


@tagged("post_install", "-at_install")
class TestSmsStep(SmsJourneyCase):

    def test_one_sms_per_customer_with_tracked_links_and_stop_link(self):
        with freeze_time(T0):
            self.sms_journey.action_start()
            enrollments = self.sms_journey.enroll(self.customer | self.bob)
            self.run_engine()
            sms_ann, sms_bob = self.sms_of(self.step_text)
            self.assertEqual((sms_ann.partner_id, sms_bob.partner_id), (self.customer, self.bob))
            self.assertEqual(sms_ann.number, self.customer.phone_sanitized)
            self.assertEqual(sms_ann.state, "outgoing", "sent by Odoo's SMS queue, not by the engine")
            trace_ann, trace_bob = self.traces_of(self.step_text)
            self.assertEqual(self.step_text.mailing_id.mailing_type, "sms")
            self.assertEqual(
                (trace_ann.trace_type, trace_ann.sms_id_int, trace_ann.sms_number, trace_ann.res_id,
                 trace_ann.trace_status),
                ("sms", sms_ann.id, self.customer.phone_sanitized, self.customer.id, "outgoing"))
            self.assertEqual(trace_ann.sms_tracker_ids.sms_uuid, sms_ann.uuid, "IAP's delivery reports find the trace")
            # rendered, the shop link shortened and tagged with the SMS, the opt-out link last
            company = self.sms_journey.company_id.name
            match = re.fullmatch(
                rf"Hi Ann, new in {re.escape(company)}: {re.escape(self.sms_base_url)}/r/(\w+)/s/{sms_ann.id}\n"
                rf"STOP SMS: {re.escape(self.sms_base_url)}/sms/{self.step_text.mailing_id.id}/{trace_ann.sms_code}",
                sms_ann.body)
            self.assertTrue(match, sms_ann.body)
            tracker = self._get_tracker_from_short_url(f"{self.sms_base_url}/r/{match.group(1)}")
            self.assertEqual(tracker.url.split("?")[0], f"{self.sms_journey.get_base_url()}/shop")
            self.assertEqual(tracker.mass_mailing_id, self.step_text.mailing_id)
            self.assertIn(f"/r/{match.group(1)}/s/{sms_bob.id}", sms_bob.body, "one tracker for every customer")
            self.assertEqual(
                enrollments.log_ids.filtered(lambda log: log.step_id == self.step_text).mapped("mailing_trace_id"),
                trace_ann | trace_bob)
            self.assertEqual((self.step_text.queued_count, self.step_text.sent_count), (2, 0))

            self.send_sms_queue()
            self.assertSMSIapSent([self.customer.phone_sanitized, self.bob.phone_sanitized])
            self.assertEqual(trace_ann.trace_status, "pending", "accepted by IAP")
            self.assertTrue(trace_ann.sent_datetime)
            self.assertEqual(
                (self.step_text.queued_count, self.step_text.sent_count, self.step_text.delivered_count), (0, 2, 2),
                "accepted by IAP is delivered, as conversions credit it: no delivery report may ever come")

        # a scanner following the link is not Ann's click (the link tracker counts it)
        short = urlparse(re.search(r"\S+/r/\S+", sms_ann.body).group(0)).path
        with freeze_time(T0 + timedelta(minutes=1)):
            response = self.url_open(short, allow_redirects=False, headers={"User-Agent": "Proofpoint URL Defense"})
            self.assertEqual(response.status_code, 301)
            self.env.invalidate_all()
            self.assertEqual(len(self.env["link.tracker.click"].search([("mailing_trace_id", "=", trace_ann.id)])), 1)
            self.assertFalse(trace_ann.links_click_datetime)
            self.assertEqual(self.step_text.clicked_count, 0)

            # Ann follows the link on her phone: her click is counted on her trace, and her step's statistics
            response = self.url_open(short, allow_redirects=False, headers={"User-Agent": PHONE})
            self.assertEqual(response.status_code, 301)
            self.env.invalidate_all()
            self.assertTrue(trace_ann.links_click_datetime)
            self.assertFalse(trace_bob.links_click_datetime)
            self.assertEqual((self.step_text.clicked_count, self.step_text.click_rate), (1, 50.0))
            self.assertEqual(self.sms_journey.clicked_count, 1)

            # the delivery reports: Bob's SMS reached him, Ann's number turned out dead
            trace_bob.sms_tracker_ids._action_update_from_sms_state("sent")
            trace_ann.sms_tracker_ids._action_update_from_sms_state("error", failure_type="sms_number_format")
            self.assertEqual((trace_bob.trace_status, trace_ann.trace_status), ("sent", "error"))
            self.step_text.invalidate_recordset()
            self.assertEqual((self.step_text.delivered_count, self.step_text.failed_count), (1, 1))

    def test_order_after_the_sms_is_credited_to_it(self):
        with freeze_time(T0):
            self.sms_journey.action_start()
            self.sms_journey.enroll(self.customer)
            self.run_engine()
        with freeze_time(T0 + timedelta(minutes=5)):
            self.send_sms_queue()
        with freeze_time(T0 + timedelta(hours=2)):
            order = self.make_order(self.customer)
            order.action_confirm()
            self.process_events()
        self.assertEqual((self.step_text.converted_count, self.step_text.revenue), (1, order.amount_untaxed))

    def test_sms_needs_a_valid_number_not_blacklisted_and_consent(self):
        no_phone = self.env["res.partner"].create({"name": "Cleo No Phone", "email": "cleo@example.com"})
        optout = self.env["res.partner"].create({
            "name": "Dan Out", "email": "dan@example.com", "phone": "+32 470 11 22 33", "smb_journey_optout": True})
        self.env["phone.blacklist"].sudo().add(self.bob.phone_sanitized)
        with freeze_time(T0):
            self.sms_journey.action_start()
            enrollments = self.sms_journey.enroll(self.customer | self.bob | no_phone | optout)
            self.run_engine()
        self.assertEqual(self.sms_of(self.step_text).partner_id, self.customer)
        logs = enrollments.log_ids.filtered(lambda log: log.step_id == self.step_text)
        self.assertEqual(
            {log.partner_id: (log.outcome, log.reason) for log in logs},
            {self.customer: ("sent", False), self.bob: ("skipped", "phone_blacklisted"),
             no_phone: ("skipped", "phone_missing"), optout: ("skipped", "opted_out")})
        self.assertEqual(self.step_text.skipped_count, 3)
        self.assertTrue(
            all(e.step_id == self.step_again for e in enrollments - enrollments.filtered(lambda e: e.partner_id == optout)),
            "a skipped text does not stop the journey")

    @skipUnless(phonenumbers, "without the phonenumbers library, Odoo does not check numbers")
    def test_invalid_number_is_skipped(self):
        self.bob.phone = "12"
        with freeze_time(T0):
            self.sms_journey.action_start()
            enrollment = self.sms_journey.enroll(self.bob)
            self.run_engine()
        log = enrollment.log_ids.filtered(lambda log: log.step_id == self.step_text)
        self.assertEqual((log.outcome, log.reason), ("skipped", "phone_invalid"))
        self.assertFalse(self.sms_of(self.step_text))

    def test_stop_link_blacklists_the_number_and_exits_the_journeys(self):
        with freeze_time(T0):
            self.sms_journey.action_start()
            self.journey.action_start()
            enrollments = self.sms_journey.enroll(self.customer | self.bob) | self.journey.enroll(self.customer)
            self.run_engine()
            sms_ann = self.sms_of(self.step_text).filtered(lambda s: s.partner_id == self.customer)
            stop = urlparse(sms_ann.body.split("STOP SMS: ")[1]).path
            # the page asks for the number; the answer blacklists it
            self.url_open(f"{stop}?{urlencode({'sms_number': self.customer.phone_sanitized})}")
            self.env.invalidate_all()
        self.assertTrue(self.env["phone.blacklist"].sudo().search([("number", "=", self.customer.phone_sanitized)]))
        ann = enrollments.filtered(lambda e: e.partner_id == self.customer)
        self.assertEqual(set(ann.mapped("state")), {"exited"}, "every journey of hers ends, the email one too")
        self.assertEqual(set(ann.mapped("exit_reason")), {"blacklisted"})
        self.assertEqual((enrollments - ann).state, "running", "Bob goes on")
        with freeze_time(T0 + timedelta(days=1, minutes=1)):
            self.run_engine()
        self.assertEqual(self.sms_of(self.step_again).partner_id, self.bob)

    def test_queuing_costs_the_same_queries_for_any_number_of_customers(self):
        self.sms_journey.action_start()
        counts = []
        for size in (1, 3, 9):  # the first one creates the shop link's tracker
            partners = self.env["res.partner"].create([{
                "name": f"Client {size}-{i}", "email": f"c{size}-{i}@example.com", "phone": f"+32 470 00 {size:02d} {i:02d}",
            } for i in range(size)])
            enrollments = self.sms_journey.enroll(partners)
            self.env.invalidate_all()
            with self.count_queries() as counter:
                results = self.step_text._run_sms(enrollments)
                self.env.flush_all()
            self.assertEqual([r.outcome for r in results], ["sent"] * size)
            counts.append(counter["n"])
        self.assertEqual(counts[1], counts[2], "no query per customer")

    def test_text_can_place_its_own_stop_link(self):
        self.step_text.sms_body = "Reply or leave: {{ unsubscribe_url }}"
        with freeze_time(T0):
            self.sms_journey.action_start()
            self.sms_journey.enroll(self.customer)
            self.run_engine()
        sms = self.sms_of(self.step_text)
        trace = self.traces_of(self.step_text)
        self.assertEqual(sms.body, f"Reply or leave: {self.sms_base_url}/sms/{self.step_text.mailing_id.id}/{trace.sms_code}")

    def test_template_errors_are_refused_on_save(self):
        with self.assertRefused("customer.frist_name"):
            self.step_text.sms_body = "Hi {{ customer.frist_name }}"
        with self.assertRefused("order"):
            self.step_text.sms_body = "Your order {{ order.name }}"
        with self.assertRefused("view_url"):
            self.step_text.sms_body = "See {{ view_url }}"
        with self.assertRefused("Unknown placeholder"):
            self.env["smb.journey.step"].create({
                "journey_id": self.sms_journey.id, "name": "Bad", "step_type": "sms", "sms_body": "{{ nope }}"})
        self.step_text.sms_body = "{% if order %}Order {{ order.name }}{% endif %}Hi {{ customer.first_name }}"
        cart_journey = self.env["smb.journey"].create({
            "name": "Cart texts", "trigger": "cart_abandoned",
            "step_ids": [(0, 0, {"name": "Text", "step_type": "sms", "sms_body": "Your cart: {{ cart.url }}"})],
        })
        with self.assertRefused("cart"):
            cart_journey.trigger = "manual"

    def test_tracking_mailing_follows_the_step(self):
        mailing = self.step_text.mailing_id
        self.assertEqual((mailing.mailing_type, mailing.active, mailing.smb_journey_step_id),
                         ("sms", False, self.step_text))
        self.step_text.write({"name": "First text", "sms_body": "Hello"})
        self.assertEqual(mailing.subject, "[SMS journey] First text")
        self.assertEqual(mailing.body_plaintext, "Hello")

    def test_email_step_made_an_sms_gets_an_sms_mailing(self):
        email_mailing = self.step_hello.mailing_id
        self.step_hello.write({"step_type": "sms", "sms_body": "Hello by text"})
        self.assertEqual(self.step_hello.mailing_id.mailing_type, "sms")
        self.assertEqual(email_mailing.mailing_type, "mail", "the email's traces stay on their mailing")
        self.step_hello.step_type = "email"
        self.assertEqual(self.step_hello.mailing_id.mailing_type, "mail")

    def test_step_form_writes_an_sms_step(self):
        with Form(self.env["smb.journey.step"].with_context(default_journey_id=self.sms_journey.id)) as form:
            form.name = "By text"
            form.step_type = "sms"
            form.sms_body = "Hi {{ customer.first_name }}"
        step = form.record
        self.assertEqual((step.step_type, step.sms_body), ("sms", "Hi {{ customer.first_name }}"))
        self.assertEqual(step.diagram_info["icon"], "fa-mobile")
        self.assertEqual(step.diagram_info["summary"], "Hi {{ customer.first_name }}")
        self.assertTrue(step.sends_messages)
        self.assertFalse(step.tracks_opens, "a text message is not opened: no open numbers on its box or tab")
        self.assertFalse(step.diagram_info["opens"])

    def test_frequency_cap_counts_each_channel_apart(self):
        """The shipped rules count emails: a text does not use up the day's
        email, nor an email the text's. A rule for all messages counts both,
        and a rule for text messages only texts."""
        self.sms_journey.company_id.write({"smb_frequency_cap": True, "smb_quiet_hours": False})
        Rule = self.env["smb.journey.frequency.rule"]
        shipped = Rule.search([])
        self.assertEqual(set(shipped.mapped("channel")), {"mail"})
        news = self.env["smb.journey"].create({
            "name": "News", "trigger": "manual", "reentry": "always", "volume_limit": 0,
            "step_ids": [(0, 0, {"name": "News", "step_type": "email", "subject": "News", "body_html": "<p>New</p>"})],
        })
        news.action_start()

        def emails():
            return self.env["mail.mail"].search_count([("mailing_id", "=", news.step_ids.mailing_id.id)])

        with freeze_time(T0):
            self.sms_journey.action_start()
            sms_enrollment = self.sms_journey.enroll(self.customer)
            self.run_engine()
            self.assertEqual(len(self.sms_of(self.step_text)), 1)
        with freeze_time(T0 + timedelta(hours=1)):
            news.enroll(self.customer)
            self.run_engine()
            self.assertEqual(emails(), 1, "the text used none of the emails' 1 per 16 h")

        # one budget for every message: the text and the email fill 2 per 16 h
        shipped.active = False
        all_messages = Rule.create({"channel": "all", "max_messages": 2, "window_hours": 16})
        with freeze_time(T0 + timedelta(hours=2)):
            held = news.enroll(self.customer)
            self.run_engine()
            self.assertEqual(emails(), 1)
            self.assertEqual((held.hold_reason, held.due_at), ("frequency_cap", T0 + timedelta(hours=16)),
                             "until the text leaves the window")

        # texts' own budget: 1 per 48 h holds the second text, not the email
        all_messages.active = False
        Rule.create({"channel": "sms", "max_messages": 1, "window_hours": 48})
        with freeze_time(T0 + timedelta(days=1, minutes=1)):
            self.run_engine()
            self.assertEqual(emails(), 2)
            self.assertFalse(self.sms_of(self.step_again))
            self.assertEqual((sms_enrollment.step_id, sms_enrollment.hold_reason, sms_enrollment.due_at),
                             (self.step_again, "frequency_cap", T0 + timedelta(hours=48)))


@tagged("post_install", "-at_install")
class TestSmsTestRun(SmsJourneyCase):

    def test_test_run_shows_the_text_and_queues_nothing(self):
        before = (self.env["sms.sms"].search_count([]), self.env["mailing.trace"].search_count([]))
        wizard = self.env["smb.journey.test.run"].create({
            "journey_id": self.sms_journey.id, "partner_id": self.customer.id, "date_start": T0})
        wizard.action_run()
        row = next(row for row in wizard.timeline if row.get("step_id") == self.step_text.id)
        self.assertEqual((row["channel"], row["format"]), ("sms", "text"))
        self.assertIn("Hi Ann, new in", row["body"])
        self.assertIn("STOP SMS", row["body"])
        self.assertIn("o_smb_test_run_text", wizard.timeline_html)
        self.assertEqual((self.env["sms.sms"].search_count([]), self.env["mailing.trace"].search_count([])), before)
