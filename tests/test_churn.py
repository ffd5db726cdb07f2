import json

import numpy as np
import pytest
from churn import FEATURES, Fitted, History, derive_horizon, features, labels, predict, spend_per_order, train


def col(X, name):
    return X[:, FEATURES.index(name)]


# customer 1: days 0, 10, 30; customer 2: day 50 only; customer 3: days 20, 40 and 120 (after the cutoff)
HAND = History.from_rows([
    (1, 0, 10.0), (1, 10, 20.0), (1, 30, 30.0), (2, 50, 100.0), (3, 20, 5.0), (3, 40, 15.0), (3, 120, 50.0),
])


def test_features_by_hand():
    ids, X = features(HAND, cutoff=100)
    assert list(ids) == [1, 2, 3]
    assert list(col(X, "recency_days")) == [70, 50, 60]
    assert list(col(X, "tenure_days")) == [100, 50, 80]
    assert list(col(X, "orders")) == [3, 1, 2]
    assert list(col(X, "total_value")) == [60, 100, 20]
    assert list(col(X, "avg_order_value")) == [20, 100, 10]
    # gaps of customer 1: 10 and 20 -> mean 15, std 5, regularity 1/3; last gap 20
    assert col(X, "gap_regularity")[0] == pytest.approx(5 / 15)
    assert np.isnan(col(X, "gap_regularity")[2])  # two orders: one gap, no spread
    assert list(col(X, "last_gap_days")[[0, 2]]) == [20, 20]
    assert np.isnan(col(X, "last_gap_days")[1])
    assert col(X, "overdue_ratio")[0] == pytest.approx(70 / 15)
    # within 90 days of the cutoff (day >= 10): customer 1 has 2 orders worth 50 of 60
    assert col(X, "recent_orders_90d")[0] == 2
    assert col(X, "recent_value_share")[0] == pytest.approx(50 / 60)
    # orders missed during the silence at the customer's repeat rate, shrunk (strength 0.5) to the
    # shop's: 3 repeat orders over 230 customer-days
    shop = 3 / 230
    assert col(X, "missed_orders") == pytest.approx(
        [70 * 2.5 / (30 + 0.5 / shop), 50 * 0.5 / (0.5 / shop), 60 * 1.5 / (20 + 0.5 / shop)])
    # BG/NBD (fitted on these three): a one-time buyer is alive by construction, the others less so
    alive = col(X, "p_alive_bgnbd")
    assert alive[1] == 1.0 and 0 < alive[0] < 1 and 0 < alive[2] < 1
    assert (col(X, "expected_90d_bgnbd") > 0).all()


def test_purchases_after_the_cutoff_are_not_seen():
    ids, X = features(HAND, cutoff=45)
    assert list(ids) == [1, 3]
    assert list(col(X, "orders")) == [3, 2]


def test_signals_are_joined_by_customer():
    ids, X = features(HAND, cutoff=100, signals={"opens_90d": {3: 4}, "carts_90d": {2: 1}})
    assert list(col(X, "opens_90d")) == [0, 0, 4]
    assert list(col(X, "carts_90d")) == [0, 1, 0]


def test_labels_no_order_within_the_horizon():
    ids, __ = features(HAND, cutoff=100)
    assert list(labels(HAND, ids, 100, 30)) == [1, 1, 0]
    assert list(labels(HAND, ids, 100, 10)) == [1, 1, 1]


def test_horizon_from_the_shops_cadence():
    # gaps 10, 20 (customer 1) and 20 (customer 3): median 20 -> three times, 60 days
    assert derive_horizon(HAND, 100) == 60
    assert derive_horizon(History.from_rows([(1, 0, 1.0)]), 100) == 90  # no repeat purchase yet


def synthetic_shop(n=3000, days=720, seed=1):
    """Loyal customers buy every ~30 days for good; others stop after a while."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n):
        start = rng.uniform(0, days * 0.6)
        gap = rng.uniform(15, 60)
        stop = days if rng.random() < 0.4 else start + rng.exponential(90)
        t = start
        while t < min(stop, days):
            rows.append((c, float(int(t)), float(rng.gamma(2.0, 30.0))))
            t += rng.exponential(gap)
    return History.from_rows(rows)


def test_trains_on_its_past_and_ranks_the_future():
    from sklearn.metrics import roc_auc_score

    shop = synthetic_shop()
    now, horizon = 540, 90
    fitted = train(shop, now, horizon)
    assert fitted.kind == "logistic_regression"
    assert fitted.metrics["validation"] == "later window"
    assert fitted.metrics["auc"] > 0.8
    assert fitted.importances and fitted.importances[0][0] in FEATURES
    ids, churn, orders, value, next_in = predict(fitted, shop, now, clv_days=365)
    truth = labels(shop, ids, now, horizon)
    assert roc_auc_score(truth, churn) > 0.8, "what the customers did next, never seen by the model"
    assert ((churn >= 0) & (churn <= 1)).all() and (orders >= 0).all() and (value >= 0).all()
    assert (next_in >= 1).all()


def test_a_short_window_is_converted_to_the_horizon_as_the_history_shows():
    # 240 days of history for a 180-day horizon: labels over 70 days, converted. Customers who
    # stopped stay stopped, so silent windows are not independent: persistence below 1, and the
    # converted probabilities match what happens over the horizon better than a constant hazard.
    shop = synthetic_shop()
    now, horizon = 240, 180
    fitted = train(shop, now, horizon)
    assert fitted.window < horizon
    assert 0 <= fitted.persistence < 1
    ids, X = features(shop, now)
    truth = labels(shop, ids, now, horizon).mean()
    constant = Fitted.from_dict({**fitted.to_dict(), "persistence": 1.0})
    assert abs(fitted.churn_probability(X).mean() - truth) < abs(constant.churn_probability(X).mean() - truth)


def test_model_is_plain_numbers_and_scores_the_same_after_a_round_trip():
    shop = synthetic_shop(n=800)
    fitted = train(shop, 540, 90)
    stored = json.dumps(fitted.to_dict())  # what the database keeps: no pickle
    again = Fitted.from_dict(json.loads(stored))
    __, X = features(shop, 540)
    assert np.allclose(fitted.churn_probability(X), again.churn_probability(X))


def test_tiny_shop_falls_back_to_the_statistical_model():
    tiny = History.from_rows([(1, 0, 10.0), (1, 40, 10.0), (2, 10, 30.0), (3, 70, 5.0)])
    fitted = train(tiny, 100, 60)
    assert fitted.kind == "statistical"
    assert "too" in fitted.reason
    ids, churn, orders, value, __ = predict(fitted, tiny, 100, clv_days=365)
    assert list(ids) == [1, 2, 3]
    # the regular buyer seen 60 days ago is less at risk than the one-time buyer seen 90 days ago
    assert churn[0] < churn[1]
    assert (value > 0).all()


def test_spend_per_order_is_the_repeat_order_value_shrunk_to_the_shops():
    # customer 1: a small first order then 1000; 2: one order only; 3: three orders
    history = History.from_rows([(1, 10, 20.0), (1, 40, 1000.0), (2, 15, 5.0),
                                 (3, 5, 10.0), (3, 20, 30.0), (3, 60, 50.0), (3, 200, 999.0)])
    # first orders left out; the order after the cutoff too. Three repeat orders are too few to read the
    # shop's repeat order from: 20 more at its first orders' average (35 / 3) times 1.15 fill in
    shop_repeat = (1000 + 30 + 50 + 20 * 1.15 * 35 / 3) / (3 + 20)
    spend = spend_per_order(history, 100)
    assert spend == pytest.approx([(1000 + 3 * shop_repeat) / 4, shop_repeat, (30 + 50 + 3 * shop_repeat) / 5])
    # a shop where nobody came back yet: its first orders (average 30), times 1.15
    first_only = History.from_rows([(1, 10, 20.0), (2, 15, 40.0)])
    assert spend_per_order(first_only, 100) == pytest.approx([30 * 1.15, 30 * 1.15])
    # the statistical model's reading: the first order counts as one order, scaled the same way, and the
    # shop's average weighs one order
    assert spend_per_order(first_only, 100, strength=1.0, first_weight=1.0) == pytest.approx(
        [(20 * 1.15 + 34.5) / 2, (40 * 1.15 + 34.5) / 2])


def test_bands_with_hysteresis():
    from churn import bands

    # thresholds 0.4 / 0.7, hysteresis 0.1
    assert bands([0.72, 0.65, 0.65, 0.55, 0.35, 0.25], [None, None, "high", "high", "medium", "medium"], 0.4, 0.7) == [
        "high", "medium", "high", "medium", "medium", "low"]


def test_count_events_in_the_last_90_days():
    from churn import count_events

    assert count_events([1, 1, 2, 2, 3], [5, 95, 50, 99, 100], 100) == {1: 1, 2: 2}


def test_bgnbd_likelihood_by_hand_and_parameters_recovered():
    import bgnbd

    # one customer, no repeat: r ln(alpha/(alpha+T)) (eq. 6 with x = 0, a4 absent)
    r, alpha, a, b = 0.5, 2.0, 0.8, 2.5
    ll = bgnbd.log_likelihood((r, alpha, a, b), np.array([0.0]), np.array([0.0]), np.array([3.0]))
    assert ll[0] == pytest.approx(r * np.log(alpha / (alpha + 3.0)))
    # a customer with repeats who was last seen long ago is less likely alive than one seen lately
    params = (0.25, 4.7, 0.73, 2.2)  # CDNOW's, in weeks
    alive = bgnbd.p_alive(params, np.array([3.0, 3.0, 0.0]), np.array([70.0, 250.0, 0.0]), np.array([260.0] * 3))
    assert alive[0] < alive[1] < alive[2] == 1.0
    # simulated BG/NBD customers: the fit finds the parameters back
    rng = np.random.default_rng(7)
    true = (0.6, 10.0 * bgnbd.UNIT, 1.2, 3.0)  # alpha in days: the fit works in weeks
    n_cust, T = 6000, 300.0
    lam = rng.gamma(true[0], 1.0 / true[1], n_cust)
    p = rng.beta(true[2], true[3], n_cust)
    x, t_x = np.zeros(n_cust), np.zeros(n_cust)
    for i in range(n_cust):
        t = 0.0
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > T:
                break
            x[i], t_x[i] = x[i] + 1, t
            if rng.uniform() < p[i]:
                break
    r_hat, alpha_hat, a_hat, b_hat = bgnbd.fit(x, t_x, np.full(n_cust, T))
    assert r_hat == pytest.approx(0.6, rel=0.2)
    assert alpha_hat * bgnbd.UNIT == pytest.approx(70.0, rel=0.25)
    assert a_hat / (a_hat + b_hat) == pytest.approx(1.2 / 4.2, rel=0.25)  # mean dropout probability
    # and its expected purchases add up to what such customers do next (same process, 90 more days)
    expected = bgnbd.expected_purchases((r_hat, alpha_hat, a_hat, b_hat), 90, x, t_x, np.full(n_cust, T))
    assert np.all(expected >= 0) and expected.sum() > 0


def test_reasons_name_what_raises_and_lowers_each_customers_risk():
    from churn import reasons

    shop = synthetic_shop()
    fitted = train(shop, 540, 90)
    ids, churn, __, __, __, why = predict(fitted, shop, 540, explain=True)
    __, X = features(shop, 540)
    riskiest, safest = int(np.argmax(churn)), int(np.argmin(churn))
    sign, reason, days, gap = why[riskiest][0]
    assert (sign, reason) == ("+", "recency"), "the customer gone longest is at risk for their silence"
    assert days == int(col(X, "recency_days")[riskiest])
    assert why[safest] and all(entry[0] == "-" for entry in why[safest]), "the safest: what lowers their risk"
    json.dumps(why)  # stored as JSON on the customer
    # the statistical model explains itself too: silence raises, orders lower
    tiny = History.from_rows([(1, 10, 50.0), (1, 40, 60.0), (1, 70, 70.0), (2, 5, 80.0)])
    fallback = train(tiny, 100, 90)
    __, Xt = features(tiny, 100)
    assert [entry[:2] for entry in reasons(fallback, Xt)[1]][0] == ["+", "recency"]


def test_young_shop_values_every_customer_at_the_prior_not_at_a_purchase_a_day():
    # 5 customers whose orders are all from this morning (day 20000, scored at 06:00): followed for a quarter
    # of a day each. The old reading, 5 purchases over 1.25 customer-days, expected 580 orders a year of each.
    now = 20000.25
    shop = History.from_rows([(1, 20000, 40.0), (2, 20000, 60.0), (3, 20000, 80.0), (4, 20000, 100.0),
                              (5, 20000, 120.0, 2)])  # customer 5: two orders on the day, one purchase
    horizon = derive_horizon(shop, now)
    assert horizon == 90  # nobody came back yet
    fitted = train(shop, now, horizon)
    assert fitted.kind == "statistical"
    assert "too young to read its purchase rate from" in fitted.reason
    # the shop's rate: no repeat purchase over 1.25 customer-days, and a prior of one every 180 days worth
    # 364 customer-days (each customer's exposure weighs 1 / (1 + rate x 0.25) = 0.9986: negligible here)
    shop_rate = (0 + 364 / 180) / (5 * 0.25 + 364)
    assert fitted.shop_rate == pytest.approx(shop_rate, rel=1e-4)
    assert fitted.metrics["prior_weight"] == pytest.approx(364 / 365.25, abs=1e-3)
    # each customer: (0 repeats + 1) / (0.25 days + 1 / shop rate), nobody overdue, 365 days
    rate = 1 / (0.25 + 1 / shop_rate)
    __, churn, orders, value, next_in = predict(fitted, shop, now, clv_days=365)
    assert orders == pytest.approx([365 * rate] * 5, rel=1e-4)  # 2.02 purchases in 12 months
    assert churn == pytest.approx([np.exp(-90 * rate)] * 5, rel=1e-4)  # 0.61: no purchase within 90 days
    # value of a future order: no repeat order yet, so the first orders (average 80) times 1.15 stand in for
    # the shop's (92); a customer's own first order, scaled the same way, counts as one order beside it
    per_order = [(1.15 * first + 92) / 2 for first in (40, 60, 80, 100, 120)]
    assert value == pytest.approx([365 * rate * v for v in per_order], rel=1e-4)
    assert value.max() == pytest.approx(232.1, abs=0.1)
    assert value.max() <= 3 * 120, "no customer above a few times the largest spend of the shop"
    assert next_in == pytest.approx([1 / rate - 0.25] * 5, rel=1e-4)


def test_young_shop_with_a_wholesale_customer_stays_in_proportion_and_explains_itself():
    # the demo shop: a wholesale customer who reorders every few days for a month, one customer seen once
    # 30 days ago, five new customers of this morning (customer 5 placed two orders)
    now = 20000.25
    rows = [(1, 19965 + 3 * k, 1200.0) for k in range(12)] + [(1, 20000, 1500.0), (2, 19970, 2900.0)]
    rows += [(3, 20000, 120.0), (4, 20000, 100.0), (5, 20000, 528.3, 2), (6, 20000, 300.0), (7, 20000, 140.0)]
    shop = History.from_rows(rows)
    fitted = train(shop, now, derive_horizon(shop, now))
    assert fitted.kind == "statistical"
    ids, churn, orders, value, __, why = predict(fitted, shop, now, clv_days=365, explain=True)
    # the wholesale customer's 12 repeat purchases count as one customer's: the average customer buys every
    # few weeks, not every three days, and nobody is worth more than their share of what the shop sells
    assert 1 / fitted.shop_rate > 30
    new = np.isin(ids, [3, 4, 5, 6, 7])
    assert (orders[new] < 12).all()
    spent_this_month = 12 * 1200 + 1500
    assert value.max() < 12 * spent_this_month, "the wholesale customer: at most a year at their current pace"
    assert (value[new] < value[ids == 1]).all()
    assert value[ids == 3] < value[ids == 5], "a customer's own orders set their level"
    # the reasons: the order counts people see (two orders on one day are two), each fact pushing its way
    reasons = dict(zip(ids.tolist(), why, strict=True))
    assert ["+", "frequency", 2] in reasons[5] and ["-", "recency", 0, None] in reasons[5]
    assert ["+", "frequency", 1] in reasons[3]
    assert ["-", "frequency", 13] in reasons[1]
    assert churn[new][0] > churn.mean(), "the agreeing fact first: the new customer is riskier than average"
    assert reasons[3][0][:2] == ["+", "frequency"]


def test_history_keeps_the_orders_of_each_purchase_day():
    history = History.from_rows([(1, 10, 20.0, 2), (1, 40, 10.0), (2, 15, 5.0, 3)])
    assert history.orders.tolist() == [2, 1, 3]
    assert history.before(20).orders.tolist() == [2, 3]
    from churn import order_counts

    counts = order_counts(history, 100, span=70)
    assert counts["orders"].tolist() == [3, 3]
    assert counts["recent_orders_90d"].tolist() == [1, 0]  # since day 30: customer 1's order of day 40 only
    # the model itself counts purchase days
    __, X = features(history, 100)
    assert col(X, "orders").tolist() == [2, 1]
