"""Run the addon's work inside a business flow without ever breaking it."""

import logging
from contextlib import contextmanager

from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

_logger = logging.getLogger(__name__)


class Outcome:
    """Truthy until the contained block fails; ``error`` holds the exception."""

    error = None

    def __bool__(self):
        return self.error is None


@contextmanager
def contained(env, what):
    """Run the block in a savepoint; if it fails, whatever the exception, roll
    back to the savepoint, log it and go on, so the caller's transaction (an
    order confirmation, a checkout, a sign-up, an import) completes.

    The savepoint flushes first, which also runs the caller's pending
    precommit work (the mail tracking of its records): a rollback of the
    block loses nothing of the caller's. Concurrency errors (serialization
    failure, deadlock, lock timeout) are not contained: Odoo retries the whole
    request (or cron batch) for them, which is the right answer to a
    conflict, not skipping the work. Yields an :class:`Outcome`.
    """
    outcome = Outcome()
    try:
        with env.cr.savepoint():
            yield outcome
    except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
        raise
    except Exception as e:  # noqa: BLE001 - the business flow must go on, whatever failed
        outcome.error = e
        _logger.warning("%s failed; the business flow goes on", what, exc_info=True)
