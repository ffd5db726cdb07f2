#!/usr/bin/env python3
"""Emails queued per second: the journey engine against Odoo's mass_mailing.

In one run, on one scratch database with smb_journey installed and N generated
customers (``generate.py``):

(a) engine: a running journey with a single email step and N due
    enrollments; time for the engine's cron method to queue every email
    (``smb.journey.enrollment._cron_process()`` called until nothing is due,
    committing each batch as the cron does);
(b) baseline: a ``mailing.mailing`` on the same N partners with the same
    subject and body, queued by ``action_send_mail()`` (the mass-mail
    composer);
(c) floor, after each engine phase: the engine's own rows (mail_message,
    mail_mail, mailing_trace, step log) inserted again set-based, one
    ``INSERT ... SELECT FROM unnest`` per table, timed and rolled back.

Both only queue ``mail.mail`` records; nothing is sent (no server runs, so the
mail cron never fires). Prints emails queued, seconds and emails/s for each,
the throughput ratio engine / mass_mailing and the ratio of the engine's
seconds to the floor's.

Usage::

    python3 bench/bench_engine.py                 # 10,000 partners, scratch DB dropped after
    python3 bench/bench_engine.py --quick         # 1,000 partners, smoke test
    python3 bench/bench_engine.py --keep          # keep (and reuse next time) the scratch DB
"""

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent))

import check_generated  # noqa: E402
import generate  # noqa: E402
import odoo_env  # noqa: E402

MARKER = "smb_journey_bench.scratch"  # ir.config_parameter set on databases this script created

SUBJECT = "Our spring selection is here"
# The same HTML for both; only the placeholder syntax differs (the engine's
# sandboxed Jinja vs mass_mailing's QWeb). It carries its own unsubscribe link,
# so the engine adds no footer of its own; what each wraps around it is said in
# bench/README.md (mass_mailing: its mail layout and stylesheet).
BODY = """<div style="max-width:600px;margin:0 auto;font-family:Arial,sans-serif;color:#333333;">
  <p style="text-align:center;"><img src="{base}/logo.png" alt="Our shop" style="height:48px;"/></p>
  <h1 style="font-size:24px;">Hello {name},</h1>
  <p>Spring is here, and so is our new selection: lighter fabrics, fresh colours and
  a few favourites back in stock. We picked a handful of items we think you will like.</p>
  <table style="width:100%;border-collapse:collapse;">
    <tr>
      <td style="padding:8px;"><a href="{base}/shop/category/new-arrivals">New arrivals</a></td>
      <td style="padding:8px;"><a href="{base}/shop/category/best-sellers">Best sellers</a></td>
      <td style="padding:8px;"><a href="{base}/shop/category/sale">On sale</a></td>
    </tr>
  </table>
  <p style="text-align:center;margin:24px 0;">
    <a href="{base}/shop" style="background:#875a7b;color:#ffffff;padding:12px 24px;
       border-radius:4px;text-decoration:none;">Visit the shop</a>
  </p>
  <p>Free delivery on orders over 50, and returns are free for 30 days.</p>
  <p>See you soon,<br/>The team</p>
  <p style="font-size:11px;color:#888888;">You receive this email as a customer of our shop.
  <a href="{base}/unsubscribe_from_list">Unsubscribe</a></p>
</div>"""
ENGINE_NAME = "{{ customer.name }}"
MAILING_NAME = '<t t-out="object.name"/>'
EMAIL_FROM = '"Bench Shop" <shop@example.com>'


# --------------------------------------------------------------------------
# Scratch database
# --------------------------------------------------------------------------


def pg_connect(args, dbname="postgres"):
    conn = psycopg2.connect(dbname=dbname, host=args.db_host, port=args.db_port, user=args.db_user)
    conn.autocommit = True
    return conn


def db_state(args):
    """(exists, is_bench_scratch, smb_journey_installed)"""
    with pg_connect(args) as conn, conn.cursor() as cr:
        cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db])
        if not cr.fetchone():
            return False, False, False
    conn.close()
    conn = pg_connect(args, args.db)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT to_regclass('ir_config_parameter') IS NOT NULL")
            if not cr.fetchone()[0]:
                return True, False, False
            cr.execute("SELECT value FROM ir_config_parameter WHERE key = %s", [MARKER])
            marked = bool(cr.fetchone())
            cr.execute("SELECT state FROM ir_module_module WHERE name = 'smb_journey'")
            row = cr.fetchone()
            return True, marked, bool(row and row[0] == "installed")
    finally:
        conn.close()


def drop_db(args):
    conn = pg_connect(args)
    try:
        with conn.cursor() as cr:
            cr.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    finally:
        conn.close()


def install_db(args):
    cmd = [sys.executable, os.path.join(odoo_env.ODOO_SRC, "odoo-bin"),
           *odoo_env.odoo_args(args.db, db_host=args.db_host, db_port=args.db_port, db_user=args.db_user,
                               addons_path=args.addons_path),
           "-i", "smb_journey", "--stop-after-init"]
    if args.load_language:
        cmd.append(f"--load-language={args.load_language}")
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    problems = [line for line in proc.stderr.splitlines() + proc.stdout.splitlines()
                if (" ERROR " in line or " CRITICAL " in line or ("WARNING" in line and "smb_journey" in line))]
    if proc.returncode or any(" ERROR " in p or " CRITICAL " in p for p in problems):
        sys.stdout.write(proc.stdout[-5000:] + proc.stderr[-8000:])
        drop_db(args)  # it did not exist before: odoo-bin created it
        raise SystemExit(f"installing smb_journey failed (exit code {proc.returncode}): {' '.join(cmd)}")
    for line in problems:
        print(f"  install: {line}")
    conn = pg_connect(args, args.db)
    try:
        with conn.cursor() as cr:
            cr.execute(
                "INSERT INTO ir_config_parameter (key, value, create_uid, write_uid, create_date, write_date)"
                " VALUES (%s, '1', 1, 1, now(), now())", [MARKER])
    finally:
        conn.close()
    return elapsed


def add_data_args(parser, partners, lines_per_order, quick):
    """Options of the generated data, shared by the benchmarks."""
    parser.add_argument("--partners", type=int, default=partners)
    parser.add_argument("--orders", type=int, default=None, help="generated orders (default: 2 x partners)")
    parser.add_argument("--lines-per-order", type=int, default=lines_per_order)
    parser.add_argument("--carts", type=int, default=None, help="generated carts (default: partners / 20)")
    parser.add_argument("--products", type=int, default=50)
    parser.add_argument("--seed", type=int, default=generate.SEED_DEFAULT)
    parser.add_argument("--quick", action="store_true", help=f"smoke test with {quick:,} partners")
    parser.add_argument("--keep", action="store_true", help="keep the database, and reuse it if it exists")
    parser.add_argument("--load-language", default=None, help="e.g. fr_FR,de_DE: customers get these languages")


def parse_scratch_args(argv, doc, db, rounds, partners=100000, lines_per_order=5, quick=5000):
    """The command line of a benchmark on a generated scratch database."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--db", default=db, help=f"scratch database (default: {db})")
    add_data_args(parser, partners=partners, lines_per_order=lines_per_order, quick=quick)
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--no-warmup", action="store_true",
                        help="skip the warm-up round (its first measured round then pays for cold caches)")
    add_connection_args(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.partners = quick
    return args


def add_connection_args(parser):
    """Database and addons options shared by the benchmarks."""
    parser.add_argument("--db-host", default="127.0.0.1")
    parser.add_argument("--db-port", type=int, default=5432)
    parser.add_argument("--db-user", default="odoo")
    parser.add_argument("--addons-path", default=None)


def open_scratch(args):
    """Install (or reuse, with --keep) the scratch database, fill it, return its registry."""
    prepare_db(args)
    return odoo_env.load_registry(args.db, db_host=args.db_host, db_port=args.db_port,
                                  db_user=args.db_user, addons_path=args.addons_path)


def print_data_summary(registry):
    """One line on what the scratch database holds."""
    with odoo_env.environment(registry) as env:
        env.cr.execute("""SELECT (SELECT count(*) FROM res_partner),
                                 (SELECT count(*) FROM sale_order WHERE state = 'sale'),
                                 (SELECT count(*) FROM sale_order_line l JOIN sale_order o ON o.id = l.order_id
                                   WHERE o.state = 'sale')""")
        partners, orders, lines = env.cr.fetchone()
    print(f"Data: {partners} partners, {orders} confirmed orders, {lines} confirmed order lines", flush=True)


def close_scratch(args):
    """Release the registry and drop the scratch database unless --keep."""
    try:
        from odoo.modules.registry import Registry  # noqa: PLC0415
        from odoo.sql_db import close_db  # noqa: PLC0415
        Registry.delete(args.db)
        close_db(args.db)
    except Exception:  # noqa: BLE001, S110 - Odoo may not be loaded yet
        pass
    if not args.keep and db_state(args)[1]:
        drop_db(args)
        print(f"Dropped {args.db} (use --keep to keep it)")


def count_bench_partners(args):
    conn = pg_connect(args, args.db)
    try:
        with conn.cursor() as cr:
            cr.execute(check_generated.MODELS["res.partner"].replace("SELECT id", "SELECT count(*)", 1))
            return cr.fetchone()[0]
    finally:
        conn.close()


def prepare_db(args):
    exists, marked, installed = db_state(args)
    if exists and not marked:
        raise SystemExit(f"database {args.db} exists and was not created by this benchmark: "
                         "choose another --db, or drop it yourself")
    if exists and not args.keep:
        print(f"Dropping the stale scratch database {args.db}")
        drop_db(args)
        exists = installed = False
    if exists and not installed:
        drop_db(args)
        exists = False
    if not exists:
        print(f"Installing smb_journey on a new database {args.db} ...", flush=True)
        print(f"  installed in {install_db(args):.0f}s")
    else:
        print(f"Reusing {args.db} (--keep)")
    have = count_bench_partners(args)
    if have < args.partners:
        dsn = dict(dbname=args.db, host=args.db_host, port=args.db_port, user=args.db_user)
        missing = args.partners - have
        generate.generate(dsn, missing, args.orders if args.orders is not None else 2 * missing,
                          args.lines_per_order, args.carts if args.carts is not None else missing // 20,
                          args.products, args.seed + have)
    else:
        print(f"  {have} generated partners already there")


# --------------------------------------------------------------------------
# Measures
# --------------------------------------------------------------------------


class Measure:
    """Wall time, Python CPU time and SQL queries of a block."""

    def __init__(self, profile=False):
        self.profiler = cProfile.Profile() if profile else None

    def __enter__(self):
        import odoo.sql_db  # noqa: PLC0415
        self._sql = odoo.sql_db
        self.queries0 = odoo.sql_db.sql_counter
        self.cpu0 = time.process_time()
        if self.profiler:
            self.profiler.enable()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        if self.profiler:
            self.profiler.disable()
        self.cpu = time.process_time() - self.cpu0
        self.queries = self._sql.sql_counter - self.queries0

    def profile_report(self, top=30):
        if not self.profiler:
            return ""
        out = io.StringIO()
        stats = pstats.Stats(self.profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        return out.getvalue()


def bench_partner_ids(env, limit):
    env.cr.execute(check_generated.MODELS["res.partner"] + " ORDER BY id LIMIT %s", [limit])
    return [row[0] for row in env.cr.fetchall()]


def make_journey(env, name, body, recommendation_count=None, timing=False):
    """A running journey with one email step; with ``timing``, an A/B split
    whose two variants are that email (each customer gets one of them),
    under the company's quiet hours and frequency cap (see enable_timing)."""
    step = {
        "name": "Spring selection",
        "step_type": "email",
        "subject": SUBJECT,
        "body_html": body,
        "email_from": EMAIL_FROM,
    }
    if recommendation_count is not None:
        step["recommendation_count"] = recommendation_count
    journey = env["smb.journey"].create({
        "name": name,
        "trigger": "manual",
        # a benchmark enrols thousands at once: the volume guard would hold them
        "volume_limit": 0,
        "step_ids": [(0, 0, {"name": "Which email", "step_type": "split", "split_count": 2,
                             "split_weight_a": 50, "split_weight_b": 50})] if timing else [(0, 0, step)],
    })
    if timing:
        split = journey.step_ids
        env["smb.journey.step"].create([
            dict(step, journey_id=journey.id, parent_id=split.id, branch=variant, name=f"{step['name']} {variant}")
            for variant in ("a", "b")])
    journey.action_start()
    return journey


def enable_timing(env):
    """Quiet hours and the frequency cap on (the shipped rules: 1 email per
    16 h, 3 per 7 days), so that every email passes both gates. The quiet
    window is one minute at 03:00: the gates do all their work (a timezone
    and a ledger row per customer) and hold nobody back, so both phases
    queue the same emails."""
    env.company.write({"smb_quiet_hours": True, "smb_quiet_start": 3.0, "smb_quiet_end": 3.0 + 1 / 60,
                       "smb_frequency_cap": True})


def run_engine(registry, entry, max_calls, durations=None):
    """Run the engine until nothing is due; returns the number of cron calls.
    ``durations`` collects the seconds each call took."""
    calls = 0
    while True:
        with odoo_env.environment(registry, commit=True) as env:
            Enrollment = env["smb.journey.enrollment"]
            if not Enrollment.search_count(Enrollment._due_domain()):
                return calls
            start = time.perf_counter()
            if entry == "cron":
                # the cron's own method: one batch, committed with _commit_progress
                Enrollment._cron_process()
            elif entry == "run_engine":
                Enrollment.run_engine()
            else:  # the real cron runner (ir.cron._process_job), as a cron worker runs it
                env.ref("smb_journey.ir_cron_journey_engine").method_direct_trigger()
            calls += 1
            if durations is not None:
                durations.append(time.perf_counter() - start)
            if calls > max_calls:
                raise SystemExit(f"engine still has due enrollments after {calls} calls: stuck?")


def engine_batch_size():
    from odoo.addons.smb_journey.models.smb_journey_enrollment import BATCH_SIZE  # noqa: PLC0415
    return BATCH_SIZE


def engine_body(env):
    return BODY.format(base=env["ir.config_parameter"].get_param("web.base.url"), name=ENGINE_NAME)


def mailing_vals(env, name, partner_ids):
    body = BODY.format(base=env["ir.config_parameter"].get_param("web.base.url"), name=MAILING_NAME)
    return {
        "name": name,
        "subject": SUBJECT,
        "body_arch": body,
        "body_html": body,
        "mailing_type": "mail",
        "mailing_model_id": env["ir.model"]._get_id("res.partner"),
        "mailing_domain": repr([("id", "in", partner_ids)]),
        "email_from": EMAIL_FROM,
    }


def warm_up(registry, args, warmup_ids):
    """Run both paths once on a few partners, so that neither measured phase
    pays for cold caches (registry, templates, link trackers)."""
    with odoo_env.environment(registry, commit=True) as env:
        if args.timing:
            enable_timing(env)
        else:  # a database kept from a --timing run
            env.company.write({"smb_quiet_hours": False, "smb_frequency_cap": False})
        journey = make_journey(env, "Bench warm-up", engine_body(env), args.recommendation_count, args.timing)
        journey.enroll(env["res.partner"].browse(warmup_ids))
        mailing_id = env["mailing.mailing"].create(mailing_vals(env, "Bench warm-up", warmup_ids)).id
    run_engine(registry, args.engine_entry, 10_000)
    with odoo_env.environment(registry, commit=True) as env:
        env["mailing.mailing"].browse(mailing_id).action_send_mail()


def phase_engine(registry, args, partner_ids, label):
    with odoo_env.environment(registry, commit=True) as env:
        if args.timing:
            # each round mails the same customers: forget the last round's
            # sends, or the cap (1 per 16 h) would rightly hold them all back;
            # their ledger rows are made again, the cost of a first email
            env.cr.execute("DELETE FROM smb_journey_send_ledger")
        journey = make_journey(env, f"Bench engine {label}", engine_body(env), args.recommendation_count,
                               args.timing)
        journey_id, mailing_id = journey.id, journey.step_ids.mailing_id.ids
    with odoo_env.environment(registry, commit=True) as env, Measure() as enroll:
        journey = env["smb.journey"].browse(journey_id)
        nb_enrolled = len(journey.enroll(env["res.partner"].browse(partner_ids)))

    durations = []
    with Measure(args.profile) as m:
        calls = run_engine(registry, args.engine_entry, 100_000, durations)

    with odoo_env.environment(registry) as env:
        states = dict(env["smb.journey.enrollment"]._read_group(
            [("journey_id", "=", journey_id)], ["state"], ["__count"]))
        outcomes = dict(env["smb.journey.log"]._read_group(
            [("enrollment_id.journey_id", "=", journey_id)], ["outcome"], ["__count"]))
        errors = env["smb.journey.enrollment"].search(
            [("journey_id", "=", journey_id), ("state", "=", "error")], limit=3).mapped("error_message")
        result = dict(
            _queued(env, mailing_id), name="smb_journey engine", seconds=m.seconds, cpu=m.cpu,
            queries=m.queries, calls=calls, profile=m.profile_report(),
            batch=env["ir.config_parameter"].get_param("smb_journey.batch_size", f"{engine_batch_size()} (default)"),
            journey_id=journey_id, mailing_id=mailing_id,
        )
    # mean seconds per call over each fifth of the run: shows whether batches get slower
    fifths = [durations[len(durations) * i // 5:len(durations) * (i + 1) // 5] for i in range(5)]
    trend = " ".join(f"{sum(f) / len(f):.2f}" for f in fifths if f)
    print(f"  engine: enrolled {nb_enrolled} in {enroll.seconds:.1f}s ({enroll.queries} queries); "
          f"queued {result['mails']} emails in {m.seconds:.1f}s, {calls} calls "
          f"(mean s per call, by fifths of the run: {trend}); enrollments {states}; log {outcomes}", flush=True)
    for message in errors:
        print(f"  ERROR on an enrollment: {message}")
    return result


# the rows one email leaves, in insertion order: (table, {column: (table it points to, column there)})
FLOOR_TABLES = [
    ("mail_message", {}),
    ("mail_mail", {"mail_message_id": "mail_message"}),
    ("mailing_trace", {"mail_mail_id": "mail_mail", "mail_mail_id_int": "mail_mail"}),
    ("smb_journey_log", {"mailing_trace_id": "mailing_trace"}),
]


def phase_floor(registry, journey_id, mailing_id):
    """The set-based floor: the rows the engine just wrote for ``journey_id``
    (its mail_message, mail_mail, mailing_trace and step log rows, bodies
    rendered and links shortened) inserted again, one ``INSERT ... SELECT
    FROM unnest(...)`` per table with ids drawn from the sequences first;
    timed, then rolled back. No ORM, no Python per row: what the database
    needs to store the same emails."""
    with odoo_env.environment(registry) as env:  # rolled back
        cr = env.cr
        cr.execute("SELECT id, mail_message_id FROM mail_mail WHERE mailing_id = ANY(%s) ORDER BY id",
                   [_ids(mailing_id)])
        mail_ids, message_ids = map(list, zip(*cr.fetchall()))
        cr.execute("SELECT id FROM mailing_trace WHERE mail_mail_id = ANY(%s) ORDER BY mail_mail_id", [mail_ids])
        trace_ids = [row[0] for row in cr.fetchall()]
        cr.execute("""SELECT l.id FROM smb_journey_log l JOIN smb_journey_enrollment e ON e.id = l.enrollment_id
                       WHERE e.journey_id = %s AND l.mailing_trace_id = ANY(%s)""", [journey_id, trace_ids])
        log_ids = [row[0] for row in cr.fetchall()]
        source_ids = {"mail_message": message_ids, "mail_mail": mail_ids, "mailing_trace": trace_ids,
                      "smb_journey_log": log_ids}
        data = {}
        for table, __ in FLOOR_TABLES:
            cr.execute("""SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                           WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
                             AND a.attname != 'id' ORDER BY a.attnum""", [table])
            columns = cr.fetchall()
            # every column read as text, cast back on insert: one array per column
            selected = ", ".join(f'"{name}"::text' for name, __ in columns)
            cr.execute(f"SELECT id, {selected} FROM {table} WHERE id = ANY(%s) ORDER BY id", [source_ids[table]])
            rows = cr.fetchall()
            data[table] = (columns, rows)
        # the unique "step ran once" index would refuse the copies: the originals go first (untimed)
        cr.execute("DELETE FROM smb_journey_log WHERE id = ANY(%s)", [log_ids])
        n = len(mail_ids)
        with Measure() as m:
            new_ids = {}  # table -> {old id: new id}
            for table, refs in FLOOR_TABLES:
                columns, rows = data[table]
                cr.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [f"{table}_id_seq", len(rows)])
                new_ids[table] = dict(zip((row[0] for row in rows), (r[0] for r in cr.fetchall())))
                arrays = [[new_ids[table][row[0]] for row in rows]]
                for i, (name, __) in enumerate(columns, start=1):
                    if name in refs:
                        mapping = new_ids[refs[name]]
                        arrays.append([str(mapping[int(row[i])]) if row[i] is not None else None for row in rows])
                    else:
                        arrays.append([row[i] for row in rows])
                names = ", ".join(f'"{name}"' for name, __ in columns)
                casts = ", ".join(f"c{i}::{type_}" for i, (__, type_) in enumerate(columns, start=1))
                aliases = ", ".join(f"c{i}" for i in range(len(columns) + 1))
                cr.execute(
                    f"INSERT INTO {table} (id, {names}) SELECT c0, {casts}"
                    f" FROM unnest(%s::int[], {', '.join(['%s::text[]'] * len(columns))}) AS u({aliases})",
                    arrays)
        counts = {table: len(data[table][1]) for table, __ in FLOOR_TABLES}
    print(f"  floor: inserted the same {n} emails set-based in {m.seconds:.2f}s ({counts})", flush=True)
    return dict(name="set-based floor", mails=n, outgoing=n, traces=counts["mailing_trace"], seconds=m.seconds,
                cpu=m.cpu, queries=m.queries, calls=1, profile="", batch="-", body_len=0, sample_ok=True)


def phase_mailing(registry, args, partner_ids, label):
    with odoo_env.environment(registry, commit=True) as env:
        mailing_id = env["mailing.mailing"].create(mailing_vals(env, f"Bench mass_mailing {label}", partner_ids)).id

    with Measure(args.profile) as m, odoo_env.environment(registry, commit=True) as env:
        env["mailing.mailing"].browse(mailing_id).action_send_mail()

    with odoo_env.environment(registry) as env:
        trace_states = dict(env["mailing.trace"]._read_group(
            [("mass_mailing_id", "=", mailing_id)], ["trace_status"], ["__count"]))
        result = dict(
            _queued(env, mailing_id), name="mass_mailing", seconds=m.seconds, cpu=m.cpu, queries=m.queries,
            calls=1, profile=m.profile_report(),
            batch=env["ir.config_parameter"].get_param("mail.batch_size", "50 (default)"),
        )
    print(f"  mass_mailing: queued {result['mails']} emails in {m.seconds:.1f}s; traces {trace_states}", flush=True)
    return result


def _ids(mailing_id):
    """A mailing id or a list of them (a split's emails), as a list."""
    return list(mailing_id) if isinstance(mailing_id, (list, tuple)) else [mailing_id]


def _queued(env, mailing_id):
    """What a phase left in the mail queue, and a check of one email."""
    env.cr.execute("SELECT avg(length(body_html))::int FROM mail_mail WHERE mailing_id = ANY(%s)", [_ids(mailing_id)])
    body_len = env.cr.fetchone()[0] or 0
    mails = env["mail.mail"].search([("mailing_id", "in", _ids(mailing_id))])
    return dict(
        mails=len(mails),
        outgoing=len(mails.filtered(lambda m: m.state == "outgoing")),
        traces=env["mailing.trace"].search_count([("mass_mailing_id", "in", _ids(mailing_id))]),
        body_len=body_len,
        sample_ok=bool(mails) and partner_name_in(mails[:1]),
    )


def partner_name_in(mail):
    """The personalisation was rendered (the recipient's name is in the body)."""
    partner = mail.env["res.partner"].browse(mail.res_id) if mail.model == "res.partner" else None
    return bool(partner and partner.name and partner.name in (mail.body_html or ""))


def summarize(name, runs):
    """One row of the table from the rounds of one phase (means over rounds)."""
    n = len(runs)
    total_mails = sum(r["mails"] for r in runs)
    total_seconds = sum(r["seconds"] for r in runs)
    return dict(
        name=name, mails=total_mails // n, outgoing=sum(r["outgoing"] for r in runs) // n,
        traces=sum(r["traces"] for r in runs) // n, seconds=total_seconds / n,
        rate=total_mails / total_seconds if total_seconds else 0.0,
        rates=[r["mails"] / r["seconds"] for r in runs if r["seconds"]],
        cpu=sum(r["cpu"] for r in runs) / n, queries=sum(r["queries"] for r in runs) // n,
        body_len=runs[0]["body_len"], sample_ok=all(r["sample_ok"] for r in runs), batch=runs[0]["batch"],
    )


def print_table(rows_data):
    rows = [("", "emails queued", "seconds", "emails/s", "python CPU s", "SQL queries", "queries/email")]
    for r in rows_data:
        rows.append((r["name"], str(r["mails"]), f"{r['seconds']:.1f}", f"{r['rate']:.0f}",
                     f"{r['cpu']:.1f}", str(r["queries"]), f"{r['queries'] / max(r['mails'], 1):.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(widths[j]) if j == 0 else cell.rjust(widths[j]) for j, cell in enumerate(row)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="smbj_bench", help="scratch database (default: smbj_bench)")
    add_data_args(parser, partners=10000, lines_per_order=3, quick=1000)
    parser.add_argument("--engine-entry", choices=["cron", "run_engine", "ir_cron"], default="cron",
                        help="cron: call _cron_process() until nothing is due (default); run_engine: the "
                        "one-transaction API; ir_cron: the real cron runner (method_direct_trigger)")
    parser.add_argument("--recommendation-count", type=int, default=None,
                        help="set on the email step (default: the step's own default); the body does not use them")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure each phase this many times, alternating which goes first")
    parser.add_argument("--profile", action="store_true", help="cProfile both measured phases, print top functions")
    parser.add_argument("--timing", action="store_true",
                        help="the engine's journey is an A/B split of the email, under quiet hours and the "
                        "frequency cap (both turned on in the company)")
    add_connection_args(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.partners = 1000

    started = time.strftime("%Y-%m-%d %H:%M")
    status = 0
    try:
        registry = open_scratch(args)
        with odoo_env.environment(registry) as env:
            problems, __, summary = check_generated.check(env, 200)
            partner_ids = bench_partner_ids(env, args.partners)
        if problems:
            raise SystemExit("generated data does not match the ORM:\n  " + "\n  ".join(problems))
        print(f"Generated data checked with the ORM ({'; '.join(s.split(',')[0] for s in summary)}): OK")
        if len(partner_ids) < args.partners:
            raise SystemExit(f"only {len(partner_ids)} generated partners in {args.db}")
        warm_up(registry, args, partner_ids[:50])

        runs = {"engine": [], "mailing": [], "floor": []}
        for round_no in range(1, args.rounds + 1):
            label = f"{round_no}/{args.rounds} {time.strftime('%H:%M:%S')}"
            print(f"\nRound {label}: {args.partners} partners, engine entry point '{args.engine_entry}'", flush=True)
            # alternate which phase goes first, so that neither always runs on a fresher database
            order = ["engine", "mailing"] if round_no % 2 else ["mailing", "engine"]
            for phase in order:
                fn = phase_engine if phase == "engine" else phase_mailing
                runs[phase].append(fn(registry, args, partner_ids, label))
                if phase == "engine":
                    # the same rows, set-based, right after the engine wrote them
                    runs["floor"].append(phase_floor(registry, runs["engine"][-1]["journey_id"],
                                                     runs["engine"][-1]["mailing_id"]))

        engine = summarize("smb_journey engine", runs["engine"])
        mailing = summarize("mass_mailing", runs["mailing"])
        floor = summarize("set-based floor", runs["floor"])
        ratio = engine["rate"] / mailing["rate"] if mailing["rate"] else float("nan")
        floor_ratio = engine["seconds"] / floor["seconds"] if floor["seconds"] else float("nan")
        print(f"\nResults: {started}, {os.cpu_count()} CPUs, {args.partners} partners, {args.rounds} round(s), "
              f"engine entry '{args.engine_entry}'{', A/B split + quiet hours + frequency cap' if args.timing else ''}, "
              f"batch sizes: engine {engine['batch']}, "
              f"mass_mailing (mail.batch_size) {mailing['batch']}\n")
        print_table([engine, mailing, floor])
        print(f"\nRATIO engine / mass_mailing (emails per second): {ratio:.2f}")
        print(f"RATIO engine / set-based floor (seconds for the same emails): {floor_ratio:.2f}"
              + (" (per round: " + ", ".join(f"{e['seconds'] / f['seconds']:.2f}" for e, f in zip(
                  runs["engine"], runs["floor"])) + ")" if args.rounds > 1 else ""))
        if args.rounds > 1:
            print("emails/s per round: " + "; ".join(
                f"{r['name']} " + ", ".join(f"{x:.0f}" for x in r["rates"]) for r in (engine, mailing)))
        print(f"checks: mail.mail in the queue (state outgoing) engine {engine['outgoing']}, "
              f"mass_mailing {mailing['outgoing']}; mailing.trace engine {engine['traces']}, "
              f"mass_mailing {mailing['traces']}; recipient's name rendered: engine {engine['sample_ok']}, "
              f"mass_mailing {mailing['sample_ok']}; average body_html length: engine {engine['body_len']}, "
              f"mass_mailing {mailing['body_len']} chars")
        failed = [r["name"] for r in (engine, mailing) if r["mails"] != args.partners]
        if failed:
            print(f"FAILED: {', '.join(failed)} did not queue exactly {args.partners} emails per round")
            status = 1
        if args.profile:
            for phase, label in (("engine", "smb_journey engine"), ("mailing", "mass_mailing")):
                print(f"\n===== cProfile: {label} (round 1) =====\n{runs[phase][0]['profile']}")
    finally:
        close_scratch(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
