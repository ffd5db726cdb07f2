from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    """Settings > Journeys: the company's sending rules, attribution, churn
    risk bands, loyalty tier options and the defaults of new journeys. Every
    value is the current company's (res.company fields)."""

    _inherit = "res.config.settings"

    # sending
    smb_quiet_hours = fields.Boolean(related="company_id.smb_quiet_hours", readonly=False)
    smb_quiet_start = fields.Float(related="company_id.smb_quiet_start", readonly=False)
    smb_quiet_end = fields.Float(related="company_id.smb_quiet_end", readonly=False)
    smb_frequency_cap = fields.Boolean(related="company_id.smb_frequency_cap", readonly=False)
    smb_frequency_rules = fields.Char("Frequency Cap Rules", compute="_compute_smb_frequency_rules")
    smb_journey_email_from = fields.Char(related="company_id.smb_journey_email_from", readonly=False)
    smb_company_email = fields.Char(related="company_id.email_formatted")
    # attribution
    smb_attribution_model = fields.Selection(related="company_id.smb_attribution_model", readonly=False)
    smb_default_conversion_window_days = fields.Integer(
        related="company_id.smb_default_conversion_window_days", readonly=False)
    # churn risk and value
    smb_churn_horizon_days = fields.Integer(related="company_id.smb_churn_horizon_days", readonly=False)
    smb_churn_medium_threshold = fields.Float(related="company_id.smb_churn_medium_threshold", readonly=False)
    smb_churn_high_threshold = fields.Float(related="company_id.smb_churn_high_threshold", readonly=False)
    smb_churn_hysteresis = fields.Float(related="company_id.smb_churn_hysteresis", readonly=False)
    # loyalty tiers
    smb_tier_period_months = fields.Integer(related="company_id.smb_tier_period_months", readonly=False)
    smb_tier_grace_days = fields.Integer(related="company_id.smb_tier_grace_days", readonly=False)
    smb_tiers_computed_at = fields.Datetime(related="company_id.smb_tiers_computed_at")
    smb_tier_count = fields.Integer("Loyalty Tiers", compute="_compute_smb_tier_count")
    # defaults for new journeys
    smb_journey_user_id = fields.Many2one(
        related="company_id.smb_journey_user_id", readonly=False, domain="[('share', '=', False)]")
    smb_default_respect_quiet_hours = fields.Boolean(
        related="company_id.smb_default_respect_quiet_hours", readonly=False)
    smb_default_goal_order = fields.Boolean(related="company_id.smb_default_goal_order", readonly=False)
    smb_default_holdout_percent = fields.Integer(related="company_id.smb_default_holdout_percent", readonly=False)
    smb_default_cap_policy = fields.Selection(related="company_id.smb_default_cap_policy", readonly=False)
    smb_default_consent_required = fields.Boolean(
        related="company_id.smb_default_consent_required", readonly=False)

    @api.depends("company_id", "smb_frequency_cap")
    def _compute_smb_frequency_rules(self):
        for settings in self:
            # sudo: a settings reader sees the company's rules, as the engine applies them
            rules = self.env["smb.journey.frequency.rule"].sudo().search(
                [("company_id", "in", [settings.company_id.id, False])])
            settings.smb_frequency_rules = ", ".join(
                f"{rule.name} ({rule._fields['channel'].convert_to_export(rule.channel, rule)})" for rule in rules
            ) or self.env._("No rule yet")

    @api.depends("company_id")
    def _compute_smb_tier_count(self):
        for settings in self:
            settings.smb_tier_count = self.env["smb.loyalty.tier"].search_count(
                [("company_id", "=", settings.company_id.id)])

    def action_smb_recompute_tiers(self):
        """Recompute the company's loyalty tiers now (the tiers list's Recompute Now)."""
        self.ensure_one()
        return self.env["smb.loyalty.tier"].with_company(self.company_id).action_recompute()
