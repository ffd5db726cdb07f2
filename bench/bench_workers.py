#!/usr/bin/env python3
"""The journey engine drained by one or two cron workers: speed-up, no duplicate, no loss.

On one scratch database (``smbj_scale_workers``) with smb_journey installed
and N generated customers (default 5,000), each mode starts real Odoo
servers in multi-process mode (``odoo-bin --workers=2``), waits until they
are up, then enrols the N customers in a new one-email journey and commits
(that triggers the engine job), and times how long the cron workers take
until no enrollment of that journey is running. The servers are stopped
after each mode. Modes:

- ``1 worker``: one server, ``--max-cron-threads=1``;
- ``2 workers, 1 job``: ``--max-cron-threads=2``, only the shipped engine job
  active (one ir.cron job runs on one worker at a time: no speed-up expected);
- ``2 workers, 2 jobs``: ``--max-cron-threads=2`` and the shipped parallel
  engine job (``smb_journey.ir_cron_journey_engine_parallel``) active;
- ``2 servers, 2 jobs``: two odoo-bin processes on the same database, each
  ``--workers=1 --max-cron-threads=1``, both engine jobs active.

Every other scheduled action of the scratch database is deactivated, so that
the workers run the engine only (the mail queue is never sent). After each
mode, SQL checks: exactly one mail.mail and one mailing.trace per
enrollment, one step log each, no enrollment left running; and how the
emails were split between the two engine jobs (``ir_cron_progress``).

Usage::

    python3 bench/bench_workers.py --keep                    # 5,000 enrollments, 2 rounds
    python3 bench/bench_workers.py --enrollments 2000 --rounds 1 --keep
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engine  # noqa: E402
import odoo_env  # noqa: E402

MODES = {
    # name: (one (workers, max_cron_threads) per server, parallel job active)
    "1 worker": ([(2, 1)], False),
    "2 workers, 1 job": ([(2, 2)], False),
    "2 workers, 2 jobs": ([(2, 2)], True),
    "2 servers, 2 jobs": ([(1, 1), (1, 1)], True),
}
ENGINE_JOBS = ("ir_cron_journey_engine", "ir_cron_journey_engine_parallel")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args, workers, cron_threads, log_path):
    http, gevent = free_port(), free_port()
    cmd = [sys.executable, os.path.join(odoo_env.ODOO_SRC, "odoo-bin"),
           *odoo_env.odoo_args(args.db, db_host=args.db_host, db_port=args.db_port, db_user=args.db_user,
                               addons_path=args.addons_path, log_level="info"),
           f"--db-filter=^{args.db}$", f"--workers={workers}", f"--max-cron-threads={cron_threads}",
           f"--http-port={http}", f"--gevent-port={gevent}", "--limit-time-real-cron=0",
           f"--logfile={log_path}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return proc, http


def wait_up(procs_ports, timeout=120):
    deadline = time.monotonic() + timeout
    for proc, port in procs_ports:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"odoo-bin exited with {proc.returncode} (see the log)")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("odoo-bin did not start in time")
            time.sleep(0.5)
    time.sleep(3)  # cron workers forked and listening


def stop_servers(procs):
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # its own session: the master and its workers
    for proc in procs:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def setup_db(args):
    """Scratch database with N customers; every scheduled action but the engine's off."""
    scratch = argparse.Namespace(**{
        **vars(args), "partners": args.enrollments + args.warmup, "orders": args.enrollments + args.warmup, "lines_per_order": 1,
        "carts": 0, "products": 10, "seed": bench_engine.generate.SEED_DEFAULT, "load_language": None,
    })
    bench_engine.prepare_db(scratch)
    conn = bench_engine.pg_connect(args, args.db)
    with conn.cursor() as cr:
        cr.execute("""UPDATE ir_cron SET active = false WHERE id NOT IN (
                          SELECT res_id FROM ir_model_data WHERE module = 'smb_journey' AND name = ANY(%s))""",
                   [list(ENGINE_JOBS)])
    conn.close()


def set_parallel(args, active):
    conn = bench_engine.pg_connect(args, args.db)
    with conn.cursor() as cr:
        cr.execute("""UPDATE ir_cron SET active = %s WHERE id = (SELECT res_id FROM ir_model_data
                       WHERE module = 'smb_journey' AND name = 'ir_cron_journey_engine_parallel')""", [active])
        if cr.rowcount != 1:
            raise SystemExit("no parallel engine job: update smb_journey on the database (-u smb_journey)")
    conn.close()


def enrol(registry, count, offset=0):
    """A new one-email journey with ``count`` due enrollments, committed."""
    with odoo_env.environment(registry, commit=True) as env:
        journey = bench_engine.make_journey(env, f"Workers bench {time.strftime('%H:%M:%S')}",
                                            bench_engine.engine_body(env))
        partner_ids = bench_engine.bench_partner_ids(env, offset + count)[offset:]
        enrollments = journey.enroll(env["res.partner"].browse(partner_ids))
        env.cr.execute("SELECT now() AT TIME ZONE 'UTC'")
        since = env.cr.fetchone()[0]
        return journey.id, journey.step_ids.mailing_id.id, len(enrollments), since


def running(conn, journey_id):
    with conn.cursor() as cr:
        cr.execute("SELECT count(*) FROM smb_journey_enrollment WHERE journey_id = %s AND state = 'running'",
                   [journey_id])
        return cr.fetchone()[0]


def checks(conn, journey_id, mailing_id, since):
    with conn.cursor() as cr:
        cr.execute("""SELECT (SELECT count(*) FROM smb_journey_enrollment WHERE journey_id = %(j)s),
                             (SELECT count(*) FROM smb_journey_enrollment WHERE journey_id = %(j)s
                                 AND state = 'running'),
                             (SELECT count(*) FROM smb_journey_enrollment WHERE journey_id = %(j)s
                                 AND state = 'error'),
                             (SELECT count(*) FROM mail_mail WHERE mailing_id = %(m)s),
                             (SELECT count(DISTINCT m.res_id) FROM mail_mail mm
                                 JOIN mail_message m ON m.id = mm.mail_message_id WHERE mm.mailing_id = %(m)s),
                             (SELECT count(*) FROM mailing_trace WHERE mass_mailing_id = %(m)s),
                             (SELECT count(DISTINCT res_id) FROM mailing_trace WHERE mass_mailing_id = %(m)s),
                             (SELECT count(*) FROM smb_journey_log l JOIN smb_journey_enrollment e
                                 ON e.id = l.enrollment_id WHERE e.journey_id = %(j)s)""",
                   dict(j=journey_id, m=mailing_id))
        keys = ("enrollments", "running", "error", "mails", "mail_recipients", "traces", "trace_recipients", "logs")
        result = dict(zip(keys, cr.fetchone()))
        # how the emails were split between the engine jobs (progress rows of this run)
        cr.execute("""SELECT d.name, sum(p.done) FROM ir_cron_progress p
                        JOIN ir_model_data d ON d.model = 'ir.cron' AND d.res_id = p.cron_id
                       WHERE p.create_date >= %s AND d.module = 'smb_journey' AND d.name = ANY(%s)
                       GROUP BY d.name ORDER BY d.name""", [since, list(ENGINE_JOBS)])
        result["split"] = {name.replace("ir_cron_journey_", ""): int(done) for name, done in cr.fetchall()}
        # busy time: from the first engine run after the commit to the last step logged
        cr.execute("""SELECT EXTRACT(EPOCH FROM (SELECT max(l.create_date) FROM smb_journey_log l
                                                   JOIN smb_journey_enrollment e ON e.id = l.enrollment_id
                                                  WHERE e.journey_id = %s)
                                          - (SELECT min(create_date) FROM ir_cron_progress WHERE create_date >= %s))""",
                   [journey_id, since])
        result["busy"] = float(cr.fetchone()[0] or 0)
    return result


def drain(conn, journey_id, timeout):
    """Seconds until no enrollment of the journey is running (polled)."""
    start = time.monotonic()
    while running(conn, journey_id):
        if time.monotonic() - start > timeout:
            print(f"  still running after {timeout}s")
            break
        time.sleep(0.2)
    return time.monotonic() - start


def run_mode(args, registry, name, log_dir):
    servers, parallel = MODES[name]
    set_parallel(args, parallel)
    procs = []
    try:
        for i, (workers, cron_threads) in enumerate(servers):
            procs.append(start_server(args, workers, cron_threads,
                                      os.path.join(log_dir, f"{name.replace(' ', '_').replace(',', '')}_{i}.log")))
        wait_up(procs)
        conn = bench_engine.pg_connect(args, args.db)
        # warm-up: the cron workers load the registry when they first take a job
        warm_id = enrol(registry, args.warmup, offset=args.enrollments)[0]
        drain(conn, warm_id, args.timeout)
        journey_id, mailing_id, enrolled, since = enrol(registry, args.enrollments)
        seconds = drain(conn, journey_id, args.timeout)
    finally:
        stop_servers([p for p, __ in procs])
    result = dict(checks(conn, journey_id, mailing_id, since), seconds=seconds, enrolled=enrolled)
    conn.close()
    result["ok"] = (result["running"] == 0 and result["error"] == 0
                    and result["mails"] == result["mail_recipients"] == enrolled
                    and result["traces"] == result["trace_recipients"] == enrolled and result["logs"] == enrolled)
    print(f"  {name}: {enrolled} due drained in {seconds:.1f}s from the commit, {result['busy']:.1f}s from "
          f"the first engine run to the last email ({enrolled / result['busy']:.0f} emails/s); "
          f"mails {result['mails']} ({result['mail_recipients']} recipients), traces {result['traces']}, "
          f"logs {result['logs']}, running {result['running']}, errors {result['error']}; "
          f"split by job {result['split']}: {'OK' if result['ok'] else 'FAILED'}", flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="smbj_scale_workers")
    parser.add_argument("--enrollments", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=500, help="enrollments drained first, not measured")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--timeout", type=int, default=600, help="seconds before a mode is declared stuck")
    parser.add_argument("--keep", action="store_true", help="keep the database, and reuse it")
    parser.add_argument("--log-dir", default="/tmp", help="odoo-bin logs of each mode")
    bench_engine.add_connection_args(parser)
    args = parser.parse_args(argv)
    if not args.db.startswith("smbj_"):
        raise SystemExit("--db must start with smbj_")
    started = time.strftime("%Y-%m-%d %H:%M")
    status = 0
    try:
        setup_db(args)
        registry = odoo_env.load_registry(args.db, db_host=args.db_host, db_port=args.db_port,
                                          db_user=args.db_user, addons_path=args.addons_path)
        runs = {name: [] for name in args.modes}
        for round_no in range(args.rounds):
            order = args.modes if round_no % 2 == 0 else list(reversed(args.modes))
            print(f"Round {round_no + 1}/{args.rounds}", flush=True)
            for name in order:
                runs[name].append(run_mode(args, registry, name, args.log_dir))
        print(f"\nResults: {started}, {os.cpu_count()} CPUs, {args.enrollments} due enrollments of a one-email "
              f"journey, {args.rounds} round(s), median\n")
        base = statistics.median(r["busy"] for r in runs[args.modes[0]])
        base_wall = statistics.median(r["seconds"] for r in runs[args.modes[0]])
        print("busy: first engine run to last email; wall: commit of the enrollments to none running\n")
        print(f"{'mode':22}{'busy s':>8}{'emails/s':>10}{'speed-up':>10}{'wall s':>8}{'speed-up':>10}  checks")
        for name, results in runs.items():
            busy = statistics.median(r["busy"] for r in results)
            wall = statistics.median(r["seconds"] for r in results)
            ok = all(r["ok"] for r in results)
            status |= not ok
            print(f"{name:22}{busy:>8.1f}{args.enrollments / busy:>10.0f}{base / busy:>10.2f}"
                  f"{wall:>8.1f}{base_wall / wall:>10.2f}  "
                  f"{'OK' if ok else 'FAILED'}: one mail, one trace, one log per enrollment, none left running; "
                  f"split {[r['split'] for r in results]}")
    finally:
        bench_engine.close_scratch(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
