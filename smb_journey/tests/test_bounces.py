from datetime import datetime, timedelta
from uuid import uuid4

from odoo.tests import freeze_time, tagged

from odoo.addons.mass_mailing.models.mail_thread import BLACKLIST_MAX_BOUNCED_LIMIT

from .common import JourneyCase

T0 = datetime(2026, 3, 2, 9, 0)

# a delivery status notification (RFC 3464) as Postfix writes it; the text a
# person reads says nothing of the cause: only the report tells hard from soft
DSN = """\
Return-Path: <>
From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
To: {bounce_to}
Subject: Undelivered Mail Returned to Sender
Message-Id: <{uid}@mx.example.com>
Date: Mon, 2 Mar 2026 09:10:00 +0100
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--BOUNDARY
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: {status}
Remote-MTA: dns; mail.example.com
Diagnostic-Code: smtp; {diagnostic}

--BOUNDARY
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Message-Id: {message_id}
From: shop@example.com
To: {recipient}
Subject: Hello

--BOUNDARY--
"""
UNKNOWN_USER = ("5.1.1", "550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown")
OVER_QUOTA = ("4.2.2", "452 4.2.2 Over quota")


@tagged("post_install", "-at_install")
class TestBounces(JourneyCase):

    def bounce(self, trace, status, diagnostic):
        """Feed a bounce of ``trace``'s email to Odoo's mail gateway, as the
        fetchmail cron or the mailgate script does."""
        self.env["mail.thread"].sudo().message_process(None, DSN.format(
            bounce_to="bounce@example.com", uid=uuid4().hex, recipient=trace.email,
            message_id=trace.message_id, status=status, diagnostic=diagnostic,
        ))
        self.env.invalidate_all()

    def sent_log(self, enrollment, step):
        return enrollment.log_ids.filtered(lambda l: l.step_id == step and l.outcome == "sent")

    def start(self):
        """The customer enters the journey and is sent the first email."""
        self.journey.action_start()
        enrollment = self.journey.enroll(self.customer)
        self.run_engine()
        self.deliver(self.mails(self.step_hello))
        trace = self.sent_log(enrollment, self.step_hello).mailing_trace_id
        self.assertEqual(trace.trace_status, "sent")
        return enrollment, trace

    def test_hard_bounce_ends_the_journeys(self):
        enrollment, trace = self.start()
        self.bounce(trace, *UNKNOWN_USER)
        self.assertEqual(trace.trace_status, "bounce")
        self.assertEqual(self.customer.message_bounce, 1, "Odoo counted the bounce")
        log = self.sent_log(enrollment, self.step_hello)
        self.assertEqual((log.reason, log.message), ("hard_bounce", "unknown recipient (5.1.1)"))
        self.assertEqual((enrollment.state, enrollment.exit_reason), ("exited", "bounced"))
        exit_log = enrollment.log_ids.filtered(lambda l: l.outcome == "exited")
        self.assertEqual((exit_log.step_id, exit_log.reason), (self.step_again, "bounced"))
        self.assertEqual(self.step_hello.bounced_count, 1)

    def test_soft_bounce_is_noted_and_the_journey_goes_on(self):
        with freeze_time(T0):
            enrollment, trace = self.start()
            self.bounce(trace, *OVER_QUOTA)
        self.assertEqual(trace.trace_status, "bounce")
        self.assertEqual(self.customer.message_bounce, 1)
        log = self.sent_log(enrollment, self.step_hello)
        self.assertEqual((log.reason, log.message), ("soft_bounce", "mailbox full (4.2.2)"))
        self.assertEqual(enrollment.state, "running")
        self.assertEqual(self.step_hello.bounced_count, 1, "counted as Email Marketing counts it")
        with freeze_time(T0 + timedelta(days=1, minutes=1)):
            self.run_engine()
        self.assertEqual(len(self.mails(self.step_again)), 1, "the next email still goes")
        self.assertFalse(self.sent_log(enrollment, self.step_again).reason)

    def test_soft_bounces_up_to_odoo_limit_end_the_journeys(self):
        # earlier emails to the address bounced: two bounces short of the limit
        self.customer.message_bounce = BLACKLIST_MAX_BOUNCED_LIMIT - 2
        self.journey.step_ids = [
            (0, 0, {"name": "Wait again", "sequence": 4, "step_type": "wait", "wait_amount": 1, "wait_unit": "days"}),
            (0, 0, {"name": "Last", "sequence": 5, "step_type": "email", "subject": "Last", "body_html": "<p>Last</p>"}),
        ]
        with freeze_time(T0):
            enrollment, hello = self.start()
            self.bounce(hello, *OVER_QUOTA)
        self.assertEqual(self.customer.message_bounce, BLACKLIST_MAX_BOUNCED_LIMIT - 1)
        self.assertEqual(enrollment.state, "running")
        with freeze_time(T0 + timedelta(days=1, minutes=1)):
            self.run_engine()
            self.deliver(self.mails(self.step_again))
            again = self.sent_log(enrollment, self.step_again).mailing_trace_id
            self.bounce(again, *OVER_QUOTA)
        self.assertEqual(self.customer.message_bounce, BLACKLIST_MAX_BOUNCED_LIMIT)
        log = self.sent_log(enrollment, self.step_again)
        self.assertEqual(log.reason, "soft_bounce")
        self.assertEqual(log.message, "mailbox full (4.2.2); 5 bounces of this address: its journeys end")
        self.assertEqual((enrollment.state, enrollment.exit_reason), ("exited", "bounced"))
        self.assertFalse(self.mails(self.journey.step_ids.sorted("sequence")[-1]), "the last email never goes")
        self.assertFalse(self.customer.is_blacklisted, "two bounced emails are not Odoo's blacklisting rule")

    def test_bounce_of_another_mailing_leaves_journeys_alone(self):
        self.journey.action_start()
        enrollment = self.journey.enroll(self.customer)
        self.run_engine()
        newsletter = self.env["mailing.mailing"].create({
            "name": "Newsletter", "subject": "News", "body_html": "<p>News</p>",
            "mailing_model_id": self.env["ir.model"]._get_id("res.partner"),
            "mailing_domain": [("id", "=", self.customer.id)],
        })
        with self.mock_mail_gateway():
            newsletter.action_send_mail()
        trace = newsletter.mailing_trace_ids
        self.assertEqual(trace.trace_status, "sent")
        self.bounce(trace, *UNKNOWN_USER)
        self.assertEqual(trace.trace_status, "bounce")
        self.assertEqual(enrollment.state, "running")
        self.assertFalse(enrollment.log_ids.filtered("reason").filtered(lambda l: "bounce" in l.reason))
