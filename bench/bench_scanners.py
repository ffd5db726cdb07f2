#!/usr/bin/env python3
"""The idle cost of the engine's scanners, against a bare-SQL floor.

On a database with smb_journey installed and generated customers and orders
(``generate.py``), in one transaction that is rolled back:

1. one email trace per customer is added (sent over the last 200 days, a
   third of them opened), so the engagement scanner has a mail history to read;
2. one running journey per scanning trigger (abandoned carts, no order, no
   open or click, time to restock) is started and a first pass of
   ``smb.journey._run_scanners()`` runs (it takes in what lapsed before);
3. ``--passes`` idle passes run a minute apart (``fields.Datetime.now``
   patched, so the clocks that time them still run): nothing new
   happened, which is what nearly every pass of the engine sees. Each one is
   timed and its queries counted;
4. the floor, measured in the same run: a pass that does nothing but find
   the running journeys and ask the database one indexed question per
   journey (the round trips no scanner avoids).

Prints the median idle pass in milliseconds and queries, the floor, and their
ratio.

Usage::

    python3 bench/generate.py --db NAME --partners 100000
    python3 bench/bench_scanners.py --db NAME [--passes 20]
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

TRIGGERS = ("cart_abandoned", "no_order", "no_engagement", "replenishment")

TRACES_SQL = """
    INSERT INTO mailing_trace (trace_type, mass_mailing_id, model, res_id, email, trace_status,
                               sent_datetime, open_datetime, create_uid, create_date, write_uid, write_date)
    SELECT 'mail', %(mailing)s, 'res.partner', p.id, p.email_normalized,
           CASE WHEN p.id %% 3 = 0 THEN 'open' ELSE 'sent' END,
           now() at time zone 'UTC' - (p.id %% 200) * interval '1 day',
           CASE WHEN p.id %% 3 = 0 THEN now() at time zone 'UTC' - (p.id %% 200 - 1) * interval '1 day' END,
           1, now(), 1, now()
      FROM res_partner p WHERE p.email_normalized IS NOT NULL
"""

FLOOR_SQL = [
    "SELECT id FROM smb_journey WHERE state = 'running' AND trigger = ANY(%s)",
    "SELECT 1 FROM sale_order WHERE date_order > now() at time zone 'UTC' LIMIT 1",
    "SELECT 1 FROM sale_order WHERE date_order > now() at time zone 'UTC' LIMIT 1",
    "SELECT 1 FROM mailing_trace WHERE sent_datetime > now() at time zone 'UTC' LIMIT 1",
    "SELECT 1 FROM smb_churn_run WHERE date > now() at time zone 'UTC' LIMIT 1",
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--passes", type=int, default=20)
    args = parser.parse_args(argv)
    registry = odoo_env.load_registry(args.db)
    from odoo import fields  # noqa: PLC0415

    with odoo_env.environment(registry) as env:
        cr = env.cr
        customers = env["res.partner"].search_count([("email", "!=", False)])
        orders = env["sale.order"].search_count([("state", "=", "sale")])
        mailing = env["mailing.mailing"].create({
            "subject": "Bench newsletter", "body_html": "<p>x</p>", "mailing_model_id": env["ir.model"]._get_id(
                "res.partner")})
        cr.execute(TRACES_SQL, {"mailing": mailing.id})
        traces = cr.rowcount
        cr.execute("ANALYZE mailing_trace")
        journeys = env["smb.journey"].create([{
            "name": f"Bench {trigger}", "trigger": trigger, "volume_limit": 0, "reentry": "always",
            "step_ids": [(0, 0, {"name": "Email", "step_type": "email", "subject": "Hi", "body_html": "<p>Hi</p>"})],
        } for trigger in TRIGGERS])
        journeys.action_start()
        start = time.perf_counter()
        env["smb.journey"]._run_scanners()
        env.flush_all()
        first = time.perf_counter() - start
        entered = {j.trigger: len(j.enrollment_ids) for j in journeys}
        now = fields.Datetime.now()
        idle_ms, idle_queries, floor_ms = [], [], []
        per_trigger = {}
        for i in range(1, args.passes + 1):
            with patch.object(fields.Datetime, "now", staticmethod(lambda i=i: now + timedelta(minutes=i))):
                env.invalidate_all()
                count = cr.sql_log_count
                start = time.perf_counter()
                env["smb.journey"]._run_scanners()
                env.flush_all()
                idle_ms.append((time.perf_counter() - start) * 1000)
                idle_queries.append(cr.sql_log_count - count)
                if i == args.passes:  # what each scanner itself asks, outside the engine's bookkeeping
                    for journey in journeys:
                        env.invalidate_all()
                        count, start = cr.sql_log_count, time.perf_counter()
                        getattr(journey, f"_scan_{journey.trigger}")()
                        per_trigger[journey.trigger] = (
                            f"{(time.perf_counter() - start) * 1000:.1f} ms, {cr.sql_log_count - count} queries")
            start = time.perf_counter()
            for query in FLOOR_SQL:
                cr.execute(query, [list(TRIGGERS)] if "%s" in query else None)
                cr.fetchall()
            floor_ms.append((time.perf_counter() - start) * 1000)
        idle, floor = statistics.median(idle_ms), statistics.median(floor_ms)
        print(f"customers with email: {customers}, confirmed orders: {orders}, email traces: {traces}")
        print(f"first pass (takes in what lapsed before): {first * 1000:.0f} ms, entered: {entered}")
        print(f"idle pass, {len(TRIGGERS)} scanning journeys: median {idle:.1f} ms, "
              f"{statistics.median(idle_queries):.0f} queries (max {max(idle_ms):.1f} ms)")
        print(f"queries of each scanner alone: {per_trigger}")
        print(f"floor ({len(FLOOR_SQL)} bare queries): median {floor:.1f} ms; idle / floor = {idle / floor:.1f}x")


if __name__ == "__main__":
    main()
