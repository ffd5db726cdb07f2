from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    smb_tiers_computed_at = fields.Datetime(
        "Loyalty Tiers Computed On", readonly=True, copy=False,
        help="Last full recompute of the loyalty tiers. Until the first one, customers are placed "
        "in their tier quietly (no reward, no tier email).",
    )
