"""BG/NBD (Fader, Hardie & Lee, 2005), fitted with numpy and scipy.

The churn model uses it as a feature extractor, not as the model: BG/NBD's
probability that a customer is still buying and its expected purchases carry
the interaction of recency with each customer's own rhythm that a logistic
regression on separate features cannot draw. Fitted on the shop's own
history as of each training cutoff (four numbers), so nothing comes from
outside the database. scipy ships with scikit-learn.

Inputs per customer, in days: ``x`` repeat purchases, ``t_x`` age at the last
purchase (from the first), ``T`` age at the cutoff.
"""

import numpy as np

# time unit of the fit: weeks keep the four parameters of similar magnitude
UNIT = 7.0


def log_likelihood(params, x, t_x, T):
    """Per-customer log-likelihood (eq. 6 of the paper)."""
    from scipy.special import gammaln  # noqa: PLC0415

    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.where(repeat, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def fit(x, t_x, T, penalty=1e-4):
    """(r, alpha, a, b) by maximum likelihood (a small L2 on the log
    parameters keeps a degenerate shop finite). Customers with the same
    (x, t_x, T) are counted once with a weight."""
    from scipy.optimize import minimize  # noqa: PLC0415

    x, t_x, T = np.asarray(x, dtype=float), np.asarray(t_x, dtype=float) / UNIT, np.asarray(T, dtype=float) / UNIT
    keys, weight = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    x, t_x, T = keys.T

    def loss(log_params):
        params = np.exp(log_params)
        return -(weight * log_likelihood(params, x, t_x, T)).sum() / weight.sum() + penalty * (log_params ** 2).sum()

    start = np.log([0.5, max(float(np.average(T, weights=weight)), 1.0), 1.0, 2.0])
    result = minimize(loss, start, method="L-BFGS-B", bounds=[(-9, 9)] * 4)
    return tuple(float(v) for v in np.exp(result.x))


def _dropout_odds(params, x, t_x, T):
    """Odds that the customer has dropped out by T (0 without a repeat purchase); t_x and T in ``UNIT``."""
    r, alpha, a, b = params
    log_ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(x > 0, a / np.maximum(b + x - 1, 1e-12) * np.exp(np.minimum(log_ratio, 700)), 0.0)


def p_alive(params, x, t_x, T):
    """Probability the customer has not dropped out at T (1 without a repeat purchase, by the model's construction)."""
    t_x, T = np.asarray(t_x, dtype=float) / UNIT, np.asarray(T, dtype=float) / UNIT
    return 1.0 / (1.0 + _dropout_odds(params, np.asarray(x, dtype=float), t_x, T))


def expected_purchases(params, days, x, t_x, T):
    """Expected purchases in the next ``days`` (eq. 10 of the paper)."""
    from scipy.special import hyp2f1  # noqa: PLC0415

    r, alpha, a, b = params
    t = days / UNIT
    t_x, T = np.asarray(t_x, dtype=float) / UNIT, np.asarray(T, dtype=float) / UNIT
    x = np.asarray(x, dtype=float)
    a = a if abs(a - 1) > 1e-6 else 1 + 1e-6  # the closed form is singular at a = 1 only
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    first = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    return np.maximum(np.nan_to_num(first / (1 + _dropout_odds((r, alpha, a, b), x, t_x, T))), 0.0)
