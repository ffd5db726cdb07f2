from odoo import fields, models

from .smb_journey_version_move import END, FOLLOWING, SAME


class SmbJourneyVersionMoveLine(models.TransientModel):
    """One customer of the move wizard's preview: where they are, where they go."""

    _name = "smb.journey.version.move.line"
    _description = "Customer Moved to Another Version"

    wizard_id = fields.Many2one("smb.journey.version.move", required=True, ondelete="cascade")
    move = fields.Boolean(default=True, help="Untick to leave this customer on their version.")
    enrollment_id = fields.Many2one("smb.journey.enrollment", required=True, readonly=True, ondelete="cascade")
    partner_id = fields.Many2one(related="enrollment_id.partner_id")
    state = fields.Selection(related="enrollment_id.state")
    due_at = fields.Datetime(related="enrollment_id.due_at")
    from_step_id = fields.Many2one("smb.journey.step", "Now At", readonly=True)
    to_step_id = fields.Many2one("smb.journey.step", "Continues At", readonly=True)
    destination = fields.Selection(
        [(SAME, "The copy of their step"), (FOLLOWING, "The nearest following step"), (END, "The end: they complete")],
        "Goes To", readonly=True)
