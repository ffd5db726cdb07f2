#!/usr/bin/env python3
"""Churn and customer value on CDNOW: smb_journey's model against its peers.

Two rows for smb_journey: the nightly cron for real (CDNOW loaded into a
scratch Odoo database as customers and confirmed orders, time frozen at the
cutoff, ``smb.churn.run.score_customers()``, scores read back from the
customers), and ``smb_journey/lib/churn.py`` called directly on the same
purchases (``--no-odoo``: that row only).

Split of the literature: calibration 1997-01-01 to 1997-09-30, holdout
1997-10-01 to 1998-06-30 (273 days). Our model sees only the calibration
period (time "now" = 1997-10-01) and trains on it with its own time-based
split. Peers, fitted in the same run on the same calibration data:

- BG/NBD (lifetimes) expected purchases in the holdout, ranked for churn;
- Pareto/NBD (lifetimes) expected purchases, ranked for churn;
- BG/NBD + Gamma-Gamma holdout revenue;
- logistic regression on log RFM, customer-level 5-fold on the holdout labels
  (it sees the holdout's labels of the other folds: an upper reference);
- recency-only ranking;
- a ceiling: gradient boosting and logistic regression on everything the
  purchase history holds (our features plus the customer's purchases week by
  week, or in coarser buckets for a long history), customer-level 5-fold on the holdout labels. No model that sees only
  the calibration period can be expected above it.

Reported: churn AUC (label: no purchase in the holdout), the calibration error
of the scores that are probabilities (10 bins, against that label), total holdout revenue
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

sys.path.insert(0, str(ROOT / "bench"))
MARKER_REF = "CDNOW-"

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
    # calibration error (10 bins) of the scores that are probabilities
    is_probability = churn_score is not None and np.min(churn_score) >= 0 and np.max(churn_score) <= 1
    ece = churn.evaluate(np.asarray(churn_score, dtype=float), y_churn)["ece"] if is_probability else float("nan")
    return {"name": name, "auc": auc, "revenue": total, "rev_err": total / revenue.sum() - 1, "rho": rho,
            "ece": ece, "seconds": seconds}


def rfm_summary(history, ids, now):
    """lifetimes' per-customer summary as of ``now`` (frequency, recency, T, the repeat orders'
    average value) and each customer's last purchase day, on the rows of ``ids``."""
    import pandas as pd  # noqa: PLC0415

    cal = history.before(now)
    frame = pd.DataFrame({"customer": cal.customer, "day": cal.day, "amount": cal.amount})
    g = frame.groupby("customer")
    first, last, n = g["day"].min(), g["day"].max(), g["day"].count()
    return pd.DataFrame({
        "frequency": n - 1, "recency": last - first, "T": now - first,
        "monetary_value": (g["amount"].sum() - frame.loc[g["day"].idxmin(), :].set_index("customer")["amount"])
        / (n - 1).clip(lower=1),
        "last": last,
    }).loc[ids]


def peers(history, ids, now, end, y_churn, revenue):
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.model_selection import StratifiedKFold  # noqa: PLC0415

    summary = rfm_summary(history, ids, now)
    last = summary["last"]
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
    out.append(metrics("recency only", (now - last).to_numpy(), None, y_churn, revenue, 0.0))
    return out


def ceiling(history, ids, now, y_churn, revenue):
    """Upper reference: models fitted on the holdout labels themselves (5-fold)
    from every feature of the purchase history, week by week included."""
    from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: PLC0415
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.model_selection import StratifiedKFold  # noqa: PLC0415

    f_ids, X = churn.features(history, now)
    assert (f_ids == ids).all()
    cal = history.before(now)
    bucket = max(7, int(np.ceil((now - cal.day.min()) / 40)))  # weeks, or coarser for at most 40 columns
    columns = int((now - cal.day.min()) // bucket) + 1
    weekly = np.zeros((len(ids), columns))
    np.add.at(weekly, (np.searchsorted(ids, cal.customer), ((now - 1 - cal.day) // bucket).astype(int)), 1.0)
    Xt = churn._transform(X)
    Xt = (Xt - Xt.mean(axis=0)) / np.where(Xt.std(axis=0) > 0, Xt.std(axis=0), 1.0)
    full = np.hstack([Xt, weekly])
    out = []
    for name, make in (
        ("ceiling: gradient boosting, all history, 5-fold on holdout", lambda: HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=50, random_state=0)),
        ("ceiling: logistic regression, all history, 5-fold on holdout", lambda: LogisticRegression(max_iter=3000)),
    ):
        t = time.perf_counter()
        scores = np.zeros(len(ids))
        for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(full, y_churn):
            scores[test] = make().fit(full[train], y_churn[train]).predict_proba(full[test])[:, 1]
        out.append(metrics(name, scores, None, y_churn, revenue, time.perf_counter() - t))
    return out


def load_into_odoo(args, history):
    """Install smb_journey on a scratch database (once, with --keep) and
    insert CDNOW's customers and their purchases as confirmed orders (SQL:
    the cron reads orders' dates and untaxed amounts; the rows have no lines)."""
    import bench_engine  # noqa: PLC0415

    scratch = argparse.Namespace(
        db=args.db, keep=True, partners=0, orders=0, lines_per_order=1, carts=0, products=1, seed=42,
        db_host=args.db_host, db_port=args.db_port, db_user=args.db_user, addons_path=None, load_language=None)
    bench_engine.prepare_db(scratch)
    conn = bench_engine.pg_connect(scratch, args.db)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT count(*) FROM res_partner WHERE ref LIKE %s", [MARKER_REF + "%"])
            if cr.fetchone()[0]:
                return scratch
            customers = np.unique(history.customer).tolist()
            cr.execute("""
                INSERT INTO res_partner (name, complete_name, ref, active, type, is_company, lang, autopost_bills,
                                         create_uid, write_uid, create_date, write_date)
                SELECT 'CDNOW customer ' || c, 'CDNOW customer ' || c, %s || c, true, 'contact', false, 'en_US', 'ask',
                       1, 1, '1997-01-01', '1997-01-01'
                  FROM unnest(%s::int[]) AS c""", [MARKER_REF, customers])
            cr.execute("UPDATE res_partner SET commercial_partner_id = id WHERE ref LIKE %s", [MARKER_REF + "%"])
            cr.execute("SELECT substr(ref, %s)::int, id FROM res_partner WHERE ref LIKE %s",
                       [len(MARKER_REF) + 1, MARKER_REF + "%"])
            partner_of = dict(cr.fetchall())
            cr.execute("SELECT id, currency_id FROM res_company ORDER BY id LIMIT 1")
            company_id, currency_id = cr.fetchone()
            dates = [(EPOCH + dt.timedelta(days=int(d))).isoformat() + " 12:00:00" for d in history.day]
            cr.execute("""
                INSERT INTO sale_order (name, state, company_id, partner_id, partner_invoice_id, partner_shipping_id,
                                        currency_id, currency_rate, date_order, amount_untaxed, amount_tax,
                                        amount_total, locked, invoice_status, create_uid, write_uid, create_date,
                                        write_date)
                SELECT 'CDNOW' || lpad(n::text, 6, '0'), 'sale', %s, v.p, v.p, v.p, %s, 1.0, v.d, v.a, 0, v.a,
                       false, 'no', 1, 1, v.d, v.d
                  FROM unnest(%s::int[], %s::timestamp[], %s::numeric[]) WITH ORDINALITY AS v(p, d, a, n)""",
                       [company_id, currency_id, [partner_of[int(c)] for c in history.customer], dates,
                        history.amount.tolist()])
            cr.execute("ANALYZE res_partner; ANALYZE sale_order")
    finally:
        conn.close()
    return scratch


def odoo_scores(args, history, now, horizon):
    """Run the churn cron's scoring on the scratch database with time frozen
    at the cutoff; returns {cdnow id: (score, clv)}, the run, wall seconds."""
    from unittest.mock import patch  # noqa: PLC0415

    import odoo_env  # noqa: PLC0415

    load_into_odoo(args, history)
    registry = odoo_env.load_registry(args.db, db_host=args.db_host, db_port=args.db_port, db_user=args.db_user)
    from odoo import fields  # noqa: PLC0415

    frozen = dt.datetime.combine(EPOCH + dt.timedelta(days=now), dt.time())
    with odoo_env.environment(registry) as env, patch.object(fields.Datetime, "now", return_value=frozen):
        company = env["res.company"].search([], order="id", limit=1)
        company.smb_churn_horizon_days = horizon  # the holdout's length, as an admin would set it
        start = time.perf_counter()
        run = env["smb.churn.run"].score_customers(company)
        seconds = time.perf_counter() - start
        key = str(company.id)
        env.cr.execute("""SELECT substr(ref, %s)::int, (smb_churn_score->>%s)::float8, (smb_clv->>%s)::float8
                            FROM res_partner WHERE ref LIKE %s""", [len(MARKER_REF) + 1, key, key, MARKER_REF + "%"])
        scores = {c: (s, v) for c, s, v in env.cr.fetchall()}
        info = run.read(["state", "message", "customer_count", "model_kind", "model_reason", "holdout_auc",
                         "holdout_ece", "train_rows", "top_features"])[0]
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.sql_db import close_db  # noqa: PLC0415

    Registry.delete(args.db)
    close_db(args.db)
    return scores, info, seconds


def print_table(rows):
    print(f"\n{'model':<62}{'churn AUC':>10}{'calib.':>8}{'revenue':>12}{'vs actual':>10}{'Spearman':>10}"
          f"{'seconds':>9}")
    for r in rows:
        has_revenue = r["revenue"] == r["revenue"]
        revenue_cell = f"{r['revenue']:>12,.0f}{r['rev_err']:>+10.1%}" if has_revenue else f"{'-':>12}{'-':>10}"
        rho = f"{r['rho']:>10.3f}" if r["rho"] == r["rho"] else f"{'-':>10}"
        ece = f"{r['ece']:>8.3f}" if r["ece"] == r["ece"] else f"{'-':>8}"
        print(f"{r['name']:<62}{r['auc']:>10.4f}{ece}{revenue_cell}{rho}{r['seconds']:>9.1f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "datasets" / "cdnow" / "CDNOW_master.txt"))
    parser.add_argument("--cutoff", default="1997-10-01", help="'now' of the model; the holdout starts here")
    parser.add_argument("--end", default="1998-07-01", help="end of the holdout (exclusive)")
    parser.add_argument("--no-odoo", action="store_true", help="only the library row and the peers")
    parser.add_argument("--db", default="smbj_bench_cdnow", help="scratch database, kept for the next run")
    parser.add_argument("--db-host", default="127.0.0.1")
    parser.add_argument("--db-port", type=int, default=5432)
    parser.add_argument("--db-user", default="odoo")
    args = parser.parse_args(argv)
    history = load(args.data)
    now, end = day(dt.date.fromisoformat(args.cutoff)), day(dt.date.fromisoformat(args.end))
    horizon = end - now

    t = time.perf_counter()
    fitted = churn.train(history, now, horizon)
    ids, p_churn, __, value, __ = churn.predict(fitted, history, now, clv_days=horizon)
    ours_seconds = time.perf_counter() - t
    y_churn, revenue = holdout_truth(history, ids, now, end)
    rows = []
    if not args.no_odoo:
        scores, info, seconds = odoo_scores(args, history, now, horizon)
        cron_churn = np.array([scores[int(c)][0] if scores.get(int(c)) else 1.0 for c in ids])
        # smb_clv is the value over 12 months; the model's expected orders are linear in time
        cron_value = np.array([(scores[int(c)][1] or 0.0) if scores.get(int(c)) else 0.0 for c in ids]) * horizon / 365
        rows.append(metrics("smb_journey nightly cron (Odoo, time frozen at cutoff)", cron_churn, cron_value,
                            y_churn, revenue, seconds))
    rows.append(metrics("smb_journey lib/churn.py (calibration data only)", p_churn, value, y_churn, revenue,
                        ours_seconds))
    rows += peers(history, ids, now, end, y_churn, revenue)
    rows += ceiling(history, ids, now, y_churn, revenue)

    print(f"CDNOW: {len(ids)} customers, calibration to {args.cutoff}, holdout {horizon} days; "
          f"actual holdout revenue {revenue.sum():,.0f}; churn base rate {y_churn.mean():.3f}")
    print(f"library model: {fitted.kind}, {fitted.reason}; own validation {fitted.metrics}; "
          f"top features {fitted.importances}")
    if not args.no_odoo:
        print(f"cron run: {info}")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
