import logging
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import SQL

from odoo.addons.smb_journey.lib import send_time

_logger = logging.getLogger(__name__)

# opens older than this say little about today's habits
HISTORY_DAYS = 365


class ResPartner(models.Model):
    """The customer's best send time: the hour of their local day at which
    they usually open their email, recomputed every night from every email
    they were sent (journeys, newsletters), shrunk to the shop's pattern when
    they have little history (lib/send_time.py)."""

    _inherit = "res.partner"

    smb_best_hour = fields.Float(
        "Usually Opens At", readonly=True, copy=False,
        help="The hour of their day (in their timezone) at which this customer usually opens their email, "
        "from their opens and clicks of the last year, leaning on the shop's pattern when they have few. "
        "Journeys' \"until the customer's best time\" waits send then.")
    smb_best_hour_opens = fields.Integer(
        "Opens Learnt From", readonly=True, copy=False,
        help="How many of this customer's opens (or clicks) the best hour is learnt from; 0: none, the "
        "shop's best hour is used.")
    smb_best_hour_confidence = fields.Float(
        "Best Hour Confidence", readonly=True, copy=False,
        help="How much of the best hour comes from the customer's own opens rather than the shop's pattern.")

    @api.model
    def _cron_compute_best_hours(self):
        self.smb_compute_best_hours()

    @api.model
    def smb_compute_best_hours(self):
        """Every customer's best hour and the shop's, set-based (one aggregate
        query, two UPDATEs): what the nightly job does (Journey Managers)."""
        if not self.env.su and not self.env.user.has_group("smb_journey.group_journey_manager"):
            raise AccessError(self.env._("Only Journey Managers recompute the customers' best send hours."))
        counts = self._smb_open_hours()
        shop = [0] * send_time.HOURS
        for hours in counts.values():
            for hour, count in enumerate(hours):
                shop[hour] += count
        shares = send_time.shop_shares(shop)
        ids, best, opens, confidence = [], [], [], []
        for partner_id, hours in counts.items():
            hour, weight = send_time.best_hour(hours, shares)
            ids.append(partner_id)
            best.append(hour)
            opens.append(sum(hours))
            confidence.append(round(weight, 4))
        self.flush_model(["smb_best_hour", "smb_best_hour_opens", "smb_best_hour_confidence"])
        # raw UPDATEs, as for the tiers: a derived value, no write_date bump nor write hooks
        self.env.cr.execute(SQL(
            """UPDATE res_partner partner
                  SET smb_best_hour = new.hour, smb_best_hour_opens = new.opens,
                      smb_best_hour_confidence = new.confidence
                 FROM unnest(%s::int[], %s::int[], %s::int[], %s::float[]) AS new(id, hour, opens, confidence)
                WHERE partner.id = new.id""",
            ids, best, opens, confidence))
        # customers whose opens all left the history
        self.env.cr.execute(SQL(
            """UPDATE res_partner SET smb_best_hour = NULL, smb_best_hour_opens = 0, smb_best_hour_confidence = NULL
                WHERE smb_best_hour_opens > 0 AND id <> ALL(%s::int[])""", ids))
        self.invalidate_model(["smb_best_hour", "smb_best_hour_opens", "smb_best_hour_confidence"])
        shop_best = send_time.best_hour([0] * send_time.HOURS, shares)[0] if sum(shop) else -1
        # sudo: a derived value of every company, written by the nightly job
        self.env["res.company"].sudo().search([]).write({"smb_best_hour": shop_best})
        _logger.info("Best send hours: %s customers with opens, the shop's best hour %s", len(ids), shop_best)

    @api.model
    def _smb_open_hours(self):
        """{partner id: [opens per hour of their local day]} over the last
        year: every email sent to their address (journeys, newsletters), an
        open or, when the open was not seen (images blocked) or was a mail
        scanner's (``mailing.trace._smb_human_open_domain``), a click."""
        self.env["mailing.trace"].flush_model(
            ["email", "open_datetime", "smb_machine_open", "links_click_datetime", "trace_type"])
        self.flush_model(["email_normalized", "tz"])
        default_tz = self.env.company.partner_id.tz or "UTC"
        rows = self.env.execute_query(SQL(
            """WITH zones AS (SELECT name FROM pg_timezone_names),
                    read AS (
                        SELECT trace.email,
                               COALESCE(CASE WHEN trace.smb_machine_open THEN NULL ELSE trace.open_datetime END,
                                        trace.links_click_datetime) AS read_at
                          FROM mailing_trace trace
                         WHERE trace.trace_type = 'mail')
               SELECT partner.id,
                      EXTRACT(hour FROM trace.read_at
                              AT TIME ZONE 'UTC' AT TIME ZONE COALESCE(own_zone.name, shop_zone.name, 'UTC'))::int,
                      count(*)
                 FROM read trace
                 JOIN res_partner partner ON partner.email_normalized = trace.email
                 LEFT JOIN zones own_zone ON own_zone.name = partner.tz
                 LEFT JOIN zones shop_zone ON shop_zone.name = %(default_tz)s
                WHERE trace.read_at >= %(since)s
                GROUP BY 1, 2""",
            default_tz=default_tz, since=fields.Datetime.now() - timedelta(days=HISTORY_DAYS)))
        counts = defaultdict(lambda: [0] * send_time.HOURS)
        for partner_id, hour, count in rows:
            counts[partner_id][hour] += count
        return counts
