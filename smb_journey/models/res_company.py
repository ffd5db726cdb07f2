from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    smb_tiers_computed_at = fields.Datetime(
        "Loyalty Tiers Computed On", readonly=True, copy=False,
        help="Last full recompute of the loyalty tiers. Until the first one, customers are placed "
        "in their tier quietly (no reward, no tier email).",
    )
    smb_tier_rules_date = fields.Datetime(
        "Loyalty Tier Rules Changed On", readonly=True, copy=False,
        help="The next full recompute decides every customer again, not only those whose spend moved.",
    )

    def _smb_tier_rules_changed(self):
        # sudo: a tier manager need not be allowed to edit the company
        self.sudo().smb_tier_rules_date = fields.Datetime.now()
