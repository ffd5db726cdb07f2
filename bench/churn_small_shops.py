#!/usr/bin/env python3
"""Predicted customer value on small, young shops, against what they do next.

A shop that installed the addon last week has a handful of customers whose
orders are days old: the exposure the purchase rate is read from is tiny. This
script simulates such shops (5, 30 and 200 customers with one week, one month
and three months of history, several seeds each), scores them with the code the
nightly cron runs (``lib/churn.py``: ``derive_horizon``, ``train`` and
``predict`` called as ``SmbChurnRun._score_in_savepoint`` calls them, as of
06:00 on the last day), then simulates the next 12 months and compares:

- max ratio: the largest predicted 12-month value of the shop / the largest
  real next-12-month spend of one of its customers (median over the seeds);
- total / real: the shop's total predicted value / its customers' real
  next-12-month revenue (summed over the seeds);
- total / recent: the total predicted / what the shop's recent rate implies:
  repeat purchases per customer-day over the last min(90 days, the shop's age),
  times the customers, 365 days and the shop's average purchase (summed over the
  seeds where the last 90 days hold a customer-year of exposure: below, a rate
  read from them is mostly noise, and the model leans on its prior too);
- churn AUC (no purchase within the run's horizon) where both outcomes occur
  (mean over those seeds);
- precision and recall of "predicted value >= threshold" (a win-back condition),
  the threshold the shop's 75th percentile of real next-year spend, against the
  customers whose real next-year spend is above it (counts summed over seeds).

The process: customers arrive evenly over the shop's history; each buys at a
Poisson rate drawn from a Gamma (one purchase every ``--mean-gap`` days on
average) and stops for good after an exponential lifetime whose rate is drawn
from a Gamma (about ``--mean-life`` days: some churn within weeks); a customer's
orders are worth one of a few spend levels (30, 90, 400 on average) with Gamma
noise, first orders smaller; one purchase in ten is two orders on the same day
(a split basket). Pass: max ratio at most 3 and both totals within 0.5x-2x.
"""

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "smb_journey" / "lib"))

import churn  # noqa: E402
import churn_cdnow  # noqa: E402

SHOPS = [(n, days) for days in (7, 30, 91) for n in (5, 30, 200)]
AGE = {7: "1 week", 30: "1 month", 91: "3 months"}
LEVELS = np.array([30.0, 90.0, 400.0])  # average order of a customer: a few spend levels
LEVEL_SHARES = np.array([0.5, 0.35, 0.15])
MAX_RATIO, LOW, HIGH = 3.0, 0.5, 2.0


def simulate(seed, customers, days, mean_gap, mean_life, future=365):
    """(history as of now, purchases of the next ``future`` days, now): one row
    per customer and purchase day with its amount and order count. The shop
    opened on day 0; now is 06:00 on day ``days``."""
    rng = np.random.default_rng(seed)
    now = days + 0.25
    end = now + future
    birth = rng.uniform(0, now, customers)
    rate = rng.gamma(0.8, 1 / (0.8 * mean_gap), customers)  # purchases per day, mean 1 / mean_gap
    death = birth + rng.exponential(1 / rng.gamma(1.5, 1 / (1.5 * mean_life), customers))
    stop = np.minimum(death, end)
    n = rng.poisson(rate * np.maximum(stop - birth, 0))
    owner = np.concatenate([np.arange(customers), np.repeat(np.arange(customers), n)])
    t = np.concatenate([birth, birth[owner[customers:]] + rng.uniform(0, 1, n.sum()) * (stop - birth)[owner[customers:]]])
    level = LEVELS[rng.choice(len(LEVELS), customers, p=LEVEL_SHARES)]
    value = rng.gamma(4.0, level[owner] / 4.0)
    value[:customers] *= 0.8  # first orders are smaller
    orders = 1 + (rng.uniform(0, 1, len(t)) < 0.1)  # a split basket: two orders on one day
    day = np.floor(t)
    rows = {}
    for c, d, v, k in zip((owner + 1).tolist(), day.tolist(), value.tolist(), orders.tolist(), strict=True):
        amount, count = rows.get((c, d), (0.0, 0))
        rows[c, d] = (amount + v, count + k)
    everything = churn.History.from_rows([(c, d, v, k) for (c, d), (v, k) in rows.items()])
    return everything.before(now), everything, now


def recent_rate_value(history, now, days=365, window=90):
    """What the shop's recent rate implies for the next ``days``: repeat
    purchases per customer-day at risk in the last ``window`` days (or the
    shop's age), times the customers, ``days`` and the average purchase; None
    below a customer-year (364 customer-days) of exposure."""
    ids, start = np.unique(history.customer, return_index=True)
    since = np.maximum(history.day[start], now - window)
    exposure = float((now - since).sum())
    first = np.zeros(len(history.day), dtype=bool)
    first[start] = True
    repeats = ((history.day >= now - window) & ~first).sum()
    if exposure < 364:
        return None
    return repeats / exposure * len(ids) * days * float(history.amount.mean())


def score_like_the_cron(history, now):
    """``SmbChurnRun._score_in_savepoint``: the horizon from the cadence (no
    admin setting), training, prediction with 12-month values and reasons; a
    shop without journey emails or carts has no signals."""
    def signals_at(cutoff):
        return {}

    horizon = churn.derive_horizon(history, now)
    fitted = churn.train(history, now, horizon, signals_at=signals_at)
    ids, scores, __, value, __, why = churn.predict(
        fitted, history, now, signals=signals_at(now), clv_days=365, explain=True)
    return fitted, ids, scores, value, why


def run_shop(customers, days, seeds, args):
    """Every seed of one shop size and age, pooled."""
    out = {"max_ratios": [], "pred": 0.0, "real": 0.0, "pred_recent": 0.0, "recent": 0.0, "aucs": [],
           "tp": 0, "fp": 0, "fn": 0, "kinds": {}}
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415

    for seed in seeds:
        history, everything, now = simulate(seed * 1000 + customers + days, customers, days, args.mean_gap,
                                            args.mean_life)
        fitted, ids, scores, value, __ = score_like_the_cron(history, now)
        out["kinds"][fitted.kind] = out["kinds"].get(fitted.kind, 0) + 1
        __, real = churn_cdnow.holdout_truth(everything, ids, now, now + 365)
        gone, __ = churn_cdnow.holdout_truth(everything, ids, now, now + fitted.horizon)
        out["max_ratios"].append(value.max() / real.max() if real.max() > 0 else np.inf)
        out["pred"] += value.sum()
        out["real"] += real.sum()
        implied = recent_rate_value(history, now)
        if implied:
            out["pred_recent"] += value.sum()
            out["recent"] += implied
        if 0 < gone.sum() < len(gone):
            out["aucs"].append(roc_auc_score(gone, scores))
        threshold = np.percentile(real, 75)
        selected, valuable = value >= threshold, real > threshold
        out["tp"] += int((selected & valuable).sum())
        out["fp"] += int((selected & ~valuable).sum())
        out["fn"] += int((~selected & valuable).sum())
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=40, help="simulated shops per size and age")
    parser.add_argument("--mean-gap", type=float, default=90.0, help="days between purchases of an average customer")
    parser.add_argument("--mean-life", type=float, default=500.0, help="days an average customer keeps buying")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="shops simulated in parallel")
    args = parser.parse_args(argv)
    seeds = range(1, args.seeds + 1)
    print(f"{args.seeds} seeds per shop, one purchase every {args.mean_gap:g} days on average, lifetime about "
          f"{args.mean_life:g} days; predicted vs the next 12 months\n")
    print(f"{'shop':<24}{'max ratio':>10}{'(worst)':>9}{'total/real':>11}{'total/recent':>13}{'churn AUC':>10}"
          f"{'precision':>10}{'recall':>8}  {'model (runs)':<28}{'':>5}")
    with ProcessPoolExecutor(max(args.jobs, 1)) as pool:
        results = list(pool.map(run_shop, *zip(*SHOPS, strict=True), [seeds] * len(SHOPS), [args] * len(SHOPS)))
    passed = 0
    for (customers, days), r in zip(SHOPS, results, strict=True):
        max_ratio, worst = float(np.median(r["max_ratios"])), float(np.max(r["max_ratios"]))
        total = r["pred"] / r["real"] if r["real"] else np.inf
        recent = r["pred_recent"] / r["recent"] if r["recent"] else None
        auc = f"{np.mean(r['aucs']):>10.3f}" if r["aucs"] else f"{'-':>10}"
        precision = r["tp"] / max(r["tp"] + r["fp"], 1)
        recall = r["tp"] / max(r["tp"] + r["fn"], 1)
        ok = max_ratio <= MAX_RATIO and LOW <= total <= HIGH and (recent is None or LOW <= recent <= HIGH)
        passed += ok
        kinds = ", ".join(f"{k.replace('logistic_regression', 'trained')} {v}" for k, v in sorted(r["kinds"].items()))
        recent_cell = f"{recent:>13.2f}" if recent is not None else f"{'-':>13}"
        print(f"{f'{customers} customers, {AGE[days]}':<24}{max_ratio:>10.2f}{worst:>9.2f}{total:>11.2f}{recent_cell}"
              f"{auc}{precision:>10.2f}{recall:>8.2f}  {kinds:<28}{'pass' if ok else 'FAIL':>5}")
    print(f"\nSUMMARY: {passed}/{len(SHOPS)} shops pass (median max ratio <= {MAX_RATIO:g}, total/real and "
          f"total/recent within {LOW:g}x-{HIGH:g}x): {'PASS' if passed == len(SHOPS) else 'FAIL'}")
    return 0 if passed == len(SHOPS) else 1


if __name__ == "__main__":
    sys.exit(main())
