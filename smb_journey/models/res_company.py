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

    # churn scoring (smb.churn.run)
    smb_churn_horizon_days = fields.Integer(
        "Churn Horizon (days)",
        help="Churn = no order within this many days. 0: derived every night from the shop's purchase cadence.")
    smb_churn_medium_threshold = fields.Float("Medium Risk From", default=0.4)
    smb_churn_high_threshold = fields.Float("High Risk From", default=0.7)
    smb_churn_hysteresis = fields.Float(
        "Risk Band Hysteresis", default=0.1,
        help="A customer leaves a risk band only when the score drops this far below its threshold, "
        "so a score hovering at a threshold does not flip the band every night.")
