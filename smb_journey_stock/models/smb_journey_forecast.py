from odoo import models
from odoo.fields import Domain


class SmbJourney(models.Model):
    """The forecast of the "Order delivered" trigger (smb_journey's smb_journey_forecast.py)."""

    _inherit = "smb.journey"

    def _forecast_order_delivered(self, date_from, date_to):
        """At the rate of the orders of the lookback that were delivered in full (their delivery's date)."""
        domain = (Domain("state", "=", "sale") & Domain("company_id", "=", self.company_id.id)
                  & Domain("delivery_status", "=", "full") & self._parsed("trigger_domain"))
        return self._forecast_rate("sale.order", "effective_date", domain, date_from, date_to,
                                   what=self.env._("orders delivered"))
