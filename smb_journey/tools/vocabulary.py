"""The words the engine, its logs and its screens share, defined once.

A reason says why a step did what it did or why a customer left; the same
code is the enrollment's exit reason and the step log's reason, so the two
never disagree. A trigger declares the reasons of its own (a lead won or
lost) in its registry entry; they are added to these.
"""

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
    ("email_missing", "No email address"),
    ("email_invalid", "Invalid email address"),
    ("blacklisted", "Blacklisted"),
    ("opted_out", "Opted out of journeys"),
    ("sunset", "Unengaged (sunset)"),
    ("held_out", "Held out (control group)"),
    # a message held back by the timing rules (postponed, or skipped by a cap)
    ("quiet_hours", "Quiet hours"),
    ("frequency_cap", "Frequency cap"),
    # a step failed
    ("template", "Template error"),
    ("exception", "Step failed"),
    ("journey_error", "Journey filter failed"),
    ("error", "Error"),
    # bounces, noted on the email's line (a hard one also ends the journeys)
    ("hard_bounce", "Hard bounce"),
    ("soft_bounce", "Soft bounce"),
    # a step done
    ("waiting", "Waiting"),
    ("branch_yes", "Condition met"),
    ("branch_no", "Condition not met"),
    ("activity", "Activity assigned"),
    ("exit_step", "Exit step reached"),
    # a journey ended
    ("end", "Last step done"),
    ("goal", "Goal reached"),
    ("purchased", "Purchased"),
    ("cancelled", "Order cancelled"),
    ("emptied", "Cart emptied"),
    ("record_deleted", "Triggering record deleted"),
    ("left_audience", "Left the audience"),
    ("archived", "Contact archived"),
    ("unsubscribed", "Unsubscribed"),
    ("bounced", "Email bounced"),
    ("journey_stopped", "Journey stopped"),
    ("manual", "Removed by hand"),
    ("merged", "Contact merged"),
]


def bands_from(band):
    """The bands at or above ``band`` ('medium' -> medium and high)."""
    codes = [code for code, __ in BANDS]
    return codes[codes.index(band):] if band in codes else []
