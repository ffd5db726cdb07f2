from odoo import fields, models

from odoo.addons.smb_journey.tools import vocabulary


class SmbChurnHistory(models.Model):
    """A customer's churn risk band changing: the score history that the
    'churn risk rose' trigger reads, so a journey starts once per rise rather
    than every night the customer stays at risk."""

    _name = "smb.churn.history"
    _description = "Churn Risk Change"
    _order = "date desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one("res.partner", "Customer", required=True, index=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    run_id = fields.Many2one("smb.churn.run", "Scoring Run", ondelete="set null", readonly=True)
    date = fields.Datetime(required=True, default=fields.Datetime.now, readonly=True, index=True)
    from_band = fields.Selection(vocabulary.BANDS, "From", readonly=True)
    to_band = fields.Selection(vocabulary.BANDS, "To", required=True, readonly=True)
    score = fields.Float("Churn Risk", digits=(3, 2), readonly=True)
    clv = fields.Monetary("Predicted Value", currency_field="currency_id", readonly=True)

    def _compute_display_name(self):
        labels = dict(self._fields["to_band"]._description_selection(self.env))
        for row in self:
            row.display_name = f"{labels.get(row.from_band, '-')} → {labels.get(row.to_band)}"
