from email import message_from_string, policy

import pytest
from bounce import HARD, SOFT, classify, read_dsn


@pytest.mark.parametrize(("status", "diagnostic", "cause"), [
    ("5.1.1", "smtp; 550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown", "unknown recipient"),
    ("5.1.2", "smtp; 550 5.1.2 Host unknown (Name server: example.invalid: host not found)", "domain not found"),
    ("5.0.0", "smtp; 550 No such person at this address.", "unknown recipient"),
    ("5.5.0", "smtp; 550 5.5.0 Requested action not taken: mailbox unavailable", "unknown recipient"),
    ("5.7.1", "smtp; 554 5.7.1 Message rejected", "permanent failure"),
])
def test_permanent_status_is_hard(status, diagnostic, cause):
    bounce = classify(status=status, action="failed", diagnostic=diagnostic)
    assert (bounce.kind, bounce.code, bounce.cause) == (HARD, status, cause)
    assert bounce.hard


@pytest.mark.parametrize(("status", "diagnostic", "cause"), [
    ("4.2.2", "smtp; 452 4.2.2 The email account that you tried to reach is over quota", "mailbox full"),
    ("4.4.7", "delivery temporarily suspended: connect to mx.example.com: Connection timed out", "delivery time expired"),
    ("4.7.1", "smtp; 450 4.7.1 Greylisted, please try again later", "temporary failure"),
    ("4.0.0", "", "temporary failure"),
])
def test_transient_status_is_soft(status, diagnostic, cause):
    bounce = classify(status=status, action="failed", diagnostic=diagnostic)
    assert (bounce.kind, bounce.code, bounce.cause) == (SOFT, status, cause)
    assert not bounce.hard


def test_a_full_mailbox_is_soft_even_with_a_permanent_status():
    assert classify(status="5.2.2", diagnostic="smtp; 552 5.2.2 Mailbox full").kind == SOFT
    assert classify(diagnostic="smtp; 552 Requested mail action aborted: exceeded storage allocation, "
                               "mailbox quota exceeded").kind == SOFT
    assert classify(text="550 5.0.0 Sorry, the mailbox of ann is full").cause == "mailbox full"


def test_a_delayed_report_is_soft():
    bounce = classify(status="5.0.0", action="delayed", diagnostic="smtp; 550 still trying")
    assert (bounce.kind, bounce.cause) == (SOFT, "delivery delayed")


def test_the_status_field_comes_before_the_text():
    assert classify(status="4.1.1", text="550 5.1.1 user unknown").kind == SOFT
    assert classify(status="5.1.1", text="please try again later").kind == HARD


@pytest.mark.parametrize(("text", "kind", "code"), [
    ("550 unknown user", HARD, "550"),
    ("<ann@example.com>: host mx.example.com[192.0.2.1] said: 550 No such\n    person at this address.", HARD, "550"),
    ("The response from the remote server was:\n\n550 5.1.1 The email account does not exist.", HARD, "5.1.1"),
    ("Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found'", HARD, "5.1.10"),
    ("host mx.example.com said: 451 Temporary local problem - please try later", SOFT, "451"),
    ("mx.example.com said: 421-4.7.0 Try again later, closing connection.", SOFT, "4.7.0"),
])
def test_status_read_from_the_text(text, kind, code):
    bounce = classify(text=text)
    assert (bounce.kind, bounce.code) == (kind, code)


def test_numbers_that_are_no_status_are_ignored():
    # an IP address, a version, a size, an order number
    bounce = classify(text="Relay 10.5.1.1 (Postfix 3.5.1) refused your 550 byte message for order 4521")
    assert (bounce.kind, bounce.code) == (SOFT, "")


@pytest.mark.parametrize(("text", "kind", "cause"), [
    ("Delivery to the following recipient failed permanently: no such user here", HARD, "unknown recipient"),
    ("The domain example.org does not exist", HARD, "domain not found"),
    ("User unknown in virtual mailbox table", HARD, "unknown recipient"),
    ("Host or domain name not found. Name service error for name=example.invalid", HARD, "domain not found"),
    ("Mailbox full", SOFT, "mailbox full"),
    ("The user is over quota", SOFT, "mailbox full"),
    ("Message temporarily deferred", SOFT, "temporary failure"),
    ("Something went wrong", SOFT, "unknown cause"),
    ("", SOFT, "unknown cause"),
])
def test_wording_without_a_status(text, kind, cause):
    bounce = classify(text=text)
    assert (bounce.kind, bounce.cause) == (kind, cause)


def test_describe():
    assert classify(status="5.1.1").describe() == "Hard bounce: unknown recipient (5.1.1)"
    assert classify(text="mailbox full").describe() == "Soft bounce: mailbox full"


DSN = """\
From: MAILER-DAEMON@mail.example.com (Mail Delivery System)
To: bounce@shop.example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not be delivered.

--BOUNDARY
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com
Arrival-Date: Mon, 2 Mar 2026 09:00:00 +0100 (CET)

Final-Recipient: rfc822; ann@example.com
Original-Recipient: rfc822;ann@example.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; 550 5.1.1 <ann@example.com>: Recipient address
    rejected: User unknown in virtual mailbox table

--BOUNDARY--
"""


def test_read_dsn():
    dsn = read_dsn(message_from_string(DSN, policy=policy.SMTP))
    assert dsn == {
        "status": "5.1.1",
        "action": "failed",
        "diagnostic": "smtp; 550 5.1.1 <ann@example.com>: Recipient address rejected: "
                      "User unknown in virtual mailbox table",
    }
    assert classify(**dsn).hard


def test_read_dsn_without_a_report():
    empty = {"status": "", "action": "", "diagnostic": ""}
    assert read_dsn(None) == empty
    assert read_dsn(message_from_string("Subject: hi\n\nhello\n", policy=policy.SMTP)) == empty
