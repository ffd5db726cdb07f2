#!/usr/bin/env python3
"""A confirmation's loyalty-tier work with 0 and with 100,000 posted credit notes.

The tier of a customer is recomputed when they order, from their confirmed
orders less the credit notes of those orders. This benchmark shows that the
cost of that recompute does not depend on how many credit notes the company
has: it reads the credit notes of the customer's own orders only.

A scratch database (``generate.py``: customers, orders, lines) with
smb_journey installed and its tiers computed. One order is invoiced and
refunded through the ORM; its posted credit note is then cloned in SQL
``--credit-notes`` times (default 100,000), each clone refunding a line of a
random confirmed order, as a shop with years of returns has. Each round
measures, with the clones posted and with them set back to draft (one UPDATE
between the phases, alternating which goes first):

- **confirm + events**: confirming an order (one at a time) and then what the
  events cron does for it (conversions, goals, journey entry, the tier
  recompute of that customer), rolled back;
- **tier query, before**: the spend query as it was written before (its refund
  part read every posted credit note of the company), for the same customer;
- **tier query, now**: the spend query the recompute runs now.

Prints medians in ms and the ratio with / without the credit notes (goal:
about 1.0 for what runs now).

Usage::

    python3 bench/bench_credit_notes.py                    # 2,000 customers, 100,000 credit notes
    python3 bench/bench_credit_notes.py --credit-notes=20000
    python3 bench/bench_credit_notes.py --keep --rounds 5  # keep the database (smbj_bench_credit)
"""

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engine  # noqa: E402
import odoo_env  # noqa: E402

MARK = "BENCHCN"  # the clones' names start with it

OLD_REFUNDS = """
    SELECT sol.order_id, SUM(aml.balance) AS amount
      FROM account_move m
      JOIN account_move_line aml ON aml.move_id = m.id
      JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = aml.id
      JOIN sale_order_line sol ON sol.id = rel.order_line_id
     WHERE m.move_type = 'out_refund' AND m.state = 'posted' AND m.company_id = %(company)s
     GROUP BY sol.order_id
"""


def columns(cr, table, skip):
    cr.execute("""SELECT column_name FROM information_schema.columns
                   WHERE table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position""", [table])
    return [c for (c,) in cr.fetchall() if c not in skip]


def prepare(registry, count):
    """One real credit note through the ORM, cloned ``count`` times in SQL (kept with --keep)."""
    with odoo_env.environment(registry, commit=True) as env:
        cr = env.cr
        cr.execute("SELECT count(*) FROM account_move WHERE name LIKE %s", [MARK + "%"])
        if cr.fetchone()[0] >= count:
            print(f"Reusing {count:,} cloned credit notes")
            return
        env["smb.loyalty.tier"].recompute_tiers()
        order = env["sale.order"].search([("state", "=", "sale")], limit=1)
        for line in order.order_line:
            line.product_id.invoice_policy = "order"
        invoice = order._create_invoices()
        invoice.action_post()
        refund = invoice._reverse_moves()
        refund.action_post()
        env["smb.journey.event"].process_pending()
        env.flush_all()
        start = time.monotonic()
        move_cols = columns(cr, "account_move", {"id", "name"})
        line_cols = columns(cr, "account_move_line", {"id", "move_id"})
        cr.execute("SELECT array_agg(l.id) FROM sale_order_line l JOIN sale_order o ON o.id = l.order_id "
                   "WHERE o.state = 'sale' AND l.display_type IS NULL")
        sol_ids = cr.fetchone()[0]
        cr.execute("""CREATE TEMP TABLE cn AS
                      SELECT g, nextval('account_move_id_seq') AS move_id,
                             (%s::int[])[1 + floor(random() * %s)::int] AS sol_id
                        FROM generate_series(1, %s) g""", [sol_ids, len(sol_ids), count])
        cr.execute(f"""INSERT INTO account_move (id, name, {", ".join(move_cols)})
                       SELECT cn.move_id, %s || '/' || cn.g, {", ".join("t." + c for c in move_cols)}
                         FROM cn, account_move t WHERE t.id = %s""", [MARK, refund.id])
        cr.execute("""CREATE TEMP TABLE cl AS
                      SELECT cn.move_id, cn.sol_id, l.id AS template_id,
                             nextval('account_move_line_id_seq') AS line_id
                        FROM cn, account_move_line l WHERE l.move_id = %s""", [refund.id])
        cr.execute(f"""INSERT INTO account_move_line (id, move_id, {", ".join(line_cols)})
                       SELECT cl.line_id, cl.move_id, {", ".join("l." + c for c in line_cols)}
                         FROM cl JOIN account_move_line l ON l.id = cl.template_id""")
        cr.execute("""INSERT INTO sale_order_line_invoice_rel (order_line_id, invoice_line_id)
                      SELECT DISTINCT cl.sol_id, cl.line_id FROM cl
                       WHERE cl.template_id IN (SELECT invoice_line_id FROM sale_order_line_invoice_rel)""")
        cr.execute("ANALYZE account_move; ANALYZE account_move_line; ANALYZE sale_order_line_invoice_rel")
        print(f"Cloned {count:,} posted credit notes in {time.monotonic() - start:.1f} s", flush=True)


def set_clones(registry, state):
    with odoo_env.environment(registry, commit=True) as env:
        env.cr.execute("UPDATE account_move SET state = %s WHERE name LIKE %s AND state != %s",
                       [state, MARK + "%", state])
        env.cr.execute("ANALYZE account_move")


def one_phase(registry, calls, offset):
    """ms per call of each measurement, everything rolled back."""
    with odoo_env.environment(registry) as env:
        env.cr.execute("SELECT id FROM res_partner WHERE email LIKE '%%@example.%%' ORDER BY id LIMIT %s OFFSET %s",
                       [calls, offset])
        customers = env["res.partner"].browse([row[0] for row in env.cr.fetchall()])
        product = env["product.product"].search([("sale_ok", "=", True)], limit=1)
        drafts = [env["sale.order"].create({"partner_id": c.id, "order_line": [
            (0, 0, {"product_id": product.id, "product_uom_qty": 1})]}) for c in customers]
        env.flush_all()
        Tier = env["smb.loyalty.tier"]
        company = env.company
        tiers = Tier.search([("company_id", "=", company.id)])
        __, windows = tiers._ranked()
        results = {}

        start = time.perf_counter()
        for order in drafts:
            order.action_confirm()
            env["smb.journey.event"].process_pending()
            env.cr.flush()
        results["confirm + events"] = (time.perf_counter() - start) / calls

        sql = Tier._spend_query(company, windows, customers.commercial_partner_id.ids[:1])
        head, rest = sql.code.split("), refunds AS (", 1)
        tail = rest.split("), nets AS (", 1)[1]
        split = head.count("%s")  # the old refund part takes the company after the orders' parameters
        queries = {
            "tier query, before": (head + "), refunds AS (" + OLD_REFUNDS.replace("%(company)s", "%s")
                                   + "), nets AS (" + tail, [*sql.params[:split], company.id, *sql.params[split:]]),
            "tier query, now": (sql.code, sql.params),
        }
        for name, (code, params) in queries.items():
            start = time.perf_counter()
            for __ in range(calls):
                env.cr.execute(code, params)
                env.cr.fetchall()
            results[name] = (time.perf_counter() - start) / calls
    return results


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    credit_notes = 100000
    for arg in list(argv):
        if arg.startswith("--credit-notes="):
            credit_notes = int(arg.split("=", 1)[1])
            argv.remove(arg)
    args = bench_engine.parse_scratch_args(argv, __doc__, db="smbj_bench_credit", rounds=3, partners=2000,
                                           lines_per_order=2, quick=500)
    args.credit_notes = credit_notes
    registry = bench_engine.open_scratch(args)
    try:
        prepare(registry, args.credit_notes)
        runs = {"with": [], "without": []}
        for r in range(args.rounds):
            order = ("with", "without") if r % 2 == 0 else ("without", "with")
            for phase in order:
                set_clones(registry, "posted" if phase == "with" else "draft")
                runs[phase].append(one_phase(registry, 20, offset=40 * r))
            print(f"round {r + 1}/{args.rounds} done", flush=True)
        set_clones(registry, "posted")
        print(f"\nResults: {time.strftime('%Y-%m-%d %H:%M')}, {args.partners:,} customers, "
              f"{args.credit_notes:,} posted credit notes or none, {args.rounds} rounds x 20 calls, medians\n")
        print(f"{'measurement':24} {'none ms':>9} {'100k ms':>9} {'ratio':>6}")
        for name in runs["with"][0]:
            without = statistics.median(run[name] for run in runs["without"]) * 1000
            with_ = statistics.median(run[name] for run in runs["with"]) * 1000
            print(f"{name:24} {without:9.2f} {with_:9.2f} {with_ / without:6.2f}")
    finally:
        bench_engine.close_scratch(args)


if __name__ == "__main__":
    main()
