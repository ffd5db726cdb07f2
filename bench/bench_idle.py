#!/usr/bin/env python3
"""The idle cost of one engine pass with every trigger's scanner running, against a bare-SQL floor.

Nearly every pass of *Journeys: run due steps* (every 5 minutes) finds nothing
new: no shop event pending, no enrollment due, no cart abandoned, no birthday
at this hour. This measures what such a pass costs on a large shop.

On a database with smb_journey installed and generated customers and orders
(``generate.py``; ``bench_scale.py --keep`` leaves one, ``smbj_scale_100k``),
in one transaction that is rolled back:

1. one email trace per customer (sent over the last 200 days, a third
   opened), birthdays on a third of the customers, and one running journey
   per trigger that fires by scanning, whatever module declared it (the
   registry is read, so a trigger added later is measured too);
2. a first pass takes in what lapsed before (timed, not the point);
3. ``--passes`` idle passes a minute apart (time patched), each what the
   engine's cron does: pending shop events, every scanner, the due batch
   (``smb.journey.enrollment.run_engine()``, the cron's work without its
   commits); each timed, its queries counted;
4. the floor, in the same run: the statements a hand-written idle pass cannot
   avoid, in bare SQL: is an event pending, is an enrollment due, which
   journeys run, and per scanning journey one indexed question on its own
   source since its previous pass (``FLOOR``).

Prints the median idle pass (ms, queries), each scanner alone, the floor,
and their ratio.

Usage::

    python3 bench/bench_scale.py --sizes 100000 --keep --only "engine idle"   # makes smbj_scale_100k
    python3 bench/bench_idle.py --db smbj_scale_100k [--passes 20]
"""

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import odoo_env  # noqa: E402
from bench_scanners import TRACES_SQL  # noqa: E402

ENGINE_FLOOR = [
    "SELECT id FROM smb_journey_event WHERE state = 'pending' ORDER BY id LIMIT 1",
    "SELECT id FROM smb_journey_enrollment WHERE state = 'running' AND due_at <= %(now)s ORDER BY due_at, id LIMIT 1",
    "SELECT id, trigger FROM smb_journey WHERE state = 'running'",
]
# per scanning trigger: one indexed question on its source since the previous pass
FLOOR = {
    "cart_abandoned": "SELECT id FROM sale_order WHERE state = 'draft' AND website_id IS NOT NULL"
                      " AND date_order >= %(since)s LIMIT 1",
    "no_order": "SELECT id FROM sale_order WHERE state = 'sale' AND date_order > %(since)s - interval '90 days'"
                " AND date_order <= %(now)s - interval '90 days' LIMIT 1",
    "no_engagement": "SELECT id FROM mailing_trace WHERE sent_datetime > %(since)s - interval '90 days'"
                     " AND sent_datetime <= %(now)s - interval '90 days' LIMIT 1",
    "replenishment": "SELECT id FROM smb_churn_run WHERE create_date > %(since)s LIMIT 1",
    "customer_date": "SELECT id FROM res_partner WHERE smb_birthday IS NOT NULL"
                     " AND to_char(smb_birthday, 'MM-DD') = to_char(%(now)s::date, 'MM-DD') LIMIT 1",
    "segment": "SELECT id FROM res_partner WHERE write_date > %(since)s LIMIT 1",
    "browse_abandoned": "SELECT id FROM website_track WHERE visit_datetime > %(since)s AND product_id IS NOT NULL LIMIT 1",
    "back_in_stock": "SELECT id FROM stock_quant WHERE write_date > %(since)s LIMIT 1",
}
# what a journey of the trigger needs beyond the defaults
PARAMS = {
    "segment": {"segment_domain": "[('country_id.code', '=', 'BE')]", "segment_new_only": True},
    "customer_date": {"date_source": "birthday", "date_hour": 0.0},
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="smbj_scale_100k")
    parser.add_argument("--passes", type=int, default=20)
    args = parser.parse_args(argv)
    registry = odoo_env.load_registry(args.db)
    from odoo import fields  # noqa: PLC0415

    with odoo_env.environment(registry) as env:
        cr = env.cr
        customers = env["res.partner"].search_count([("email", "!=", False)])
        mailing = env["mailing.mailing"].create({
            "subject": "Bench newsletter", "body_html": "<p>x</p>",
            "mailing_model_id": env["ir.model"]._get_id("res.partner")})
        cr.execute(TRACES_SQL, {"mailing": mailing.id})
        cr.execute("""UPDATE res_partner SET smb_birthday = date '1980-01-01' + (id % 366) * interval '1 day'
                       WHERE id % 3 = 0 AND email_normalized IS NOT NULL""")
        cr.execute("ANALYZE mailing_trace; ANALYZE res_partner")
        # the shipped journeys stay as they are; one bench journey per scanning trigger
        env["smb.journey"].search([("state", "=", "running")]).write({"state": "paused"})
        scanning = [key for key, trigger in env["smb.journey"]._trigger_types().items() if trigger.fires == "scan"]
        journeys = env["smb.journey"].create([{
            "name": f"Bench {key}", "trigger": key, "volume_limit": 0, "reentry": "always",
            "step_ids": [(0, 0, {"name": "Email", "step_type": "email", "subject": "Hi", "body_html": "<p>Hi</p>"})],
            **PARAMS.get(key, {}),
        } for key in scanning])
        journeys.action_start()
        Enrollment = env["smb.journey.enrollment"]
        start = time.perf_counter()
        Enrollment.run_engine()
        env.flush_all()
        first = time.perf_counter() - start
        # what the first pass enrolled has run its email: nothing is due in the idle passes
        entered = {j.trigger: len(j.enrollment_ids) for j in journeys}
        cr.execute("UPDATE smb_journey_enrollment SET due_at = due_at + interval '30 days' WHERE state = 'running'")
        env.invalidate_all()
        now = fields.Datetime.now()
        idle_ms, idle_queries, floor_ms, per_trigger = [], [], [], {}
        for i in range(1, args.passes + 1):
            at = now + timedelta(minutes=i)
            with patch.object(fields.Datetime, "now", staticmethod(lambda at=at: at)):
                env.invalidate_all()
                count, start = cr.sql_log_count, time.perf_counter()
                Enrollment.run_engine()
                env.flush_all()
                idle_ms.append((time.perf_counter() - start) * 1000)
                idle_queries.append(cr.sql_log_count - count)
                if i == args.passes:
                    for journey in journeys:
                        env.invalidate_all()
                        count, start = cr.sql_log_count, time.perf_counter()
                        getattr(journey, f"_scan_{journey.trigger}")()
                        per_trigger[journey.trigger] = (
                            f"{(time.perf_counter() - start) * 1000:.1f} ms / {cr.sql_log_count - count} q")
            values = {"now": at, "since": at - timedelta(minutes=1)}
            start = time.perf_counter()
            for query in ENGINE_FLOOR + [FLOOR[key] for key in scanning if key in FLOOR]:
                cr.execute(query, values)
                cr.fetchall()
            floor_ms.append((time.perf_counter() - start) * 1000)
        idle, floor = statistics.median(idle_ms), statistics.median(floor_ms)
        unmeasured = [key for key in scanning if key not in FLOOR]
        print(f"customers with email: {customers}; scanning triggers: {', '.join(scanning)}")
        print(f"first pass (takes in what lapsed before): {first:.1f} s, entered: {entered}")
        print(f"idle engine pass, {len(journeys)} scanning journeys: median {idle:.1f} ms, "
              f"{statistics.median(idle_queries):.0f} queries (min {min(idle_ms):.1f}, max {max(idle_ms):.1f} ms)")
        print(f"each scanner alone (last pass): {per_trigger}")
        print(f"floor ({len(ENGINE_FLOOR)} engine + {len(scanning) - len(unmeasured)} source probes, bare SQL): "
              f"median {floor:.1f} ms; idle / floor = {idle / floor:.1f}x"
              + (f"; no floor for {unmeasured}" if unmeasured else ""))


if __name__ == "__main__":
    main()
