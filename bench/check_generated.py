#!/usr/bin/env python3
"""Prove that rows written by ``generate.py`` read like ORM-created ones.

For a random sample of generated partners, products, orders and order lines,
every stored, read-only computed field is recomputed by the ORM and compared
with what the generator wrote (amounts, taxes, invoice status, commercial
partner, normalized email, ...). Then an abandoned cart is confirmed and an
order invoiced. Nothing is written: the transaction is rolled back.

Usage::

    python3 bench/check_generated.py --db NAME [--sample 300]
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import odoo_env  # noqa: E402

MODELS = {
    # model: SQL selecting generated ids (generate.py's naming)
    "res.partner": "SELECT id FROM res_partner WHERE email_normalized ~ '\\.[0-9]+@[a-z.]*example\\.(com|org|net)$'",
    "product.template": "SELECT id FROM product_template WHERE default_code LIKE 'BENCH-%%'",
    "product.product": "SELECT id FROM product_product WHERE default_code LIKE 'BENCH-%%'",
    "sale.order": "SELECT id FROM sale_order WHERE name ~ '^SBC?[0-9]{7}$'",
    "sale.order.line": "SELECT l.id FROM sale_order_line l JOIN sale_order o ON o.id = l.order_id"
                       " WHERE o.name ~ '^SBC?[0-9]{7}$'",
}
# computed from the current date: cannot match data dated in the past
SKIP = {
    ("res.partner", "calendar_last_notif_ack"),
    ("product.template", "publish_date"),
}


def _same(field, a, b):
    if field.type in ("float", "monetary"):
        return abs((a or 0.0) - (b or 0.0)) < 1e-6
    return a == b


def check(env, sample=300):
    """Return (problems, notes, summary).

    problems: read-only computed fields whose stored value differs from what
    the ORM computes (the generator is wrong); notes: the same for editable
    computed fields, where a difference is a legitimate choice of the
    generator (e.g. a website order's sales team) rather than an error.
    """
    problems, notes, summary = [], [], []
    for model, query in MODELS.items():
        env.cr.execute(f"SELECT id FROM ({query}) q ORDER BY random() LIMIT %s", [sample])
        ids = [row[0] for row in env.cr.fetchall()]
        records = env[model].browse(ids)
        if not records:
            summary.append(f"{model}: no generated record")
            continue
        fields = [
            f for f in records._fields.values()
            if f.store and f.compute and f.type not in ("binary", "properties") and (model, f.name) not in SKIP
        ]
        env.invalidate_all()
        stored = {f.name: {r.id: r[f.name] for r in records} for f in fields}
        for f in fields:
            env.add_to_compute(f, records)
        mismatches = {}
        for f in fields:
            for record in records:
                value = record[f.name]
                if not _same(f, stored[f.name][record.id], value):
                    mismatches.setdefault(f.name, []).append((record.id, stored[f.name][record.id], value))
        # reading the same records through the usual ORM paths must not fail either
        records.read([name for name, f in records._fields.items() if f.type != "binary"])
        records.mapped("display_name")
        strict = 0
        for fname, rows in sorted(mismatches.items()):
            rid, old, new = rows[0]
            line = (f"{model}.{fname}: {len(rows)}/{len(records)} differ, e.g. id {rid}: "
                    f"stored {old!r}, ORM computes {new!r}")
            if records._fields[fname].readonly:
                problems.append(line)
                strict += 1
            else:
                notes.append(line)
        summary.append(f"{model}: {len(records)} records, {len(fields)} stored computed fields recomputed, "
                       f"{strict} read-only ones differ")
        env.cr.rollback()
        env.invalidate_all()
    problems += _smoke_operations(env, summary)
    return problems, notes, summary


def _smoke_operations(env, summary):
    """Use the generated records as a user would: find abandoned carts,
    confirm one, invoice an order (rolled back)."""
    problems = []
    Order = env["sale.order"]
    generated = [("name", "=like", "SB%")]
    carts = Order.search(generated + [("is_abandoned_cart", "=", True)], limit=1)
    order = Order.search(generated + [("state", "=", "sale")], order="id", limit=1)
    try:
        if carts:
            carts.action_confirm()
        if order:
            invoice = order._create_invoices()
            invoice.action_post()
            if order.currency_id.compare_amounts(invoice.amount_total, order.amount_total):
                problems.append(f"invoice of {order.name}: {invoice.amount_total} != order {order.amount_total}")
        summary.append(f"smoke: {'confirmed cart ' + carts.name if carts else 'no abandoned cart'}, "
                       f"{'invoiced ' + order.name if order else 'no confirmed order'}")
    except Exception as e:  # noqa: BLE001 - reported as a problem of the generated data
        problems.append(f"smoke operations failed: {e!r}")
    env.cr.rollback()
    env.invalidate_all()
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--db-host", default="127.0.0.1")
    parser.add_argument("--db-user", default="odoo")
    parser.add_argument("--addons-path", default=None)
    parser.add_argument("--sample", type=int, default=300)
    args = parser.parse_args(argv)
    registry = odoo_env.load_registry(args.db, db_host=args.db_host, db_user=args.db_user,
                                      addons_path=args.addons_path)
    with odoo_env.environment(registry) as env:
        problems, notes, summary = check(env, args.sample)
    print("\n".join(summary))
    if notes:
        print("Editable computed fields that differ from the ORM default (not errors):\n  " + "\n  ".join(notes))
    if problems:
        print("MISMATCHES:\n  " + "\n  ".join(problems))
        return 1
    print("OK: generated rows match what the ORM computes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
