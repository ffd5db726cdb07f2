from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

# the longest window a rule may have: the ledger keeps no send older than that
MAX_WINDOW_HOURS = 24 * 90


class SmbJourneyFrequencyRule(models.Model):
    """At most ``max_messages`` marketing journey messages of the rule's
    ``channel`` per customer within ``window_hours`` (rolling), across all
    journeys: the frequency cap ("smart sending"). Each channel has its own
    budget, as with Klaviyo's smart sending: an email rule counts and holds
    emails only, so a text message does not use up the day's email; a rule
    for *All messages* counts and holds every channel together. A channel
    is a step type's ``mailing_type`` ('mail', and 'sms' with the SMS
    bridge, which adds it to the selection). A company's cap holds every
    rule of the company and every rule without a company; it applies when
    the company turns the cap on in Settings.

    The sends counted are kept per customer in a small ledger table,
    ``smb_journey_send_ledger`` (one row per customer: the times of their
    marketing journey messages within the longest window, and beside them
    each one's channel), that the cap locks row by row so that two engine
    workers never both send the customer's last allowed message (see
    smb_journey_step_frequency_cap.py)."""

    _name = "smb.journey.frequency.rule"
    _description = "Journey Frequency Cap Rule"
    _order = "window_hours, id"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", index=True, default=lambda self: self.env.company,
        help="Empty: a rule of every company.")
    channel = fields.Selection(
        [("mail", "Emails"), ("all", "All messages")], "Counts", default="mail", required=True,
        help="The messages the rule counts and holds back: emails only, or every message together (emails, text "
        "messages) in one budget.")
    max_messages = fields.Integer(
        "At Most", default=1, required=True,
        help="Marketing journey messages of the rule's channel per customer within the window.")
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
                raise ValidationError(self.env._("A frequency cap allows at least one message (archive the rule instead)."))
            if not 1 <= rule.window_hours <= MAX_WINDOW_HOURS:
                raise ValidationError(self.env._(
                    "A frequency cap's window runs from 1 hour to %(max)s hours (90 days).", max=MAX_WINDOW_HOURS))

    def init(self):
        # one row per customer, created on demand and locked by the cap; the
        # send times within the longest window, oldest first, and each send's
        # channel at the same place in sent_via
        cr = self.env.cr
        cr.execute(SQL("""
            CREATE TABLE IF NOT EXISTS smb_journey_send_ledger (
                partner_id integer PRIMARY KEY REFERENCES res_partner(id) ON DELETE CASCADE,
                sent_at timestamp without time zone[] NOT NULL DEFAULT '{}',
                sent_via varchar[] NOT NULL DEFAULT '{}'
            )"""))
        cr.execute(SQL("""SELECT 1 FROM information_schema.columns
                           WHERE table_name = 'smb_journey_send_ledger' AND column_name = 'sent_via'"""))
        if not cr.fetchone():
            # a ledger kept before the channels: its sends were emails
            cr.execute(SQL("""
                ALTER TABLE smb_journey_send_ledger ADD COLUMN sent_via varchar[] NOT NULL DEFAULT '{}';
                UPDATE smb_journey_send_ledger
                   SET sent_via = array_fill('mail'::varchar, ARRAY[cardinality(sent_at)])
                 WHERE cardinality(sent_at) > 0"""))

    @api.model
    def _limits(self, company, channel):
        """[(max messages, window hours, channel counted)] of ``company``'s cap
        on messages of ``channel``, empty when it is off; the channel counted
        is ``None`` for a rule of all messages (every send counts)."""
        if not company.smb_frequency_cap:
            return []
        # sudo: the engine reads the company's rules whoever runs it
        rules = self.sudo().search([("company_id", "in", [company.id, False]), ("channel", "in", [channel, "all"])])
        return [(rule.max_messages, rule.window_hours, None if rule.channel == "all" else rule.channel)
                for rule in rules]

    @api.model
    def _longest_window(self):
        """Hours: the longest window of the active rules of every company."""
        # sudo: the ledger serves every company's rules
        rule = self.sudo().search([], order="window_hours desc", limit=1)
        return rule.window_hours or 0
