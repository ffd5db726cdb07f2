from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

# the longest window a rule may have: the ledger keeps no send older than that
MAX_WINDOW_HOURS = 24 * 90


class SmbJourneyFrequencyRule(models.Model):
    """At most ``max_messages`` marketing journey emails per customer within
    ``window_hours`` (rolling), across all journeys: the frequency cap
    ("smart sending"). A company's cap holds every rule of the company and
    every rule without a company; it applies when the company turns the cap
    on in Settings.

    The sends counted are kept per customer in a small ledger table,
    ``smb_journey_send_ledger`` (one row per customer: the times of their
    marketing journey emails within the longest window), that the cap locks
    row by row so that two engine workers never both send the customer's
    last allowed email (see smb_journey_step_frequency_cap.py)."""

    _name = "smb.journey.frequency.rule"
    _description = "Journey Frequency Cap Rule"
    _order = "window_hours, id"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", index=True, default=lambda self: self.env.company,
        help="Empty: a rule of every company.")
    max_messages = fields.Integer(
        "At Most", default=1, required=True, help="Marketing journey emails per customer within the window.")
    window_hours = fields.Integer("Within (hours)", default=16, required=True, help="A rolling window: 168 is 7 days.")

    @api.depends("max_messages", "window_hours")
    def _compute_name(self):
        for rule in self:
            hours = rule.window_hours
            within = self.env._("%(days)s days", days=hours // 24) if hours % 24 == 0 and hours >= 48 \
                else self.env._("%(hours)s h", hours=hours)
            rule.name = self.env._("%(count)s per %(within)s", count=rule.max_messages, within=within)

    @api.constrains("max_messages", "window_hours")
    def _check_limits(self):
        for rule in self:
            if rule.max_messages < 1:
                raise ValidationError(self.env._("A frequency cap allows at least one email (archive the rule instead)."))
            if not 1 <= rule.window_hours <= MAX_WINDOW_HOURS:
                raise ValidationError(self.env._(
                    "A frequency cap's window runs from 1 hour to %(max)s hours (90 days).", max=MAX_WINDOW_HOURS))

    def init(self):
        # one row per customer, created on demand and locked by the cap; the
        # send times within the longest window, oldest first
        self.env.cr.execute(SQL("""
            CREATE TABLE IF NOT EXISTS smb_journey_send_ledger (
                partner_id integer PRIMARY KEY REFERENCES res_partner(id) ON DELETE CASCADE,
                sent_at timestamp without time zone[] NOT NULL DEFAULT '{}'
            )"""))

    @api.model
    def _limits(self, company):
        """[(max messages, window)] of ``company``'s cap, empty when it is off."""
        if not company.smb_frequency_cap:
            return []
        # sudo: the engine reads the company's rules whoever runs it
        rules = self.sudo().search([("company_id", "in", [company.id, False])])
        return [(rule.max_messages, rule.window_hours) for rule in rules]

    @api.model
    def _longest_window(self):
        """Hours: the longest window of the active rules of every company."""
        # sudo: the ledger serves every company's rules
        rule = self.sudo().search([], order="window_hours desc", limit=1)
        return rule.window_hours or 0
