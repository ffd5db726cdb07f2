#!/usr/bin/env python3
"""Rolling-origin evaluation of churn risk and customer value: every monthly cutoff, ours and the peers.

One cutoff says little about a model a shop owner reads every night: moving CDNOW's cutoff by a few
weeks moved the predicted holdout revenue by 30 points. This script moves it every month and
scores, at each cutoff, ``smb_journey/lib/churn.py`` (as the nightly cron calls it, the horizon set
to the holdout's length) against BG/NBD and Pareto/NBD (lifetimes, + Gamma-Gamma for the value),
fitted in the same run on the same data:

- CDNOW at every first of the month from 1997-06-01 to 1998-01-01, the holdout running to the end
  of the data (1998-07-01: 395 down to 181 days);
- three simulated shops (``churn_synthetic.simulate``'s process: ongoing acquisition, Gamma rates,
  Pareto/NBD lifetimes), different seeds: two with a mild yearly season, one with a December peak
  each year (purchases twice as likely in the first three weeks of December); the same cutoffs
  relative to the end of their data (13 to 6 months before it), about 3.5 years of history.

Per cutoff and model: holdout revenue predicted vs actual, per-customer revenue Spearman over all
customers and among those who buy in the holdout, churn AUC (label: no purchase in the holdout)
and, for the scores that are probabilities (ours), the expected calibration error (10 bins).
The summary checks the issue's targets per dataset: revenue within 10 % at every cutoff and a
mean absolute error of 5 % at most; Spearman (all, buyers) and AUC at or above the best peer at
every cutoff; calibration error at most 0.03 at every cutoff.

    python3 bench/churn_rolling.py                        # everything, about 6 minutes on 2 cores
    python3 bench/churn_rolling.py --datasets cdnow       # CDNOW only
    python3 bench/churn_rolling.py --peers-cache /tmp/peers.json   # peers fitted once, reused

Needs ``lifetimes`` for the peers (bench only, see bench/README.md).
"""

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "smb_journey" / "lib"))

import churn  # noqa: E402
import churn_cdnow  # noqa: E402

EPOCH = dt.date(1970, 1, 1)
CDNOW_CUTOFFS = [dt.date(1997, m, 1) for m in range(6, 13)] + [dt.date(1998, 1, 1)]
CDNOW_END = dt.date(1998, 7, 1)
# the simulated shops: (name, seed, season kind); their data starts on SIM_START
SHOPS = [("shop A (mild season)", 11, "mild"), ("shop B (mild season)", 12, "mild"),
         ("shop C (December peak)", 13, "december")]
SIM_START = dt.date(2022, 1, 1)
SIM_END = dt.date(2025, 7, 1)
SIM_CUTOFFS = [dt.date(2024, m, 1) for m in range(6, 13)] + [dt.date(2025, 1, 1)]


def day(d):
    return (d - EPOCH).days


def season_factor(t, kind):
    """Relative purchase intensity on absolute day ``t`` (days since 1970)."""
    doy = np.mod(t - day(dt.date(1970, 1, 1)), 365.25)
    if kind == "december":
        return np.where((doy >= 334) & (doy < 355), 2.0, 1.0)  # 1 to 21 December
    return 1.0 + 0.2 * np.cos(2 * np.pi * (doy - 350) / 365.25)


def simulate(seed, kind, customers=12000, mean_gap=90.0, mean_life=500.0):
    """Purchases of a simulated shop from SIM_START to SIM_END (days since 1970), one row per customer and day."""
    rng = np.random.default_rng(seed)
    start, end = day(SIM_START), day(SIM_END)
    birth = rng.uniform(start, end - 1, customers)
    birth = birth[np.argsort(birth)]
    rate = rng.gamma(0.8, 1 / (0.8 * mean_gap), customers)
    dropout = rng.gamma(1.5, 1 / (1.5 * mean_life), customers)
    stop = np.minimum(birth + rng.exponential(1 / dropout), end)
    peak = 2.0 if kind == "december" else 1.2
    n_candidates = rng.poisson(rate * peak * np.maximum(stop - birth, 0))
    owner = np.repeat(np.arange(customers), n_candidates)
    t = birth[owner] + rng.uniform(0, 1, len(owner)) * (stop - birth)[owner]
    keep = rng.uniform(0, peak, len(owner)) < season_factor(t, kind)
    owner, t = np.concatenate([np.arange(customers), owner[keep]]), np.concatenate([birth, t[keep]])
    mean_value = rng.gamma(4.0, 12.0, customers)
    value = rng.gamma(6.0, mean_value[owner] / 6.0)
    value[:customers] *= 0.8
    d = np.floor(t)
    order = np.lexsort((d, owner))
    owner, d, value = owner[order] + 1, d[order], value[order]
    new = np.ones(len(owner), dtype=bool)
    new[1:] = (owner[1:] != owner[:-1]) | (d[1:] != d[:-1])
    starts = np.flatnonzero(new)
    return churn.History(owner[starts].astype(np.int64), d[starts].astype(float), np.add.reduceat(value, starts))


def holdout_truth(history, ids, start, end):
    """(no purchase in [start, end), revenue in it) per customer of ``ids``; customers who arrive later are left out."""
    window = (history.day >= start) & (history.day < end) & np.isin(history.customer, ids)
    revenue = np.zeros(len(ids))
    np.add.at(revenue, np.searchsorted(ids, history.customer[window]), history.amount[window])
    return (revenue <= 0).astype(int), revenue


def spearman(a, b):
    from scipy.stats import spearmanr  # noqa: PLC0415

    return float(spearmanr(a, b).correlation) if len(a) > 2 else float("nan")


def score(name, churn_score, value, y, revenue, probability):
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415

    buyers = revenue > 0
    return {
        "model": name, "rev_err": float(value.sum() / revenue.sum() - 1), "rho": spearman(value, revenue),
        "rho_buyers": spearman(value[buyers], revenue[buyers]), "auc": float(roc_auc_score(y, churn_score)),
        "ece": churn.evaluate(np.asarray(churn_score, float), y)["ece"] if probability else float("nan"),
    }


def ours(history, now, end):
    horizon = int(end - now)
    t = time.perf_counter()
    fitted = churn.train(history, now, horizon)
    ids, p_churn, __, value, __ = churn.predict(fitted, history, now, clv_days=horizon)
    return ids, p_churn, value, fitted, time.perf_counter() - t


def peer_rows(history, ids, now, end, y, revenue):
    """BG/NBD and Pareto/NBD, each + Gamma-Gamma, as churn_cdnow.peers fits them."""
    import warnings  # noqa: PLC0415

    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter  # noqa: PLC0415

    warnings.filterwarnings("ignore")
    summary = churn_cdnow.rfm_summary(history, ids, now)
    horizon = end - now
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    ggf = GammaGammaFitter(penalizer_coef=0.0).fit(repeat["frequency"], repeat["monetary_value"])
    spend = ggf.conditional_expected_average_profit(summary["frequency"], summary["monetary_value"]).to_numpy()
    p, q, v = ggf.params_["p"], ggf.params_["q"], ggf.params_["v"]
    spend = np.where(summary["frequency"].to_numpy() > 0, spend, p * v / (q - 1))
    rows = []
    for name, fitter in (("BG/NBD + Gamma-Gamma", BetaGeoFitter), ("Pareto/NBD + Gamma-Gamma", ParetoNBDFitter)):
        model = fitter(penalizer_coef=0.0).fit(summary["frequency"], summary["recency"], summary["T"])
        expected = model.conditional_expected_number_of_purchases_up_to_time(
            horizon, summary["frequency"], summary["recency"], summary["T"]).to_numpy()
        rows.append(score(name, -expected, expected * spend, y, revenue, False))
    return rows


def value_ceiling(history, ids, now, y, revenue):
    """Upper reference for the value ranking: gradient boosting (Poisson loss) fitted on the
    holdout revenue itself, customer-level 5 folds, from everything the purchase history holds
    (our features and each customer's purchases in up to 40 buckets of time), as
    churn_cdnow.ceiling does for the risk. No model that sees only the history can be expected
    above it."""
    from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: PLC0415
    from sklearn.model_selection import KFold  # noqa: PLC0415

    f_ids, X = churn.features(history, now)
    cal = history.before(now)
    bucket = max(7, int(np.ceil((now - cal.day.min()) / 40)))
    columns = int((now - cal.day.min()) // bucket) + 1
    buckets = np.zeros((len(ids), columns))
    np.add.at(buckets, (np.searchsorted(ids, cal.customer), ((now - 1 - cal.day) // bucket).astype(int)), cal.amount)
    full = np.hstack([churn._transform(X), np.log1p(buckets)])
    predicted = np.zeros(len(ids))
    for train, test in KFold(5, shuffle=True, random_state=0).split(full):
        model = HistGradientBoostingRegressor(loss="poisson", max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                              min_samples_leaf=50, random_state=0)
        predicted[test] = model.fit(full[train], revenue[train]).predict(full[test])
    return score("ceiling: GB on holdout revenue", -predicted, predicted, y, revenue, False)


def datasets(names, data):
    if "cdnow" in names:
        yield "CDNOW", churn_cdnow.load(data), CDNOW_CUTOFFS, CDNOW_END
    for name, seed, kind in SHOPS:
        if name.split()[1] in names or "shops" in names:
            yield name, simulate(seed, kind), SIM_CUTOFFS, SIM_END


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "cdnow" / "CDNOW_master.txt"))
    parser.add_argument("--datasets", nargs="+", default=["cdnow", "shops"],
                        help="cdnow, shops, or single shops by letter (A B C)")
    parser.add_argument("--cutoffs", nargs="+", type=int, help="indexes of the cutoffs to run (default: all)")
    parser.add_argument("--peers-cache", help="JSON file: the peers' rows, read when present, written otherwise")
    parser.add_argument("--json", help="write every row to this file")
    parser.add_argument("--ceiling", action="store_true",
                        help="also the value ranking's ceiling: a model fitted on the holdout revenue (5 folds)")
    args = parser.parse_args(argv)
    cache = {}
    if args.peers_cache and Path(args.peers_cache).exists():
        cache = json.loads(Path(args.peers_cache).read_text())
    all_rows = []
    summary = []
    for dataset, history, cutoffs, end_date in datasets(args.datasets, args.data):
        end = day(end_date)
        rows = []
        print(f"\n{dataset}: holdout to {end_date}")
        print(f"{'cutoff':<11}{'model':<26}{'days':>5}{'actual':>11}{'rev err':>9}{'Spearman':>9}{'buyers':>8}"
              f"{'AUC':>8}{'ECE':>7}{'sec':>6}")
        chosen = [c for i, c in enumerate(cutoffs) if args.cutoffs is None or i in args.cutoffs]
        for cutoff in chosen:
            now = day(cutoff)
            ids, p_churn, value, fitted, seconds = ours(history, now, end)
            y, revenue = holdout_truth(history, ids, now, end)
            key = f"{dataset}|{cutoff}"
            if key not in cache:
                cache[key] = peer_rows(history, ids, now, end, y, revenue)
            if args.ceiling and f"{key}|ceiling" not in cache:
                cache[f"{key}|ceiling"] = value_ceiling(history, ids, now, y, revenue)
            mine = score("smb_journey", p_churn, value, y, revenue, True)
            mine["seconds"] = seconds
            mine["kind"] = fitted.kind
            ceiling = [cache[f"{key}|ceiling"]] if args.ceiling else []
            for r in [mine, *cache[key], *ceiling]:
                r.update(dataset=dataset, cutoff=str(cutoff), days=int(end - now), actual=float(revenue.sum()))
                rows.append(r)
                ece = f"{r['ece']:>7.3f}" if r["ece"] == r["ece"] else f"{'-':>7}"
                sec = f"{r['seconds']:>6.1f}" if "seconds" in r else f"{'':>6}"
                print(f"{str(cutoff):<11}{r['model']:<26}{r['days']:>5}{r['actual']:>11,.0f}{r['rev_err']:>+9.1%}"
                      f"{r['rho']:>9.3f}{r['rho_buyers']:>8.3f}{r['auc']:>8.4f}{ece}{sec}", flush=True)
        all_rows += rows
        summary.append((dataset, rows))
    if args.peers_cache:
        Path(args.peers_cache).write_text(json.dumps(cache))
    if args.json:
        Path(args.json).write_text(json.dumps(all_rows, indent=1))
    print("\nSUMMARY (targets: |rev err| <= 10 % at every cutoff, mean |rev err| <= 5 %, Spearman all and buyers "
          "and AUC >= best peer at every cutoff, ECE <= 0.03 at every cutoff)")
    print(f"{'dataset':<24}{'model':<26}{'max|err|':>9}{'mean|err|':>10}{'rho-best':>9}{'buy-best':>9}"
          f"{'AUC-best':>9}{'maxECE':>8}  verdict")
    verdicts = []
    for dataset, rows in summary:
        by_cutoff = {}
        for r in rows:
            by_cutoff.setdefault(r["cutoff"], []).append(r)
        for model in dict.fromkeys(r["model"] for r in rows):
            mine = [r for r in rows if r["model"] == model]
            errors = np.abs([r["rev_err"] for r in mine])

            def margin(metric, model=model):
                return min(next(r[metric] for r in group if r["model"] == model)
                           - max(r[metric] for r in group if r["model"] != model
                                 and not r["model"].startswith("ceiling")) for group in by_cutoff.values())
            ece = max(r["ece"] for r in mine)
            verdict = ""
            if model == "smb_journey":
                fails = [label for label, ok in (
                    ("revenue at a cutoff", errors.max() <= 0.10), ("mean revenue error", errors.mean() <= 0.05),
                    ("Spearman", margin("rho") >= 0), ("Spearman of buyers", margin("rho_buyers") >= 0),
                    ("AUC", margin("auc") >= 0), ("calibration", ece <= 0.03)) if not ok]
                verdict = "pass" if not fails else "FAIL: " + ", ".join(fails)
                verdicts.append(not fails)
            ece_cell = f"{ece:>8.3f}" if ece == ece else f"{'-':>8}"
            print(f"{dataset:<24}{model:<26}{errors.max():>9.1%}{errors.mean():>10.1%}{margin('rho'):>+9.3f}"
                  f"{margin('rho_buyers'):>+9.3f}{margin('auc'):>+9.4f}{ece_cell}  {verdict}")
    print(f"\n{sum(verdicts)}/{len(verdicts)} datasets meet every target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
