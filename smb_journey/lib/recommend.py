"""Product recommendations for journey emails, without the ORM.

Input: purchase rows ``(customer, item, day)`` (an item is a product, a day a
number of days; the orders of one customer on one day are one basket), as one
set-based SQL query returns them. :func:`learn` turns the rows before a cutoff
into item-to-item affinities (the nightly job stores them per company);
:func:`recommend` turns a customer's own items into the top ``k`` items they
have not bought, from the affinities of their items weighted by recency, then
the shop's popular items. numpy and scipy only.

The model (kept because it measured best, see ``bench/recommend_bench.py``
and bench/README.md, "Recommendations"):

- **What counts.** For each customer, each item once, at the order where they
  first bought it (orders numbered 0, 1, 2... by day). A pair (a, b) of their
  items counts ``decay ** (gap - 1)`` for b first bought ``gap`` orders after a
  ("bought A, later bought B": the next order weighs 1, the one after
  ``decay``...), ``together`` when both came in the same order, and
  ``before`` when b came *earlier* than a (a customer who buys a has bought b:
  the same tastes). One customer counts at most once per pair, so a heavy
  buyer does not drown the others.
- **Normalised against popularity.** The raw count is shrunk towards the
  item's popularity and turned into a lift:
  ``score(a, b) = ((count(a, b) + s * p(b)) / (n(a) + s)) / p(b) ** beta``,
  where ``n(a)`` is the number of customers who bought a, ``p(b)`` the share
  of customers who bought b and ``s`` a pseudo-count. With few buyers of a,
  the estimate leans on p(b) (the shop's taste); with many, on what a's
  buyers did. ``beta`` between 0 (plain conditional probability: popular
  items everywhere) and 1 (lift: rare items everywhere) sets how far the
  popular items are discounted.
- **Kept per item:** the ``neighbours`` best-scoring related items, so the
  stored table stays small (items x neighbours rows).
- **A customer's score** for b is the sum over their items a of
  ``weight(a) * score(a, b)``, ``weight(a) = recency ** n`` with ``n`` the
  number of their orders after the one where they last bought a (their last
  order's items, and those of an order that triggered the email, weigh 1).
  The top ``k`` items they have not bought; when fewer are found (a new
  customer, rare items), the shop's most popular items they have not bought
  fill the list.

Why these settings (``bench/recommend_bench.py``, five simulated shops with
known complements and tastes, four rolling cutoffs each; ``--alternatives``
prints every variant below; bench/README.md has the tables). The defaults
reach hit@3 / hit@5 36.6 % / 44.9 % with 54 % of the catalogue recommended,
against 28.9 % / 38.4 % for the best baseline (co-purchase counts per
order) and 46.4 % / 56.9 % for the simulation's own odds (the ceiling):

- ``beta``: 0 (conditional probability) 33.8 / 42.7 with a third of the
  catalogue recommended; 0.25 36.3 / 45.1; 0.5 35.3 / 42.7 (three quarters
  of the catalogue); 0.75 and 1 (lift) fall to 27.3 / 33.0 and 18.7 / 23.9,
  rare products everywhere. 0.3 because on shops where products lead less
  to one another (``--complements 0.1``) 0.5 falls to 20.9 / 28.9, below
  popularity (22.1 / 30.9), while 0.3 stays ahead of every baseline on the
  mean (25.4 / 34.2; beta 0 25.0 / 34.5 there).
- ``shrinkage``: 0 costs 1.5 points (noisy rare products), 3 half a point,
  30 1.7 points at 3 and 16 points of coverage.
- orders, not days: weighing a customer's items by days since bought
  (half-life 60 or 180 days) does 1 to 3 points worse than by orders since,
  and orders need no setting per shop (a shop whose customers buy weekly and
  one whose customers buy yearly both trust the last order most).
  ``recency`` 0.5 is within half a point of 0.3, 0.7 1.8 points below at 3;
  no recency weighting costs 3 to 4 points, the last order alone half a
  point at 5.
- pairs: "bought next" only (``decay`` 0), any later order alike
  (``decay`` 1), no same-order pairs, no "bought before" pairs are each
  within a point; symmetric counting (``before`` = ``together`` = ``decay``
  = 1: plain co-occurrence, normalised) loses 3 to 4 points: the order in
  which products are bought matters.
- 10 or 100 neighbours kept per product: within half a point of 30.
- other models: cosine on co-occurrence 32.6 / 41.1, a linear item model
  (EASE, a ridge regression of each product on the others) 31.0 / 40.5:
  both blind to order, EASE cubic in the catalogue size.
- choosing ``beta`` and ``shrinkage`` per shop on its own latest orders (a
  grid of six, judged on the next orders of the last 120 days; measured
  while the model was built, against fixed settings then at beta 0.4 and
  shrinkage 30, and not kept in the code) moved the hit rates by -0.6 to
  +1.6 points depending on the kind of shop: a few hundred customers to
  judge on make the choice noisy, and a fixed setting is easier to explain.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse


@dataclass
class Params:
    """The model's settings; the defaults are the measured best."""

    decay: float = 0.5  # weight of an item bought one more order later ("bought next": 1)
    together: float = 0.5  # weight of two items of the same order
    before: float = 0.1  # weight of an item the customer had bought earlier (same tastes)
    shrinkage: float = 10.0  # pseudo-customers pulling a rare item's estimate to the shop's popularity
    beta: float = 0.3  # 0: conditional probability, 1: lift
    neighbours: int = 30  # related items kept per item
    recency: float = 0.3  # weight of a customer's item bought one order before their last (last order: 1)
    max_items: int = 200  # a customer's most recent distinct items used to learn (a B2B account buys thousands)


@dataclass
class Purchases:
    """Purchase rows, sorted by (customer, day, item)."""

    customer: np.ndarray
    item: np.ndarray
    day: np.ndarray

    def __post_init__(self):
        self.customer = np.asarray(self.customer, dtype=np.int64)
        self.item = np.asarray(self.item, dtype=np.int64)
        self.day = np.asarray(self.day, dtype=float)
        order = np.lexsort((self.item, self.day, self.customer))
        if len(order) and (order != np.arange(len(order))).any():
            self.customer, self.item, self.day = self.customer[order], self.item[order], self.day[order]

    @classmethod
    def from_rows(cls, rows):
        """From ``(customer, item, day)`` rows in any order."""
        rows = list(rows)
        if not rows:
            return cls(np.zeros(0), np.zeros(0), np.zeros(0))
        customer, item, day = zip(*rows, strict=True)
        return cls(customer, item, day)

    def before(self, cutoff):
        mask = self.day < cutoff
        return Purchases(self.customer[mask], self.item[mask], self.day[mask])

    def owned(self):
        """{customer: set of items} (a Python dict: for the few customers of a batch)."""
        result = {}
        for customer, item in zip(self.customer.tolist(), self.item.tolist(), strict=True):
            result.setdefault(customer, set()).add(item)
        return result


@dataclass
class Affinities:
    """What the nightly job learns and stores: ``matrix[a, b]`` the score of
    item ``items[b]`` for a customer who bought ``items[a]`` (``neighbours``
    per row at most), ``pairs[a, b]`` how many customers bought both, and the
    items by popularity (``popular``, most bought first, with ``buyers``)."""

    items: np.ndarray
    matrix: sparse.csr_matrix
    popular: np.ndarray
    buyers: np.ndarray
    pairs: sparse.csr_matrix = None
    customers: int = 0
    index: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.index = {item: i for i, item in enumerate(self.items.tolist())}

    def rows(self):
        """``(item, related item, score, customers who bought both)``, best first per item."""
        m = self.matrix.tocoo()
        order = np.lexsort((-m.data, m.row))
        a, b, score = m.row[order], m.col[order], m.data[order]
        both = (np.asarray(self.pairs.tocsr()[a, b]).ravel() if self.pairs is not None and len(a)
                else np.zeros(len(a)))
        return list(zip(self.items[a].tolist(), self.items[b].tolist(), score.tolist(),
                        both.astype(int).tolist(), strict=True))

    @classmethod
    def from_rows(cls, rows, popular=(), buyers=None):
        """Rebuilt from stored ``(item, related item, score)`` rows and the
        popular items (most bought first): what an email reads."""
        rows = list(rows)
        popular = np.asarray(list(popular), dtype=np.int64)
        ids = np.unique(np.concatenate([
            np.asarray([r[0] for r in rows] + [r[1] for r in rows], dtype=np.int64), popular]))
        index = {item: i for i, item in enumerate(ids.tolist())}
        n = len(ids)
        matrix = sparse.csr_matrix(
            (np.asarray([r[2] for r in rows], dtype=float),
             ([index[r[0]] for r in rows], [index[r[1]] for r in rows])), shape=(n, n))
        buyers = np.asarray(buyers if buyers is not None else np.zeros(len(popular)), dtype=float)
        return cls(ids, matrix, popular, buyers)


def learn(purchases, cutoff=None, params=None):
    """Item-to-item affinities from the purchases before ``cutoff`` (all when None)."""
    p = params or Params()
    h = purchases.before(cutoff) if cutoff is not None else purchases
    items = np.unique(h.item)
    n = len(items)
    if not n:
        empty = sparse.csr_matrix((0, 0))
        return Affinities(items, empty, items, np.zeros(0), empty, 0)
    customers, cust_idx = np.unique(h.customer, return_inverse=True)
    item_idx = np.searchsorted(items, h.item)
    rank = _order_rank(h)
    # each (customer, item) once, at its first order
    key = cust_idx.astype(np.int64) * n + item_idx
    __, first = np.unique(key, return_index=True)
    c, a, r = cust_idx[first], item_idx[first], rank[first]
    # a customer's most recent items only (by first order): a B2B account's thousands make no taste
    order = np.lexsort((-r, c))
    c, a, r = c[order], a[order], r[order]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    pos = np.arange(len(c)) - np.repeat(starts, np.diff(np.r_[starts, len(c)]))
    keep = pos < p.max_items
    c, a, r = c[keep], a[keep], r[keep]
    buyers = np.bincount(a, minlength=n).astype(float)
    # every ordered pair of a customer's items
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    sizes = np.diff(np.r_[starts, len(c)])
    left, right = _pairs(starts, sizes)
    gap = r[right] - r[left]
    weight = np.where(gap > 0, np.power(p.decay, np.maximum(gap - 1, 0), dtype=float),
                      np.where(gap == 0, p.together, p.before))
    counts = sparse.csr_matrix((weight, (a[left], a[right])), shape=(n, n))
    both = sparse.csr_matrix((np.ones(len(left)), (a[left], a[right])), shape=(n, n))
    total = float(len(customers))
    share = buyers / total
    scores = _normalise(counts, buyers, share, p)
    matrix = _top_per_row(scores, p.neighbours)
    popular = np.argsort(-buyers, kind="stable")
    return Affinities(items, matrix, items[popular], buyers[popular], both.multiply(matrix > 0).tocsr(),
                      int(total))


def _pairs(starts, sizes):
    """(left, right) positions of every ordered pair of distinct rows within each group."""
    squares = sizes * sizes
    total = int(squares.sum())
    if not total:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    group_size = np.repeat(sizes, squares)
    offset = np.arange(total) - np.repeat(np.cumsum(squares) - squares, squares)
    base = np.repeat(starts, squares)
    left, right = base + offset // group_size, base + offset % group_size
    distinct = left != right
    return left[distinct], right[distinct]


def _normalise(counts, buyers, share, p):
    """``((count + s p(b)) / (n(a) + s)) / p(b) ** beta`` on the pairs seen."""
    coo = counts.tocoo()
    a, b, v = coo.row, coo.col, coo.data
    value = (v + p.shrinkage * share[b]) / (buyers[a] + p.shrinkage) / np.power(share[b], p.beta)
    return sparse.csr_matrix((value, (a, b)), shape=counts.shape)


def _top_per_row(m, k):
    """The ``k`` largest entries of each row of a CSR matrix."""
    m = m.tocsr()
    m.sum_duplicates()
    rows, cols, vals = [], [], []
    for i in range(m.shape[0]):
        lo, hi = m.indptr[i], m.indptr[i + 1]
        if hi == lo:
            continue
        data = m.data[lo:hi]
        top = np.argsort(-data, kind="stable")[:k]
        rows.append(np.full(len(top), i))
        cols.append(m.indices[lo:hi][top])
        vals.append(data[top])
    if not rows:
        return sparse.csr_matrix(m.shape)
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=m.shape)


def item_weights(purchases, cutoff=None, recency=Params.recency, trigger=None):
    """{customer: {item: weight}} for the items bought before ``cutoff`` (all
    when None): ``recency ** n``, ``n`` the number of the customer's orders
    (days with an order) after the one where they last bought the item, so the
    last order's items weigh 1; ``trigger`` ({customer: items of the order
    that triggered the email}) weigh 1 too."""
    h = purchases.before(cutoff) if cutoff is not None else purchases
    result = {}
    if len(h.day):
        rank = _order_rank(h)
        starts = np.flatnonzero(np.r_[True, h.customer[1:] != h.customer[:-1]])
        last = np.maximum.reduceat(rank, starts)
        since = np.repeat(last, np.diff(np.r_[starts, len(rank)])) - rank
        weight = np.power(float(recency), since) if recency else (since == 0).astype(float)
        for customer, item, w in zip(h.customer.tolist(), h.item.tolist(), weight.tolist(), strict=True):
            mine = result.setdefault(customer, {})
            mine[item] = w  # rows are by day: the last purchase wins
    for customer, items in (trigger or {}).items():
        mine = result.setdefault(customer, {})
        for item in items:
            mine[item] = 1.0
    return result


def _order_rank(h):
    """Each row's order number within its customer (0 for their first day), rows sorted by customer and day."""
    new_customer = np.ones(len(h.day), dtype=bool)
    new_customer[1:] = h.customer[1:] != h.customer[:-1]
    new_day = new_customer.copy()
    new_day[1:] |= h.day[1:] != h.day[:-1]
    day_no = np.cumsum(new_day)
    return day_no - np.maximum.accumulate(np.where(new_customer, day_no, 0))


def recommend(affinities, weights, owned=None, k=5, allowed=None):
    """For each customer of ``weights`` ({customer: {item: weight}}), the
    ``k`` best items they do not own (``owned``: {customer: items}, by default
    the items of their weights), among ``allowed`` (a set, or None for all);
    the popular ones fill in. Returns {customer: [items, best first]}."""
    owned = owned if owned is not None else {c: set(w) for c, w in weights.items()}
    index, n = affinities.index, len(affinities.items)
    customers = list(weights)
    if not customers:
        return {}
    rows, cols, vals = [], [], []
    for i, customer in enumerate(customers):
        for item, w in weights[customer].items():
            j = index.get(item)
            if j is not None and w > 0:
                rows.append(i)
                cols.append(j)
                vals.append(w)
    basis = sparse.csr_matrix((vals, (rows, cols)), shape=(len(customers), n))
    scores = (basis @ affinities.matrix).tocsr() if n else basis
    popular = [item for item in affinities.popular.tolist() if allowed is None or item in allowed]
    result = {}
    for i, customer in enumerate(customers):
        mine = owned.get(customer, set())
        lo, hi = scores.indptr[i], scores.indptr[i + 1]
        cols, vals = scores.indices[lo:hi], scores.data[lo:hi]
        chosen = []
        for j in np.argsort(-vals, kind="stable"):
            item = int(affinities.items[cols[j]])
            if vals[j] > 0 and item not in mine and (allowed is None or item in allowed):
                chosen.append(item)
                if len(chosen) == k:
                    break
        if len(chosen) < k:
            taken = set(chosen)
            for item in popular:
                if item not in mine and item not in taken:
                    chosen.append(item)
                    if len(chosen) == k:
                        break
        result[customer] = chosen
    return result
