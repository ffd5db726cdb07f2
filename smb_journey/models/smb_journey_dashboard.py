from ast import literal_eval
from datetime import datetime, time, timedelta

import pytz

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import format_date, get_lang

# the periods the dashboard offers, in days
PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
# journeys drawn apart in the chart; the others are summed as one
CHART_JOURNEYS = 5
# customers at risk listed, the most valuable first
AT_RISK_LISTED = 8


class SmbJourney(models.Model):
    """The owner's dashboard (the ``smb_journey.dashboard`` client action):
    every number it shows comes from ``get_dashboard_data``, computed as the
    journey form, the conversions and the step log compute it, over a period.

    A period of N days is the N calendar days ending today in the user's
    timezone (as Odoo's date filters count), compared with the N days before.
    Messages count when they left the queue, conversions at the order's date
    (the Conversions report's date), entries when the customer entered.
    """

    _inherit = "smb.journey"

    @api.model
    def get_dashboard_data(self, period=DEFAULT_PERIOD, journey_id=False):
        """Everything the dashboard shows, for the journeys of the current
        companies the user may read, amounts in the current company's currency."""
        if not self.env.user.has_group("smb_journey.group_journey_user"):
            raise AccessError(self.env._("Only Journey Users read the journeys dashboard."))
        try:
            period = int(period)
        except (TypeError, ValueError):
            period = DEFAULT_PERIOD
        if period not in PERIODS:
            period = DEFAULT_PERIOD
        window = self._dashboard_window(period)
        # archived journeys earned what they earned: their numbers stay in the totals
        journeys = self.with_context(active_test=False).search([("company_id", "in", self.env.companies.ids)])
        current = (window["start"], window["end"])
        previous = (window["previous_start"], window["start"])
        mail = self._trace_statistics(journeys.step_ids.mailing_id, self._dashboard_range("sent_datetime", *current))
        sales = self._dashboard_sales(journeys, *current)
        kpis = self._dashboard_kpis(journeys, mail, sales, current, previous)
        journey = (journeys.filtered(lambda j: j.id == journey_id)[:1]
                   or self._dashboard_default_journey(journeys, sales))
        return {
            "period": period,
            "periods": list(PERIODS),
            "date_from": format_date(self.env, window["first_day"]),
            "date_to": format_date(self.env, window["today"]),
            "currency_id": self.env.company.currency_id.id,
            "multi_company": len(self.env.companies) > 1,
            "kpis": kpis,
            "chart": self._dashboard_chart(journeys, window),
            "journeys": self._dashboard_journey_table(journeys, mail, sales, *current),
            "funnel": self._dashboard_funnel(journey, mail, sales, *current) if journey else False,
            "funnel_journeys": [{"id": j.id, "name": j.name} for j in journeys if j.active or j == journey],
            "experiments": self._dashboard_experiments(journeys),
            "tiers": self._dashboard_tiers(*current, previous),
            "risk": self._dashboard_risk(*current, previous),
        }

    # ------------------------------------------------------------
    # PERIOD, MONEY, LINKS
    # ------------------------------------------------------------

    @api.model
    def _dashboard_window(self, days):
        """The last ``days`` calendar days (today included) in the user's
        timezone, and the ``days`` before them, as naive UTC datetimes."""
        tz_name = self.env.context.get("tz")
        tz = pytz.timezone(tz_name) if tz_name in pytz.all_timezones_set else pytz.utc
        now = fields.Datetime.now()
        today = pytz.utc.localize(now).astimezone(tz).date()
        first_day = today - timedelta(days=days - 1)

        def utc(day):
            return tz.localize(datetime.combine(day, time.min)).astimezone(pytz.utc).replace(tzinfo=None)

        return {
            "days": days, "tz": tz, "today": today, "first_day": first_day,
            "start": utc(first_day), "end": utc(today + timedelta(days=1)),
            "previous_start": utc(first_day - timedelta(days=days)),
        }

    @api.model
    def _dashboard_range(self, field, start, end):
        return [(field, ">=", start), (field, "<", end)]

    @api.model
    def _dashboard_money(self, amount, company):
        """``amount`` in ``company``'s currency, in the current company's."""
        target = self.env.company.currency_id
        if not amount or company.currency_id == target:
            return amount
        return company.currency_id._convert(amount, target, self.env.company, fields.Date.context_today(self))

    @api.model
    def _dashboard_link(self, xmlid, name, domain=(), context=None, view_type=None, list_view=None):
        """The window action ``xmlid`` narrowed by ``domain``, opening on
        ``view_type`` (its list view replaced by ``list_view``): where a block
        of the dashboard leads."""
        action = self.env["ir.actions.act_window"]._for_xml_id(xmlid)
        views = [[list_view.id if view == "list" and list_view else view_id, view] for view_id, view in action["views"]]
        if view_type:
            views = sorted(views, key=lambda view: view[1] != view_type)
        return {
            "type": "ir.actions.act_window", "name": name, "res_model": action["res_model"], "views": views,
            "domain": literal_eval(action.get("domain") or "[]") + list(domain), "context": dict(context or {}),
            "search_view_id": action.get("search_view_id"), "help": action.get("help"), "target": "current",
        }

    @api.model
    def _dashboard_period_name(self, label, start, end):
        return self.env._("%(label)s (%(start)s to %(end)s)", label=label,
                          start=format_date(self.env, start), end=format_date(self.env, end - timedelta(seconds=1)))

    # ------------------------------------------------------------
    # BLOCKS
    # ------------------------------------------------------------

    @api.model
    def _dashboard_sales(self, journeys, start, end):
        """{journey: (revenue, orders)} credited in the period (the order's
        date), revenue in the current company's currency."""
        # sudo: a journey's own figures, as its form shows them (smb.journey.statistics.mixin)
        rows = self.env["smb.journey.conversion"].sudo()._read_group(
            [("journey_id", "in", journeys.ids), *self._dashboard_range("date", start, end)],
            ["journey_id", "company_id"], ["revenue:sum", "order_id:count_distinct"])
        sales = {}
        for journey, company, revenue, orders in rows:
            sales[journey] = (self._dashboard_money(revenue, company), orders)
        # an order credited to several journeys (linear attribution) is one order in the totals
        totals = self.env["smb.journey.conversion"].sudo()._read_group(
            [("journey_id", "in", journeys.ids), *self._dashboard_range("date", start, end)],
            ["company_id"], ["order_id:count_distinct"])
        sales[None] = (sum(revenue for revenue, __ in sales.values()), sum(orders for __, orders in totals))
        return sales

    @api.model
    def _dashboard_recipients(self, journeys, start, end, groupby):
        """{record of ``groupby``: distinct customer accounts delivered a
        message sent in the period} (smb.journey.statistics.mixin's recipients)."""
        records = journeys if groupby == "journey_id" else self.env.companies
        return dict(self._recipient_counts(groupby, records.ids, [
            ("journey_id", "in", journeys.ids),
            *self._dashboard_range("mailing_trace_id.sent_datetime", start, end),
        ]))

    @api.model
    def _dashboard_kpis(self, journeys, mail, sales, current, previous):
        """The cards: revenue, conversions, messages sent and revenue per
        recipient over the period, each with its value over the previous one."""
        _ = self.env._
        (current_start, current_end), (previous_start, previous_end) = current, previous
        previous_sales = self._dashboard_sales(journeys, previous_start, previous_end)
        sent = sum(counts["sent"] for counts in mail.values())
        previous_mail = self._trace_statistics(
            journeys.step_ids.mailing_id, self._dashboard_range("sent_datetime", previous_start, previous_end))
        previous_sent = sum(counts["sent"] for counts in previous_mail.values())
        recipients = sum(self._dashboard_recipients(journeys, current_start, current_end, "company_id").values())
        previous_recipients = sum(
            self._dashboard_recipients(journeys, previous_start, previous_end, "company_id").values())
        revenue, orders = sales[None]
        previous_revenue, previous_orders = previous_sales[None]
        conversions = self._dashboard_range("date", current_start, current_end)
        return [{
            "key": "revenue", "label": _("Revenue"), "monetary": True,
            "value": revenue, "previous": previous_revenue,
            "help": _("Orders credited to journey messages, net of refunds, by the order date."),
            "link": self._dashboard_link(
                "smb_journey.smb_journey_conversion_action",
                self._dashboard_period_name(_("Journey revenue"), current_start, current_end),
                conversions, {"group_by": ["journey_id"]}, "graph"),
        }, {
            "key": "conversions", "label": _("Conversions"),
            "value": orders, "previous": previous_orders,
            "help": _("Orders credited to journey messages (an order counts once)."),
            "link": self._dashboard_link(
                "smb_journey.smb_journey_conversion_action",
                self._dashboard_period_name(_("Conversions"), current_start, current_end), conversions, {}, "list"),
        }, {
            "key": "sent", "label": _("Messages Sent"),
            "value": sent, "previous": previous_sent,
            "help": _("Emails and text messages that left the queue."),
            "link": self._dashboard_link(
                "smb_journey.smb_journey_log_action",
                self._dashboard_period_name(_("Messages"), current_start, current_end),
                # the messages counted: those that left the queue in the period
                [("outcome", "=", "sent"), *self._dashboard_range("sent_datetime", current_start, current_end)],
                {"pivot_measures": ["__count", "revenue"]}, "pivot"),
        }, {
            "key": "revenue_per_recipient", "label": _("Revenue per Recipient"), "monetary": True,
            "value": revenue / recipients if recipients else 0.0,
            "previous": previous_revenue / previous_recipients if previous_recipients else 0.0,
            "help": _("Revenue divided by the customers delivered a message in the period (%(count)s).",
                      count=recipients),
            "link": self._dashboard_link(
                "smb_journey.smb_journey_conversion_action",
                self._dashboard_period_name(_("Journey revenue"), current_start, current_end),
                conversions, {"group_by": ["journey_id"]}, "pivot"),
        }]

    @api.model
    def _dashboard_default_journey(self, journeys, sales):
        """The funnel's journey when none is chosen: the period's best earner,
        else the first running one."""
        earning = [j for j in journeys if j in sales]
        if earning:
            return max(earning, key=lambda j: (sales[j][0], -j.sequence, -j.id))
        return journeys.filtered(lambda j: j.state == "running")[:1] or journeys.filtered("active")[:1]

    @api.model
    def _dashboard_chart(self, journeys, window):
        """Revenue and conversions per journey and day (per week over 90
        days), with the days of the user's timezone."""
        granularity = "week" if window["days"] > 31 else "day"
        first_day, today = window["first_day"], window["today"]
        if granularity == "week":
            week_start = int(get_lang(self.env).week_start) - 1  # 0 = Monday, as _read_group counts

            def bucket(day):
                return day - timedelta(days=(day.weekday() - week_start) % 7)
        else:
            def bucket(day):
                return day

        buckets, day = [], bucket(first_day)
        while day <= today:
            buckets.append(day)
            day += timedelta(days=7 if granularity == "week" else 1)
        index = {day: i for i, day in enumerate(buckets)}
        # sudo: a journey's own figures, as its form shows them
        rows = self.env["smb.journey.conversion"].sudo().with_context(tz=window["tz"].zone)._read_group(
            [("journey_id", "in", journeys.ids), *self._dashboard_range("date", window["start"], window["end"])],
            ["journey_id", "company_id", f"date:{granularity}"], ["revenue:sum", "order_id:count_distinct"])
        series = {}
        for journey, company, date, revenue, orders in rows:
            line = series.setdefault(journey, {"revenue": [0.0] * len(buckets), "conversions": [0] * len(buckets)})
            position = index.get(bucket(date.date() if isinstance(date, datetime) else date))
            if position is None:
                continue
            line["revenue"][position] += self._dashboard_money(revenue, company)
            line["conversions"][position] += orders
        ranked = sorted(series, key=lambda j: (-sum(series[j]["revenue"]), -sum(series[j]["conversions"]), j.id))
        datasets = [{"id": j.id, "name": j.name, **series[j]} for j in ranked[:CHART_JOURNEYS]]
        others = ranked[CHART_JOURNEYS:]
        if others:
            datasets.append({
                "id": False, "name": self.env._("Other journeys"),
                "revenue": [sum(series[j]["revenue"][i] for j in others) for i in range(len(buckets))],
                "conversions": [sum(series[j]["conversions"][i] for j in others) for i in range(len(buckets))],
            })
        start, end = window["start"], window["end"]
        return {
            "granularity": granularity,
            "labels": [format_date(self.env, day, date_format="MMM d") for day in buckets],
            "datasets": datasets,
            "link": self._dashboard_link(
                "smb_journey.smb_journey_conversion_action",
                self._dashboard_period_name(self.env._("Journey revenue over time"), start, end),
                self._dashboard_range("date", start, end), {
                    "graph_mode": "bar", "graph_stacked": True, "graph_measure": "revenue",
                    "graph_groupbys": [f"date:{granularity}", "journey_id"],
                }, "graph"),
        }

    @api.model
    def _dashboard_journey_table(self, journeys, mail, sales, start, end):
        """Per journey: the period's messages, recipients, conversions and
        revenue; the journeys with something to show, best earners first."""
        recipients = self._dashboard_recipients(journeys, start, end, "journey_id")
        rows = []
        for journey in journeys:
            sent = sum(mail.get(step.mailing_id.id, {}).get("sent", 0) for step in journey.step_ids)
            revenue, orders = sales.get(journey, (0.0, 0))
            if not (sent or orders or journey.state == "running"):
                continue
            count = recipients.get(journey.id, 0)
            rows.append({
                "id": journey.id, "name": journey.name, "state": journey.state,
                "state_label": dict(self._fields["state"]._description_selection(self.env))[journey.state],
                "sent": sent, "recipients": count, "conversions": orders, "revenue": revenue,
                "revenue_per_recipient": revenue / count if count else 0.0,
            })
        return sorted(rows, key=lambda r: (-r["revenue"], -r["conversions"], -r["sent"], r["name"]))

    @api.model
    def _dashboard_funnel(self, journey, mail, sales, start, end):
        """The journey's funnel over the period: customers who entered, then
        the messages sent in the period, opened, clicked, and the orders
        credited; the same per message step (as its statistics count)."""
        _ = self.env._
        # sudo: a journey's own totals, as its form shows them
        entered = self.env["smb.journey.enrollment"].sudo().search_count(
            [("journey_id", "=", journey.id), *self._dashboard_range("date_start", start, end)])
        conversions = self.env["smb.journey.conversion"].sudo()._read_group(
            [("journey_id", "=", journey.id), *self._dashboard_range("date", start, end)],
            ["step_id"], ["revenue:sum", "order_id:count_distinct"])
        by_step = {step.id: (revenue, orders) for step, revenue, orders in conversions}
        recipients = dict(self._recipient_counts("step_id", journey.with_context(active_test=False).step_ids.ids, [
            *self._dashboard_range("mailing_trace_id.sent_datetime", start, end)]))
        steps, totals = [], dict.fromkeys(("sent", "delivered", "opened", "clicked"), 0)
        # every version's steps (the journey's numbers are their sum): the current
        # version's first, then a retired version's step that did something in the period
        message_steps = journey.with_context(active_test=False).step_ids.filtered(lambda s: s._type().mailing_type)
        tracks_opens = any(message_steps.mapped("tracks_opens"))
        for step in message_steps.sorted(lambda s: (not s.active, -s.version_id.number, s.sequence, s.id)):
            counts = mail.get(step.mailing_id.id, {})
            revenue, orders = by_step.get(step.id, (0.0, 0))
            revenue = self._dashboard_money(revenue, journey.company_id)
            for key in totals:
                totals[key] += counts.get(key, 0)
            if not step.active and not (counts.get("sent") or orders):
                continue
            count = recipients.get(step.id, 0)
            name = step.name if step.active else _(
                "%(step)s (version %(number)s)", step=step.name, number=step.version_id.number)
            steps.append({
                "id": step.id, "name": name, "opens": step.tracks_opens,
                "sent": counts.get("sent", 0), "delivered": counts.get("delivered", 0),
                "opened": counts.get("opened", 0), "clicked": counts.get("clicked", 0),
                "converted": orders, "revenue": revenue, "recipients": count,
                "revenue_per_recipient": revenue / count if count else 0.0,
            })
        revenue, orders = sales.get(journey, (0.0, 0))
        count = dict(self._recipient_counts("journey_id", journey.ids, [
            *self._dashboard_range("mailing_trace_id.sent_datetime", start, end)])).get(journey.id, 0)
        stages = [
            {"key": "entered", "label": _("Entered"), "value": entered},
            {"key": "sent", "label": _("Sent"), "value": totals["sent"]},
        ]
        if tracks_opens:
            stages.append({"key": "opened", "label": _("Opened"), "value": totals["opened"]})
        stages += [
            {"key": "clicked", "label": _("Clicked"), "value": totals["clicked"]},
            {"key": "converted", "label": _("Converted"), "value": orders},
        ]
        name = self._dashboard_period_name(journey.name, start, end)
        return {
            "journey_id": journey.id, "name": journey.name, "stages": stages, "steps": steps,
            "revenue": revenue, "recipients": count, "revenue_per_recipient": revenue / count if count else 0.0,
            "links": {
                "entered": self._dashboard_link(
                    "smb_journey.smb_journey_enrollment_action", name,
                    [("journey_id", "=", journey.id), *self._dashboard_range("date_start", start, end)], {}, "list"),
                "steps": self._dashboard_link(
                    "smb_journey.smb_journey_log_action", name,
                    [("journey_id", "=", journey.id), *self._dashboard_range("date", start, end)],
                    {"pivot_measures": ["__count", "revenue"], "pivot_row_groupby": ["step_id"],
                     "pivot_column_groupby": ["outcome"]}, "pivot"),
                "converted": self._dashboard_link(
                    "smb_journey.smb_journey_conversion_action", name,
                    [("journey_id", "=", journey.id), *self._dashboard_range("date", start, end)],
                    {"group_by": ["step_id"]}, "list"),
            },
        }

    @api.model
    def _dashboard_experiments(self, journeys):
        """The A/B splits with recipients and the holdouts of the journeys,
        as their Experiments tab reports them (since each test started)."""
        splits = journeys.step_ids.filtered(lambda s: s.step_type == "split")
        reports = splits._split_reports() if splits else {}
        split_rows = []
        for step in splits.sorted(lambda s: (s.journey_id.sequence, s.journey_id.id, s.sequence, s.id)):
            report = reports[step.id]
            if not report["recipients"] and (step.journey_id.state != "running" or not step.active):
                continue
            name = report["name"] if step.active else self.env._(
                "%(step)s (version %(number)s)", step=report["name"], number=step.version_id.number)
            split_rows.append({
                "journey_id": step.journey_id.id, "journey": step.journey_id.name, "name": name,
                "metric": report["metric"], "recipients": report["recipients"],
                "significant": report["significant"], "winner": report["winner"] or False,
                "verdict": report["verdict_text"],
                "rows": [{key: row[key] for key in (
                    "key", "label", "weight", "recipients", "metric_value", "confidence", "leader", "winner")}
                    for row in report["rows"]],
            })
        holdouts = journeys._holdout_reports()
        holdout_rows = [{
            "journey_id": journey.id, "journey": journey.name, **holdouts[journey.id],
        } for journey in journeys if journey.id in holdouts]
        return {"splits": split_rows, "holdouts": holdout_rows}

    @api.model
    def _dashboard_tiers(self, start, end, previous):
        """Tier upgrades and downgrades of the period per tier (the first
        computation of a customer's tier is no move)."""
        History = self.env["smb.loyalty.tier.history"]

        def moves(start, end):
            return History._read_group(
                [("company_id", "in", self.env.companies.ids), ("source", "!=", "initial"),
                 ("change", "in", ("upgrade", "downgrade")), *self._dashboard_range("date", start, end)],
                ["change", "from_tier_id", "to_tier_id"], ["__count"])

        rows = {}
        totals = {"upgrade": 0, "downgrade": 0}
        for change, from_tier, to_tier, count in moves(start, end):
            totals[change] += count
            tier = to_tier if change == "upgrade" else from_tier
            line = rows.setdefault(tier, {"upgrade": 0, "downgrade": 0})
            line[change] += count
        previous_totals = {"upgrade": 0, "downgrade": 0}
        for change, __, __, count in moves(*previous):
            previous_totals[change] += count
        tiers = self.env["smb.loyalty.tier"].search([("company_id", "in", self.env.companies.ids)])
        tiers |= self.env["smb.loyalty.tier"].union(*(tier for tier in rows if tier))
        name = self._dashboard_period_name(self.env._("Tier changes"), start, end)
        return {
            "upgrades": totals["upgrade"], "downgrades": totals["downgrade"],
            "previous_upgrades": previous_totals["upgrade"], "previous_downgrades": previous_totals["downgrade"],
            "rows": [{
                "id": tier.id, "name": tier.name, "color": tier.color,
                "upgrades": rows.get(tier, {}).get("upgrade", 0), "downgrades": rows.get(tier, {}).get("downgrade", 0),
            } for tier in tiers],
            "link": self._dashboard_link(
                "smb_journey.smb_loyalty_tier_history_action", name,
                [("source", "!=", "initial"), ("change", "in", ("upgrade", "downgrade")),
                 *self._dashboard_range("date", start, end)], {}, "list"),
        }

    @api.model
    def _dashboard_customer(self, partner, company, bands):
        """A customer at risk as the dashboard lists it (``partner`` read in ``company``)."""
        return {
            "id": partner.id, "name": partner.display_name, "company": company.name,
            "band": partner.smb_churn_band, "band_label": bands.get(partner.smb_churn_band, ""),
            "score": partner.smb_churn_score, "clv": self._dashboard_money(partner.smb_clv, company),
            "next_order": partner.smb_next_order_date and format_date(self.env, partner.smb_next_order_date),
            "salesperson": partner.user_id.name or "",
            "tier": partner.smb_tier_id.name or "", "tier_color": partner.smb_tier_id.color,
        }

    @api.model
    def _dashboard_risk(self, start, end, previous):
        """Customer accounts at high and medium churn risk in each current
        company, their predicted value (12 months), the most valuable of them
        (high risk first), and how many rose to high risk in the period."""
        Partner = self.env["res.partner"]
        bands = dict(Partner._fields["smb_churn_band"]._description_selection(self.env))
        counts = {"high": 0, "medium": 0}
        value = {"high": 0.0, "medium": 0.0}
        customers = []
        for company in self.env.companies:
            partners = Partner.with_company(company)
            domain = [("smb_is_commercial", "=", True), ("smb_churn_band", "in", ("high", "medium"))]
            for band, count, clv in partners._read_group(domain, ["smb_churn_band"], ["__count", "smb_clv:sum"]):
                counts[band] += count
                value[band] += self._dashboard_money(clv, company)
            for band in ("high", "medium"):
                listed = partners.search([("smb_is_commercial", "=", True), ("smb_churn_band", "=", band)],
                                         order="smb_clv desc, id", limit=AT_RISK_LISTED)
                customers += [self._dashboard_customer(partner, company, bands) for partner in listed]
        customers.sort(key=lambda c: (c["band"] != "high", -c["clv"], -c["score"], c["id"]))

        def rises(start, end):
            return self.env["smb.churn.history"].search_count([
                ("company_id", "in", self.env.companies.ids), ("to_band", "=", "high"),
                *self._dashboard_range("date", start, end)])

        name = self.env._("Customers at risk")
        return {
            "high": counts["high"], "medium": counts["medium"],
            "high_value": value["high"], "medium_value": value["medium"],
            "rose": rises(start, end), "previous_rose": rises(*previous),
            "customers": customers[:AT_RISK_LISTED],
            "link": self._dashboard_link(
                "smb_journey.res_partner_action_smb_churn", name, [("smb_churn_band", "in", ("high", "medium"))],
                {}, "list", list_view=self.env.ref("smb_journey.res_partner_view_list_smb_my_customers")),
        }
