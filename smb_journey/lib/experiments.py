"""A/B splits and holdouts, without the ORM.

- Assignment: a customer's variant (or their place in a holdout's control
  group) comes from a SHA-256 hash of a salt, the split (or journey) and the
  customer, read as a number in [0, 1) against the cumulative weights: the same
  customer always gets the same answer, in any process and after a restart
  (Python's ``hash()`` is salted per process and would not do).
- Comparing variants: a two-sided two-proportion z-test (pooled) for rates,
  Welch's t with the normal approximation for revenue per recipient; with more
  than two variants the leader is compared with each other one and the
  p-values are Bonferroni-corrected (multiplied by the number of comparisons).
- Holdout uplift: treatment minus control, with a 95 % interval: Newcombe's
  hybrid score interval (from two Wilson intervals, fine for small groups and
  rates near 0) for conversion rates, Welch's normal interval for revenue per
  entrant.

Below the minimum sample (:data:`MIN_UNITS` per group, :data:`MIN_EXPECTED`
expected successes and failures per group) no verdict is given: "not enough
data yet".
"""

import hashlib
import math
from dataclasses import dataclass

# a z-test needs a few dozen units per group before the normal approximation holds
MIN_UNITS = 30
# ... and, for a rate, at least this many expected successes and failures per group
MIN_EXPECTED = 5
# two-sided 5 % level; z of the 95 % interval
ALPHA = 0.05
Z95 = 1.959963984540054

# verdicts
NOT_ENOUGH = "not_enough_data"
SIGNIFICANT = "significant"
NOT_SIGNIFICANT = "not_significant"


def bucket(salt, *keys):
    """A stable number in [0, 1) for ``keys``: the first 8 bytes of
    SHA-256("salt:key1:key2...") read as an integer, divided by 2**64."""
    text = ":".join(str(part) for part in (salt, *keys))
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign(weights, salt, *keys):
    """The key of the variant ``keys`` lands in: ``weights`` is [(key,
    weight)] (weights need not add up to anything), the hash's bucket is
    compared with the cumulative shares."""
    total = sum(weight for __, weight in weights if weight > 0)
    if total <= 0:
        raise ValueError("A split needs a positive weight.")
    point = bucket(salt, *keys) * total
    cumulative = 0.0
    chosen = None
    for key, weight in weights:
        if weight <= 0:
            continue
        chosen = key
        cumulative += weight
        if point < cumulative:
            return key
    return chosen  # rounding at the very top: the last variant


def held_out(percent, journey_id, partner_id):
    """Whether the customer is in the journey's control group (``percent`` of
    0-100). Its own salt: a holdout and a split of the same journey are
    independent."""
    return percent > 0 and bucket("holdout", journey_id, partner_id) * 100.0 < percent


def normal_p_value(z):
    """Two-sided p-value of a standard normal statistic: P(|Z| >= |z|)."""
    return math.erfc(abs(z) / math.sqrt(2.0))


def two_proportion_z(successes_1, n_1, successes_2, n_2):
    """(z, two-sided p) of the pooled two-proportion z-test of
    successes_1/n_1 against successes_2/n_2."""
    if not n_1 or not n_2:
        return 0.0, 1.0
    pooled = (successes_1 + successes_2) / (n_1 + n_2)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n_1 + 1.0 / n_2))
    if se == 0.0:
        return 0.0, 1.0
    z = (successes_1 / n_1 - successes_2 / n_2) / se
    return z, normal_p_value(z)


def mean_and_variance(total, total_squares, n):
    """Mean and sample variance (n - 1) from a sum and a sum of squares."""
    if n <= 0:
        return 0.0, 0.0
    mean = total / n
    if n == 1:
        return mean, 0.0
    return mean, max(total_squares - n * mean * mean, 0.0) / (n - 1)


def welch_z(total_1, squares_1, n_1, total_2, squares_2, n_2):
    """(z, two-sided p) of Welch's test of two means, with the normal
    approximation (the groups have at least :data:`MIN_UNITS` units)."""
    if not n_1 or not n_2:
        return 0.0, 1.0
    mean_1, var_1 = mean_and_variance(total_1, squares_1, n_1)
    mean_2, var_2 = mean_and_variance(total_2, squares_2, n_2)
    se = math.sqrt(var_1 / n_1 + var_2 / n_2)
    if se == 0.0:
        return 0.0, 1.0
    z = (mean_1 - mean_2) / se
    return z, normal_p_value(z)


@dataclass(frozen=True)
class Variant:
    """The numbers of one variant: ``units`` recipients, ``successes`` those
    who did what the metric counts (opened, clicked, bought); for revenue,
    ``total`` and ``squares`` are the sum and sum of squares of the revenue
    per recipient, and ``successes`` the recipients who bought."""

    key: str
    units: int
    successes: int = 0
    total: float = 0.0
    squares: float = 0.0

    def value(self, metric):
        """The metric: a rate (0-1), or revenue per recipient."""
        if not self.units:
            return 0.0
        return self.total / self.units if metric == "revenue" else self.successes / self.units


@dataclass(frozen=True)
class Comparison:
    """The leader against another variant."""

    key: str
    p_value: float  # Bonferroni-corrected, capped at 1
    enough: bool  # both groups have the minimum sample

    @property
    def confidence(self):
        """1 - p: how sure we are the leader beats this variant (0-1)."""
        return 1.0 - self.p_value


@dataclass(frozen=True)
class Verdict:
    leader: str | None  # None: no data, or a tie for the lead
    status: str  # NOT_ENOUGH, SIGNIFICANT, NOT_SIGNIFICANT
    comparisons: tuple  # (Comparison, ...) leader against each other variant


def enough_data(a, b, metric):
    """Whether the pair has the minimum sample for a verdict: each group at
    least MIN_UNITS units and, at the pooled rate of successes (for revenue:
    of buyers), at least MIN_EXPECTED expected successes and failures."""
    if a.units < MIN_UNITS or b.units < MIN_UNITS:
        return False
    pooled = (a.successes + b.successes) / (a.units + b.units)
    return all(
        n * pooled >= MIN_EXPECTED and (metric == "revenue" or n * (1.0 - pooled) >= MIN_EXPECTED)
        for n in (a.units, b.units)
    )


def compare(variants, metric, alpha=ALPHA):
    """Which variant leads on ``metric`` ('open', 'click', 'conversion' or
    'revenue'), and is its lead significant?

    The leader (highest value; no leader on a tie or without data) is tested
    against each other variant; with k variants there are k - 1 tests and each
    p-value is multiplied by k - 1 (Bonferroni). The lead is significant when
    every corrected p-value is below ``alpha``; without the minimum sample
    for every pair the verdict is NOT_ENOUGH."""
    variants = list(variants)
    with_data = [v for v in variants if v.units]
    if len(variants) < 2 or not with_data:
        return Verdict(None, NOT_ENOUGH, ())
    best = max(v.value(metric) for v in variants)
    leaders = [v for v in variants if v.value(metric) == best]
    if len(leaders) > 1:
        return Verdict(None, NOT_ENOUGH if any(v.units < MIN_UNITS for v in variants) else NOT_SIGNIFICANT, ())
    leader = leaders[0]
    tests = len(variants) - 1
    comparisons = []
    for other in variants:
        if other is leader:
            continue
        if metric == "revenue":
            __, p = welch_z(leader.total, leader.squares, leader.units, other.total, other.squares, other.units)
        else:
            __, p = two_proportion_z(leader.successes, leader.units, other.successes, other.units)
        comparisons.append(Comparison(other.key, min(1.0, p * tests), enough_data(leader, other, metric)))
    if not all(c.enough for c in comparisons):
        status = NOT_ENOUGH
    elif all(c.p_value < alpha for c in comparisons):
        status = SIGNIFICANT
    else:
        status = NOT_SIGNIFICANT
    return Verdict(leader.key, status, tuple(comparisons))


def wilson(successes, n, z=Z95):
    """Wilson score interval (low, high) of a proportion."""
    if not n:
        return 0.0, 1.0
    p = successes / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denominator
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Uplift:
    """Treatment minus control, with its 95 % interval."""

    difference: float
    low: float
    high: float
    status: str  # NOT_ENOUGH, SIGNIFICANT (the interval leaves out 0), NOT_SIGNIFICANT


def _uplift_status(enough, low, high):
    if not enough:
        return NOT_ENOUGH
    return SIGNIFICANT if low > 0.0 or high < 0.0 else NOT_SIGNIFICANT


def rate_uplift(successes_t, n_t, successes_c, n_c, z=Z95):
    """Difference of two rates (treatment - control) with Newcombe's hybrid
    score interval (his method 10: the two Wilson intervals combined)."""
    p_t = successes_t / n_t if n_t else 0.0
    p_c = successes_c / n_c if n_c else 0.0
    low_t, high_t = wilson(successes_t, n_t, z)
    low_c, high_c = wilson(successes_c, n_c, z)
    difference = p_t - p_c
    low = difference - math.sqrt((p_t - low_t) ** 2 + (high_c - p_c) ** 2)
    high = difference + math.sqrt((high_t - p_t) ** 2 + (p_c - low_c) ** 2)
    enough = n_t >= MIN_UNITS and n_c >= MIN_UNITS
    return Uplift(difference, low, high, _uplift_status(enough, low, high))


def mean_uplift(total_t, squares_t, n_t, total_c, squares_c, n_c, buyers, z=Z95):
    """Difference of two means (treatment - control: revenue per entrant)
    with Welch's normal interval. ``buyers``: units with revenue in both
    groups together; fewer than MIN_EXPECTED is not enough data."""
    mean_t, var_t = mean_and_variance(total_t, squares_t, n_t)
    mean_c, var_c = mean_and_variance(total_c, squares_c, n_c)
    difference = mean_t - mean_c
    half = z * math.sqrt((var_t / n_t if n_t else 0.0) + (var_c / n_c if n_c else 0.0))
    enough = n_t >= MIN_UNITS and n_c >= MIN_UNITS and buyers >= MIN_EXPECTED
    return Uplift(difference, difference - half, difference + half, _uplift_status(enough, difference - half,
                                                                                    difference + half))
