from odoo import api, fields, models, tools
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
    # fractions (0.4), as the scoring compares them with its probabilities; shown in percent
    smb_churn_medium_threshold = fields.Float(
        "Medium Risk From", default=0.4,
        help="A customer whose churn score (the probability of no order within the horizon) reaches this is at "
        "medium risk.")
    smb_churn_high_threshold = fields.Float(
        "High Risk From", default=0.7,
        help="A customer whose churn score reaches this is at high risk (the shipped win-back journey's trigger).")
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

    # sender of the journey emails (smb_journey_step_email.py)
    smb_journey_email_from = fields.Char(
        "Journey Emails From",
        help="Sender of the journey emails whose step names none, e.g. \"My Shop\" <news@myshop.com>. "
        "Empty: the company's email address.")

    # defaults of new journeys and tiers (smb_journey_defaults.py, smb_loyalty_tier.py)
    smb_default_conversion_window_days = fields.Integer(
        "Attribution Window (days)", default=5,
        help="Conversion window of new journeys: an order confirmed within this many days after a journey "
        "email is credited to it. Each journey can set its own.")
    smb_default_respect_quiet_hours = fields.Boolean(
        "New Journeys Respect Quiet Hours", default=True,
        help="New journeys hold their emails during the quiet hours (when the quiet hours are on).")
    smb_default_goal_order = fields.Boolean(
        "New Journeys End at the Next Order",
        help="New journeys get the goal \"Customer confirms an order\": a customer who orders leaves them.")
    smb_default_holdout_percent = fields.Integer(
        "Holdout of New Journeys (%)", default=0,
        help="New journeys keep this share of their customers (0 to 50 %) as a control group that receives "
        "nothing, to measure what the journey adds.")
    smb_default_cap_policy = fields.Selection(
        [("delay", "Wait until the cap allows it"), ("skip", "Skip the email")],
        "New Journeys When Capped", default="delay", required=True,
        help="What new journeys do with an email that the frequency cap holds back.")
    smb_default_consent_required = fields.Boolean(
        "New Journeys Require Consent",
        help="New journeys take in only contacts who confirmed a double opt-in subscription.")
    smb_tier_period_months = fields.Integer(
        "Tier Spend Period (months)", default=12,
        help="Period over which new loyalty tiers count the customer's spend (each tier can set its own).")
    smb_tier_grace_days = fields.Integer(
        "Tier Grace Period (days)", default=30,
        help="Days new loyalty tiers let a customer keep the tier after they stop qualifying.")

    @api.constrains("smb_churn_medium_threshold", "smb_churn_high_threshold", "smb_churn_hysteresis",
                    "smb_churn_horizon_days")
    def _check_smb_churn_settings(self):
        for company in self:
            if not 0 < company.smb_churn_medium_threshold < company.smb_churn_high_threshold <= 1:
                raise ValidationError(self.env._(
                    "Churn risk: medium risk starts above 0 %, high risk above medium risk and at most at 100 %."))
            if not 0 <= company.smb_churn_hysteresis < company.smb_churn_medium_threshold:
                raise ValidationError(self.env._(
                    "Churn risk: the hysteresis is at least 0 % and below the medium risk threshold."))
            if company.smb_churn_horizon_days < 0:
                raise ValidationError(self.env._("Churn risk: the horizon cannot be negative."))

    @api.constrains("smb_default_conversion_window_days", "smb_default_holdout_percent",
                    "smb_tier_period_months", "smb_tier_grace_days")
    def _check_smb_defaults(self):
        for company in self:
            if company.smb_default_conversion_window_days < 0 or company.smb_tier_grace_days < 0:
                raise ValidationError(self.env._("The attribution window and the grace period cannot be negative."))
            if not 0 <= company.smb_default_holdout_percent <= 50:
                raise ValidationError(self.env._("A holdout keeps 0 to 50 % of the customers out of the journey."))
            if company.smb_tier_period_months < 1:
                raise ValidationError(self.env._("The tiers' spend period is at least one month."))

    @api.constrains("smb_journey_email_from")
    def _check_smb_journey_email_from(self):
        for company in self.filtered("smb_journey_email_from"):
            if len(tools.mail.email_split(company.smb_journey_email_from)) != 1:
                raise ValidationError(self.env._(
                    "Journey emails are sent from one address, e.g. \"My Shop\" <news@myshop.com>."))

    def write(self, vals):
        res = super().write(vals)
        if {"smb_journey_email_from", "email", "name"} & set(vals):
            # the tracking mailings of the email steps show their sender;
            # sudo: every such step of the company, whoever edits the company
            self.env["smb.journey.step"].sudo().search([
                ("company_id", "in", self.ids), ("mailing_id", "!=", False), ("step_type", "=", "email"),
                ("email_from", "=", False),
            ])._sync_mailing()
        return res

    def _smb_journey_defaults(self):
        """{smb.journey field: value}: what this company's settings give new journeys."""
        self.ensure_one()
        return {
            "conversion_window_days": self.smb_default_conversion_window_days,
            "respect_quiet_hours": self.smb_default_respect_quiet_hours,
            "goal": "order_confirmed" if self.smb_default_goal_order else "none",
            "holdout_percent": self.smb_default_holdout_percent,
            "cap_policy": self.smb_default_cap_policy,
            "consent_required": self.smb_default_consent_required,
        }

    @api.constrains("smb_quiet_start", "smb_quiet_end")
    def _check_smb_quiet_hours(self):
        for company in self:
            if not (0 <= company.smb_quiet_start < 24 and 0 <= company.smb_quiet_end < 24):
                raise ValidationError(self.env._("Quiet hours run from and until an hour within 00:00-23:59."))
