from odoo import api, fields, models
from odoo.exceptions import ValidationError

ATTRIBUTION_MODELS = [
    ("last", "Last touch"),
    ("first", "First touch"),
    ("linear", "Linear (shared equally)"),
]


class ResCompany(models.Model):
    _inherit = "res.company"

    smb_journey_user_id = fields.Many2one(
        "res.users", "Journeys Responsible", domain="[('share', '=', False)]",
        help="Responsible of the journeys created without one (the shipped journeys, journeys created by "
        "a script), and who gets the activities of customers without a salesperson when a journey's "
        "responsible is no longer an active user.")
    smb_attribution_model = fields.Selection(
        ATTRIBUTION_MODELS, "Revenue Attribution", default="last", required=True,
        help="Which journey emails an order is credited to, among the emails the customer was really sent "
        "within each journey's conversion window before the order. Last touch: the latest one. First "
        "touch: the earliest one. Linear: all of them, the order's revenue split equally. An order is "
        "credited once in all, never once per journey.")

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

    # timing rules: quiet hours (smb_journey_step_quiet_hours.py), frequency
    # cap (smb_journey_step_frequency_cap.py), best send time (res_partner_send_time.py)
    smb_quiet_hours = fields.Boolean(
        "Quiet Hours",
        help="Journey emails due during the quiet hours of the customer's timezone wait until they end "
        "(never dropped). Journeys and steps can opt out (order follow-ups, the first cart reminder).")
    smb_quiet_start = fields.Float("Quiet From", default=21.0)
    smb_quiet_end = fields.Float("Quiet Until", default=8.0)
    smb_frequency_cap = fields.Boolean(
        "Frequency Cap",
        help="At most so many marketing journey messages per customer within a rolling window, across all "
        "journeys, per channel (emails, text messages) or for all messages together, as each rule in "
        "Configuration > Frequency Caps says. What the cap holds back waits or is skipped, as each journey says.")
    smb_best_hour = fields.Integer(
        "Shop's Best Send Hour", readonly=True, default=-1,
        help="The hour of the day (customers' local time) at which customers open most, from the nightly "
        "recompute; -1 until there is history. Used for customers with no history of their own.")

    @api.constrains("smb_quiet_start", "smb_quiet_end")
    def _check_smb_quiet_hours(self):
        for company in self:
            if not (0 <= company.smb_quiet_start < 24 and 0 <= company.smb_quiet_end < 24):
                raise ValidationError(self.env._("Quiet hours run from and until an hour within 00:00-23:59."))
