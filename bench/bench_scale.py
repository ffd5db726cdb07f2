#!/usr/bin/env python3
"""Every cron and the hot path at 100k and 1M customers: how each cost grows.

For each size N (default 100,000 and 1,000,000 customers), a scratch database
``smbj_scale_<N>`` with smb_journey installed (``odoo-bin -i smb_journey
--stop-after-init``, marked as a bench scratch database like the other
benchmarks' so that it never drops one it did not create), N generated
customers with 2N confirmed orders of 2 lines on average and N/20 website
carts (``generate.py``), the shipped welcome, abandoned-cart, post-purchase
and VIP journeys started. Then, in this order:

- engine idle: ``smb.journey.enrollment._cron_process()`` with nothing due
  (it also runs the abandoned-cart scan, with nothing new);
- cart scan: ``smb.journey._run_scanners()`` with nothing new, and
  with every generated cart new (the journey's start moved back four days,
  so the N/20 carts are enrolled; rolled back);
- tiers nightly: ``smb.loyalty.tier._cron_recompute()`` on a company never
  computed (first pass, every customer placed and written), then again one
  day later (second pass, only what moved written);
- engine busy: 2,000 due enrollments of a one-email journey, the cron's
  method called until nothing is due (one batch of 200 per call, committed);
- hot path: confirm one order, create one contact (bench_hot_path's
  operations, each call flushed, rolled back), median of rounds;
- churn nightly: ``smb.churn.run._cron_score()`` (train, score and write
  every customer), last as it takes longest.

The crons commit what they do (as the cron worker does); the scratch
database is kept with ``--keep`` and reused (the tiers are reset before
their first pass). Prints seconds and SQL queries per measurement and size,
the growth exponent log(t_big / t_small) / log(N_big / N_small) (1: linear,
0: flat), and the database and table sizes.

Usage::

    python3 bench/bench_scale.py --keep                          # 100k and 1M
    python3 bench/bench_scale.py --sizes 100000 300000 --keep
    python3 bench/bench_scale.py --sizes 1000000 --keep --results bench/scale_results.json
    python3 bench/bench_scale.py --report --results bench/scale_results.json

``--results FILE`` keeps each size's numbers in FILE (merged with what is
there), so sizes can be measured in separate runs and the table printed
from all of them.
"""

import argparse
import json
import math
import os
import resource
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engine  # noqa: E402
import bench_hot_path  # noqa: E402
import odoo_env  # noqa: E402

DB_PREFIX = "smbj_scale_"
BUSY_ENROLLMENTS = 2000


def label(size):
    return f"{size // 1000000}m" if size % 1000000 == 0 else f"{size // 1000}k" if size % 1000 == 0 else str(size)


# --------------------------------------------------------------------------
# Scratch database
# --------------------------------------------------------------------------


def prepare(args, size):
    """Install, generate (or reuse with --keep) the database of ``size`` customers; return its registry."""
    scratch = argparse.Namespace(**{
        **vars(args), "db": f"{args.db_prefix}{label(size)}", "partners": size, "orders": 2 * size,
        "carts": size // 20, "products": 50, "seed": bench_engine.generate.SEED_DEFAULT, "load_language": None,
    })
    start = time.monotonic()
    bench_engine.prepare_db(scratch)
    prepared = time.monotonic() - start
    registry = odoo_env.load_registry(scratch.db, db_host=args.db_host, db_port=args.db_port,
                                      db_user=args.db_user, addons_path=args.addons_path)
    return scratch, registry, prepared


def start_journeys(registry):
    """The shipped journeys running (bench_hot_path's list); tiers are measured, not computed here."""
    with odoo_env.environment(registry, commit=True) as env:
        for xmlid in bench_hot_path.JOURNEYS:
            journey = env.ref(f"smb_journey.{xmlid}")
            if journey.state != "running":
                journey.action_start()


def sizes_of(registry):
    with odoo_env.environment(registry) as env:
        env.cr.execute("""SELECT pg_database_size(current_database()),
                                 pg_total_relation_size('res_partner'), pg_total_relation_size('sale_order'),
                                 pg_total_relation_size('sale_order_line'),
                                 (SELECT count(*) FROM res_partner), (SELECT count(*) FROM sale_order),
                                 (SELECT count(*) FROM sale_order_line)""")
        db, partner, order, line, partners, orders, lines = env.cr.fetchone()
    return dict(db=db, res_partner=partner, sale_order=order, sale_order_line=line,
                partners=partners, orders=orders, lines=lines)


# --------------------------------------------------------------------------
# Measured calls: one small function each, so they can follow the code
# --------------------------------------------------------------------------


class Measure(bench_engine.Measure):
    def result(self):
        return dict(seconds=self.seconds, queries=self.queries)


def drain_engine(registry):
    """Run the engine until nothing is due (not measured); returns the calls."""
    return bench_engine.run_engine(registry, "cron", 100_000)


def engine_idle(registry, calls=5):
    """The engine cron with nothing due: median of ``calls`` calls, each committed."""
    runs = []
    for __ in range(calls):
        with odoo_env.environment(registry, commit=True) as env, Measure() as m:
            env["smb.journey.enrollment"]._cron_process()
        runs.append(m.result())
    return median_of(runs)


def cart_scan_idle(registry, calls=5):
    """The abandoned-cart scan with nothing new, rolled back."""
    runs = []
    for __ in range(calls):
        with odoo_env.environment(registry) as env, Measure() as m:
            env["smb.journey"]._run_scanners()
            env.flush_all()
        runs.append(m.result())
    return median_of(runs)


def cart_scan_backlog(registry):
    """The scan when every generated cart is new to the journey (its start
    moved back four days, never scanned yet: a first start on a busy shop):
    all of them enrolled, then rolled back."""
    with odoo_env.environment(registry) as env:
        journey = env.ref("smb_journey.journey_abandoned_cart")
        journey.date_start = journey.date_start - timedelta(days=4)
        journey.scanned_at = False  # later scans read back to the previous one only
        env.flush_all()
        before = env["smb.journey.enrollment"].search_count([("journey_id", "=", journey.id)])
        with Measure() as m:
            env["smb.journey"]._run_scanners()
            env.flush_all()
        enrolled = env["smb.journey.enrollment"].search_count([("journey_id", "=", journey.id)]) - before
    return dict(m.result(), note=f"{enrolled} carts enrolled")


def reset_tiers(registry):
    """No tier stored, company never computed: what the first nightly pass meets."""
    with odoo_env.environment(registry, commit=True) as env:
        company = env.ref("base.main_company")
        env.cr.execute("UPDATE res_company SET smb_tiers_computed_at = NULL WHERE id = %s", [company.id])
        env.cr.execute("DELETE FROM smb_loyalty_tier_history WHERE company_id = %s", [company.id])
        env.cr.execute("""UPDATE res_partner SET smb_tier_id = NULL, smb_tier_since = NULL, smb_trailing_spend = NULL,
                          smb_tier_order_count = NULL, smb_tier_grace_since = NULL
                          WHERE smb_tier_id IS NOT NULL OR smb_trailing_spend IS NOT NULL""")
    with odoo_env.environment(registry, commit=True) as env:
        env.cr.execute("ANALYZE res_partner")


def tiers_nightly(registry, days_later=0):
    """The tier cron's method, ``days_later`` days from now; committed."""
    from odoo import fields  # noqa: PLC0415

    when = fields.Datetime.now() + timedelta(days=days_later)
    with patch.object(fields.Datetime, "now", return_value=when), \
            odoo_env.environment(registry, commit=True) as env, Measure() as m:
        env["smb.loyalty.tier"]._cron_recompute()
    with odoo_env.environment(registry) as env:
        env.cr.execute("SELECT count(*) FROM smb_loyalty_tier_history")
        history = env.cr.fetchone()[0]
    return dict(m.result(), note=f"{history} history rows, peak RSS so far {peak_rss_mib()} MiB")


def churn_nightly(registry):
    """The churn cron's method; committed."""
    with odoo_env.environment(registry, commit=True) as env, Measure() as m:
        env["smb.churn.run"]._cron_score()
    with odoo_env.environment(registry) as env:
        run = env["smb.churn.run"].search([], order="id desc", limit=1)
        note = (f"run {run.state}, {run.customer_count} customers, {run.train_rows} training rows, "
                f"peak RSS so far {peak_rss_mib()} MiB")
    return dict(m.result(), note=note)


def engine_busy(registry, count=BUSY_ENROLLMENTS):
    """``count`` due enrollments of a one-email journey, the cron's method
    called until nothing is due (enrolling not measured)."""
    with odoo_env.environment(registry, commit=True) as env:
        journey = bench_engine.make_journey(env, f"Scale bench {time.strftime('%H:%M:%S')}", bench_engine.engine_body(env))
        env.cr.execute("""SELECT id FROM res_partner WHERE email_normalized LIKE '%%@%%example.%%'
                           ORDER BY id DESC LIMIT %s""", [count])
        journey.enroll(env["res.partner"].browse([row[0] for row in env.cr.fetchall()]))
        mailing_id = journey.step_ids.mailing_id.id
    with Measure() as m:
        calls = drain_engine(registry)
    with odoo_env.environment(registry) as env:
        mails = env["mail.mail"].search_count([("mailing_id", "=", mailing_id)])
    return dict(m.result(), note=f"{mails} emails queued in {calls} calls")


def hot_path(registry, calls, offset):
    """Confirm one order, create one contact: bench_hot_path's operations,
    each call flushed, all rolled back. Returns {operation: (s, queries) per call}."""
    results = {}
    with odoo_env.environment(registry) as env:
        env = env(context={"tracking_disable": False})
        env.cr.execute("""SELECT id FROM res_partner WHERE email_normalized LIKE '%%@%%example.%%'
                           AND customer_rank > 0 ORDER BY id LIMIT %s OFFSET %s""", [calls, offset])
        customers = env["res.partner"].browse([row[0] for row in env.cr.fetchall()])
        products = env["product.product"].search([("sale_ok", "=", True), ("type", "=", "consu")], limit=3)
        drafts = [env["sale.order"].create({
            "partner_id": p.id,
            "order_line": [(0, 0, {"product_id": prod.id, "product_uom_qty": 2}) for prod in products]})
            for p in customers]
        env.flush_all()
        tag = str(time.monotonic_ns())
        results["hot path: confirm an order"] = bench_hot_path.timed(env, calls, lambda i: drafts[i].action_confirm())
        results["hot path: create a contact"] = bench_hot_path.timed(env, calls, lambda i: env["res.partner"].create(
            {"name": f"Scale {tag} {i}", "email": f"scale.{tag}.{i}@example.org"}))
        # what those confirmations and contacts left to the events cron:
        # conversions, goals, journey entry, tier moves (per event)
        events = env["smb.journey.event"].search_count([])
        seconds, queries = bench_hot_path.timed(env, 1, lambda i: env["smb.journey.event"].process_pending())
        results["events cron, per event (after the hot path)"] = (seconds / max(events, 1), queries / max(events, 1))
    return results


def hot_path_rounds(registry, calls, rounds, size):
    runs = [hot_path(registry, calls, offset=size // 2 + r * calls) for r in range(rounds + 1)][1:]  # 1st: warm-up
    return {name: dict(seconds=statistics.median(run[name][0] for run in runs),
                       queries=statistics.median(run[name][1] for run in runs),
                       note=f"per call, median of {rounds} x {calls}")
            for name in runs[0]}


def peak_rss_mib():
    """This process's peak memory so far (what a cron worker's limit_memory_* would see)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def median_of(runs):
    return dict(seconds=statistics.median(r["seconds"] for r in runs),
                queries=statistics.median(r["queries"] for r in runs), note=f"median of {len(runs)} calls")


# --------------------------------------------------------------------------
# One size
# --------------------------------------------------------------------------


def measure_size(args, size, save):
    """Measure one size; ``save(run)`` is called after each measurement (a
    long run interrupted keeps what it measured)."""
    scratch, registry, prepared = prepare(args, size)
    try:
        start_journeys(registry)
        sizes = sizes_of(registry)
        print(f"{scratch.db}: {sizes['partners']} partners, {sizes['orders']} orders, {sizes['lines']} lines, "
              f"{sizes['db'] / 2**30:.2f} GiB (prepared in {prepared:.0f}s)", flush=True)
        run = dict(size=size, db=scratch.db, date=time.strftime("%Y-%m-%d %H:%M"), sizes=sizes, results={})
        if args.only and args.results_so_far.get(str(size)):
            run["results"] = dict(args.results_so_far[str(size)]["results"])  # remeasure only --only
        results = run["results"]

        def step(name, fn):
            if args.only and not any(word in name for word in args.only):
                return
            print(f"  {name} ...", end="", flush=True)
            results[name] = fn()
            print(f" {results[name]['seconds']:.3f}s, {results[name]['queries']:.0f} queries"
                  f" {results[name].get('note', '')}", flush=True)
            save(run)

        drain_engine(registry)
        step("engine idle (nothing due)", lambda: engine_idle(registry))
        step("cart scan, nothing new", lambda: cart_scan_idle(registry))
        step(f"cart scan, {size // 20} new carts", lambda: cart_scan_backlog(registry))
        if not args.only or any(word in "tiers nightly" for word in args.only):
            reset_tiers(registry)
        step("tiers nightly, first pass", lambda: tiers_nightly(registry))
        step("tiers nightly, second pass (a day later)", lambda: tiers_nightly(registry, days_later=1))
        step(f"engine busy ({BUSY_ENROLLMENTS} due)", lambda: engine_busy(registry))
        if not args.only or any(word in "hot path" for word in args.only):
            for name, value in hot_path_rounds(registry, args.calls, args.rounds, size).items():
                results[name] = value
                print(f"  {name}: {value['seconds'] * 1000:.1f} ms, {value['queries']:.0f} queries", flush=True)
            save(run)
        step("churn nightly", lambda: churn_nightly(registry))  # the longest: last
        run["sizes"] = sizes_of(registry)
        save(run)
        return run
    finally:
        bench_engine.close_scratch(scratch)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def generic(name):
    """The cart backlog's name carries its size: one row for all sizes."""
    return "cart scan, N/20 new carts" if name.startswith("cart scan, ") and name.endswith("new carts") \
        and "nothing" not in name else name


def exponent(small, big, t_small, t_big):
    if not (t_small and t_big):
        return float("nan")
    return math.log(t_big / t_small) / math.log(big / small)


def report(all_results):
    sizes = sorted(all_results, key=int)
    runs = [all_results[s] for s in sizes]
    rows = {}
    for run in runs:
        for name, value in run["results"].items():
            rows.setdefault(generic(name), {})[run["size"]] = value
    small, big = runs[0]["size"], runs[-1]["size"]
    measured = ", ".join(f"{label(r['size'])} {r['date']}" for r in runs)
    print(f"\nResults: {os.cpu_count()} CPUs; measured {measured}")
    print("exponent = log(t_big / t_small) / log(N_big / N_small): 1 grows like the data, 0 does not grow\n")
    header = f"{'measurement':42}" + "".join(f"{label(s) + ' s':>11}{'queries':>9}" for s in (r["size"] for r in runs))
    if len(runs) > 1:
        header += f"{'exponent':>10}"
    print(header)
    for name, by_size in rows.items():
        line = f"{name:42}"
        for run in runs:
            value = by_size.get(run["size"])
            line += f"{value['seconds']:>11.3f}{value['queries']:>9.0f}" if value else f"{'-':>11}{'-':>9}"
        if len(runs) > 1 and small in by_size and big in by_size:
            line += f"{exponent(small, big, by_size[small]['seconds'], by_size[big]['seconds']):>10.2f}"
        print(line)
    print(f"\n{'database':42}" + "".join(f"{label(r['size']):>20}" for r in runs))
    for key, title in (("partners", "res_partner rows"), ("orders", "sale_order rows"),
                       ("lines", "sale_order_line rows")):
        print(f"{title:42}" + "".join(f"{r['sizes'][key]:>20,}" for r in runs))
    for key, title in (("db", "pg_database_size"), ("res_partner", "res_partner (table + indexes + toast)"),
                       ("sale_order", "sale_order (idem)"), ("sale_order_line", "sale_order_line (idem)")):
        print(f"{title:42}" + "".join(f"{r['sizes'][key] / 2**20:>16,.0f} MiB" for r in runs))
    if len(runs) > 1:
        print(f"{'exponent of pg_database_size':42}{exponent(small, big, runs[0]['sizes']['db'], runs[-1]['sizes']['db']):>20.2f}")
    print("\nnotes: " + "; ".join(f"{label(r['size'])}: " + ", ".join(
        f"{n} ({v['note']})" for n, v in r["results"].items() if v.get("note") and "median" not in v["note"])
        for r in runs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100000, 1000000], help="customers per database")
    parser.add_argument("--db-prefix", default=DB_PREFIX, help=f"scratch databases <prefix><size> (default {DB_PREFIX})")
    parser.add_argument("--lines-per-order", type=int, default=2)
    parser.add_argument("--calls", type=int, default=20, help="hot-path calls per round")
    parser.add_argument("--rounds", type=int, default=3, help="hot-path rounds (after one warm-up)")
    parser.add_argument("--keep", action="store_true", help="keep the databases, and reuse them")
    parser.add_argument("--results", default=None, help="JSON file: merge this run's sizes into it, report all")
    parser.add_argument("--report", action="store_true", help="only print the table of --results")
    parser.add_argument("--only", nargs="+", default=None,
                        help="measure only what these words name (e.g. 'hot path' 'cart scan'), keep the rest of --results")
    bench_engine.add_connection_args(parser)
    args = parser.parse_args(argv)
    if not args.db_prefix.startswith(DB_PREFIX):
        raise SystemExit(f"--db-prefix must start with {DB_PREFIX}")
    all_results = {}
    if args.results and os.path.exists(args.results):
        with open(args.results) as f:
            all_results = json.load(f)
    args.results_so_far = all_results
    if not args.report:
        def save(run):
            all_results[str(run["size"])] = run
            if args.results:
                with open(args.results, "w") as f:
                    json.dump(all_results, f, indent=1, sort_keys=True)

        for size in args.sizes:
            measure_size(args, size, save)
    if all_results:
        report(all_results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
