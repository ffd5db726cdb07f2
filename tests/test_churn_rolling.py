"""The expected orders across cutoffs: a yearly pattern, the scale of the latest windows, the order value."""

import datetime as dt

import numpy as np
import pytest
from churn import (
    SEASON_MIN_MONTHS, Fitted, History, predict, season_mass, seasonality, spend_per_order, spend_strength, train,
)

EPOCH = dt.date(1970, 1, 1)


def day(d):
    return (d - EPOCH).days


def december_shop(seed=5, customers=3000, start=dt.date(2021, 1, 1), end=dt.date(2024, 7, 1), peak=2.0):
    """Customers arriving evenly, buying at Gamma-distributed rates, leaving after exponential lifetimes;
    a purchase is ``peak`` times as likely from 1 to 21 December."""
    rng = np.random.default_rng(seed)
    first, last = day(start), day(end)
    birth = rng.uniform(first, last - 1, customers)
    rate = rng.gamma(0.8, 1 / (0.8 * 60.0), customers)
    stop = np.minimum(birth + rng.exponential(600.0, customers), last)
    n = rng.poisson(rate * peak * np.maximum(stop - birth, 0))
    owner = np.repeat(np.arange(customers), n)
    t = birth[owner] + rng.uniform(0, 1, len(owner)) * (stop - birth)[owner]
    doy = np.asarray(np.floor(t), dtype="int64").astype("datetime64[D]")
    in_peak = (doy.astype("datetime64[M]").astype(int) % 12 == 11) & (
        (doy - doy.astype("datetime64[M]").astype("datetime64[D]")).astype(int) < 21)
    keep = rng.uniform(0, peak, len(owner)) < np.where(in_peak, peak, 1.0)
    rows = {}
    for c, d in zip(np.concatenate([np.arange(customers), owner[keep]]), np.floor(np.concatenate([birth, t[keep]])),
                    strict=True):
        rows[int(c) + 1, float(d)] = float(rng.gamma(6.0, 8.0))
    return History.from_rows([(c, d, v) for (c, d), v in rows.items()])


SHOP = december_shop()


def test_a_december_peak_is_read_from_more_than_a_year_of_history():
    factors, info = seasonality(SHOP, day(dt.date(2024, 1, 1)))
    assert len(factors) == 12 and sum(factors) == pytest.approx(12, abs=1e-3)
    assert info["peak"] == 11, "December"
    assert factors[11] > 1.3 > max(factors[:11])
    assert info["months"] == 35


def test_a_shop_with_a_year_of_history_or_less_says_so():
    factors, info = seasonality(SHOP, day(dt.date(2022, 2, 1)))
    assert factors == []
    assert info["months"] == 12 < SEASON_MIN_MONTHS


def test_expected_orders_after_a_peak_are_not_read_as_a_new_normal():
    """Scored on 1 January, right after a December that doubled the purchases: the next six months get what
    they then hold, not December's pace."""
    now, end = day(dt.date(2024, 1, 1)), day(dt.date(2024, 7, 1))
    fitted = train(SHOP, now, end - now)
    assert fitted.kind == "logistic_regression"
    assert fitted.season and fitted.season_base > 0
    ids, __, orders, __, __ = predict(fitted, SHOP, now, clv_days=end - now)
    window = (SHOP.day >= now) & (SHOP.day < end) & np.isin(SHOP.customer, ids)
    assert orders.sum() == pytest.approx(window.sum(), rel=0.10)
    # the same model without its yearly pattern expects more: December's pace carried into spring
    flat = Fitted.from_dict({**fitted.to_dict(), "season": []})
    __, __, flat_orders, __, __ = predict(flat, SHOP, now, clv_days=end - now)
    assert flat_orders.sum() > orders.sum()


def test_period_share_follows_the_season():
    fitted = Fitted("logistic_regression", "", 180, season=[1.0] * 11 + [2.0])
    start = day(dt.date(2024, 1, 1))
    spring = fitted.period_share(start, 181, 365)
    assert spring < 181 / 365, "January to June misses December"
    assert Fitted("logistic_regression", "", 180).period_share(start, 181, 365) == pytest.approx(181 / 365)
    assert season_mass([1.0] * 11 + [2.0], day(dt.date(2024, 12, 1)), 31) == pytest.approx(2.0)


def test_order_value_weighs_the_shop_as_its_customers_differ():
    """Customers whose orders barely vary around very different averages: the shop's average weighs little."""
    rows = []
    for c in range(1, 41):
        level = 10.0 * c
        rows += [(c, float(d), level * (1 + 0.01 * (d % 3))) for d in range(0, 50, 10)]
    steady = History.from_rows(rows)
    strength = spend_strength(steady, 100)
    assert strength < 0.5
    value = spend_per_order(steady, 100, strength=strength)
    assert value[-1] == pytest.approx(400, rel=0.05), "the customer's own level, not the shop's 205"
    # too few customers with repeat orders to read it from: the default
    assert spend_strength(History.from_rows(rows[:15]), 100) == 3.0
