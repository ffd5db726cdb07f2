#!/usr/bin/env python3
"""Loyalty tier recompute for every customer, against the bare SQL aggregate.

In one run, on one scratch database with smb_journey installed (its shipped
Bronze / Silver / Gold tiers) and N generated customers with confirmed orders
(``generate.py``; default 100,000 customers, 200,000 orders, 1,000,000 lines):

(floor)    the bare SQL aggregate that computes the same trailing spends and
           order counts: one GROUP BY over confirmed orders of the last twelve
           months, nothing written;
(backfill) ``smb.loyalty.tier.recompute_tiers()`` on a company never computed:
           every customer placed, every value written, a history row each;
(nightly)  the nightly cron's pass one day later: every customer's spend
           recomputed and compared with what is stored, the customers whose
           numbers moved (or who are in a grace period) decided again, only
           what changed written;
(redecide) the same pass after an admin edited a tier: every customer
           decided again in Python;
(write floor) what no first computation avoids: the floor's aggregate, the
           spend of each of its customers written on res_partner in one bare
           UPDATE and a history row each in one INSERT (measured before the
           backfill in a savepoint, then undone).

Each of the three passes also reports what it wrote (``write_stats.py``: row
versions of ``res_partner``, history rows, WAL bytes).

Each round runs in one transaction that is rolled back, so rounds start from
the same data; rounds alternate whether the floor runs first or last. Prints
seconds per phase and the ratio of each phase to the floor measured in the
same round, and checks that the spends written equal the floor's.

Usage::

    python3 bench/bench_tiers.py                  # 100,000 partners, scratch DB dropped after
    python3 bench/bench_tiers.py --quick          # 5,000 partners, smoke test
    python3 bench/bench_tiers.py --keep --rounds 3
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

FLOOR_SQL = """
    SELECT p.commercial_partner_id,
           ROUND(SUM(o.amount_untaxed / COALESCE(NULLIF(o.currency_rate, 0), 1))::numeric, 2)::float8,
           COUNT(*)
      FROM sale_order o
      JOIN res_partner p ON p.id = o.partner_id
     WHERE o.state = 'sale' AND o.company_id = %(company)s AND o.date_order >= %(since)s
     GROUP BY p.commercial_partner_id
"""

# the floor of a first computation: the same aggregate, the spend of every customer in it written
# on res_partner (one UPDATE) and a history row each (one INSERT): the writes no placement avoids
WRITE_FLOOR_SQL = """
    CREATE TEMP TABLE smbj_floor ON COMMIT DROP AS """ + FLOOR_SQL + """;
    UPDATE res_partner p SET smb_trailing_spend = jsonb_build_object(%(key)s, f.spend)
      FROM smbj_floor f(partner_id, spend, order_count) WHERE p.commercial_partner_id = f.partner_id;
    INSERT INTO smb_loyalty_tier_history (partner_id, company_id, date, to_tier_id, change, source, trailing_spend,
                                          order_count, create_uid, create_date, write_uid, write_date)
    SELECT f.partner_id, %(company)s, now(), %(tier)s, 'upgrade', 'initial', f.spend, f.order_count,
           %(uid)s, now(), %(uid)s, now()
      FROM smbj_floor f(partner_id, spend, order_count);
    DROP TABLE smbj_floor;
"""


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measured(env, writes, name, fn):
    """``timed``, with what the block wrote (row versions, WAL) kept in ``writes[name]``."""
    with write_stats.Writes(env) as w:
        result = fn()
    writes[name] = w.result
    return w.seconds, result


def one_round(registry, company_id, floor_first):
    from dateutil.relativedelta import relativedelta  # noqa: PLC0415

    from odoo import fields  # noqa: PLC0415

    with odoo_env.environment(registry) as env:  # rolled back at the end
        company = env["res.company"].browse(company_id)
        Tier = env["smb.loyalty.tier"].with_company(company)
        cr = env.cr
        # a company never computed, nothing stored: what installing the tiers meets
        cr.execute("UPDATE res_company SET smb_tiers_computed_at = NULL WHERE id = %s", [company_id])
        cr.execute("DELETE FROM smb_loyalty_tier_history WHERE company_id = %s", [company_id])
        cr.execute("""UPDATE res_partner SET smb_tier_id = NULL, smb_tier_since = NULL, smb_trailing_spend = NULL,
                      smb_tier_order_count = NULL, smb_tier_grace_since = NULL
                      WHERE smb_tier_id IS NOT NULL OR smb_trailing_spend IS NOT NULL""")
        env.invalidate_all()
        cr.execute("ANALYZE res_partner")
        now = fields.Datetime.now()

        def floor():
            cr.execute(FLOOR_SQL, {"company": company_id, "since": now - relativedelta(months=12)})
            return cr.fetchall()

        results, writes = {}, {}
        if floor_first:
            results["floor"] = timed(floor)

        def write_floor():
            cr.execute(WRITE_FLOOR_SQL, {"company": company_id, "since": now - relativedelta(months=12),
                                         "key": str(company_id), "uid": env.uid,
                                         "tier": Tier.search([("company_id", "=", company_id)], limit=1).id})

        # measured, then undone (its dead row versions stay behind for the backfill to step over)
        cr.execute("SAVEPOINT write_floor")
        results["write_floor"] = measured(env, writes, "write_floor", write_floor)
        cr.execute("ROLLBACK TO SAVEPOINT write_floor")
        results["backfill"] = measured(env, writes, "backfill", lambda: Tier.recompute_tiers(companies=company))
        tomorrow = now + timedelta(days=1)
        with patch.object(fields.Datetime, "now", return_value=tomorrow):
            results["nightly"] = measured(
                env, writes, "nightly", lambda: Tier._recompute_company(company, source="nightly", skip_locked=True))
            # an admin edited a tier: the next pass decides every customer again
            cr.execute("UPDATE res_company SET smb_tier_rules_date = %s WHERE id = %s", [tomorrow, company_id])
            company.invalidate_recordset()
            results["redecide"] = measured(
                env, writes, "redecide", lambda: Tier._recompute_company(company, source="nightly", skip_locked=True))
        if not floor_first:
            results["floor"] = timed(floor)

        # the spends written by the backfill equal the floor's (same "now")
        floor_rows = {pid: (spend, count) for pid, spend, count in results["floor"][1]}
        key = str(company_id)
        cr.execute("""SELECT id, (smb_trailing_spend->>%s)::float8, (smb_tier_order_count->>%s)::int
                        FROM res_partner WHERE id = commercial_partner_id AND smb_trailing_spend ? %s""",
                   [key, key, key])
        # the nightly pass moved "now" a day on: compare against a floor at the same instant
        cr.execute(FLOOR_SQL, {"company": company_id, "since": tomorrow - relativedelta(months=12)})
        floor_tomorrow = {pid: (spend, count) for pid, spend, count in cr.fetchall()}
        cr.execute("""SELECT id, (smb_trailing_spend->>%s)::float8, (smb_tier_order_count->>%s)::int
                        FROM res_partner WHERE id = commercial_partner_id AND smb_trailing_spend ? %s""",
                   [key, key, key])
        stored = {pid: (spend, count) for pid, spend, count in cr.fetchall()}
        mismatches = sum(
            1 for pid, (spend, count) in floor_tomorrow.items()
            if pid not in stored or abs(stored[pid][0] - spend) > 0.005 or stored[pid][1] != count
        ) + sum(1 for pid, (spend, count) in stored.items() if pid not in floor_tomorrow and (spend or count))
        cr.execute("SELECT change, count(*) FROM smb_loyalty_tier_history WHERE company_id = %s GROUP BY change",
                   [company_id])
        history = dict(cr.fetchall())
        cr.execute("""SELECT t.name->>'en_US', count(*) FROM res_partner p JOIN smb_loyalty_tier t
                        ON t.id = (p.smb_tier_id->>%s)::int WHERE p.id = p.commercial_partner_id
                       GROUP BY 1 ORDER BY 1""", [key])
        tiers = dict(cr.fetchall())
        return {
            "floor": results["floor"][0], "backfill": results["backfill"][0], "nightly": results["nightly"][0],
            "write_floor": results["write_floor"][0],
            "redecide": results["redecide"][0],
            "customers": len(floor_rows), "changes": results["backfill"][1], "nightly_changes": results["nightly"][1],
            "mismatches": mismatches, "history": history, "tiers": tiers, "writes": writes,
            "partners": count_partners(cr),
        }


def count_partners(cr):
    cr.execute("SELECT count(*) FROM res_partner")
    return cr.fetchone()[0]


def main(argv=None):
    args = bench_engine.parse_scratch_args(argv, __doc__, db="smbj_bench_tiers", rounds=3)
    started = time.strftime("%Y-%m-%d %H:%M")
    status = 0
    try:
        registry = bench_engine.open_scratch(args)
        bench_engine.print_data_summary(registry)
        with odoo_env.environment(registry) as env:
            company_id = env.ref("base.main_company").id
        if not args.no_warmup:
            one_round(registry, company_id, True)  # warm-up: caches, plans
        rounds = []
        for round_no in range(1, args.rounds + 1):
            floor_first = bool(round_no % 2)
            result = one_round(registry, company_id, floor_first)
            rounds.append(result)
            print(f"Round {round_no}/{args.rounds} (floor {'first' if floor_first else 'last'}): "
                  f"floor {result['floor']:.2f}s, backfill {result['backfill']:.2f}s "
                  f"(x{result['backfill'] / result['floor']:.2f}), nightly {result['nightly']:.2f}s "
                  f"(x{result['nightly'] / result['floor']:.2f}), every customer re-decided "
                  f"{result['redecide']:.2f}s (x{result['redecide'] / result['floor']:.2f})", flush=True)
        last = rounds[-1]
        phases = ("floor", "backfill", "nightly", "redecide", "write_floor")
        med = {k: statistics.median(r[k] for r in rounds) for k in phases}
        ratios = {k: statistics.median(r[k] / r["floor"] for r in rounds) for k in phases[1:]}
        backfill_to_write_floor = statistics.median(r["backfill"] / r["write_floor"] for r in rounds)
        print(f"\nResults: {started}, {os.cpu_count()} CPUs, {args.rounds} round(s), median of rounds\n")
        print(f"{'phase':<44}{'seconds':>10}{'x floor':>10}")
        print(f"{'floor: bare SQL trailing-spend aggregate':<44}{med['floor']:>10.2f}{1:>10.2f}")
        print(f"{'nightly recompute (one day later)':<44}{med['nightly']:>10.2f}{ratios['nightly']:>10.2f}")
        print(f"{'every customer re-decided (tier rules edited)':<44}{med['redecide']:>10.2f}"
              f"{ratios['redecide']:>10.2f}")
        print(f"{'backfill (first computation, all written)':<44}{med['backfill']:>10.2f}{ratios['backfill']:>10.2f}")
        print(f"{'write floor: aggregate + bare UPDATE + INSERT':<44}{med['write_floor']:>10.2f}"
              f"{ratios['write_floor']:>10.2f}")
        print(f"\nRATIO nightly recompute / floor: {ratios['nightly']:.2f} (goal: at most 2)")
        print(f"RATIO every customer re-decided / floor: {ratios['redecide']:.2f}")
        print(f"RATIO backfill / floor: {ratios['backfill']:.2f}")
        print(f"RATIO backfill / write floor (the same customers written in bare SQL): {backfill_to_write_floor:.2f}")
        print(f"checks: {last['customers']} customers with orders in the window; tiers {last['tiers']}; "
              f"history {last['history']}; backfill changes {last['changes']}, nightly changes "
              f"{last['nightly_changes']}; stored spends differing from the floor: {last['mismatches']}")
        print(f"\nWrites (last round; res_partner has {last['partners']} rows; partner rows = row versions "
              "written, each one a dead row after it, HOT ones without new index entries)\n")
        print(write_stats.HEADER)
        for label, key in (("write floor (bare SQL, same customers)", "write_floor"),
                           ("backfill (first computation)", "backfill"),
                           ("nightly recompute (one day later)", "nightly"),
                           ("every customer re-decided (nothing changed)", "redecide")):
            print(write_stats.line(label, last["writes"][key], "smb_loyalty_tier_history"))
        if last["mismatches"]:
            print("FAILED: the stored trailing spends differ from the bare aggregate")
            status = 1
    finally:
        bench_engine.close_scratch(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
