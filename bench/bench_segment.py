#!/usr/bin/env python3
"""Segment trigger: an incremental pass against a full one and the bare SQL floor.

In one run, on one scratch database with smb_journey installed and N generated
customers (``generate.py``; default 100,000, few orders: the segment reads
customers), a running journey with the "Customer segment" trigger (customers of
Belgium and France with a .com address, about a quarter of them) whose members
table is filled by a first full pass, then per round:

(incremental) ``_scan_segment()`` after 1 % of the customers changed since the
           last pass (half of those moved to or from the segment's countries):
           the changed customers matched, members compared, who joined enters,
           who left exits;
(floor inc.) the bare SQL of the same question: the compiled filter on the
           changed customers, run by hand, nothing compared or written;
(full)     ``_scan_segment()`` when the daily full pass is due: every customer
           matched and compared with the members table;
(floor full) the compiled filter on every customer, by hand.

Each round runs in one transaction that is rolled back, so rounds start from
the same data; rounds alternate whether the floors run first or last. Prints
seconds per phase and the ratios.

Usage::

    python3 bench/bench_segment.py                  # 100,000 partners, scratch DB dropped after
    python3 bench/bench_segment.py --quick          # 5,000 partners, smoke test
    python3 bench/bench_segment.py --keep --rounds 5
"""

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engine
import odoo_env

SEGMENT = "[('country_id.code', 'in', ['BE', 'FR']), ('email', 'ilike', '.com')]"
CHANGED = 0.01


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def setup_journey(env):
    """A running segment journey whose first full pass is done (members filled)."""
    journey = env["smb.journey"].create({
        "name": "Bench segment", "trigger": "segment", "segment_domain": SEGMENT, "segment_exit": True,
        "segment_new_only": True, "volume_limit": 0,
        "step_ids": [(0, 0, {"name": "Wait", "step_type": "wait", "wait_amount": 1, "wait_unit": "days"})],
    })
    journey.action_start()
    journey._scan_segment()
    journey._scanned()
    env.cr.commit()
    return journey.id


def one_round(registry, journey_id, floor_first):
    from odoo.fields import Domain

    with odoo_env.environment(registry) as env:
        cr = env.cr
        journey = env["smb.journey"].browse(journey_id)
        # the last pass "was" a moment ago: everything generated is older than it
        cr.execute("SELECT now() AT TIME ZONE 'UTC'")
        now = cr.fetchone()[0]
        cr.execute("UPDATE smb_journey SET scanned_at = %s, segment_full_at = %s WHERE id = %s",
                   [now, now, journey_id])
        journey.invalidate_recordset()
        # 1 % of the customers changed after it; half of them change country (joins and leaves)
        cr.execute("SELECT count(*) FROM res_partner")
        total = cr.fetchone()[0]
        cr.execute("SELECT id FROM res_partner ORDER BY md5(id::text) LIMIT %s", [int(total * CHANGED)])
        changed = [r[0] for r in cr.fetchall()]
        be, fr, de = (env.ref(f"base.{c}").id for c in ("be", "fr", "de"))
        cr.execute("""UPDATE res_partner SET write_date = %(later)s,
                             country_id = CASE WHEN id %% 2 = 0 THEN country_id
                                               WHEN country_id IN (%(be)s, %(fr)s) THEN %(de)s ELSE %(be)s END
                       WHERE id = ANY(%(ids)s)""",
                   {"later": now + timedelta(hours=1),
                    "ids": changed, "be": be, "fr": fr, "de": de})
        env.invalidate_all()
        Partner = env["res.partner"].sudo().with_context(active_test=False)
        base = Domain([("active", "=", True), ("company_id", "in", (False, journey.company_id.id))]) \
            & journey._parsed("segment_domain")
        since = Domain("write_date", ">", now)
        floor_inc_sql = Partner._search(since & base).select()
        floor_full_sql = Partner._search(base).select()

        def floor_inc():
            return len(env.execute_query(floor_inc_sql))

        def floor_full():
            return len(env.execute_query(floor_full_sql))

        results = {}
        if floor_first:
            results["floor_inc"], matched_inc = timed(floor_inc)
            results["floor_full"], matched_full = timed(floor_full)
        members = "SELECT count(*) FROM smb_journey_segment_member WHERE journey_id = %s"
        cr.execute(members, [journey_id])
        before = cr.fetchone()[0]
        with bench_engine.Measure() as inc:
            entered = journey._scan_segment()
            env.flush_all()
        results["incremental"], results["inc_queries"] = inc.seconds, inc.queries
        cr.execute(members, [journey_id])
        results["joined"] = len(entered)
        results["left"] = before + len(entered) - cr.fetchone()[0]
        journey.segment_full_at = False
        with bench_engine.Measure() as full:
            journey._scan_segment()
            env.flush_all()
        results["full"], results["full_queries"] = full.seconds, full.queries
        if not floor_first:
            results["floor_inc"], matched_inc = timed(floor_inc)
            results["floor_full"], matched_full = timed(floor_full)
        results.update(changed=len(changed), matched_inc=matched_inc, matched_full=matched_full, total=total)
        cr.execute(members, [journey_id])
        results["members"] = cr.fetchone()[0]
        return results


def main(argv=None):
    args = bench_engine.parse_scratch_args(argv, __doc__, db="smbj_bench_segment", rounds=5)
    if args.orders is None:
        args.orders = args.partners // 10  # the segment reads customers, not orders
    args.lines_per_order = min(args.lines_per_order, 2)
    started = time.strftime("%Y-%m-%d %H:%M")
    try:
        registry = bench_engine.open_scratch(args)
        bench_engine.print_data_summary(registry)
        with odoo_env.environment(registry, commit=True) as env:
            env.cr.execute("SELECT id FROM smb_journey WHERE name->>'en_US' = 'Bench segment' AND state = 'running'")
            row = env.cr.fetchone()
            journey_id = row[0] if row else None
            if not journey_id:
                seconds, journey_id = timed(lambda: setup_journey(env))
                print(f"First full pass (members filled, nobody enrolled: only new matches): {seconds:.2f}s")
        if not args.no_warmup:
            one_round(registry, journey_id, True)
        rounds = []
        for round_no in range(1, args.rounds + 1):
            r = one_round(registry, journey_id, bool(round_no % 2))
            rounds.append(r)
            print(f"Round {round_no}/{args.rounds}: incremental {r['incremental']:.3f}s ({r['inc_queries']} queries, "
                  f"floor {r['floor_inc']:.3f}s), full {r['full']:.3f}s ({r['full_queries']} queries, "
                  f"floor {r['floor_full']:.3f}s); {r['joined']} joined, {r['left']} left", flush=True)
        med = {k: statistics.median(r[k] for r in rounds) for k in ("incremental", "floor_inc", "full", "floor_full")}
        ratio = lambda a, b: statistics.median(r[a] / r[b] for r in rounds)
        last = rounds[-1]
        print(f"\nResults: {started}, {os.cpu_count()} CPUs, {args.rounds} round(s), median of rounds")
        print(f"{last['total']} customers, {last['members']} in the segment, {last['changed']} changed "
              f"({last['matched_inc']} of them matching)\n")
        print(f"{'phase':<52}{'seconds':>10}")
        print(f"{'floor: compiled filter on the changed customers':<52}{med['floor_inc']:>10.3f}")
        print(f"{'incremental pass (1 % changed)':<52}{med['incremental']:>10.3f}")
        print(f"{'floor: compiled filter on every customer':<52}{med['floor_full']:>10.3f}")
        print(f"{'full pass (every customer, daily)':<52}{med['full']:>10.3f}")
        print(f"\nRATIO incremental / incremental floor: {ratio('incremental', 'floor_inc'):.2f}")
        print(f"RATIO full / full floor: {ratio('full', 'floor_full'):.2f}")
        print(f"RATIO incremental / full: {ratio('incremental', 'full'):.3f}")
        print(f"RATIO incremental / full floor: {ratio('incremental', 'floor_full'):.2f}")
    finally:
        bench_engine.close_scratch(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
