import numpy as np
import pytest
from recommend import Affinities, Params, Purchases, item_weights, learn, recommend

# customer 1: 10 on day 0, then 20 on day 5
# customer 2: 10 and 30 together on day 0, then 20 on day 3
# customer 3: 30 on day 1
HAND = Purchases.from_rows([(1, 10, 0), (1, 20, 5), (2, 30, 0), (2, 10, 0), (2, 20, 3), (3, 30, 1)])
# raw counts (customers, each pair once): 10 -> 20 next order twice (1 + 1); 10 & 30 together (0.5 each
# way); 30 -> 20 next (1); 20 had 10 before (0.1 twice), 20 had 30 before (0.1); 30 with nothing else for 3
RAW = {"decay": 0.5, "together": 0.5, "before": 0.1}


def score(affinities, a, b):
    return affinities.matrix[affinities.index[a], affinities.index[b]]


def test_purchases_sorted_and_cut():
    assert HAND.customer.tolist() == [1, 1, 2, 2, 2, 3]
    assert HAND.item.tolist() == [10, 20, 10, 30, 20, 30]
    assert HAND.before(3).item.tolist() == [10, 10, 30, 30]
    assert HAND.owned() == {1: {10, 20}, 2: {10, 20, 30}, 3: {30}}


def test_conditional_probability_by_hand():
    # no shrinkage, beta 0: count(a, b) / buyers(a); every product has 2 buyers
    a = learn(HAND, params=Params(**RAW, shrinkage=0.0, beta=0.0))
    assert score(a, 10, 20) == pytest.approx(2 / 2)
    assert score(a, 10, 30) == pytest.approx(0.5 / 2)
    assert score(a, 30, 10) == pytest.approx(0.5 / 2)
    assert score(a, 30, 20) == pytest.approx(1 / 2)
    assert score(a, 20, 10) == pytest.approx(0.2 / 2)
    assert score(a, 20, 30) == pytest.approx(0.1 / 2)
    assert a.customers == 3
    assert a.popular.tolist() == [10, 20, 30]  # 2 buyers each: ties keep the id order
    assert a.buyers.tolist() == [2, 2, 2]


def test_shrinkage_and_lift_by_hand():
    # s = 3, beta = 1: ((count + 3 * 2/3) / (2 + 3)) / (2/3)
    a = learn(HAND, params=Params(**RAW, shrinkage=3.0, beta=1.0))
    assert score(a, 10, 20) == pytest.approx((2 + 2) / 5 / (2 / 3))
    assert score(a, 20, 30) == pytest.approx((0.1 + 2) / 5 / (2 / 3))
    # beta 0.5 divides by the square root of the share
    a = learn(HAND, params=Params(**RAW, shrinkage=3.0, beta=0.5))
    assert score(a, 30, 20) == pytest.approx((1 + 2) / 5 / np.sqrt(2 / 3))


def test_later_orders_decay_and_cutoff():
    # 1 then 2 then 3: 1 -> 2 weighs 1, 1 -> 3 weighs decay; the cutoff drops day 9
    p = Purchases.from_rows([(1, 1, 0), (1, 2, 4), (1, 3, 8), (1, 4, 9)])
    a = learn(p, cutoff=9, params=Params(decay=0.25, together=0.0, before=0.0, shrinkage=0.0, beta=0.0))
    assert score(a, 1, 2) == pytest.approx(1.0)
    assert score(a, 1, 3) == pytest.approx(0.25)
    assert score(a, 2, 3) == pytest.approx(1.0)
    assert score(a, 3, 1) == 0
    assert 4 not in a.index
    # a product bought again later counts at its first order only
    p = Purchases.from_rows([(1, 1, 0), (1, 2, 4), (1, 1, 8)])
    a = learn(p, params=Params(decay=0.5, together=0.0, before=0.0, shrinkage=0.0, beta=0.0))
    assert score(a, 1, 2) == pytest.approx(1.0)
    assert score(a, 2, 1) == 0


def test_customers_who_bought_both_and_neighbours_kept():
    a = learn(HAND, params=Params(**RAW, neighbours=1, shrinkage=0.0, beta=0.0))
    rows = sorted(a.rows())
    # one related product per product: the best one, with how many customers bought both
    assert rows == [(10, 20, pytest.approx(1.0), 2), (20, 10, pytest.approx(0.1), 2), (30, 20, pytest.approx(0.5), 1)]


def test_most_recent_items_only_for_big_accounts():
    p = Purchases.from_rows([(1, item, day) for day, item in enumerate(range(100, 110))])
    a = learn(p, params=Params(max_items=3, shrinkage=0.0, beta=0.0))
    # only 107, 108, 109 make pairs; every product still counts for popularity
    assert {(x, y) for x, y, __, __ in a.rows()} == {
        (107, 108), (107, 109), (108, 109), (108, 107), (109, 107), (109, 108)}
    assert len(a.popular) == 10


def test_item_weights_by_orders_since():
    # customer 1's orders: day 0 (10), day 5 (20), day 9 (30 and 10 again)
    p = Purchases.from_rows([(1, 10, 0), (1, 20, 5), (1, 30, 9), (1, 10, 9), (2, 40, 1)])
    assert item_weights(p, recency=0.5) == {1: {10: 1.0, 20: 0.5, 30: 1.0}, 2: {40: 1.0}}
    assert item_weights(p, cutoff=9, recency=0.5) == {1: {10: 0.5, 20: 1.0}, 2: {40: 1.0}}
    assert item_weights(p, recency=0.0) == {1: {10: 1.0, 20: 0.0, 30: 1.0}, 2: {40: 1.0}}
    # the order that triggered the email weighs 1, even for a new customer
    assert item_weights(p, cutoff=9, recency=0.5, trigger={1: [50], 3: [60]}) == {
        1: {10: 0.5, 20: 1.0, 50: 1.0}, 2: {40: 1.0}, 3: {60: 1.0}}


def test_recommend_by_hand():
    a = learn(HAND, params=Params(**RAW, shrinkage=0.0, beta=0.0))
    # customer 3 owns 30: 20 (0.5) then 10 (0.25)
    assert recommend(a, {3: {30: 1.0}}, k=2) == {3: [20, 10]}
    # weights add up: 10 (w 1) + 30 (w 1) -> 20 = 1 + 0.5; what is owned never comes back
    assert recommend(a, {9: {10: 1.0, 30: 1.0}}, k=3) == {9: [20]}
    # a customer with nothing known gets the popular products they do not own
    assert recommend(a, {9: {}}, owned={9: {10}}, k=2) == {9: [20, 30]}
    # too few related products: popular ones fill in
    assert recommend(a, {3: {30: 1.0}}, k=3) == {3: [20, 10]}  # 30 is owned: nothing else exists
    a2 = Affinities.from_rows([(30, 20, 0.5)], popular=[40, 10, 20])
    assert recommend(a2, {3: {30: 1.0}}, k=3) == {3: [20, 40, 10]}
    # only what may be sold
    assert recommend(a2, {3: {30: 1.0}}, k=3, allowed={10, 40}) == {3: [40, 10]}
    assert recommend(a, {}, k=3) == {}


def test_stored_rows_give_the_same_recommendations():
    rng = np.random.default_rng(3)
    rows = [(int(c), int(i), int(d)) for c, i, d in zip(
        rng.integers(0, 60, 600), rng.integers(0, 40, 600), rng.integers(0, 300, 600), strict=True)]
    p = Purchases.from_rows(rows)
    a = learn(p)
    stored = Affinities.from_rows([r[:3] for r in a.rows()], popular=a.popular.tolist())
    weights = item_weights(p)
    assert recommend(stored, weights, k=5) == recommend(a, weights, k=5)


def test_empty():
    a = learn(Purchases.from_rows([]))
    assert list(a.rows()) == []
    assert recommend(a, {1: {5: 1.0}}, k=3) == {1: []}
    assert item_weights(Purchases.from_rows([])) == {}
