"""Best send time: the hour of the day a customer usually reads their email.

From the customer's own opens (or clicks) counted per hour of *their* local
day, and the shop's pattern over all its customers:

- the shop's shares per hour, with one pseudo-open per hour so that no hour
  is impossible (``shop_shares``);
- the customer's posterior per hour, their own counts shrunk towards the
  shop's shares: ``(own[h] + k * shop[h]) / (n + k)``, where ``n`` is the
  customer's number of opens and ``k`` (``PRIOR_WEIGHT``) how many opens the
  shop's pattern is worth. With no history the shop's pattern decides; after
  many opens, the customer's own. This is the mean of a Dirichlet posterior
  with the shop's shares times ``k`` as its prior;
- smoothed over neighbouring hours, circularly (23:00 neighbours 00:00): an
  open at 19:55 and one at 20:05 speak for the same evening
  (``NEIGHBOUR_WEIGHT``);
- the best hour is the posterior's highest hour (the earliest on a tie),
  its confidence ``n / (n + k)``.

Exploration: a share of the sends (``EXPLORATION_SHARE``) goes at another
daytime hour, so that a customer whose opens all came at the hour we always
sent at can show another habit. Which sends explore is a stable hash of the
send (the same enrollment and step always get the same answer), not a random
draw, so a run can be replayed.

Pure Python; no Odoo import.
"""

import hashlib
from datetime import timedelta

import pytz

try:
    from . import schedule
except ImportError:  # imported as a top-level module (pytest, bench/)
    import schedule

HOURS = 24
# how many opens the shop's pattern weighs against the customer's own
PRIOR_WEIGHT = 4.0
# share of each neighbouring hour in an hour's smoothed posterior
NEIGHBOUR_WEIGHT = 0.25
# share of sends that go at another hour, so the model keeps learning
EXPLORATION_SHARE = 0.1
# the hours an exploring send may take (08:00 to 20:59): never at night
DAYTIME = tuple(range(8, 21))


def shop_shares(counts, pseudo=1.0):
    """Share of the shop's opens per hour (24 values summing to 1), with
    ``pseudo`` opens added to every hour."""
    _check(counts)
    total = sum(counts) + HOURS * pseudo
    return [(count + pseudo) / total for count in counts]


def smooth(values, neighbour=NEIGHBOUR_WEIGHT):
    """Each hour keeps ``1 - 2 * neighbour`` of its value and takes
    ``neighbour`` of each neighbouring hour's, around the clock."""
    _check(values)
    keep = 1 - 2 * neighbour
    return [keep * values[h] + neighbour * (values[h - 1] + values[(h + 1) % HOURS]) for h in range(HOURS)]


def posterior(own, shop, k=PRIOR_WEIGHT, neighbour=NEIGHBOUR_WEIGHT):
    """The customer's reading probability per hour: ``own`` counts (24) shrunk
    towards the shop's ``shop`` shares (24, summing to 1), smoothed."""
    _check(own)
    _check(shop)
    n = sum(own)
    if n + k <= 0:
        raise ValueError("no history and no prior weight")
    return smooth([(own[h] + k * shop[h]) / (n + k) for h in range(HOURS)], neighbour)


def best_hour(own, shop, k=PRIOR_WEIGHT, neighbour=NEIGHBOUR_WEIGHT):
    """(best hour, confidence): the posterior's highest hour (the earliest on
    a tie) and the weight of the customer's own opens in it, ``n / (n + k)``."""
    values = posterior(own, shop, k, neighbour)
    best = max(range(HOURS), key=lambda h: (values[h], -h))
    n = sum(own)
    return best, n / (n + k)


def send_hour(best, key, share=EXPLORATION_SHARE, hours=DAYTIME):
    """The hour to send at: ``best``, except for a stable ``share`` of the
    sends (chosen by hashing ``key``) that go at another of ``hours``."""
    if not 0 <= share <= 1:
        raise ValueError("the exploration share must be within [0, 1]")
    if _unit(key, "explore") >= share:
        return best
    others = [h for h in hours if h != best]
    return others[int(_unit(key, "hour") * len(others))] if others else best


def next_send_time(now, hour, tz="UTC"):
    """When to send at ``hour`` o'clock in ``tz``: ``now`` when the customer's
    clock already shows that hour, else the next time it does (within 24 h).
    Naive UTC in and out."""
    if not 0 <= hour < HOURS:
        raise ValueError("hour must be within [0, 24)")
    local = pytz.utc.localize(now).astimezone(schedule._zone(tz))
    if local.hour == hour:
        return now
    due = schedule.next_local_time(now, float(hour), tz=tz)
    assert due - now <= timedelta(hours=25), "within a day (25 h on a daylight-saving night)"
    return due


def _unit(*parts):
    """A number in [0, 1) that depends only on ``parts``."""
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _check(values):
    if len(values) != HOURS:
        raise ValueError(f"expected {HOURS} hourly values, got {len(values)}")
