#!/usr/bin/env python3
"""Churn scoring of every customer, end to end, against the bare feature SQL.

In one run, on one scratch database with smb_journey installed and N generated
customers with their order history (``generate.py``; default 100,000
customers, 200,000 confirmed orders over two years, 1,000,000 lines):

(floor)  the bare feature SQL alone: the one query that reads every
         customer's purchases per day in the company currency (what the
         scoring starts from), all rows fetched;
(score)  ``smb.churn.run.score_customers()``: that query, the signals, the
         features at every training cutoff, training with its time-based
         validation, scoring, and the write of every customer's score, band,
         value and next order date, with the band history; also the
         snapshot of the predictions it keeps (timed apart too);
(check)  the check of the predictions of a run a horizon ago, as the next
         night's run makes it: the first scoring's run moved back by its
         horizon, the snapshot read, one query over the orders of the
         horizon, the metrics (AUC, calibration, revenue error).

Then, in the same round, what the scoring writes (``write_stats.py``: row
versions of ``res_partner``, history rows, WAL bytes): the first scoring (a
company never scored), the same scoring again at the same instant (nothing
changed) and the scoring of the next night (``fields.Datetime.now`` moved on a
day).

Each round runs in one transaction that is rolled back; rounds alternate
which phase goes first. Prints seconds, the ratio of the scoring to the floor
in the same round, and the run's own record (model, holdout AUC).

Usage::

    python3 bench/bench_churn.py                  # 100,000 partners, scratch DB dropped after
    python3 bench/bench_churn.py --quick          # 5,000 partners
    python3 bench/bench_churn.py --db smbj_bench_tiers --keep   # reuse the tier benchmark's database
"""

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engine  # noqa: E402
import odoo_env  # noqa: E402
import write_stats  # noqa: E402


def one_round(registry, score_first):
    from odoo import fields  # noqa: PLC0415

    with odoo_env.environment(registry) as env:  # rolled back at the end
        company = env.ref("base.main_company")
        Run = env["smb.churn.run"]
        key = str(company.id)
        # a company never scored: nothing stored, no run, no history
        env.cr.execute("""UPDATE res_partner SET smb_churn_score = NULL, smb_churn_band = NULL, smb_clv = NULL,
                                 smb_next_order_date = NULL, smb_churn_reasons = NULL
                           WHERE smb_churn_score IS NOT NULL OR smb_churn_band IS NOT NULL""")
        env.cr.execute("DELETE FROM smb_churn_history WHERE company_id = %s", [company.id])
        env.cr.execute("DELETE FROM smb_churn_run WHERE company_id = %s", [company.id])
        env.invalidate_all()
        now = fields.Datetime.now()
        results = {"record_s": []}
        # the snapshot a run keeps of its predictions (and its check of the run a horizon ago), timed apart
        Monitor = next(c for c in type(Run).__mro__
                       if c.__module__ == "odoo.addons.smb_journey.models.smb_churn_run_monitor")
        record_predictions = Monitor._record_predictions

        def timed_record(run, *args, **kwargs):
            started = time.perf_counter()
            record_predictions(run, *args, **kwargs)
            results["record_s"].append(time.perf_counter() - started)

        def floor():
            rows = env.execute_query(Run._history_sql(company, now))
            return len(rows)

        def score():
            return Run.score_customers(company)

        with patch.object(fields.Datetime, "now", return_value=now), \
                patch.object(Monitor, "_record_predictions", timed_record):
            order = [("score", score), ("floor", floor)] if score_first else [("floor", floor), ("score", score)]
            for name, fn in order:
                with write_stats.Writes(env) as writes:
                    results[name] = fn()
                results[name + "_s"] = writes.seconds
                results[name + "_writes"] = writes.result
            # the same night again: nothing changed, nothing should be written
            with write_stats.Writes(env) as writes:
                again = score()
            results["again_writes"] = writes.result
        # the next night: recency moved on a day, some shown values move with it
        with patch.object(fields.Datetime, "now", return_value=now + timedelta(days=1)), \
                write_stats.Writes(env) as writes:
            nightly = score()
        results["nightly_writes"] = writes.result
        run = results["score"]
        # the check of past predictions: the first scoring's run moved back by its horizon is the run a
        # horizon ago of the next night's run, which checks it again
        env.cr.execute("UPDATE smb_churn_run SET date = date - horizon_days * INTERVAL '1 day' WHERE id = %s",
                       [run.id])
        env.invalidate_all()
        started = time.perf_counter()
        nightly._backtest()
        results["check_s"] = time.perf_counter() - started
        results["check"] = nightly.read(["backtest_customers", "backtest_auc", "backtest_ece",
                                         "backtest_revenue_error"])[0]
        results["check_ok"] = nightly.backtest_run_id == run
        env.cr.execute("SELECT file_size FROM ir_attachment WHERE res_model = 'smb.churn.run' "
                       "AND res_field = 'snapshot' AND res_id = %s", [run.id])
        results["snapshot_bytes"] = (env.cr.fetchone() or [0])[0]
        results["run"] = run.read(["state", "message", "customer_count", "horizon_days", "model_kind",
                                   "model_reason", "holdout_auc", "holdout_ece", "train_rows", "high_count",
                                   "medium_count"])[0]
        results["states"] = (again.state, nightly.state)
        env.cr.execute("SELECT count(*) FROM res_partner WHERE smb_churn_score ? %s", [key])
        results["written"] = env.cr.fetchone()[0]
        env.cr.execute("SELECT count(*) FROM res_partner")
        results["partners"] = env.cr.fetchone()[0]
        return results


def main(argv=None):
    args = bench_engine.parse_scratch_args(argv, __doc__, db="smbj_bench_churn", rounds=2)
    started = time.strftime("%Y-%m-%d %H:%M")
    status = 0
    try:
        registry = bench_engine.open_scratch(args)
        bench_engine.print_data_summary(registry)
        if not args.no_warmup:
            one_round(registry, True)  # warm-up
        rounds = []
        for round_no in range(1, args.rounds + 1):
            result = one_round(registry, bool(round_no % 2))
            rounds.append(result)
            print(f"Round {round_no}/{args.rounds}: floor {result['floor_s']:.2f}s ({result['floor']} rows), "
                  f"scoring end to end {result['score_s']:.2f}s (x{result['score_s'] / result['floor_s']:.1f})",
                  flush=True)
        last = rounds[-1]
        floor = statistics.median(r["floor_s"] for r in rounds)
        score = statistics.median(r["score_s"] for r in rounds)
        ratio = statistics.median(r["score_s"] / r["floor_s"] for r in rounds)
        record = statistics.median(r["record_s"][0] for r in rounds)  # the first scoring's
        check = statistics.median(r["check_s"] for r in rounds)
        print(f"\nResults: {started}, {os.cpu_count()} CPUs, {args.rounds} round(s), median\n")
        print(f"{'phase':<52}{'seconds':>10}{'x floor':>10}")
        print(f"{'floor: bare feature SQL (purchases per customer-day)':<52}{floor:>10.2f}{1:>10.2f}")
        print(f"{'scoring end to end (features, training, scoring, writing)':<52}{score:>10.2f}{ratio:>10.1f}")
        print(f"{'  of which: the snapshot of the predictions kept':<52}{record:>10.2f}{record / floor:>10.2f}")
        print(f"{'check of the run a horizon ago (next night)':<52}{check:>10.2f}{check / floor:>10.2f}")
        print(f"\nRATIO scoring / bare feature SQL: {ratio:.1f}; scoring wall time {score:.1f}s (goal: under 60 s)")
        print(f"checks: run {last['run']}; customers with a score written: {last['written']}")
        print(f"snapshot: {last['snapshot_bytes']} bytes ({last['snapshot_bytes'] / max(last['run']['customer_count'], 1):.1f} "
              f"a customer); check of past predictions: {last['check']}")
        print(f"\nWrites (last round; res_partner has {last['partners']} rows; partner rows = row versions "
              "written, each one a dead row after it, HOT ones without new index entries)\n")
        print(write_stats.HEADER)
        for label, key in (("first scoring (nothing stored)", "score_writes"),
                           ("the same night again (nothing changed)", "again_writes"),
                           ("the next night (one day later)", "nightly_writes")):
            print(write_stats.line(label, last[key], "smb_churn_history"))
        if last["states"] != ("done", "done"):
            status = 1
            print(f"FAILED: the second and third runs ended {last['states']}")
        if last["run"]["state"] != "done" or score >= 60:
            status = 1
            print("FAILED: the run failed or took 60 s or more")
        if not last["check_ok"]:
            status = 1
            print("FAILED: the next night's run did not check the run moved a horizon back")
    finally:
        bench_engine.close_scratch(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
