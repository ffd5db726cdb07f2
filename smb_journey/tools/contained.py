"""Run the addon's work inside a business flow without ever breaking it."""

import logging
from contextlib import contextmanager

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

    Rolling back to a savepoint also drops the transaction's precommit
    callbacks, among them the mail tracking of the caller's own records: the
    ones registered before the block are put back. Yields an :class:`Outcome`.
    """
    outcome = Outcome()
    cr = env.cr
    funcs, data = list(cr.precommit._funcs), dict(cr.precommit.data)
    try:
        with cr.savepoint():
            yield outcome
    except Exception as e:  # noqa: BLE001 - the business flow must go on, whatever failed
        outcome.error = e
        for func in funcs:
            if func not in cr.precommit._funcs:
                cr.precommit.add(func)
        for key, value in data.items():
            cr.precommit.data.setdefault(key, value)
        _logger.warning("%s failed; the business flow goes on", what, exc_info=True)
