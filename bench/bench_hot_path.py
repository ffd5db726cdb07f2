#!/usr/bin/env python3
"""The shop's own operations with and without smb_journey: what the addon adds.

Two scratch databases with the same generated shop (``generate.py``): one
with smb_journey's dependencies only (sale_management, website_sale, crm,
mass_mailing, sale_loyalty), one with smb_journey installed, its shipped
welcome, abandoned-cart, post-purchase and VIP journeys running and the
loyalty tiers computed. In each round, each database runs the same
operations, one after the other (the order alternates between rounds), each
on its own prepared records, and everything is rolled back at the end of the
round:

- confirm an order (one at a time), cancel a confirmed order, post a credit
  note of an invoiced order;
- create a contact (one at a time), create 500 in one call, import 500 with
  ``load()`` (what Odoo's import calls), sign up a portal user;
- update a website cart (a line added, a quantity changed).

Every operation ends with ``cr.flush()``, which also runs the precommit hooks
(mail tracking): what its commit would cost. Prints, per operation, the
median seconds per call in each database, the ratio with / without, the
lowest and highest ratio of a single round (both databases ran back to back
in it: the spread is the machine's noise), and the queries per call. The goal of the addon: at most 1.05x.

Usage::

    python3 bench/bench_hot_path.py                 # 2,000 generated customers, 5 rounds
    python3 bench/bench_hot_path.py --keep          # keep both databases and reuse them
    python3 bench/bench_hot_path.py --calls 20 --rounds 3
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engine  # noqa: E402
import generate  # noqa: E402
import odoo_env  # noqa: E402

DEPENDENCIES = "sale_management,website_sale,crm,mass_mailing,sale_loyalty"
JOURNEYS = ("journey_welcome", "journey_abandoned_cart", "journey_post_purchase", "journey_vip_welcome")


def install(args, db, modules):
    """A new scratch database with ``modules`` and the generated shop (reused with --keep)."""
    scratch = argparse.Namespace(**{**vars(args), "db": db})
    exists, marked, __ = bench_engine.db_state(scratch)
    if exists and not marked:
        raise SystemExit(f"database {db} exists and was not created by this benchmark")
    if exists and args.keep:
        print(f"Reusing {db} (--keep)")
        return
    if exists:
        bench_engine.drop_db(scratch)
    print(f"Installing {modules} on a new database {db} ...", flush=True)
    cmd = [sys.executable, os.path.join(odoo_env.ODOO_SRC, "odoo-bin"),
           *odoo_env.odoo_args(db, db_host=args.db_host, db_port=args.db_port, db_user=args.db_user,
                               addons_path=args.addons_path),
           "-i", modules, "--stop-after-init"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode or " ERROR " in proc.stderr:
        sys.stdout.write(proc.stderr[-5000:])
        bench_engine.drop_db(scratch)
        raise SystemExit(f"installing {modules} on {db} failed")
    conn = bench_engine.pg_connect(scratch, db)
    with conn.cursor() as cr:
        cr.execute("INSERT INTO ir_config_parameter (key, value, create_uid, write_uid, create_date, write_date)"
                   " VALUES (%s, '1', 1, 1, now(), now())", [bench_engine.MARKER])
    conn.close()
    dsn = dict(dbname=db, host=args.db_host, port=args.db_port, user=args.db_user)
    generate.generate(dsn, args.partners, 2 * args.partners, 3, args.partners // 20, 20, generate.SEED_DEFAULT)


def start_journeys(registry):
    """What a shop running the addon has: its journeys started, its tiers computed."""
    with odoo_env.environment(registry, commit=True) as env:
        for xmlid in JOURNEYS:
            journey = env.ref(f"smb_journey.{xmlid}")
            if journey.state != "running":
                journey.action_start()
        env["smb.loyalty.tier"].recompute_tiers()


def timed(env, calls, run):
    """(seconds per call, queries per call) of ``run(i)`` for each call, flushed."""
    import odoo.sql_db  # noqa: PLC0415

    env.flush_all()
    env.cr.flush()
    queries0, start = odoo.sql_db.sql_counter, time.perf_counter()
    for i in range(calls):
        run(i)
        env.cr.flush()
    return (time.perf_counter() - start) / calls, (odoo.sql_db.sql_counter - queries0) / calls


def one_round(registry, calls, offset=0):
    """Every operation once on ``registry``'s database, rolled back after
    (so every round can use the same customers)."""
    results = {}
    with odoo_env.environment(registry) as env:  # rolled back at the end
        env = env(context={"tracking_disable": False})
        env.cr.execute("SELECT id FROM res_partner WHERE email LIKE '%%@example.%%' ORDER BY id LIMIT %s OFFSET %s",
                       [4 * calls, offset])
        customers = env["res.partner"].browse([row[0] for row in env.cr.fetchall()])
        if len(customers) < 4 * calls:
            raise SystemExit(f"{4 * calls} generated customers needed: lower --calls or raise --partners")
        products = env["product.product"].search([("sale_ok", "=", True), ("type", "=", "consu")], limit=10)
        website = env["website"].search([], limit=1)

        def order(partner, website_id=False):
            return env["sale.order"].create({
                "partner_id": partner.id, "website_id": website_id,
                "order_line": [(0, 0, {"product_id": p.id, "product_uom_qty": 2}) for p in products[:3]]})

        drafts = [order(p) for p in customers[:calls]]
        confirmed = [order(p) for p in customers[calls:2 * calls]]
        for o in confirmed:
            o.action_confirm()
        invoiced = [order(p) for p in customers[2 * calls:3 * calls]]
        credit_notes = []
        for o in invoiced:
            o.action_confirm()
            invoice = o._create_invoices()
            invoice.action_post()
            credit_notes.append(invoice._reverse_moves())
        carts = [order(p, website.id) for p in customers[3 * calls:4 * calls]]
        env.flush_all()
        env.cr.flush()
        Partner = env["res.partner"]
        tag = str(time.monotonic_ns())

        results["confirm an order"] = timed(env, calls, lambda i: drafts[i].action_confirm())
        results["cancel an order"] = timed(env, calls, lambda i: confirmed[i]._action_cancel())
        results["post a credit note"] = timed(env, calls, lambda i: credit_notes[i].action_post())
        results["create a contact"] = timed(env, calls, lambda i: Partner.create(
            {"name": f"New {tag} {i}", "email": f"new.{tag}.{i}@example.org"}))
        results["create 500 contacts (one call)"] = timed(env, 1, lambda i: Partner.create([
            {"name": f"Bulk {tag} {j}", "email": f"bulk.{tag}.{j}@example.org"} for j in range(500)]))
        results["import 500 contacts (load)"] = timed(env, 1, lambda i: Partner.load(
            ["name", "email"], [[f"Imported {tag} {j}", f"imp.{tag}.{j}@example.org"] for j in range(500)]))
        results["sign up a portal user"] = timed(env, max(calls // 4, 1), lambda i: env["res.users"].with_context(
            no_reset_password=True)._signup_create_user({
                "name": f"Signed {tag} {i}", "login": f"signup.{tag}.{i}@example.org",
                "email": f"signup.{tag}.{i}@example.org"}))

        def cart_update(i):
            carts[i].write({"order_line": [(0, 0, {"product_id": products[4].id, "product_uom_qty": 1})]})
            carts[i].order_line[:1].product_uom_qty += 1

        results["update a website cart"] = timed(env, calls, cart_update)
    return results


def own_statement(registry, calls=1000):
    """ms per call of the one statement the addon adds to a confirmation, a
    cancellation, a credit note or a new contact (``smb.journey.event._enqueue``
    of one record), measured alone, rolled back: what the two-database ratios
    above cannot resolve below the machine's noise."""
    with odoo_env.environment(registry) as env:
        order = env["sale.order"].search([], limit=1)
        Event = env["smb.journey.event"]
        Event._enqueue("order_confirmed", order)  # warm; the cron's wake-up is planted once
        start = time.perf_counter()
        for __ in range(calls):
            Event._enqueue("order_confirmed", order)
        return (time.perf_counter() - start) / calls


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="smbj_hot", help="scratch databases: <db>_without and <db>_with")
    parser.add_argument("--partners", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=30, help="calls of each operation per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep both databases, and reuse them")
    bench_engine.add_connection_args(parser)
    args = parser.parse_args(argv)
    without, with_ = f"{args.db}_without", f"{args.db}_with"
    install(args, without, DEPENDENCIES)
    install(args, with_, "smb_journey")
    registries = {
        db: odoo_env.load_registry(db, db_host=args.db_host, db_port=args.db_port, db_user=args.db_user,
                                   addons_path=args.addons_path)
        for db in (without, with_)
    }
    start_journeys(registries[with_])
    runs = {db: [] for db in registries}
    for r in range(args.rounds):
        order = (without, with_) if r % 2 == 0 else (with_, without)
        for db in order:
            runs[db].append(one_round(registries[db], args.calls))
        print(f"round {r + 1}/{args.rounds} done ({' then '.join(order)})", flush=True)
    print(f"\nResults: {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, {args.partners} generated "
          f"customers, {args.rounds} rounds x {args.calls} calls, median of rounds\n")
    print(f"{'operation':32} {'without ms':>10} {'with ms':>9} {'ratio':>6} {'rounds':>11} {'queries':>15}")
    worst = 0.0
    for name in runs[without][0]:
        base = statistics.median(run[name][0] for run in runs[without])
        addon = statistics.median(run[name][0] for run in runs[with_])
        q0 = statistics.median(run[name][1] for run in runs[without])
        q1 = statistics.median(run[name][1] for run in runs[with_])
        # each round ran both databases back to back: its own ratio shows the noise
        per_round = sorted(w[name][0] / b[name][0] for w, b in zip(runs[with_], runs[without], strict=True))
        worst = max(worst, addon / base)
        print(f"{name:32} {base * 1000:10.1f} {addon * 1000:9.1f} {addon / base:6.2f} "
              f"{per_round[0]:5.2f}-{per_round[-1]:<5.2f} {q0:7.0f} -> {q1:5.0f}")
    print(f"\nRATIO worst operation with / without smb_journey: {worst:.2f} (goal: at most 1.05)")
    statement = own_statement(registries[with_])
    confirm = statistics.median(run["confirm an order"][0] for run in runs[without])
    contact = statistics.median(run["create a contact"][0] for run in runs[without])
    print(f"The addon's own statement (the shop event): {statement * 1000:.3f} ms per call, "
          f"{statement / confirm:.1%} of a confirmation, {statement / contact:.1%} of a contact creation")
    if not args.keep:
        for db in registries:
            bench_engine.close_scratch(argparse.Namespace(**{**vars(args), "db": db}))


if __name__ == "__main__":
    main()
