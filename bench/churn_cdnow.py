#!/usr/bin/env python3
"""Churn and customer value on CDNOW: smb_journey's model against its peers.

LIBRARY LEVEL for now: this runs ``smb_journey/lib/churn.py`` (the code the
nightly cron will call) directly on the CDNOW purchases, not yet through an
Odoo database and the cron (issue 4 is not finished: see bench/README.md).

Split of the literature: calibration 1997-01-01 to 1997-09-30, holdout
1997-10-01 to 1998-06-30 (273 days). Our model sees only the calibration
period (time "now" = 1997-10-01) and trains on it with its own time-based
split. Peers, fitted in the same run on the same calibration data:

- BG/NBD (lifetimes) expected purchases in the holdout, ranked for churn;
- Pareto/NBD (lifetimes) expected purchases, ranked for churn;
- BG/NBD + Gamma-Gamma holdout revenue;
- logistic regression on log RFM, customer-level 5-fold on the holdout labels
  (it sees the holdout's labels of the other folds: an upper reference);
- recency-only ranking.

Reported: churn AUC (label: no purchase in the holdout), total holdout revenue
predicted vs actual, per-customer Spearman of predicted vs actual holdout
revenue, and wall time. Needs ``lifetimes`` (bench only, not the addon).
"""

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "smb_journey" / "lib"))

import churn  # noqa: E402

EPOCH = dt.date(1970, 1, 1)


def day(d):
    return (d - EPOCH).days


def load(path):
    """One row per customer and day (several CDs on a day are one purchase)."""
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) != 4 or not parts[0].isdigit():
                continue
            c, d, v = int(parts[0]), parts[1], float(parts[3])
            key = (c, day(dt.date(int(d[:4]), int(d[4:6]), int(d[6:]))))
            rows[key] = rows.get(key, 0.0) + v
    return churn.History.from_rows([(c, d, v) for (c, d), v in rows.items()])


def holdout_truth(history, ids, start, end):
    window = (history.day >= start) & (history.day < end)
    revenue = np.zeros(len(ids))
    np.add.at(revenue, np.searchsorted(ids, history.customer[window]), history.amount[window])
    bought = np.zeros(len(ids), dtype=bool)
    bought[np.searchsorted(ids, np.unique(history.customer[window]))] = True
    return ~bought, revenue


def metrics(name, churn_score, revenue_pred, y_churn, revenue, seconds):
    from scipy.stats import spearmanr  # noqa: PLC0415
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415

    auc = roc_auc_score(y_churn, churn_score) if churn_score is not None else float("nan")
    total = float(np.sum(revenue_pred)) if revenue_pred is not None else float("nan")
    rho = spearmanr(revenue_pred, revenue).correlation if revenue_pred is not None else float("nan")
    return {"name": name, "auc": auc, "revenue": total, "rev_err": total / revenue.sum() - 1, "rho": rho,
            "seconds": seconds}


def peers(history, ids, now, end, y_churn, revenue):
    import pandas as pd  # noqa: PLC0415
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.model_selection import StratifiedKFold  # noqa: PLC0415

    cal = history.before(now)
    frame = pd.DataFrame({"customer": cal.customer, "day": cal.day, "amount": cal.amount})
    g = frame.groupby("customer")
    first, last, n = g["day"].min(), g["day"].max(), g["day"].count()
    summary = pd.DataFrame({
        "frequency": n - 1, "recency": last - first, "T": now - first,
        "monetary_value": (g["amount"].sum() - frame.loc[g["day"].idxmin(), :].set_index("customer")["amount"])
        / (n - 1).clip(lower=1),
    }).loc[ids]
    horizon = end - now
    out = []
    t = time.perf_counter()
    bgf = BetaGeoFitter(penalizer_coef=0.0).fit(summary["frequency"], summary["recency"], summary["T"])
    expected = bgf.conditional_expected_number_of_purchases_up_to_time(
        horizon, summary["frequency"], summary["recency"], summary["T"]).to_numpy()
    bg_seconds = time.perf_counter() - t
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    t = time.perf_counter()
    ggf = GammaGammaFitter(penalizer_coef=0.0).fit(repeat["frequency"], repeat["monetary_value"])
    spend = ggf.conditional_expected_average_profit(summary["frequency"], summary["monetary_value"]).to_numpy()
    # one-time buyers: Gamma-Gamma's population mean
    p, q, v = ggf.params_["p"], ggf.params_["q"], ggf.params_["v"]
    spend = np.where(summary["frequency"].to_numpy() > 0, spend, p * v / (q - 1))
    gg_seconds = time.perf_counter() - t
    out.append(metrics("BG/NBD expected purchases (+ Gamma-Gamma value)", -expected, expected * spend,
                       y_churn, revenue, bg_seconds + gg_seconds))
    t = time.perf_counter()
    pnbd = ParetoNBDFitter(penalizer_coef=0.0).fit(summary["frequency"], summary["recency"], summary["T"])
    expected_p = pnbd.conditional_expected_number_of_purchases_up_to_time(
        horizon, summary["frequency"], summary["recency"], summary["T"]).to_numpy()
    out.append(metrics("Pareto/NBD expected purchases (+ Gamma-Gamma value)", -expected_p, expected_p * spend,
                       y_churn, revenue, time.perf_counter() - t + gg_seconds))
    t = time.perf_counter()
    X = np.column_stack([np.log1p(summary["recency"]), np.log1p(summary["frequency"]), np.log1p(summary["T"]),
                         np.log1p(summary["monetary_value"])])
    scores = np.zeros(len(ids))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y_churn):
        model = LogisticRegression(max_iter=1000).fit(X[train], y_churn[train])
        scores[test] = model.predict_proba(X[test])[:, 1]
    out.append(metrics("logistic regression, log RFM, 5-fold on holdout labels", scores, None,
                       y_churn, revenue, time.perf_counter() - t))
    out.append(metrics("recency only", (now - last.loc[ids]).to_numpy(), None, y_churn, revenue, 0.0))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "cdnow" / "CDNOW_master.txt"))
    parser.add_argument("--cutoff", default="1997-10-01", help="'now' of the model; the holdout starts here")
    parser.add_argument("--end", default="1998-07-01", help="end of the holdout (exclusive)")
    args = parser.parse_args(argv)
    history = load(args.data)
    now, end = day(dt.date.fromisoformat(args.cutoff)), day(dt.date.fromisoformat(args.end))
    horizon = end - now

    t = time.perf_counter()
    fitted = churn.train(history, now, horizon)
    ids, p_churn, __, value, __ = churn.predict(fitted, history, now, clv_days=horizon)
    ours_seconds = time.perf_counter() - t
    y_churn, revenue = holdout_truth(history, ids, now, end)
    rows = [metrics("smb_journey (lib/churn.py, calibration data only)", p_churn, value, y_churn, revenue,
                    ours_seconds)]
    rows += peers(history, ids, now, end, y_churn, revenue)

    print(f"CDNOW: {len(ids)} customers, calibration to {args.cutoff}, holdout {horizon} days; "
          f"actual holdout revenue {revenue.sum():,.0f}; churn base rate {y_churn.mean():.3f}")
    print(f"our model: {fitted.kind}, {fitted.reason}; own validation {fitted.metrics}; "
          f"top features {fitted.importances}\n")
    print(f"{'model':<58}{'churn AUC':>10}{'revenue':>12}{'vs actual':>10}{'Spearman':>10}{'seconds':>9}")
    for r in rows:
        revenue_cell = f"{r['revenue']:>12,.0f}{r['rev_err']:>+10.1%}" if r["revenue"] == r["revenue"] else f"{'-':>12}{'-':>10}"
        rho = f"{r['rho']:>10.3f}" if r["rho"] == r["rho"] else f"{'-':>10}"
        print(f"{r['name']:<58}{r['auc']:>10.4f}{revenue_cell}{rho}{r['seconds']:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
