"""Batches that several cron workers take from one queue at once."""

import psycopg2.errors

from odoo.tools import SQL


def lock_next(model, domain, order, limit):
    """The first ``limit`` records of ``domain`` that no other worker holds,
    locked until the transaction ends.

    The search itself skips locked rows (``FOR NO KEY UPDATE SKIP LOCKED``),
    so a second worker takes the next rows instead of finding the first ones
    taken. Returns None when a row changed since this transaction's snapshot:
    REPEATABLE READ refuses to lock it (serialization failure), and it must
    not be processed from stale data; the caller tries again in a new
    transaction.
    """
    query = model._search(domain, order=order, limit=limit)
    sql = SQL("%s FOR NO KEY UPDATE OF %s SKIP LOCKED", query.select(), SQL.identifier(model._table))
    model.env.flush_query(sql)
    cr = model.env.cr
    try:
        with cr.savepoint(flush=False):
            cr.execute(sql, log_exceptions=False)
            ids = [row[0] for row in cr.fetchall()]
    except psycopg2.errors.SerializationFailure:
        return None
    return model.browse(ids)
