"""Re-entry policy: may a customer enter a journey again, and under which key?

Exactly-once entry is enforced by the database: an enrollment is unique per
(journey, partner, entry key). The key names the triggering record when there
is one (one enrollment per cart or order), else the customer's n-th entry, so
two processes that decide the same entry at once compute the same key and
only one insert wins.
"""

from datetime import timedelta

POLICIES = ("once", "after_days", "always")


def entry_key(record_ref, previous_count):
    """Key of a new enrollment: the triggering record, or the entry's rank."""
    if record_ref:
        return record_ref
    return f"#{previous_count + 1}"


def may_enter(policy, now, last_start=None, any_running=False, days=0, same_record_seen=False):
    """Whether a customer may enter again.

    :param policy: ``once`` (never again), ``after_days`` (again ``days``
        after the previous entry started), ``always`` (whenever the trigger
        fires, but never twice at the same time)
    :param last_start: when the customer's previous enrollment started
    :param any_running: whether an enrollment of the customer is still running
    :param same_record_seen: the triggering record already has an enrollment
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown re-entry policy {policy!r}")
    if same_record_seen:
        return False
    if last_start is None:
        return True
    if any_running:
        return False
    if policy == "once":
        return False
    if policy == "after_days":
        return now >= last_start + timedelta(days=days)
    return True
