#!/usr/bin/env python3
"""Churn and customer value on shops unlike CDNOW, where the truth is known.

CDNOW is one cohort that all arrived in three months. A shop that keeps
acquiring customers, sells with a season and whose customers have their own
rhythm is another test of the same code, unchanged. This script simulates
such shops with the process the BG/NBD and Pareto/NBD literature assumes
(so the peers are fitted on data of their own kind):

- customers arrive evenly over the first ``--years`` years up to the cutoff;
- each buys at a Poisson rate drawn from a Gamma (heterogeneous rhythm), with
  a yearly season (``--season``: +/- that share around the mean, peak in
  December), and stops for good after an exponential lifetime whose rate is
  drawn from a Gamma (Pareto/NBD's dropout);
- order values: a Gamma around each customer's own mean, first orders smaller.

For each seed it runs ``lib/churn.py`` (as the nightly cron does, the horizon
set to the holdout's length) and the same peers and ceiling as
``churn_cdnow.py``, and prints the same table.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "smb_journey" / "lib"))

import churn  # noqa: E402
import churn_cdnow  # noqa: E402


def simulate(seed, customers, years, holdout, season, mean_gap, mean_life):
    """A shop's purchases, one row per customer and day; 'now' is day 365 * years."""
    rng = np.random.default_rng(seed)
    now = 365 * years
    end = now + holdout
    birth = rng.uniform(0, now - 1, customers)
    rate = rng.gamma(0.8, 1 / (0.8 * mean_gap), customers)  # orders per day, mean 1 / mean_gap
    dropout = rng.gamma(1.5, 1 / (1.5 * mean_life), customers)  # mean lifetime ~ mean_life days
    death = birth + rng.exponential(1 / dropout)
    stop = np.minimum(death, end)
    # repeat purchases: a Poisson process at the peak rate, thinned by the season
    peak = 1 + season
    n_candidates = rng.poisson(rate * peak * np.maximum(stop - birth, 0))
    owner = np.repeat(np.arange(customers), n_candidates)
    t = birth[owner] + rng.uniform(0, 1, len(owner)) * (stop - birth)[owner]
    keep = rng.uniform(0, peak, len(owner)) < 1 + season * np.cos(2 * np.pi * (t - 350) / 365)
    owner, t = owner[keep], t[keep]
    # first purchases at arrival
    owner = np.concatenate([np.arange(customers), owner])
    t = np.concatenate([birth, t])
    mean_value = rng.gamma(4.0, 12.0, customers)
    value = rng.gamma(6.0, mean_value[owner] / 6.0)
    value[:customers] *= 0.8  # first orders are smaller
    day = np.floor(t)
    order = np.lexsort((day, owner))
    owner, day, value = owner[order] + 1, day[order], value[order]
    # one row per customer and day
    new = np.ones(len(owner), dtype=bool)
    new[1:] = (owner[1:] != owner[:-1]) | (day[1:] != day[:-1])
    starts = np.flatnonzero(new)
    history = churn.History(owner[starts].astype(np.int64), day[starts].astype(float), np.add.reduceat(value, starts))
    return history, float(now), float(end)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--customers", type=int, default=20000)
    parser.add_argument("--years", type=float, default=2.5, help="history before the cutoff")
    parser.add_argument("--holdout", type=int, default=273, help="days after the cutoff")
    parser.add_argument("--season", type=float, default=0.3)
    parser.add_argument("--mean-gap", type=float, default=90.0, help="days between orders of an average customer")
    parser.add_argument("--mean-life", type=float, default=500.0, help="days an average customer keeps buying")
    args = parser.parse_args(argv)
    summary = []
    for seed in args.seeds:
        history, now, end = simulate(seed, args.customers, args.years, args.holdout, args.season, args.mean_gap,
                                     args.mean_life)
        horizon = int(end - now)
        t = time.perf_counter()
        fitted = churn.train(history, now, horizon)
        ids, p_churn, __, value, __ = churn.predict(fitted, history, now, clv_days=horizon)
        seconds = time.perf_counter() - t
        y_churn, revenue = churn_cdnow.holdout_truth(history, ids, now, end)
        rows = [churn_cdnow.metrics("smb_journey lib/churn.py (calibration data only)", p_churn, value, y_churn,
                                    revenue, seconds)]
        rows += churn_cdnow.peers(history, ids, now, end, y_churn, revenue)
        rows += churn_cdnow.ceiling(history, ids, now, y_churn, revenue)
        print(f"\nseed {seed}: {len(ids)} customers before the cutoff, {len(history.day)} purchase days, holdout "
              f"{horizon} days, actual holdout revenue {revenue.sum():,.0f}, churn base rate {y_churn.mean():.3f}; "
              f"model: {fitted.kind}, label window {fitted.window}, own validation AUC {fitted.metrics.get('auc')}")
        churn_cdnow.print_table(rows)
        summary.append(rows)
    if len(summary) > 1:
        print("\nmean over seeds (AUC, |revenue error|, Spearman):")
        for j, row in enumerate(summary[0]):
            aucs = [s[j]["auc"] for s in summary]
            errors = [abs(s[j]["rev_err"]) for s in summary]
            rhos = [s[j]["rho"] for s in summary]
            cells = f"{np.mean(aucs):>10.4f}" + (f"{np.mean(errors):>10.1%}{np.mean(rhos):>10.3f}"
                                                if errors[0] == errors[0] else f"{'-':>10}{'-':>10}")
            print(f"{row['name']:<62}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
