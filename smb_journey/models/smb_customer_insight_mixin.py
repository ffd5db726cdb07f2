from odoo import api, fields, models

from odoo.addons.smb_journey.tools import vocabulary


class SmbCustomerInsightMixin(models.AbstractModel):
    """The customer's loyalty tier, spend, churn risk and predicted value on a
    document (sale order, CRM lead), read from its commercial partner as the
    document's company sees them. Inherit it and the fields follow
    ``partner_id`` and ``company_id``."""

    _name = "smb.customer.insight.mixin"
    _description = "Customer Tier and Churn Risk on a Document"

    smb_tier_id = fields.Many2one("smb.loyalty.tier", "Loyalty Tier", compute="_compute_smb_insight")
    smb_tier_color = fields.Integer(compute="_compute_smb_insight")
    smb_trailing_spend = fields.Monetary(
        "Customer's Trailing Spend", compute="_compute_smb_insight", currency_field="smb_insight_currency_id")
    # internal users only: portal customers read their own orders
    smb_churn_band = fields.Selection(
        vocabulary.BANDS, "Churn Risk", compute="_compute_smb_churn",
        groups="base.group_user")
    smb_churn_score = fields.Float("Churn Risk Score", compute="_compute_smb_churn", groups="base.group_user")
    smb_clv = fields.Monetary(
        "Predicted Value (12 months)", compute="_compute_smb_churn", currency_field="smb_insight_currency_id",
        groups="base.group_user")
    smb_next_order_date = fields.Date("Expected Next Order", compute="_compute_smb_churn", groups="base.group_user")
    smb_churn_explanation = fields.Text("Why This Risk", compute="_compute_smb_churn", groups="base.group_user")
    smb_insight_currency_id = fields.Many2one("res.currency", compute="_compute_smb_insight")

    @api.depends("partner_id", "company_id")
    def _compute_smb_insight(self):
        for record in self:
            company = record.company_id or self.env.company
            customer = record.partner_id.commercial_partner_id.with_company(company)
            record.smb_tier_id = customer.smb_tier_id
            record.smb_tier_color = customer.smb_tier_id.color
            record.smb_trailing_spend = customer.smb_trailing_spend
            record.smb_insight_currency_id = company.currency_id

    @api.depends("partner_id", "company_id")
    def _compute_smb_churn(self):
        for record in self:
            company = record.company_id or self.env.company
            customer = record.partner_id.commercial_partner_id.with_company(company)
            record.smb_churn_band = customer.smb_churn_band
            record.smb_churn_score = customer.smb_churn_score
            record.smb_clv = customer.smb_clv
            record.smb_next_order_date = customer.smb_next_order_date
            record.smb_churn_explanation = customer.smb_churn_explanation
