"""Loyalty tier rules, without the ORM.

Which tier a customer's trailing spend qualifies for, and what a recompute
does to the tier they hold: an upgrade happens at once, a downgrade only
after the held tier's grace period (spend leaving the window is forgiven for
a while), unless the spend that was lost was cancelled or refunded.
"""

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Tier:
    """A tier's qualifying rule. ``window`` indexes the spends and order counts
    given to :func:`qualify` (one per distinct trailing period)."""

    id: int
    min_spend: float
    min_orders: int = 0
    window: int = 0
    grace_days: int = 0


@dataclass(frozen=True)
class Decision:
    tier_id: int | None
    change: str | None  # 'upgrade', 'downgrade', 'reassigned' or None
    grace_since: date | None  # set while the customer no longer qualifies but keeps the tier


def rank(tiers):
    """Tiers from lowest to highest: a higher threshold is a higher tier."""
    return sorted(tiers, key=lambda t: (t.min_spend, t.min_orders, t.id))


def qualify(ranked, spends, counts):
    """The highest tier of ``ranked`` (lowest first) whose rule is met, or None.

    ``spends``/``counts`` are per window and already rounded to the currency:
    a spend equal to the threshold qualifies.
    """
    best = None
    for tier in ranked:
        if spends[tier.window] >= tier.min_spend and counts[tier.window] >= tier.min_orders:
            best = tier
    return best


def decide(ranked, current_id, qualified, grace_since, today, immediate=False):
    """What happens to a customer holding ``current_id`` (None: no tier) who
    qualifies for ``qualified`` today.

    :param grace_since: when the customer first stopped qualifying (None: they did)
    :param immediate: downgrade without grace (cancelled or refunded spend)
    """
    positions = {tier.id: index for index, tier in enumerate(ranked)}
    target = qualified.id if qualified else None
    if current_id is not None and current_id not in positions:
        # the held tier was archived or belongs elsewhere: place them afresh
        return Decision(target, "reassigned" if target != current_id else None, None)
    held = positions[current_id] if current_id is not None else -1
    reached = positions[target] if target is not None else -1
    if reached > held:
        return Decision(target, "upgrade", None)
    if reached == held:
        return Decision(current_id, None, None)
    start = grace_since or today
    if immediate or today >= start + timedelta(days=ranked[held].grace_days):
        return Decision(target, "downgrade", None)
    return Decision(current_id, None, start)


def next_tier(ranked, current_id):
    """The tier above ``current_id`` (the lowest when None), or None at the top."""
    ids = [tier.id for tier in ranked]
    if current_id is None or current_id not in ids:
        return ranked[0] if ranked else None
    index = ids.index(current_id)
    return ranked[index + 1] if index + 1 < len(ranked) else None


def shown_window(ranked, current_id):
    """The window whose spend a customer sees: the one of the tier they aim for
    next (their own at the top), so "amount to the next tier" adds up."""
    aim = next_tier(ranked, current_id)
    if aim is None:
        aim = next((tier for tier in ranked if tier.id == current_id), None)
    return aim.window if aim else 0
