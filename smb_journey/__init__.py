from odoo.tools import SQL

from . import controllers
from . import models
from . import wizard


def uninstall_hook(env):
    # the frequency cap's ledger is a plain table (smb.journey.frequency.rule.init), not a model's
    env.cr.execute(SQL("DROP TABLE IF EXISTS smb_journey_send_ledger"))
