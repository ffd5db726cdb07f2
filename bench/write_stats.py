"""What a block of work writes to PostgreSQL: row versions and WAL.

Every UPDATE of a row writes a new version of the whole row and leaves the old
one dead until VACUUM removes it; unless the update is HOT (no indexed column
changed and the page had room), every index of the table gets a new entry too.
``Writes`` measures, inside the current transaction:

- row versions written per table (``pg_stat_xact_user_tables``: counted for
  this transaction only, whatever else the server is doing), and how many of
  the updates were HOT;
- WAL bytes written by this database's transactions between the start and the
  end of the block, read back with the ``pg_walinspect`` extension (PostgreSQL
  15+, created in the scratch database when missing): only the records that
  carry a transaction id and touch this database's relations, so the work of
  other databases on the same server is not counted. The records of
  ``res_partner`` (table, indexes, TOAST) are reported apart, and so are full
  page images. Without ``pg_walinspect`` only the server-wide LSN difference is
  available, which includes every other database's writes.
"""

import time

TABLES = ("res_partner", "smb_churn_history", "smb_loyalty_tier_history")


class Writes:
    """Context manager: ``with Writes(env) as w: ...``, then ``w.result``."""

    def __init__(self, env, tables=TABLES):
        self.env = env
        self.tables = tables
        self.result = {}

    def _counts(self):
        cr = self.env.cr
        cr.execute("""SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del
                        FROM pg_stat_xact_user_tables WHERE relname = ANY(%s)""", [list(self.tables)])
        return {name: counts for name, *counts in cr.fetchall()}

    def __enter__(self):
        cr = self.env.cr
        self.env.flush_all()
        # a checkpoint during the block may recycle the WAL to read: a temporary replication slot,
        # held by a session of its own, keeps it until the end of the block
        self.slot_cr = self.env.registry.cursor()
        self.slot = f"smbj_bench_{self.slot_cr._obj.connection.get_backend_pid()}"
        try:
            self.slot_cr.execute("SELECT pg_create_physical_replication_slot(%s, true, true)", [self.slot])
        except Exception:  # noqa: BLE001 - no slot (rights, max_replication_slots): WAL may go missing
            self.slot_cr.rollback()
            self.slot = None
        cr.execute("SELECT pg_current_wal_insert_lsn()")
        self.lsn0 = cr.fetchone()[0]
        self.counts0 = self._counts()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                self._measure()
        finally:
            # a temporary slot lives as long as its session, and the cursor's connection is pooled
            if self.slot:
                self.slot_cr.execute("SELECT pg_drop_replication_slot(%s)", [self.slot])
            self.slot_cr.close()

    def _measure(self):
        self.env.flush_all()
        self.seconds = time.perf_counter() - self.t0
        cr = self.env.cr
        cr.execute("SELECT pg_current_wal_insert_lsn(), pg_current_wal_insert_lsn() - %s::pg_lsn", [self.lsn0])
        self.lsn1, server_wal = cr.fetchone()
        counts1 = self._counts()
        rows = {}
        for table in self.tables:
            before = self.counts0.get(table, [0, 0, 0, 0])
            after = counts1.get(table, [0, 0, 0, 0])
            ins, upd, hot, dele = (a - b for a, b in zip(after, before, strict=True))
            rows[table] = {"inserted": ins, "updated": upd, "hot": hot, "deleted": dele}
        self.result = {"seconds": self.seconds, "rows": rows, "server_wal": int(server_wal)}
        try:
            with cr.savepoint(flush=False):
                self.result.update(self._wal())
        except Exception as e:  # noqa: BLE001 - WAL already recycled: the server-wide figure only
            self.result["wal_error"] = str(e).strip()

    def _wal(self):
        """WAL of this database's transactions in [lsn0, lsn1), from pg_walinspect."""
        cr = self.env.cr
        if self.lsn0 == self.lsn1:  # nothing written: pg_get_wal_records_info refuses an empty range
            return {"wal": 0, "wal_fpi": 0, "partner_wal": 0, "partner_fpi": 0, "wal_records": 0}
        try:
            with cr.savepoint(flush=False):
                cr.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        except Exception:  # noqa: BLE001 - not available: the server-wide figure only
            return {}
        # the records must be on disk to be read: a commit that wrote WAL flushes it up to its own
        # record (a WAL-only message, nothing in any table); else the WAL writer does within a second
        with self.env.registry.cursor() as other:
            other.execute("SELECT pg_logical_emit_message(true, 'smbj_bench', 'flush')")
            other.commit()
        for __ in range(50):
            cr.execute("SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn", [self.lsn1])
            if cr.fetchone()[0]:
                break
            time.sleep(0.1)
        else:
            return {}
        cr.execute("""
            WITH rel AS (
                SELECT pg_relation_filenode(c.oid) AS node FROM pg_class c
                 WHERE c.oid = 'res_partner'::regclass
                    OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'res_partner'::regclass)
                    OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE oid = 'res_partner'::regclass)
                    OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid =
                                 (SELECT reltoastrelid FROM pg_class WHERE oid = 'res_partner'::regclass))
            ), rec AS (
                SELECT record_length, fpi_length,
                       (regexp_match(block_ref, 'rel \\d+/(\\d+)/(\\d+)')) AS m
                  FROM pg_get_wal_records_info(%s::pg_lsn, %s::pg_lsn)
                 WHERE xid <> 0
            )
            SELECT COALESCE(SUM(record_length), 0), COALESCE(SUM(fpi_length), 0),
                   COALESCE(SUM(record_length) FILTER (WHERE m[2]::oid IN (SELECT node FROM rel)), 0),
                   COALESCE(SUM(fpi_length) FILTER (WHERE m[2]::oid IN (SELECT node FROM rel)), 0),
                   COUNT(*)
              FROM rec
             WHERE m[1]::oid = (SELECT oid FROM pg_database WHERE datname = current_database())
        """, [self.lsn0, self.lsn1])
        wal, fpi, partner_wal, partner_fpi, records = cr.fetchone()
        return {"wal": int(wal), "wal_fpi": int(fpi), "partner_wal": int(partner_wal),
                "partner_fpi": int(partner_fpi), "wal_records": records}


def mb(n):
    return f"{n / 1e6:.1f} MB" if n is not None else "-"


HEADER = (f"{'pass':<44}{'seconds':>9}{'partner rows':>14}{'of which HOT':>14}{'history rows':>14}"
          f"{'WAL (db)':>12}{'res_partner':>13}{'FPI':>10}")


def line(label, result, history_table):
    """One row of the writes table."""
    rows = result.get("rows", {})
    partner = rows.get("res_partner", {})
    history = rows.get(history_table, {})
    wal = result.get("wal")
    if wal is None:  # server-wide, other databases included
        return (f"{label:<44}{result.get('seconds', 0):>9.2f}{partner.get('updated', 0):>14}"
                f"{partner.get('hot', 0):>14}{history.get('inserted', 0):>14}"
                f"{'~' + mb(result.get('server_wal')):>12}{'(server)':>13}{'-':>10}")
    return (f"{label:<44}{result.get('seconds', 0):>9.2f}{partner.get('updated', 0):>14}{partner.get('hot', 0):>14}"
            f"{history.get('inserted', 0):>14}"
            f"{mb(wal) if wal is not None else 'n/a':>12}{mb(result.get('partner_wal')):>13}"
            f"{mb(result.get('wal_fpi')):>10}")
