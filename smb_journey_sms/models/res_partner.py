from odoo import models


class ResPartner(models.Model):
    _inherit = "res.partner"

    # a number blacklisted (an SMS opt-out) ends the journeys of the contacts that have it
    _smb_phone_sanitized_idx = models.Index("(phone_sanitized) WHERE phone_sanitized IS NOT NULL")
