"""The words the engine, its logs and its screens share, defined once.

A reason says why a step did what it did or why a customer left; the same
code is the enrollment's exit reason and the step log's reason, so the two
never disagree. A trigger declares the reasons of its own (a lead won or
lost) in its registry entry; they are added to these. The reasons' labels
are lazy translations: the selection reads them in the user's language.
"""

from odoo.tools.translate import LazyTranslate

_lt = LazyTranslate(__name__)

# languages that capitalise nouns: a label keeps its case inside a sentence
NOUN_CAPITALISING_LANGS = ("de", "lb")

# the nightly churn scoring's bands, lowest first (lib/churn.py computes them)
BANDS = [("low", "Low"), ("medium", "Medium"), ("high", "High")]

# what running a step did to a customer (smb.journey.log.outcome)
OUTCOMES = [
    ("sent", "Message queued"),
    ("skipped", "Skipped"),
    ("done", "Done"),
    ("error", "Error"),
    ("exited", "Exited"),
]

# the states an enrollment goes through
ENROLLMENT_STATES = [("running", "Running"), ("completed", "Completed"), ("exited", "Exited"), ("error", "Error")]

REASONS = [
    # a message not sent
    ("email_missing", _lt("No email address")),
    ("email_invalid", _lt("Invalid email address")),
    ("blacklisted", _lt("Blacklisted")),
    ("opted_out", _lt("Opted out of journeys")),
    ("sunset", _lt("Unengaged (sunset)")),
    ("held_out", _lt("Held out (control group)")),
    # a message held back by the timing rules (postponed, or skipped by a cap)
    ("quiet_hours", _lt("Quiet hours")),
    ("frequency_cap", _lt("Frequency cap")),
    # a step failed
    ("template", _lt("Template error")),
    ("exception", _lt("Step failed")),
    ("journey_error", _lt("Journey filter failed")),
    ("error", _lt("Error")),
    # bounces, noted on the email's line (a hard one also ends the journeys)
    ("hard_bounce", _lt("Hard bounce")),
    ("soft_bounce", _lt("Soft bounce")),
    # a step done
    ("waiting", _lt("Waiting")),
    ("branch_yes", _lt("Condition met")),
    ("branch_no", _lt("Condition not met")),
    ("activity", _lt("Activity assigned")),
    ("exit_step", _lt("Exit step reached")),
    # a journey ended
    ("end", _lt("Last step done")),
    ("goal", _lt("Goal reached")),
    ("purchased", _lt("Purchased")),
    ("cancelled", _lt("Order cancelled")),
    ("emptied", _lt("Cart emptied")),
    ("record_deleted", _lt("Triggering record deleted")),
    ("left_audience", _lt("Left the audience")),
    ("archived", _lt("Contact archived")),
    ("unsubscribed", _lt("Unsubscribed")),
    ("bounced", _lt("Email bounced")),
    ("journey_stopped", _lt("Journey stopped")),
    ("manual", _lt("Removed by hand")),
    ("merged", _lt("Contact merged")),
]


def bands_from(band):
    """The bands at or above ``band`` ('medium' -> medium and high)."""
    codes = [code for code, __ in BANDS]
    return codes[codes.index(band):] if band in codes else []


def inline_label(env, label):
    """A selection label placed inside a sentence ("until the customer opens an email"): its first
    letter in lower case ("A/B" or "E-Mail" further on keep theirs), except in the languages that
    capitalise nouns, whose translations are written to stand inside a sentence as they are."""
    if not label or (env.lang or "").split("_")[0] in NOUN_CAPITALISING_LANGS:
        return label or ""
    return label[:1].lower() + label[1:]
