"""How a scoring run's predictions turned out, without the ORM.

A scoring run keeps a snapshot of what it predicted for each customer: the
probability of no order within its horizon and the revenue expected over it.
Once the horizon has passed, a later run reads what those customers really
ordered in the window and measures the predictions against it
(:func:`outcome`): AUC and calibration of the churn probability, predicted
against actual revenue, and how well the expected revenue ranked the
customers. :func:`degradation` tells whether a backtest is sharply worse than
the previous ones, for the administrator to look at.
"""

import io

import numpy as np

try:
    from . import calibration
except ImportError:  # imported as a top-level module (pytest, bench/)
    import calibration

SNAPSHOT_VERSION = 1


# ------------------------------------------------------------
# Snapshot: what a run predicted, compact
# ------------------------------------------------------------

def pack(ids, churn, revenue):
    """The predictions as a compressed ``.npz`` (bytes): customer ids sorted
    and stored as the gaps between them (small numbers, which compress well),
    probabilities and revenue as 32-bit floats (7 significant digits)."""
    ids = np.asarray(ids, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        version=np.array([SNAPSHOT_VERSION]),
        id_gaps=np.diff(ids, prepend=0).astype(np.uint32),
        churn=np.asarray(churn, dtype=np.float32)[order],
        revenue=np.asarray(revenue, dtype=np.float32)[order],
    )
    return buffer.getvalue()


def unpack(data):
    """``(ids, churn, revenue)`` of a :func:`pack` snapshot, ids ascending."""
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        ids = np.cumsum(arrays["id_gaps"].astype(np.int64))
        return ids, arrays["churn"].astype(float), arrays["revenue"].astype(float)


# ------------------------------------------------------------
# Outcome: the predictions against what happened
# ------------------------------------------------------------

def ranks(x):
    """1-based ranks, ties sharing their average rank (as Spearman and the
    Mann-Whitney AUC count them)."""
    __, inverse, counts = np.unique(np.asarray(x, dtype=float), return_inverse=True, return_counts=True)
    average = np.cumsum(counts) - (counts - 1) / 2.0
    return average[inverse]


def auc(p, y):
    """Area under the ROC curve of scores ``p`` for the labels ``y`` (1 the
    event): the chance that a customer with the event is scored above one
    without, ties counting half. None when one of the two is missing."""
    y = np.asarray(y).astype(bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if not positives or not negatives:
        return None
    return float((ranks(p)[y].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def spearman(a, b):
    """Spearman's rank correlation (Pearson's on the average ranks); None
    when either side is constant (no order to compare)."""
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = np.sqrt((ra @ ra) * (rb @ rb))
    if not denominator:
        return None
    return float((ra @ rb) / denominator)


def outcome(ids, churn, revenue, bought_ids, bought_revenue, bins=10):
    """Predictions (``ids`` ascending, ``churn``: probability of no order in
    the window, ``revenue``: revenue expected in it) against what happened:
    ``bought_ids`` the customers with an order in the window, with their
    revenue in ``bought_revenue``. Customers who were not predicted (new
    since) are left out: the backtest judges the predictions made.

    Returns the customers judged, the share who did not order
    (``churn_rate``) against the mean predicted probability, the AUC of the
    probability for "no order" (None with a single class), the calibration
    error and the reliability bins, predicted and actual revenue and the
    error in percent of the actual (None without actual revenue), and
    Spearman's correlation of the predicted and actual revenue per customer.
    """
    ids = np.asarray(ids, dtype=np.int64)
    churn, revenue = np.asarray(churn, dtype=float), np.asarray(revenue, dtype=float)
    bought_ids = np.asarray(bought_ids, dtype=np.int64)
    actual = np.zeros(len(ids))
    bought = np.zeros(len(ids), dtype=bool)
    if len(ids) and len(bought_ids):
        position = np.minimum(np.searchsorted(ids, bought_ids), len(ids) - 1)
        known = ids[position] == bought_ids
        bought[position[known]] = True
        np.add.at(actual, position[known], np.asarray(bought_revenue, dtype=float)[known])
    y = (~bought).astype(int)
    predicted_total, actual_total = float(revenue.sum()), float(actual.sum())
    return {
        "customers": int(len(ids)),
        "churn_rate": float(y.mean()) if len(ids) else 0.0,
        "predicted_churn": float(churn.mean()) if len(ids) else 0.0,
        "auc": auc(churn, y),
        "ece": calibration.ece(churn, y, bins),
        "reliability": calibration.reliability(churn, y, bins),
        "predicted_revenue": predicted_total,
        "actual_revenue": actual_total,
        "revenue_error": 100.0 * (predicted_total - actual_total) / actual_total if actual_total else None,
        "spearman": spearman(revenue, actual) if len(ids) > 1 else None,
    }


# ------------------------------------------------------------
# Degradation: a backtest sharply worse than the previous ones
# ------------------------------------------------------------

# the previous backtests compared with: the median of the latest few
HISTORY = 5
# fewer customers and the numbers are mostly noise: with 10 bins of about 20 customers each, a bin's
# observed rate moves by about ten points by chance alone, so the calibration error would exceed 0.10
# by itself (the training's MIN_TRAIN_ROWS)
MIN_CUSTOMERS = 200
AUC_DROP = 0.05
ECE_MAX = 0.10
ECE_RISE = 0.05
REVENUE_ERROR_MAX = 25.0
REVENUE_ERROR_RISE = 15.0


def degradation(current, previous, min_customers=None):
    """What went sharply worse in the backtest ``current`` (a dict with
    ``customers``, ``auc``, ``ece``, ``revenue_error``; None where unknown)
    against ``previous`` (the same, latest first; the first :data:`HISTORY`
    are read): a list of ``(metric, rule, value, reference)``, empty when
    nothing did. ``metric`` is "auc", "ece" or "revenue"; ``rule`` "drop" or
    "rise" against ``reference`` (the median of the previous backtests), or
    "limit" when ``value`` passed the absolute ``reference``.

    The rules, each chosen to flag what a shop owner would act on and not
    the noise between two nights:

    - ranking: AUC more than :data:`AUC_DROP` (0.05) below the previous
      median. AUC moves by about 0.01 between similar cohorts of a few
      thousand customers; 0.05 is the gap between a model that sorts
      customers well (0.80) and one that barely does better than recency.
    - calibration: the error above :data:`ECE_MAX` (0.10, i.e. predictions
      ten points off on average: a "40 %" customer really at 30 or 50 %,
      three times the 0.03 the model aims at), or more than
      :data:`ECE_RISE` (0.05) above the previous median.
    - revenue: the total predicted for the horizon off by more than
      :data:`REVENUE_ERROR_MAX` (25 %) of what was ordered, either way (a
      quarter of the revenue: beyond what a season explains), or the error's
      size :data:`REVENUE_ERROR_RISE` (15) points above the previous median
      size.

    Relative rules need one previous backtest at least; the absolute ones
    apply from the first. No rule fires on fewer than ``min_customers``
    customers (by default :data:`MIN_CUSTOMERS`), and previous backtests on
    fewer are not compared with.
    """
    min_customers = MIN_CUSTOMERS if min_customers is None else min_customers
    if (current.get("customers") or 0) < min_customers:
        return []
    previous = [p for p in previous[:HISTORY] if (p.get("customers") or 0) >= min_customers]

    def median(key, transform=float):
        values = [transform(p[key]) for p in previous if p.get(key) is not None]
        return float(np.median(values)) if values else None

    found = []
    value = current.get("auc")
    reference = median("auc")
    if value is not None and reference is not None and value < reference - AUC_DROP:
        found.append(("auc", "drop", value, reference))
    value = current.get("ece")
    reference = median("ece")
    if value is not None:
        if value > ECE_MAX:
            found.append(("ece", "limit", value, ECE_MAX))
        elif reference is not None and value > reference + ECE_RISE:
            found.append(("ece", "rise", value, reference))
    value = current.get("revenue_error")
    reference = median("revenue_error", abs)
    if value is not None:
        if abs(value) > REVENUE_ERROR_MAX:
            found.append(("revenue", "limit", value, REVENUE_ERROR_MAX))
        elif reference is not None and abs(value) > reference + REVENUE_ERROR_RISE:
            found.append(("revenue", "rise", value, reference))
    return found
