"""Hard or soft: what a bounce says about the customer's address.

A hard bounce says the address is dead (no such user, no such domain): the
customer's journeys end. A soft bounce says the email did not arrive this
time (mailbox full, server busy, greylisting): the journeys go on, and the
address is given up only when its bounce count reaches the limit.

The verdict comes, in this order, from:

1. a full mailbox (status X.2.2, or its usual wordings): soft, whatever the
   class of the status (servers answer ``552 5.2.2`` as often as
   ``452 4.2.2``, and a mailbox that is emptied receives again);
2. a delivery report whose action is ``delayed``: soft (the sending server
   still tries);
3. the status: the DSN's ``Status`` field, else an enhanced code
   (``5.1.1``, RFC 3463) in the diagnostic or the text, else an SMTP reply
   code (``550``, RFC 5321) where servers write one: ``5`` is hard, ``4``
   (and ``2``, a mere delivery report) soft;
4. without a status, the wording (user unknown, domain not found, ... hard;
   temporary failure, try again later, ... soft);
5. anything else is soft.

Nothing here imports Odoo: the delivery report of an incoming message is read
with the standard library (``read_dsn``), and ``classify`` takes plain text.
"""

import re
from typing import NamedTuple

HARD = "hard"
SOFT = "soft"

# enhanced status code (RFC 3463), not inside an IP address or a version number
_ENHANCED = re.compile(r"(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?![\w]|\.\d)")
# SMTP reply codes of refused recipients, where bounce texts write them: at the
# start of a line, after "said:", "smtp;", a quote or a parenthesis
_REPLY = re.compile(r"(?:^|[:;'\"(])\s*(421|45[0-5]|55[0-5])(?=[\s-])", re.MULTILINE)

_FULL = re.compile(
    r"mailbox (?:is )?full|mailbox.{0,40}\bfull\b|over ?quota|quota (?:exceeded|exceed)|exceeded.{0,20}quota"
    r"|insufficient (?:system )?storage|out of (?:storage|space)|storage (?:space )?(?:exceeded|full)",
    re.IGNORECASE)
_HARD_WORDINGS = (
    ("domain not found", re.compile(
        r"domain(?: name)?(?:\s+\S+)?\s+(?:(?:is|was)\s+)?(?:not found|does not exist|doesn't exist)|host (?:or domain name )?not found"
        r"|no mx|nxdomain|name or service not known|unrout(?:e)?able (?:address|domain)",
        re.IGNORECASE)),
    ("unknown recipient", re.compile(
        r"user unknown|unknown (?:user|recipient|address|mailbox)|no such (?:user|person|recipient|mailbox|address|account)"
        r"|recipient (?:address )?(?:rejected|not found|unknown|invalid)|recipnotfound|invalid (?:recipient|mailbox)"
        r"|(?:address|user|mailbox|account|recipient) (?:does not|doesn't) exist|does not exist"
        r"|mailbox (?:unavailable|not found|disabled)|account (?:has been )?(?:disabled|closed|deleted|deactivated)"
        r"|no longer (?:active|in use|available)|address rejected",
        re.IGNORECASE)),
)
_SOFT_WORDINGS = (
    ("temporary failure", re.compile(
        r"temporar|try (?:again )?later|greylist|graylist|deferr|delay|rate limit|too many"
        r"|timed out|timeout|resources? (?:temporarily )?unavailable",
        re.IGNORECASE)),
)


# causes named by an enhanced status code's subject and detail (RFC 3463)
_CODE_CAUSES = {
    "1.1": "unknown recipient",
    "1.2": "domain not found",
    "1.10": "domain accepts no email",
    "2.1": "mailbox disabled",
    "2.2": "mailbox full",
    "4.7": "delivery time expired",
}


class Bounce(NamedTuple):
    kind: str  # HARD or SOFT
    code: str  # the status the verdict was read from ("5.1.1", "550"), or ""
    cause: str  # a few words: "unknown recipient", "mailbox full", ...

    @property
    def hard(self):
        return self.kind == HARD

    def describe(self):
        """'Hard bounce: unknown recipient (5.1.1)'."""
        text = f"{'Hard' if self.hard else 'Soft'} bounce: {self.cause}"
        return f"{text} ({self.code})" if self.code else text


def _status(status, diagnostic, text):
    """The first status code found, most reliable source first."""
    for source in (status, diagnostic, text):
        if source and (match := _ENHANCED.search(source)):
            return match.group(0)
    for source in (diagnostic, text):
        if source and (match := _REPLY.search(source)):
            return match.group(1)
    return ""


def _wording(patterns, *sources):
    for cause, pattern in patterns:
        if any(source and pattern.search(source) for source in sources):
            return cause
    return ""


def classify(status="", action="", diagnostic="", text=""):
    """What a bounce says about the address.

    :param status: the delivery report's ``Status`` field (``5.1.1``)
    :param action: its ``Action`` field (``failed``, ``delayed``, ...)
    :param diagnostic: its ``Diagnostic-Code`` (``smtp; 550 5.1.1 ...``)
    :param text: the bounce's human-readable text
    :return: a ``Bounce``
    """
    status, action, diagnostic, text = (v or "" for v in (status, action, diagnostic, text))
    code = _status(status, diagnostic, text)
    if _FULL.search(diagnostic) or _FULL.search(text) or re.fullmatch(r"[45]\.2\.2", code):
        return Bounce(SOFT, code, "mailbox full")
    named = _CODE_CAUSES.get(code.split(".", 1)[1]) if code.count(".") == 2 else ""
    hard_cause = named or _wording(_HARD_WORDINGS, diagnostic, text)
    soft_cause = named or _wording(_SOFT_WORDINGS, diagnostic, text)
    if action.strip().lower() == "delayed":
        return Bounce(SOFT, code, "delivery delayed")
    if code.startswith("5"):
        return Bounce(HARD, code, hard_cause or "permanent failure")
    if code.startswith("4"):
        return Bounce(SOFT, code, soft_cause or "temporary failure")
    if code.startswith("2"):
        return Bounce(SOFT, code, "delivery report")
    if hard_cause:
        return Bounce(HARD, "", hard_cause)
    return Bounce(SOFT, "", soft_cause or "unknown cause")


def read_dsn(message):
    """``status``, ``action`` and ``diagnostic`` of the first recipient of a
    delivery report (RFC 3464), from an ``email.message.Message``; empty
    strings when the message holds none."""
    found = {"status": "", "action": "", "diagnostic": ""}
    if message is None or not hasattr(message, "walk"):
        return found
    report = next((part for part in message.walk() if part.get_content_type() == "message/delivery-status"), None)
    if report is None:
        return found
    # a list of header blocks: the message's, then one per recipient
    blocks = report.get_payload()
    if not isinstance(blocks, list):
        return found
    for block in blocks[1:] or blocks:
        if block.get("Status") or block.get("Action"):
            found.update({
                "status": _unfold(block.get("Status")),
                "action": _unfold(block.get("Action")),
                "diagnostic": _unfold(block.get("Diagnostic-Code")),
            })
            break
    return found


def _unfold(value):
    return " ".join(str(value or "").split())
