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

A last row ranks by the simulation's own odds (the true complements and
tastes): the ceiling. PASS when ``smb_journey`` beats both co-purchase
baselines and popularity on hit@3 and hit@5 on every shop.
``--alternatives`` adds the variants of the model that were measured and not
kept; ``--complements`` and ``--together`` change how much products lead to
one another.

With ``--db NAME`` it runs on an Odoo database instead (see
:func:`evaluate_database`): each customer's last order held out, the addon's
nightly job and the emails' own method end to end, against the library and
the same baselines on the same rows; nothing is written.
``--write-shop SEED`` first writes the simulated shop of that seed into the
(scratch) database.

    python3 bench/recommend_bench.py [--seeds 1 2 3 4 5] [--customers 3000] [--alternatives]
    python3 bench/recommend_bench.py --db NAME [--write-shop SEED]
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
    allowed: set = None  # products that may be recommended (None: all)


def popular_items(purchases):
    """Products by number of customers who bought them, most first."""
    pairs = np.unique(np.stack([purchases.customer, purchases.item]), axis=1)
    items, counts = np.unique(pairs[1], return_counts=True)
    return items[np.argsort(-counts, kind="stable")].tolist()


def top_k(scores, items, owned, popular, k, allowed=None):
    """The k best-scored items not owned (among ``allowed``), then the popular ones."""
    chosen = []
    for j in np.argsort(-scores, kind="stable"):
        if scores[j] <= 0 or len(chosen) == k:
            break
        if items[j] not in owned and (allowed is None or items[j] in allowed):
            chosen.append(int(items[j]))
    for item in popular:
        if len(chosen) == k:
            break
        if item not in owned and item not in chosen and (allowed is None or item in allowed):
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
        return recommend.recommend(affinities, {c: weights[c] for c in cut.customers}, cut.owned, k=k,
                                   allowed=cut.allowed)
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
    return {c: top_k(np.zeros(0), np.zeros(0), cut.owned[c], popular, k, cut.allowed) for c in cut.customers}


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
        result[c] = top_k(np.asarray(list(mine.values())) @ matrix[rows], items, cut.owned[c], popular, k,
                          cut.allowed)
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


def evaluate(rows, n_products, models, k_max=KS[-1]):
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
    ("beta 0.5", {"beta": 0.5}),
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
    ("recency 0.5", {"recency": 0.5}),
    ("recency 0.7", {"recency": 0.7}),
    ("10 neighbours kept", {"neighbours": 10}),
    ("100 neighbours kept", {"neighbours": 100}),
]


# --------------------------------------------------------------------------
# On an Odoo database: the addon end to end, each customer's last order held out
# --------------------------------------------------------------------------


def write_shop(args):
    """Write the simulated shop of ``--write-shop SEED`` into ``--db`` with
    ``generate.py``'s set-based SQL (products, customers, confirmed orders
    and lines complete enough for the ORM), dated so that day 900 is now."""
    import psycopg2  # noqa: PLC0415

    import generate  # noqa: PLC0415

    rows, n_products, __ = simulate(args.write_shop, args.customers, args.complements, args.together)
    conn = psycopg2.connect(dbname=args.db, host=args.db_host, port=args.db_port, user=args.db_user)
    with conn, conn.cursor() as cr:
        cr.execute("SELECT now() AT TIME ZONE 'UTC'")
        (start,) = cr.fetchone()
        ctx = generate.Context(cr, args.company_id)
        generate.generate_products(cr, ctx, n_products)
        info = generate.stage_partners(cr, ctx, args.customers, start)
        cr.execute("CREATE TEMP TABLE sim_line (order_rn int, customer_rn int, product_rn int, day int, seq int)")
        seq = _running(rows[:, 3])  # the simulation writes each order's lines together
        cr.execute(
            "INSERT INTO sim_line SELECT * FROM unnest(%s::int[], %s::int[], %s::int[], %s::int[], %s::int[])",
            [rows[:, 3].astype(int).tolist(), (rows[:, 0] + 1).astype(int).tolist(),
             (rows[:, 1] + 1).astype(int).tolist(), rows[:, 2].astype(int).tolist(), (seq + 1).tolist()])
        cr.execute(
            """CREATE TEMP TABLE bench_order AS
               SELECT nextval('sale_order_id_seq')::int AS id, o.order_rn AS rn, false AS is_cart, o.n AS nlines,
                      false AS web, p.id AS partner_id,
                      %(start)s::timestamp - (%(days)s - o.day) * interval '1 day' + interval '10 hours' AS date_order
                 FROM (SELECT order_rn, min(customer_rn) AS customer_rn, min(day) AS day, count(*) AS n
                         FROM sim_line GROUP BY order_rn) o
                 JOIN bench_partner p ON p.rn = o.customer_rn
                ORDER BY o.order_rn""",
            dict(start=start, days=DAYS))
        cr.execute("ALTER TABLE bench_order ADD PRIMARY KEY (id)")
        # customers exist before their first order
        cr.execute("""UPDATE bench_partner p SET created = LEAST(p.created, f.first - interval '1 hour')
                        FROM (SELECT partner_id, min(date_order) AS first FROM bench_order GROUP BY 1) f
                       WHERE f.partner_id = p.id""")
        cr.execute(
            """CREATE TEMP TABLE bench_line AS
               SELECT nextval('sale_order_line_id_seq')::int AS id, o.id AS order_id, o.partner_id, o.is_cart,
                      o.date_order, l.seq, l.product_rn AS pidx, 1::numeric AS qty, 0.0 AS discount,
                      p.price AS subtotal, p.price * %(rate)s AS raw_tax, p.price AS price_unit, p.id AS product_id,
                      p.name AS pname, p.code
                 FROM sim_line l
                 JOIN bench_order o ON o.rn = l.order_rn
                 JOIN bench_product p ON p.rn = l.product_rn
                ORDER BY o.id, l.seq""",
            dict(rate=ctx.tax_rate))
        cr.execute("ALTER TABLE bench_line ADD COLUMN tax numeric")
        cr.execute("UPDATE bench_line SET tax = round(raw_tax, 2)")
        tax_sum = "round(sum(raw_tax), 2)" if ctx.round_globally else "sum(tax)"
        cr.execute(f"""CREATE TEMP TABLE bench_order_amount AS
                       SELECT order_id, sum(subtotal) AS untaxed, {tax_sum} AS tax FROM bench_line GROUP BY order_id""")
        generate.insert_partners(cr, ctx, info, start)
        orders = generate.insert_orders(cr, ctx)
        lines = generate.insert_lines(cr, ctx)
    conn.close()
    print(f"wrote shop seed {args.write_shop} into {args.db}: {n_products} products, {args.customers} customers, "
          f"{orders} confirmed orders, {lines} lines")


def _running(order_ids):
    """0, 1, 2... within each run of equal order ids (the line's position in its order)."""
    new = np.r_[True, order_ids[1:] != order_ids[:-1]]
    starts = np.flatnonzero(new)
    return np.arange(len(order_ids)) - np.repeat(starts, np.diff(np.r_[starts, len(order_ids)]))


def evaluate_database(args):
    """Each customer's last order held out, the addon end to end: in one
    transaction, rolled back at the end, the held-out orders are cancelled
    (one UPDATE), the nightly computation runs (``compute_affinities``), and
    the emails' own method (``_recommend``, batches of 500 customers) gives
    each customer's products; the baselines and the library read the same
    purchase rows (``_purchase_rows``, what the nightly job reads)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import odoo_env  # noqa: PLC0415

    from odoo.tools import SQL  # noqa: PLC0415

    registry = odoo_env.load_registry(args.db, db_host=args.db_host, db_port=args.db_port, db_user=args.db_user,
                                      addons_path=args.addons_path)
    with odoo_env.environment(registry) as env:  # rolled back at the end
        Affinity = env["smb.product.affinity"]
        if args.company_id:
            company = env["res.company"].browse(args.company_id)
        else:
            groups = env["sale.order"]._read_group([("state", "=", "sale")], ["company_id"], ["__count"])
            if not groups:
                raise SystemExit(f"{args.db}: no confirmed order")
            company = max(groups, key=lambda g: g[1])[0]
        full = recommend.Purchases.from_rows(Affinity._purchase_rows(company=company))
        # each customer's last order day, when they have an earlier one: its new products are the target
        c, d = full.customer, full.day
        new_day = np.r_[True, (c[1:] != c[:-1]) | (d[1:] != d[:-1])]
        last = np.r_[c[1:] != c[:-1], True]
        last_day = dict(zip(c[last].tolist(), d[last].tolist(), strict=True))
        days = {}
        for customer in c[new_day].tolist():
            days[customer] = days.get(customer, 0) + 1
        held = {customer: last_day[customer] for customer, n in days.items() if n > 1}
        keep = np.asarray([held.get(customer) != day for customer, day in zip(c.tolist(), d.tolist(), strict=True)])
        train = recommend.Purchases(c[keep], full.item[keep], d[keep])
        owned = train.owned()
        target = {}
        for customer, item, day in zip(c[~keep].tolist(), full.item[~keep].tolist(), d[~keep].tolist(), strict=True):
            if item not in owned.get(customer, ()):
                target.setdefault(customer, set()).add(item)
        customers = sorted(target)
        # the held-out orders leave the confirmed ones: one UPDATE, rolled back with the rest
        env["sale.order"].flush_model()
        cancelled = env.execute_query(SQL(
            """
            UPDATE sale_order o SET state = 'cancel'
              FROM res_partner p,
                   unnest(%s::int[], %s::int[]) AS h(customer, day)
             WHERE p.id = o.partner_id AND p.commercial_partner_id = h.customer
               AND o.state = 'sale' AND o.company_id = %s
               AND (o.date_order::date - DATE '1970-01-01') = h.day
            RETURNING o.id
            """, list(held), [int(day) for day in held.values()], company.id))
        env["sale.order"].invalidate_model(["state"])
        read_back = recommend.Purchases.from_rows(Affinity._purchase_rows(company=company))
        assert len(read_back.day) == len(train.day), "the held-out orders are what the nightly job no longer reads"
        started = time.perf_counter()
        stored = Affinity.compute_affinities(company)
        learn_s = time.perf_counter() - started
        started = time.perf_counter()
        ours_addon = {}
        for i in range(0, len(customers), 500):
            chunk = customers[i:i + 500]
            products = Affinity._recommend(company, {customer: (customer, ()) for customer in chunk}, max(KS))
            ours_addon.update({customer: products[customer].product_tmpl_id.ids for customer in chunk})
        recommend_s = time.perf_counter() - started
        allowed = set(env["product.template"].search(Affinity._saleable_domain(company)).ids)
        orders = np.unique(np.stack([train.customer, train.day]), axis=1, return_inverse=True)[1].ravel()
        cut = Cut(None, train, orders, owned, customers, allowed)
        models = {"smb_journey (the addon: nightly job + email method)": lambda cut, k: ours_addon,
                  "smb_journey (library, same rows)": ours(),
                  "most popular": most_popular,
                  "co-purchase (customer)": co_purchase("customer"),
                  "co-purchase (order)": co_purchase("order")}
        results = {}
        for name, model in models.items():
            recs = model(cut, max(KS))
            hits = np.asarray([sum(bool(target[c] & set(recs[c][:k])) for c in customers) for k in KS], dtype=float)
            coverage = len({i for c in customers for i in recs[c][:5]}) / max(len(allowed), 1)
            results[name] = (hits / max(len(customers), 1), coverage)
        print(f"\n{args.db}, company {company.name}: {len(days)} customers with an order, {len(full.day)} purchase "
              f"rows (customer, product, day); held out: the last order of the {len(held)} customers with two "
              f"order days or more ({len(cancelled)} orders); counted: {len(customers)} (their last order holds a "
              f"product they had not bought); {len(allowed)} products saleable and published")
        print(f"nightly computation {learn_s:.2f} s ({stored['rows']} rows stored for {stored['products']} products, "
              f"{stored['customers']} customers); recommendations {recommend_s:.2f} s for {len(customers)} customers "
              f"({1000 * recommend_s / max(len(customers), 1):.1f} ms each, batches of 500)")
        print(f"{'model':<55} {'hit@3':>7} {'hit@5':>7} {'coverage':>9}")
        for name, (hits, coverage) in results.items():
            print(f"{name:<55} {hits[0]:>7.1%} {hits[1]:>7.1%} {coverage:>9.1%}")
        mine = results["smb_journey (the addon: nightly job + email method)"][0]
        ok = all((mine > results[name][0]).all() for name in BASELINES)
        print("summary: " + ", ".join(
            f"x{mine[0] / max(results[name][0][0], 1e-9):.2f} / x{mine[1] / max(results[name][0][1], 1e-9):.2f} "
            f"{name}" for name in BASELINES) + f" (hit@3 / hit@5): {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--complements", type=float, default=P_NEXT,
                        help="share of an order's items that complement an earlier order's (default %(default)s)")
    parser.add_argument("--together", type=float, default=P_TOGETHER,
                        help="share that complement an item of the same order (default %(default)s)")
    parser.add_argument("--alternatives", action="store_true", help="also the variants measured and not kept")
    parser.add_argument("--db", help="evaluate on this Odoo database (smb_journey installed) instead: each "
                        "customer's last order held out, the addon end to end (nothing is written)")
    parser.add_argument("--write-shop", type=int, metavar="SEED",
                        help="first write the simulated shop of this seed into --db (a scratch database: committed)")
    parser.add_argument("--company-id", type=int, help="with --db: the company (default: the one with most orders)")
    parser.add_argument("--db-host", default="127.0.0.1")
    parser.add_argument("--db-port", type=int, default=5432)
    parser.add_argument("--db-user", default="odoo")
    parser.add_argument("--addons-path", default=None)
    args = parser.parse_args(argv)
    started = time.time()
    if args.db:
        if args.write_shop is not None:
            write_shop(args)
        status = evaluate_database(args)
        print(f"{time.time() - started:.1f} s")
        return status
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
