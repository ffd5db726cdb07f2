from odoo import api, fields, models, tools

from odoo.addons.smb_journey.models.smb_journey_forecast import LOOKBACK_DAYS


class SmbJourneyForecast(models.TransientModel):
    """A dry run of a journey on today's data: customers entering in the
    next 7 and 30 days, the messages a day that means, and what the
    frequency cap and the quiet hours would do to them (smb.journey's
    ``_forecast``). Reads only."""

    _name = "smb.journey.forecast"
    _description = "Journey Forecast"

    journey_id = fields.Many2one("smb.journey", required=True, ondelete="cascade", readonly=True)
    lookback_days = fields.Integer(
        "Rates Over (days)", default=LOOKBACK_DAYS, required=True,
        help="Past events (orders, new contacts, carts...) are counted over this many days and assumed to "
        "go on at the same rate.")
    result = fields.Json(compute="_compute_result")
    result_html = fields.Html("Forecast", compute="_compute_result", sanitize=False)

    @api.depends("journey_id", "lookback_days")
    def _compute_result(self):
        for wizard in self:
            if not wizard.journey_id or wizard.lookback_days < 1:
                wizard.result = wizard.result_html = False
                continue
            forecast = wizard.journey_id._forecast(lookback_days=wizard.lookback_days)
            outlets = [{
                "step": step.name,
                "shares": ", ".join(f"{label} {round(forecast_share * 100)} %"
                                    for key, label in step._type().outlets
                                    for forecast_share in [shares.get(key, 0.0)] if key in shares),
                "basis": basis,
            } for step, shares, basis in forecast.pop("outlets", [])]
            forecast["outlets"] = outlets
            wizard.result = forecast
            wizard.result_html = self.env["ir.qweb"]._render("smb_journey.forecast_result", {
                "forecast": forecast, "journey": wizard.journey_id,
                "number": lambda value: _number(self.env, value)})


def _number(env, value):
    """≈ 4.2, ≈ 42: a decimal for small numbers only, in the user's number format (≈ 4,2 in French)."""
    return tools.formatLang(env, value, digits=1 if abs(value) < 10 else 0)
