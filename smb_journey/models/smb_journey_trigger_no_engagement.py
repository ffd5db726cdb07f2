from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from odoo.addons.smb_journey.models.smb_journey_trigger_no_order import SCAN_MARGIN
from odoo.addons.smb_journey.tools.registry import Trigger

# an email counts as engaged with when a person opened it (not a mail scanner:
# mailing.trace._smb_human_open_domain), clicked it or replied to it
ENGAGED = "(({t}.open_datetime >= {since} AND NOT COALESCE({t}.smb_machine_open, FALSE)) OR {t}.links_click_datetime >= {since} OR {t}.reply_datetime >= {since})"


def _engaged(alias, since):
    return SQL(ENGAGED.format(t=alias, since=since))


class SmbJourney(models.Model):
    _inherit = "smb.journey"

    unengaged_days = fields.Integer(
        "No Open or Click For (days)", default=90,
        help="The customer enters when this many days have passed since an email they received (any email "
        "of the database: newsletters, journeys) and they opened, clicked or answered none since; once per "
        "such period: engaging again and going quiet again makes them enter again.")
    engagement_sunset = fields.Boolean(
        "Sunset the Unengaged",
        help="Customers who go through this journey to its end without opening, clicking or answering any "
        "email are marked Unengaged on their contact and receive no marketing journey email any more, until "
        "someone clears the mark (or they engage and a salesperson clears it).")
    marketing = fields.Boolean(
        "Marketing", default=True,
        help="Marketing journeys do not email customers marked Unengaged (sunset). Untick for journeys that "
        "customers expect whatever their engagement, such as an order's thank-you and follow-up.")

    @api.model
    def _trigger_types(self):
        _ = self.env._
        return super()._trigger_types() | {
            "no_engagement": Trigger(
                _("No open or click for a while"), fires="scan", params=("unengaged_days", "engagement_sunset"),
                record_filter=False, icon="fa-eye-slash",
                entry=_("once per unengaged period: engaging again and going quiet again enters again"),
                help=_("A customer received an email this many days ago and has opened, clicked or answered none "
                       "since (any email: newsletters too).")),
        }

    @api.constrains("unengaged_days")
    def _check_unengaged_days(self):
        if any(j.unengaged_days < 1 for j in self):
            raise ValidationError(self.env._("The number of days without an open or a click must be at least 1."))

    def _scan_no_engagement(self):
        """Enrol customers whose unengaged period turned ``unengaged_days``
        old since the previous pass, then sunset those who went through the
        journey without engaging (when the journey says so).

        A customer's unengaged period starts with the first email sent after
        their last open, click or reply; its trace names the entry (key), so
        going quiet again later is a new entry. One query, bounded by the
        bookmark: the traces sent inside the window (an index range on
        ``sent_datetime``), the address's other traces (index on ``email``)
        for the engagement and the earlier unanswered emails, its contact
        (index on ``email_normalized``), less who entered already."""
        lo, hi = self._inactivity_window(self.unengaged_days)
        self.env["mailing.trace"].flush_model()
        self.env["res.partner"].flush_model(["email_normalized", "active", "company_id"])
        rows = self.env.execute_query(SQL(
            """
            WITH period_start AS (
                SELECT DISTINCT ON (t.email) t.email, t.id
                  FROM mailing_trace t
                 WHERE t.trace_type = 'mail' AND t.email IS NOT NULL
                   AND t.sent_datetime > %(lo)s AND t.sent_datetime <= %(hi)s
                   AND t.trace_status IN ('sent', 'open', 'reply')
                   AND NOT EXISTS (SELECT 1 FROM mailing_trace e WHERE e.email = t.email AND %(engaged_since_t)s)
                   -- an earlier email unanswered since: the period started before this one
                   AND NOT EXISTS (
                       SELECT 1 FROM mailing_trace p
                        WHERE p.email = t.email AND p.trace_type = 'mail' AND p.sent_datetime < t.sent_datetime
                          AND p.trace_status IN ('sent', 'open', 'reply')
                          AND NOT EXISTS (SELECT 1 FROM mailing_trace e2
                                           WHERE e2.email = t.email AND %(engaged_since_p)s))
                 ORDER BY t.email, t.sent_datetime, t.id
            ), person AS (
                -- one contact per address: the oldest of the journey's company (duplicates are one person)
                SELECT DISTINCT ON (s.email) c.id AS partner_id, s.id AS trace_id
                  FROM period_start s
                  JOIN res_partner c ON c.email_normalized = s.email
                 WHERE c.active AND (c.company_id IS NULL OR c.company_id = %(company)s)
                 ORDER BY s.email, c.id
            )
            SELECT partner_id, trace_id FROM person
             -- entered already (a pass before, within the margin): the unique entry index answers
             WHERE NOT EXISTS (
                 SELECT 1 FROM smb_journey_enrollment en
                  WHERE en.journey_id = %(journey)s AND en.partner_id = person.partner_id
                    AND en.entry_key = 'no_engagement:mailing.trace,' || person.trace_id)
            """,
            lo=lo, hi=hi, company=self.company_id.id, journey=self.id,
            engaged_since_t=_engaged("e", "t.sent_datetime"), engaged_since_p=_engaged("e2", "p.sent_datetime"),
        ))
        # one recordset, so that reading them is one query per field, not one per customer
        partners = {p.id: p for p in self.env["res.partner"].browse(dict.fromkeys(r[0] for r in rows))}
        self._enroll_pairs([(partners[partner_id], None, f"no_engagement:mailing.trace,{trace_id}")
                            for partner_id, trace_id in rows])
        if self.engagement_sunset:
            self._sunset_unengaged()

    def _sunset_unengaged(self):
        """Mark Unengaged the customers whose enrollment of this journey
        completed since the previous pass (not by its goal: an order is
        engagement) without an open, click or reply on any email since they
        entered. One query for the batch, then one write (tracked on the
        contact's chatter)."""
        since = self.scanned_at - SCAN_MARGIN if self.scanned_at else self.date_start
        self.env["smb.journey.enrollment"].flush_model()
        self.env["res.partner"].flush_model(["email_normalized", "smb_sunset_date"])
        rows = self.env.execute_query(SQL(
            """
            SELECT DISTINCT p.id
              FROM smb_journey_enrollment en
              JOIN res_partner p ON p.id = en.partner_id
             WHERE en.journey_id = %(journey)s AND en.state = 'completed' AND en.exit_reason != 'goal'
               AND en.date_end > %(since)s AND p.smb_sunset_date IS NULL AND p.email_normalized IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM mailing_trace e WHERE e.email = p.email_normalized AND %(engaged)s)
            """,
            journey=self.id, since=since, engaged=_engaged("e", "en.date_start"),
        ))
        if rows:
            # sudo: the engine marks the customers, whoever runs it; the write is tracked on their contact
            self.env["res.partner"].sudo().browse([r[0] for r in rows]).write(
                {"smb_sunset_date": fields.Datetime.now()})
