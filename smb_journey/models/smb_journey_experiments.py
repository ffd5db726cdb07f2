from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, format_amount, format_datetime

from odoo.addons.smb_journey.lib import experiments


class SmbJourney(models.Model):
    """A journey's experiments: its holdout (a control group drawn at entry
    that receives nothing, see smb_journey_step_holdout.py) and the report
    of its A/B splits (smb_journey_step_split.py) and of the holdout."""

    _inherit = "smb.journey"

    holdout_percent = fields.Integer(
        "Holdout (%)", default=0, tracking=True,
        help="This share of the customers whom the trigger brings in (0 to 50 %) is a control group: they go "
        "through the journey receiving nothing (no email, SMS or activity; logged as held out), so that the Experiments tab can tell "
        "what the journey adds to their orders. The same customer is always in the same group. Customers enrolled "
        "by hand are never held out.")
    holdout_since = fields.Datetime(
        "Holdout Set On", readonly=True, copy=False,
        help="When the holdout percentage was last set: the report compares the customers who entered since.")
    experiments_html = fields.Html("Experiments", compute="_compute_experiments_html", sanitize=False)

    @api.constrains("holdout_percent")
    def _check_holdout_percent(self):
        if any(not 0 <= journey.holdout_percent <= 50 for journey in self):
            raise ValidationError(self.env._("A holdout keeps 0 to 50 % of the customers out of the journey."))

    @api.model_create_multi
    def create(self, vals_list):
        now = fields.Datetime.now()
        for vals in vals_list:
            if vals.get("holdout_percent"):
                vals.setdefault("holdout_since", now)
        return super().create(vals_list)

    def write(self, vals):
        if "holdout_percent" in vals:
            changed = self.filtered(lambda j: j.holdout_percent != vals["holdout_percent"])
            res = super().write(vals)
            # sudo: the report's start follows the percentage, whoever may write it
            changed.sudo().write({"holdout_since": fields.Datetime.now() if vals["holdout_percent"] else False})
            return res
        return super().write(vals)

    def _compute_experiments_html(self):
        # a journey or step being created in the form has no numbers yet; a retired
        # version's tests stay readable (their numbers are that version's)
        splits = self.with_context(active_test=False).step_ids.filtered(lambda s: s.step_type == "split" and s.id)
        split_reports = splits._split_reports() if splits else {}
        holdouts = self._holdout_reports()
        for journey in self:
            journey_splits = splits.filtered(lambda s, journey=journey: s.journey_id == journey)
            journey.experiments_html = self.env["ir.qweb"]._render("smb_journey.journey_experiments", {
                "splits": [split_reports[step.id] for step in journey_splits.sorted(
                    lambda s: (-s.version_id.number, s.sequence, s.id))],
                "holdout": holdouts.get(journey.id),
            })

    def _enroll_pairs(self, pairs, lead=None, manual=False):
        """Draw the control group among the customers who just entered: one
        UPDATE for the batch, nothing when the journey has no holdout. A
        customer enrolled by hand (the enrol wizard, a server action) was
        chosen on purpose: never held out, and left out of the report. The
        draw is per customer account, as the report counts: the contacts of
        one company are all in the same group."""
        enrollments = super()._enroll_pairs(pairs, lead=lead, manual=manual)
        percent = self.holdout_percent
        if enrollments and percent and not manual:
            held = [e.id for e in enrollments
                    if experiments.held_out(percent, self.id, e.partner_id.commercial_partner_id.id)]
            if held:
                self.env.execute_query(SQL(
                    "UPDATE smb_journey_enrollment SET held_out = TRUE WHERE id = ANY(%s)", held))
                enrollments.invalidate_recordset(["held_out"])
        return enrollments

    def _holdout_numbers(self):
        """{journey id: {held_out: (customers, converted, revenue, squares)}}
        over the customers who entered by the trigger since the holdout was
        set (those enrolled by hand are not drawn), in one query.

        The unit is a customer account (the commercial partner), whatever
        the number of its entries or contacts: the group of its first entry
        since the holdout was set, its orders counted once from that entry
        to its last exit plus the conversion window (or now while it is in
        the journey). Entries counted one by one would count an order once
        per overlapping window, and the intervals assume independent units.

        A customer converted when their account confirmed an order of the
        journey's company in that span, after entering: the cart or
        quotation that made them enter once bought, not an order confirmed
        before they entered (the one that started a post-purchase journey).
        A journey whose goal is its triggering cart or order counts only
        those, as its conversions do. Revenue is those orders' untaxed
        amount in the company currency; squares, the sum of each customer's
        revenue squared."""
        journeys = self.filtered(lambda j: j.id and j.holdout_since)
        if not journeys:
            return {}
        self.env["smb.journey.enrollment"].flush_model()
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["sale.order"].flush_model(["state", "date_order", "partner_id", "company_id", "amount_untaxed",
                                            "currency_rate"])
        rows = self.env.execute_query(SQL(
            """
            WITH entries AS (
                SELECT e.id, e.journey_id, ep.commercial_partner_id AS account, e.order_id, e.date_start,
                       COALESCE(e.date_end, %(now)s) AS date_end, COALESCE(e.held_out, FALSE) AS held_out
                  FROM smb_journey_enrollment e
                  JOIN smb_journey j ON j.id = e.journey_id
                  JOIN res_partner ep ON ep.id = e.partner_id
                 WHERE e.journey_id = ANY(%(ids)s) AND e.date_start >= j.holdout_since AND e.manual IS NOT TRUE
            ), units AS (
                SELECT journey_id, account, (ARRAY_AGG(held_out ORDER BY date_start, id))[1] AS held_out,
                       MIN(date_start) AS first_start, MAX(date_end) AS last_end
                  FROM entries
                 GROUP BY journey_id, account
            )
            SELECT u.journey_id, u.held_out, COUNT(*), COUNT(*) FILTER (WHERE r.orders > 0),
                   COALESCE(SUM(r.revenue), 0), COALESCE(SUM(r.revenue * r.revenue), 0)
              FROM units u
              JOIN smb_journey j ON j.id = u.journey_id
              LEFT JOIN LATERAL (
                SELECT COUNT(o.id) AS orders,
                       SUM(o.amount_untaxed / COALESCE(NULLIF(o.currency_rate, 0), 1)) AS revenue
                  FROM sale_order o
                  JOIN res_partner op ON op.id = o.partner_id
                 WHERE op.commercial_partner_id = u.account
                   AND o.company_id = j.company_id AND o.state = 'sale'
                   -- confirmed after entering: a cart or quotation that made them enter
                   -- counts once bought, the order that made them enter never does
                   AND o.date_order > u.first_start
                   AND o.date_order <= u.last_end + make_interval(days => j.conversion_window_days)
                   -- a journey whose goal is its own cart (or order) measures only those,
                   -- as its conversions do (smb.journey.conversion._credit_orders)
                   AND (j.goal != 'order_confirmed' OR j.goal_scope != 'record' OR EXISTS (
                        SELECT 1 FROM entries x
                         WHERE x.journey_id = u.journey_id AND x.account = u.account
                           AND x.order_id = o.id AND o.date_order > x.date_start))
              ) r ON TRUE
             GROUP BY u.journey_id, u.held_out
            """,
            now=fields.Datetime.now(), ids=journeys.ids))
        numbers = {}
        for journey_id, held, customers, converted, revenue, squares in rows:
            numbers.setdefault(journey_id, {})[held] = (customers, converted, float(revenue), float(squares))
        return numbers

    def _holdout_reports(self):
        """{journey id: what the holdout table shows} for the journeys with a holdout."""
        numbers = self._holdout_numbers()
        _ = self.env._
        reports = {}
        for journey in self.filtered(lambda j: j.id and j.holdout_since):
            groups = numbers.get(journey.id, {})
            treated = groups.get(False, (0, 0, 0.0, 0.0))
            control = groups.get(True, (0, 0, 0.0, 0.0))
            currency = journey.currency_id

            def money(value, currency=currency):
                return format_amount(self.env, value, currency)

            def signed(value):
                return ("-" if value < 0 else "+") + money(abs(value))

            def row(label, group):
                entrants, converted, revenue, __ = group
                return {
                    "label": label, "entrants": entrants, "converted": converted,
                    "conversion_rate": f"{100.0 * converted / entrants:.1f} %" if entrants else "-",
                    "revenue": money(revenue),
                    "revenue_per_entrant": money(revenue / entrants) if entrants else "-",
                }

            rate = experiments.rate_uplift(treated[1], treated[0], control[1], control[0])
            mean = experiments.mean_uplift(
                treated[2], treated[3], treated[0], control[2], control[3], control[0],
                buyers=treated[1] + control[1])
            reports[journey.id] = {
                "percent": journey.holdout_percent,
                "since": format_datetime(self.env, journey.holdout_since),
                "window": journey.conversion_window_days,
                "rows": [row(_("Journey (treatment)"), treated), row(_("Held out (control)"), control)],
                "conversion": {
                    "label": _("Conversion rate uplift"),
                    "difference": f"{rate.difference * 100:+.1f} pts",
                    "interval": f"[{rate.low * 100:+.1f}, {rate.high * 100:+.1f}] pts",
                    "status": rate.status,
                    "text": self._uplift_text(rate.status),
                },
                "revenue": {
                    "label": _("Revenue per customer uplift"),
                    "difference": signed(mean.difference),
                    "interval": f"[{signed(mean.low)}, {signed(mean.high)}]",
                    "status": mean.status,
                    "text": self._uplift_text(mean.status, revenue=True),
                },
            }
        return reports

    def _uplift_text(self, status, revenue=False):
        _ = self.env._
        if status == experiments.NOT_ENOUGH:
            return _("Not enough data yet: each group needs at least %(units)s customers%(buyers)s.",
                     units=experiments.MIN_UNITS,
                     buyers=_(" and both together at least %s buyers", experiments.MIN_EXPECTED) if revenue else "")
        if status == experiments.SIGNIFICANT:
            return _("Significant: the 95 % interval leaves out zero.")
        return _("Not significant yet: the 95 % interval contains zero, the difference may be chance.")
