from odoo import fields, models


class SmbJourneyFrequencyRule(models.Model):
    """A frequency cap rule may count text messages apart (their own budget)."""

    _inherit = "smb.journey.frequency.rule"

    channel = fields.Selection(selection_add=[("sms", "Text messages (SMS)")], ondelete={"sms": "cascade"})
