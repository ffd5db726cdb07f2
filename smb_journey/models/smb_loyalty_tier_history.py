from odoo import fields, models


class SmbLoyaltyTierHistory(models.Model):
    _name = "smb.loyalty.tier.history"
    _description = "Loyalty Tier Change"
    _order = "date desc, id desc"
    _check_company_auto = True
    _rec_name = "to_tier_id"

    partner_id = fields.Many2one("res.partner", "Customer", required=True, index=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True, index=True)
    from_tier_id = fields.Many2one("smb.loyalty.tier", "From", ondelete="set null", readonly=True)
    to_tier_id = fields.Many2one("smb.loyalty.tier", "To", ondelete="set null", readonly=True)
    change = fields.Selection(
        [("upgrade", "Upgrade"), ("downgrade", "Downgrade"), ("reassigned", "Tier removed")],
        required=True, readonly=True,
    )
    source = fields.Selection(
        [("order", "Order confirmed"), ("cancel", "Order cancelled or refunded"),
         ("nightly", "Nightly recompute"), ("manual", "Recomputed by hand"),
         ("initial", "First computation (no reward, no email)")],
        "Reason", required=True, readonly=True,
    )
    trailing_spend = fields.Monetary(currency_field="currency_id", readonly=True)
    order_count = fields.Integer("Orders", readonly=True)
    reward_card_id = fields.Many2one("loyalty.card", "Reward", ondelete="set null", readonly=True)
    reward_code = fields.Char(related="reward_card_id.code")

    def _compute_display_name(self):
        for row in self:
            row.display_name = f"{row.from_tier_id.name or '-'} → {row.to_tier_id.name or '-'}"
