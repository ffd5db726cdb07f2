from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    smb_journey_user_id = fields.Many2one(
        related="company_id.smb_journey_user_id", readonly=False, domain="[('share', '=', False)]")
    smb_attribution_model = fields.Selection(related="company_id.smb_attribution_model", readonly=False)
    smb_churn_horizon_days = fields.Integer(related="company_id.smb_churn_horizon_days", readonly=False)
    smb_churn_medium_threshold = fields.Float(related="company_id.smb_churn_medium_threshold", readonly=False)
    smb_churn_high_threshold = fields.Float(related="company_id.smb_churn_high_threshold", readonly=False)
    smb_quiet_hours = fields.Boolean(related="company_id.smb_quiet_hours", readonly=False)
    smb_quiet_start = fields.Float(related="company_id.smb_quiet_start", readonly=False)
    smb_quiet_end = fields.Float(related="company_id.smb_quiet_end", readonly=False)
    smb_frequency_cap = fields.Boolean(related="company_id.smb_frequency_cap", readonly=False)
