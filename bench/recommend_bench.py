#!/usr/bin/env python3
"""Product recommendations on simulated shops whose product affinities are known.

No database: ``smb_journey/lib/recommend.py`` (what the nightly job learns and
what journey emails show) against two baselines measured in the same run, on
shops simulated like this (one shop per seed):

- a catalogue of 100 to 300 products in 6 to 15 categories of uneven sizes,
  with a popularity skew (Zipf, exponent 0.8 to 1.2, over a random order of
  the products); a fifth of the products are launched during the period;
- known affinities: each product has 1 to 3 complements (60 % in another
  category, chosen with a mild pull towards popular products), bought in a
  *later* order (an accessory after the device) or, less often, in the same;
- customers arrive over the period; each has category tastes (a Dirichlet
  draw with concentration 0.3, mixed 70/30 with the shop's category shares),
  1 to about 10 orders (geometric, mean 3.3) about 45 days apart
  (exponential), 1 to 4 items an order;
- an item of an order is: with probability 0.3 (from the second order) a
  complement of something the customer bought before (of their last order
  70 % of the time); 0.1 a re-buy of one of their items; 0.15 (from the
  second item) a complement of an item of the same order; otherwise a
  product of a category drawn from their tastes, by popularity.

The protocol, for each shop: four cutoffs (days 540, 630, 720 and 810 of
900). At each, every model learns from the purchases before the cutoff, and
each customer with an order before it and one after it is given ``k``
products they had not bought before the cutoff, from their own items (none of
the future). The target is their *next* order after the cutoff, restricted to
products they had not bought before (re-buys are not what a recommendation
is for); a customer whose next order holds only re-buys is not counted. A hit
at ``k``: one of the first ``k`` recommended products is in that order.
Hit rate = hits / customers counted, pooled over the four cutoffs. Coverage:
the share of the shop's catalogue recommended (in someone's top 5) at a
cutoff, averaged over the cutoffs.

Models:

- ``smb_journey``: ``recommend.learn`` + ``recommend.item_weights`` +
  ``recommend.recommend``, the code the addon runs, default settings;
- ``most popular``: the products bought by the most customers before the
  cutoff that the customer has not bought;
- ``co-purchase (customer)``: plain counts of customers who bought both a
  product of theirs and the candidate, summed over their products (ties and
  empty lists filled by popularity);
- ``co-purchase (order)``: the same with counts of orders holding both.

PASS when ``smb_journey`` beats both co-purchase baselines and popularity on
hit@3 and hit@5 on every shop. ``--alternatives`` adds the variants of the
model that were measured and not kept.

    python3 bench/recommend_bench.py [--seeds 1 2 3 4 5] [--customers 3000] [--alternatives]
"""

import argparse
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import sparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "smb_journey" / "lib"))

import recommend  # noqa: E402

DAYS = 900
CUTOFFS = (540, 630, 720, 810)
KS = (3, 5)
P_NEXT, P_REPEAT, P_TOGETHER = 0.3, 0.1, 0.15


# --------------------------------------------------------------------------
# Simulated shops
# --------------------------------------------------------------------------


def simulate(seed, customers=3000, p_next=None, p_together=None):
    """Purchase rows ``(customer, product, day, order)`` of a simulated shop,
    its catalogue size and the truth (categories, popularity, launch days,
    complements, each customer's tastes)."""
    p_next = P_NEXT if p_next is None else p_next
    p_together = P_TOGETHER if p_together is None else p_together
    rng = np.random.default_rng(seed)
    n_products = int(rng.integers(100, 301))
    n_categories = int(rng.integers(6, 16))
    category = rng.choice(n_categories, n_products, p=rng.dirichlet(np.full(n_categories, 2.0)))
    category[:n_categories] = np.arange(n_categories)  # no empty category
    popularity = 1.0 / (1 + rng.permutation(n_products)) ** rng.uniform(0.8, 1.2)
    launch = np.where(rng.random(n_products) < 0.2, rng.uniform(0, DAYS, n_products), 0.0)
    complements = []
    for product in range(n_products):
        chosen = set()
        for __ in range(int(rng.integers(1, 4))):
            other = category != category[product] if rng.random() < 0.6 else category == category[product]
            other[product] = False
            weight = np.where(other, np.sqrt(popularity), 0.0)
            if weight.sum():
                chosen.add(int(rng.choice(n_products, p=weight / weight.sum())))
        complements.append(sorted(chosen))
    shop_tastes = np.bincount(category, weights=popularity, minlength=n_categories)
    shop_tastes /= shop_tastes.sum()
    members = [np.flatnonzero(category == c) for c in range(n_categories)]

    rows = []
    order_id = 0
    all_tastes = []
    for customer in range(customers):
        tastes = 0.7 * rng.dirichlet(np.full(n_categories, 0.3)) + 0.3 * shop_tastes
        all_tastes.append(tastes)
        day = rng.uniform(0, DAYS)
        orders = []
        for __ in range(int(rng.geometric(0.3))):
            if day >= DAYS:
                break
            released = launch <= day
            basket = []
            for __ in range(min(1 + int(rng.poisson(0.7)), 4)):
                u = rng.random()
                item = None
                if orders and u < p_next:
                    source = orders[-1] if rng.random() < 0.7 or len(orders) == 1 else \
                        orders[int(rng.integers(0, len(orders) - 1))]
                    options = [p for p in complements[source[int(rng.integers(0, len(source)))]] if released[p]]
                    item = int(rng.choice(options)) if options else None
                elif orders and u < p_next + P_REPEAT:
                    mine = [p for o in orders for p in o]
                    item = mine[int(rng.integers(0, len(mine)))]
                elif basket and u < p_next + P_REPEAT + p_together:
                    options = [p for p in complements[basket[int(rng.integers(0, len(basket)))]] if released[p]]
                    item = int(rng.choice(options)) if options else None
                if item is None:
                    group = members[int(rng.choice(n_categories, p=tastes))]
                    weight = popularity[group] * released[group]
                    if not weight.sum():
                        continue
                    item = int(rng.choice(group, p=weight / weight.sum()))
                if item not in basket:
                    basket.append(item)
            if basket:
                orders.append(basket)
                rows.extend((customer, item, float(int(day)), order_id) for item in basket)
                order_id += 1
            day += rng.exponential(45.0)
    truth = dict(p_next=p_next, category=category, popularity=popularity, launch=launch, complements=complements,
                 tastes=np.asarray(all_tastes))
    return np.asarray(rows, dtype=float), n_products, truth


# --------------------------------------------------------------------------
# Models: each takes a Cut (what is known at a cutoff) and k, and returns
# {customer: [products, best first]} for cut.customers
# --------------------------------------------------------------------------


@dataclass
class Cut:
    """What the models may read at a cutoff: the purchases before it (and each
    row's order, for the order-level baseline), each customer's products, and
    the customers to recommend to."""

    cutoff: float
    train: recommend.Purchases
    orders: np.ndarray
    owned: dict
    customers: list


def popular_items(purchases):
    """Products by number of customers who bought them, most first."""
    pairs = np.unique(np.stack([purchases.customer, purchases.item]), axis=1)
    items, counts = np.unique(pairs[1], return_counts=True)
    return items[np.argsort(-counts, kind="stable")].tolist()


def top_k(scores, items, owned, popular, k):
    """The k best-scored items not owned, then the popular ones."""
    chosen = []
    for j in np.argsort(-scores, kind="stable"):
        if scores[j] <= 0 or len(chosen) == k:
            break
        if items[j] not in owned:
            chosen.append(int(items[j]))
    for item in popular:
        if len(chosen) == k:
            break
        if item not in owned and item not in chosen:
            chosen.append(int(item))
    return chosen


def ours(params=None, half_life=None):
    """The addon's model (``recommend.learn`` + ``item_weights`` +
    ``recommend``); ``half_life``: weigh a customer's items by days since
    bought instead of by orders since (an alternative)."""
    p = params or recommend.Params()

    def run(cut, k):
        affinities = recommend.learn(cut.train, params=p)
        weights = (recommend.item_weights(cut.train, cut.cutoff, recency=p.recency) if half_life is None
                   else days_weights(cut.train, cut.cutoff, half_life))
        return recommend.recommend(affinities, {c: weights[c] for c in cut.customers}, cut.owned, k=k)
    return run


def days_weights(train, cutoff, half_life):
    """{customer: {item: 0.5 ** (days since last bought / half_life)}}."""
    result = {}
    weight = np.power(0.5, (cutoff - train.day) / half_life)
    for customer, item, w in zip(train.customer.tolist(), train.item.tolist(), weight.tolist(), strict=True):
        result.setdefault(customer, {})[item] = w
    return result


def most_popular(cut, k):
    popular = popular_items(cut.train)
    return {c: top_k(np.zeros(0), np.zeros(0), cut.owned[c], popular, k) for c in cut.customers}


def co_purchase(by):
    """Plain co-purchase counts: customers (``by="customer"``) or orders
    (``by="order"``) holding both products, summed over the customer's products."""
    def run(cut, k):
        items, x = _incidence(cut.train, cut.train.customer if by == "customer" else cut.orders)
        co = (x.T @ x).toarray()
        np.fill_diagonal(co, 0.0)
        return _score_owned(cut, k, items, co)
    return run


def ease(lam=50.0):
    """EASE (Steck 2019): a ridge regression of each product on the others,
    on the customer x product matrix; the alternative linear model."""
    def run(cut, k):
        items, x = _incidence(cut.train, cut.train.customer)
        inverse = np.linalg.inv((x.T @ x).toarray() + lam * np.eye(len(items)))
        b = -inverse / np.diag(inverse)
        np.fill_diagonal(b, 0.0)
        return _score_owned(cut, k, items, b)
    return run


def cosine(cut, k):
    """Item-item cosine on the customer x product matrix, summed over the
    customer's products weighted by recency as ours."""
    items, x = _incidence(cut.train, cut.train.customer)
    co = (x.T @ x).toarray()
    n = np.diag(co).copy()
    np.fill_diagonal(co, 0.0)
    return _score_owned(cut, k, items, co / np.sqrt(np.outer(n, n) + 1e-9),
                        recommend.item_weights(cut.train, cut.cutoff))


def _incidence(train, group):
    """(products, group x product 0/1 matrix)."""
    items = np.unique(train.item)
    rows = np.unique(group, return_inverse=True)[1]
    x = sparse.csr_matrix((np.ones(len(rows)), (rows, np.searchsorted(items, train.item))))
    x.data[:] = 1.0  # bought at all, however many times
    return items, x


def _score_owned(cut, k, items, matrix, weights=None):
    popular = popular_items(cut.train)
    result = {}
    for c in cut.customers:
        mine = weights[c] if weights else dict.fromkeys(cut.owned[c], 1.0)
        rows = np.searchsorted(items, list(mine))
        result[c] = top_k(np.asarray(list(mine.values())) @ matrix[rows], items, cut.owned[c], popular, k)
    return result


def ceiling(truth):
    """The simulation's own odds of each product in the customer's next order
    (complements of their past orders, their true tastes): out of reach of
    any model learnt from purchases (it leaves out the same-order complements)."""
    def run(cut, k):
        popularity, category = truth["popularity"], truth["category"]
        released = truth["launch"] <= cut.cutoff
        within = popularity * released
        within = within / np.maximum(np.bincount(category, weights=within)[category], 1e-12)
        baskets = {}
        for c, i, d in zip(cut.train.customer.tolist(), cut.train.item.tolist(), cut.train.day.tolist(),
                           strict=True):
            baskets.setdefault(c, {}).setdefault(d, []).append(int(i))
        result = {}
        for c in cut.customers:
            orders = [baskets[c][d] for d in sorted(baskets[c])]
            odds = (1 - truth["p_next"] - P_REPEAT) * truth["tastes"][int(c)][category] * within
            chance = [1.0] if len(orders) == 1 else [0.7] + [0.3 / (len(orders) - 1)] * (len(orders) - 1)
            for share, basket in zip(chance, reversed(orders), strict=True):
                for a in basket:
                    options = [b for b in truth["complements"][a] if released[b]]
                    for b in options:
                        odds[b] += truth["p_next"] * share / len(basket) / len(options)
            result[c] = top_k(odds, np.arange(len(popularity)), cut.owned[c], [], k)
        return result
    return run


# --------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------


def evaluate(rows, n_products, models, k_max=max(KS)):
    """{model: (hit rate at each k, customers counted, coverage)}, pooled over the cutoffs."""
    customer, item, day, order = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    everything = recommend.Purchases(customer, item, day)
    results = {name: {"hits": np.zeros(len(KS)), "n": 0, "coverage": []} for name in models}
    for cutoff in CUTOFFS:
        mask = day < cutoff
        train = everything.before(cutoff)
        owned = train.owned()
        target = next_orders(customer[~mask], item[~mask], day[~mask], owned)
        cut = Cut(cutoff, train, order[mask][np.lexsort((item[mask], day[mask], customer[mask]))], owned,
                  sorted(target))
        for name, model in models.items():
            recs = model(cut, k_max)
            result = results[name]
            for c in cut.customers:
                for j, k in enumerate(KS):
                    result["hits"][j] += bool(target[c] & set(recs[c][:k]))
            result["n"] += len(cut.customers)
            result["coverage"].append(len({i for c in cut.customers for i in recs[c][:5]}) / n_products)
    return {name: (r["hits"] / max(r["n"], 1), r["n"], float(np.mean(r["coverage"]))) for name, r in results.items()}


def next_orders(customer, item, day, owned):
    """{customer: products of their first order in the rows given (after the
    cutoff) that they had not bought before}, for customers with a purchase
    before and at least one such product."""
    first_day = {}
    for c, d in zip(customer.tolist(), day.tolist(), strict=True):
        first_day[c] = min(first_day.get(c, d), d)
    target = {}
    for c, i, d in zip(customer.tolist(), item.tolist(), day.tolist(), strict=True):
        if d == first_day[c] and c in owned and i not in owned[c]:
            target.setdefault(c, set()).add(i)
    return target


def model_table(alternatives):
    models = {
        "smb_journey": ours(),
        "most popular": most_popular,
        "co-purchase (customer)": co_purchase("customer"),
        "co-purchase (order)": co_purchase("order"),
    }
    if alternatives:
        base = recommend.Params()
        for label, changes in ALTERNATIVES:
            models[label] = ours(replace(base, **changes))
        models["recency by days, half-life 60"] = ours(half_life=60.0)
        models["recency by days, half-life 180"] = ours(half_life=180.0)
        models["EASE (lambda 50)"] = ease(50.0)
        models["EASE (lambda 200)"] = ease(200.0)
        models["cosine"] = cosine
    return models


ALTERNATIVES = [
    ("beta 0 (conditional probability)", {"beta": 0.0}),
    ("beta 0.25", {"beta": 0.25}),
    ("beta 0.75", {"beta": 0.75}),
    ("beta 1 (lift)", {"beta": 1.0}),
    ("next order only (decay 0)", {"decay": 0.0}),
    ("decay 1 (any later order)", {"decay": 1.0}),
    ("no same-order pairs", {"together": 0.0}),
    ("same order weighs 1", {"together": 1.0}),
    ("no 'bought before' pairs", {"before": 0.0}),
    ("'bought before' weighs 1 (symmetric)", {"before": 1.0, "together": 1.0, "decay": 1.0}),
    ("shrinkage 0", {"shrinkage": 0.0}),
    ("shrinkage 3", {"shrinkage": 3.0}),
    ("shrinkage 30", {"shrinkage": 30.0}),
    ("no recency weighting", {"recency": 1.0}),
    ("last order only", {"recency": 0.0}),
    ("recency 0.3", {"recency": 0.3}),
    ("recency 0.7", {"recency": 0.7}),
    ("10 neighbours kept", {"neighbours": 10}),
    ("100 neighbours kept", {"neighbours": 100}),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--complements", type=float, default=P_NEXT,
                        help="share of an order's items that complement an earlier order's (default %(default)s)")
    parser.add_argument("--together", type=float, default=P_TOGETHER,
                        help="share that complement an item of the same order (default %(default)s)")
    parser.add_argument("--alternatives", action="store_true", help="also the variants measured and not kept")
    args = parser.parse_args(argv)
    started = time.time()
    models = model_table(args.alternatives)
    verdicts = []
    means = {name: np.zeros(3) for name in [*models, "ceiling: the simulation's own odds"]}
    for seed in args.seeds:
        rows, n_products, truth = simulate(seed, args.customers, args.complements, args.together)
        results = evaluate(rows, n_products, models | {"ceiling: the simulation's own odds": ceiling(truth)})
        print(f"\nshop seed {seed}: {n_products} products, {args.customers} customers, {len(rows)} order lines, "
              f"{len(np.unique(rows[:, 3]))} orders; customers counted: {results['smb_journey'][1]}")
        print(f"{'model':<40} {'hit@3':>7} {'hit@5':>7} {'coverage':>9}")
        for name, (hits, __, coverage) in results.items():
            print(f"{name:<40} {hits[0]:>7.1%} {hits[1]:>7.1%} {coverage:>9.1%}")
            means[name] += np.array([hits[0], hits[1], coverage]) / len(args.seeds)
        mine = results["smb_journey"][0]
        ratios = {name: mine / np.maximum(results[name][0], 1e-9) for name in BASELINES}
        ok = all((mine > results[name][0]).all() for name in BASELINES)
        verdicts.append(ok)
        print("vs " + ", ".join(f"{name}: x{r[0]:.2f} @3, x{r[1]:.2f} @5" for name, r in ratios.items())
              + f" -> {'PASS' if ok else 'FAIL'}")
    print(f"\nmean over {len(args.seeds)} shops")
    print(f"{'model':<40} {'hit@3':>7} {'hit@5':>7} {'coverage':>9}")
    for name, (h3, h5, coverage) in means.items():
        print(f"{name:<40} {h3:>7.1%} {h5:>7.1%} {coverage:>9.1%}")
    mine = means["smb_journey"]
    print("summary: " + ", ".join(
        f"x{mine[0] / means[name][0]:.2f} / x{mine[1] / means[name][1]:.2f} {name}" for name in BASELINES)
        + f" (hit@3 / hit@5); beats all baselines on {sum(verdicts)} of {len(verdicts)} shops: "
        + ("PASS" if all(verdicts) else "FAIL"))
    print(f"{time.time() - started:.1f} s")
    return 0 if all(verdicts) else 1


BASELINES = ("most popular", "co-purchase (customer)", "co-purchase (order)")

if __name__ == "__main__":
    sys.exit(main())
