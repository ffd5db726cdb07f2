from datetime import datetime, timedelta
from unittest.mock import patch

from odoo.tests import freeze_time, tagged

from .common import JourneyCase

T0 = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
class TestDelivery(JourneyCase):

    def test_undeliverable_addresses_are_skipped_with_a_reason(self):
        self.journey.action_start()
        Partner = self.env["res.partner"]
        partners = {
            "email_missing": Partner.create({"name": "No Mail"}),
            "email_invalid": Partner.create({"name": "Broken", "email": "not-an-email"}),
            "blacklisted": Partner.create({"name": "Blocked", "email": "blocked@example.com"}),
            "opted_out": Partner.create({"name": "Opted", "email": "opted@example.com"}),
        }
        enrollments = self.journey.enroll(Partner.union(*partners.values()))
        self.env["mail.blacklist"]._add("blocked@example.com")
        partners["opted_out"].smb_journey_optout = True
        # blacklisting / opting out ends pending journeys at once
        blocked = enrollments.filtered(lambda e: e.partner_id == partners["blacklisted"])
        opted = enrollments.filtered(lambda e: e.partner_id == partners["opted_out"])
        self.assertEqual((blocked.exit_reason, opted.exit_reason), ("blacklisted", "unsubscribed"))
        # the others reach the email step and skip it, logged with the reason
        self.run_engine()
        for reason in ("email_missing", "email_invalid"):
            enrollment = enrollments.filtered(lambda e: e.partner_id == partners[reason])
            log = enrollment.log_ids.filtered(lambda l: l.step_id == self.step_hello)
            self.assertEqual((log.outcome, log.reason), ("skipped", reason))
        self.assertFalse(self.mails(self.step_hello))
        self.assertEqual(self.step_hello.skipped_count, 2)

    def test_blacklisted_before_the_step_is_skipped(self):
        self.journey.action_start()
        self.env["mail.blacklist"]._add("ann@example.com")
        enrollment = self.journey.enroll(self.customer)
        self.run_engine()
        self.assertEqual(enrollment.log_ids.filtered(lambda l: l.step_id == self.step_hello).reason, "blacklisted")

    def test_hard_bounce_ends_the_journey(self):
        """Only a hard bounce ends the journeys (more in test_bounces)."""
        self.journey.action_start()
        enrollment = self.journey.enroll(self.customer)
        self.run_engine()
        self.mails(self.step_hello).mailing_trace_ids.set_bounced(bounce_message="Mailbox full")
        self.assertEqual(enrollment.state, "running", "a soft bounce does not")
        self.mails(self.step_hello).mailing_trace_ids.set_bounced(bounce_message="550 unknown user")
        self.assertEqual(enrollment.state, "exited")
        self.assertEqual(enrollment.exit_reason, "bounced")
        self.assertEqual(self.step_hello.bounced_count, 1)

    def test_email_in_customer_language_and_tracked(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.customer.lang = "fr_FR"
        self.step_hello.with_context(lang="fr_FR").subject = "Bonjour {{ customer.first_name }}"
        self.journey.action_start()
        self.journey.enroll(self.customer)
        self.env["smb.journey.enrollment"].with_context(lang="en_US").run_engine()
        mail = self.mails(self.step_hello)
        self.assertEqual(mail.subject, "Bonjour Ann")
        self.assertIn("/r/", mail.body_html, "links go through the link tracker")
        self.assertEqual(mail.mailing_id, self.step_hello.mailing_id)
        self.assertEqual(self.step_hello.mailing_id.campaign_id, self.journey.utm_campaign_id)

    def test_order_after_an_email_is_a_conversion(self):
        self.journey.write({"conversion_window_days": 3})
        with freeze_time(T0):
            self.journey.action_start()
            self.journey.enroll(self.customer)
            self.run_engine()
            self.deliver(self.mails(self.step_hello))
        with freeze_time(T0 + timedelta(days=1)):
            order = self.make_order(self.customer, qty=3, website=False)
            order.action_confirm()
            self.process_events()
        log = self.journey.enrollment_ids.log_ids.filtered(lambda l: l.step_id == self.step_hello)
        self.assertTrue(log.converted)
        self.assertEqual(log.order_id, order)
        self.assertAlmostEqual(log.revenue, order.amount_untaxed)
        self.assertEqual(self.step_hello.converted_count, 1)
        self.assertAlmostEqual(self.journey.revenue, order.amount_untaxed)
        with freeze_time(T0 + timedelta(days=10)):
            late = self.make_order(self.customer, website=False)
            late.action_confirm()
            self.process_events()
        self.assertEqual(log.order_id, order, "an order outside the window is not credited")

    def test_mailing_of_a_step_cannot_be_sent_from_email_marketing(self):
        with self.assertRaises(Exception):
            self.step_hello.mailing_id.action_put_in_queue()

    def test_subject_is_plain_text_and_mailing_has_a_sender(self):
        self.customer.name = "Zoë O'Hara & Co"
        self.step_hello.subject = "{{ customer.first_name }} & friends <3"
        self.step_hello.preview_text = "A gift inside"
        self.assertEqual(self.step_hello.mailing_id.email_from, self.company.email_formatted)
        self.journey.action_start()
        self.journey.enroll(self.customer)
        self.run_engine()
        mail = self.mails(self.step_hello)
        self.assertEqual(mail.subject, "Zoë & friends <3", "no HTML escaping in a subject")
        self.assertIn("A gift inside", mail.body_html, "the preview text leads the body")

    def test_exit_is_logged_where_the_customer_was(self):
        self.journey.action_start()
        enrollment = self.journey.enroll(self.customer)
        self.run_engine()
        self.assertEqual(enrollment.step_id, self.step_again)
        self.customer.smb_journey_optout = True
        exit_log = enrollment.log_ids.filtered(lambda l: l.outcome == "exited")
        self.assertEqual((exit_log.step_id, exit_log.reason), (self.step_again, "unsubscribed"))
        self.assertFalse(enrollment.step_id, "an ended enrollment waits on no step")

    def test_queuing_a_batch_is_set_based(self):
        """Queuing 40 emails costs about the same number of queries as queuing 5."""
        self.journey.action_start()
        Partner = self.env["res.partner"]
        few = Partner.create([{"name": f"F{i}", "email": f"f{i}@example.com"} for i in range(5)])
        many = Partner.create([{"name": f"M{i}", "email": f"m{i}@example.com"} for i in range(40)])
        Enrollment = self.env["smb.journey.enrollment"]
        counts = []
        for partners in (few, many):
            self.journey.enroll(partners)
            self.env.flush_all()
            self.env.invalidate_all()
            with self.count_queries() as counter:
                Enrollment.run_engine()
                self.env.flush_all()
            counts.append(counter["n"])
        self.assertEqual(len(self.mails(self.step_hello)), 45)
        self.assertLessEqual(counts[1], counts[0] + 10, f"queries for 5 then 40 emails: {counts}")

    def test_emails_queued_set_based_are_what_the_orm_writes(self):
        """The engine inserts its emails set-based only where the ORM would add
        nothing: the same columns as when the ORM creates them."""
        MailMail = self.env.registry["mail.mail"]
        self.assertTrue(self.env["mail.mail"]._smb_journey_set_based_ok(), "a standard install goes set-based")
        self.journey.action_start()
        bob = self.env["res.partner"].create({"name": "Bob Smith", "email": "bob@example.com", "lang": "en_US"})
        self.journey.enroll(self.customer)
        self.run_engine()
        with patch.object(MailMail, "_smb_journey_set_based_ok", lambda self: False):
            self.journey.enroll(bob)
            self.run_engine()
        mails = {mail.res_id: mail for mail in self.mails(self.step_hello)}
        fast, orm = mails[self.customer.id], mails[bob.id]
        rows = {}
        for key, mail in (("fast", fast), ("orm", orm)):
            trace = mail.mailing_trace_ids
            self.assertEqual(len(trace), 1)
            rows[key] = {}
            for table, row_id in (("mail_message", mail.mail_message_id.id), ("mail_mail", mail.id),
                                  ("mailing_trace", trace.id)):
                self.env.cr.execute(f"SELECT * FROM {table} WHERE id = %s", [row_id])  # noqa: S608
                names = [d.name for d in self.env.cr.description]
                rows[key].update({f"{table}.{n}": v for n, v in zip(names, self.env.cr.fetchone())})
        per_row = {"id", "create_date", "write_date", "date", "res_id", "message_id", "email_to", "email",
                   "mail_message_id", "mail_mail_id", "mail_mail_id_int"}
        for column, value in rows["fast"].items():
            other = rows["orm"][column]
            if column.split(".")[1] in per_row:
                self.assertEqual(value is None, other is None, column)
            elif isinstance(value, str):
                self.assertEqual(value.replace("Ann", "Bob"), other, column)
            else:
                self.assertEqual(value, other, column)
        self.assertEqual(rows["fast"]["mailing_trace.mail_mail_id_int"], fast.id)
        self.assertEqual(fast.mailing_trace_ids.campaign_id, self.journey.utm_campaign_id)
