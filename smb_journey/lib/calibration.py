"""How well predicted probabilities match what happened, without the ORM.

A reliability diagram sorts the predictions into equal-width bins of
predicted probability (0-10 %, 10-20 %, ...) and compares, in each bin, the
mean prediction with the share of customers for whom the event happened. A
calibrated model's points lie on the diagonal. The expected calibration error
(ECE) is the distance to the diagonal, averaged over the bins weighted by the
customers in them: 0 is perfect, 0.03 means predictions are off by three
points on average.
"""

import numpy as np


def _bin_index(p, bins):
    """The bin of each probability: [0, 1/bins), ..., [(bins-1)/bins, 1] (1.0 goes to the last bin)."""
    return np.minimum((np.clip(p, 0.0, 1.0) * bins).astype(int), bins - 1)


def _bin_sums(p, y, bins):
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    index = _bin_index(p, bins)
    count = np.bincount(index, minlength=bins)
    return count, np.bincount(index, weights=p, minlength=bins), np.bincount(index, weights=y, minlength=bins)


def reliability(p, y, bins=10):
    """``[mean predicted, observed rate, count]`` per non-empty bin, lowest
    predictions first (probabilities rounded to 4 digits, JSON-safe)."""
    count, p_sum, y_sum = _bin_sums(p, y, bins)
    return [
        [round(float(p_sum[b] / count[b]), 4), round(float(y_sum[b] / count[b]), 4), int(count[b])]
        for b in np.flatnonzero(count)
    ]


def ece(p, y, bins=10):
    """Expected calibration error: sum over the bins of |mean predicted -
    observed rate| x the bin's share of the customers (0 when there is none)."""
    count, p_sum, y_sum = _bin_sums(p, y, bins)
    total = count.sum()
    if not total:
        return 0.0
    return float(np.abs(p_sum - y_sum).sum() / total)  # |mean p - mean y| x count = |sum p - sum y|
