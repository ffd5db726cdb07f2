from odoo import fields, models

from .ir_actions_server import JOURNEY_STATES


class IrCron(models.Model):
    """A scheduled action may enrol or remove customers too (Odoo offers only
    Execute Code there): the records matching its filter, every time it runs."""

    _inherit = "ir.cron"

    allowed_states = fields.Json(compute="_compute_allowed_states")

    def _compute_allowed_states(self):
        self.allowed_states = ["code", *JOURNEY_STATES]
