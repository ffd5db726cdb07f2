"""The dry-run forecast: how many customers would enter a journey in the
next days, from today's data, and how many messages a day that means.

Each trigger estimates its entrants with ``_forecast_<trigger>(date_from,
date_to)`` -> :class:`Entrants`, with set-based queries; a trigger without
that method has no forecast (it says so rather than guessing). The journey's
steps are walked once per path (conditions and splits branch, each path with
its probability) to count the messages per entrant, and what the frequency
cap and the quiet hours would do to them. The forecast wizard shows it."""

import math
from ast import literal_eval
from dataclasses import dataclass
from datetime import timedelta

from odoo import fields, models
from odoo.fields import Domain
from odoo.tools import SQL

from odoo.addons.smb_journey.lib import dates as dates_lib
from odoo.addons.smb_journey.lib import schedule
from odoo.addons.smb_journey.tools import vocabulary

from .smb_journey_step_frequency_cap import _room_at

# how far back the rates of past events are read, by default
LOOKBACK_DAYS = 30
# the windows forecast, in days
WINDOWS = (7, 30)
# an outlet's own history counts once the step has taken this many customers
MIN_HISTORY = 10
# at most this many paths are walked (a journey of nested branches)
MAX_PATHS = 512
# a wait until a weekday ends, on average, half a week later; until an hour, half a day
AVERAGE_WAIT_HOURS = {"weekday": 84.0, "hour": 12.0}


@dataclass
class Entrants:
    """A trigger's estimate for a window: ``count`` customers entering, and
    how it was reached (``basis``, in words)."""

    count: float
    basis: str


class SmbJourney(models.Model):
    _inherit = "smb.journey"

    def action_open_forecast(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Forecast: %s", self.name),
            "res_model": "smb.journey.forecast",
            "view_mode": "form",
            "target": "new",
            "context": {"default_journey_id": self.id},
        }

    # ------------------------------------------------------------
    # THE FORECAST
    # ------------------------------------------------------------

    def _forecast(self, now=None, lookback_days=LOOKBACK_DAYS):
        """{'available', 'message', 'windows': [{days, entrants, basis, messages, per_day, held_per_day,
        quiet_per_day}], 'per_entrant': {expected, min, max, held, quiet}, 'rules': [...], 'outlets': [...]}."""
        self.ensure_one()
        now = now or fields.Datetime.now()
        journey = self.with_context(smb_forecast_lookback=lookback_days)
        hook = getattr(journey, f"_forecast_{self.trigger}", None)
        if not hook:
            return {"available": False, "message": self.env._(
                "No forecast for this trigger (%s): nothing in today's data says when customers would enter.",
                self._trigger().label), "windows": []}
        paths, outlets = journey._forecast_paths()
        per_entrant = _path_totals(paths)
        windows = []
        for days in WINDOWS:
            entrants = hook(now, now + timedelta(days=days))
            windows.append({
                "days": days, "entrants": entrants.count, "basis": entrants.basis,
                "messages": entrants.count * per_entrant["expected"],
                "per_day": entrants.count * per_entrant["expected"] / days,
                "held_per_day": entrants.count * per_entrant["held"] / days,
                "quiet_per_day": entrants.count * per_entrant["quiet"] / days,
            })
        return {"available": True, "message": False, "windows": windows, "per_entrant": per_entrant,
                "rules": journey._forecast_cap_rules(), "outlets": outlets,
                "quiet": journey._forecast_quiet_words()}

    def _forecast_lookback(self):
        return int(self.env.context.get("smb_forecast_lookback") or LOOKBACK_DAYS)

    # ------------------------------------------------------------
    # PATHS: the messages of each way through the journey
    # ------------------------------------------------------------

    def _forecast_paths(self):
        """([(probability, [(hours after entry, channel, step)], local hour or None at entry)],
        [(step, {outlet: probability}, basis)]): every way through the steps."""
        self.ensure_one()
        outlets_seen = {}
        paths = []
        start_hour = self.date_hour if self.trigger == "customer_date" else None
        todo = [(self._first_step(), 1.0, 0.0, start_hour, [])]
        while todo and len(paths) < MAX_PATHS:
            step, probability, offset, hour, messages = todo.pop()
            while step:
                step_type = step._type()
                if step_type.mailing_type:
                    messages = [*messages, (offset, step_type.mailing_type, step, hour)]
                if step.step_type == "exit":
                    break
                if step.step_type == "wait":
                    offset, hour = _after_wait(step, offset, hour)
                if step_type.outlets:
                    if step not in outlets_seen:
                        outlets_seen[step] = step._forecast_outlets()
                    shares, __ = outlets_seen[step]
                    branches = [(outlet, share) for outlet, share in shares.items() if share > 0] or [
                        (next(iter(shares)), 0.0)]
                    for outlet, share in branches[1:]:
                        delay = step._forecast_outlet_delay(outlet)
                        following = step._outlet_first_step(outlet) or step._next_step()
                        todo.append((following, probability * share, offset + delay, _shift(hour, delay), messages))
                    outlet, share = branches[0]
                    probability *= share
                    delay = step._forecast_outlet_delay(outlet)
                    offset, hour = offset + delay, _shift(hour, delay)
                    step = step._outlet_first_step(outlet) or step._next_step()
                    continue
                step = step._next_step()
            paths.append((probability, messages))
        held_paths = [(p, self._forecast_timing(messages)) for p, messages in paths]
        outlets = [(step, shares, basis) for step, (shares, basis) in outlets_seen.items()]
        return held_paths, outlets

    def _forecast_timing(self, messages):
        """(messages, held by the cap, moved by the quiet hours) of one path:
        the cap's rules counting this journey's own messages (a held one
        waits and pushes the rest, or is skipped, as the journey says); the
        quiet hours moving a message whose hour falls in them (a share of
        the day's hours when its hour is not known)."""
        company = self.company_id
        sent, held, quiet, shift = [], 0, 0.0, 0.0
        for offset, channel, step, hour in messages:
            moment = offset + shift
            limits = step._cap_limits()
            if limits:
                start = fields.Datetime.now()
                sends = [(start + timedelta(hours=h), c) for h, c in sent]
                room_at, __ = _room_at(sends, limits, start + timedelta(hours=moment))
                wait = (room_at - start).total_seconds() / 3600 - moment
                if wait > 0:
                    held += 1
                    if self.cap_policy == "skip":
                        continue
                    shift += wait
                    moment += wait
                    hour = _shift(hour, wait)
            if company.smb_quiet_hours and self.respect_quiet_hours and not step.ignore_quiet_hours:
                quiet += _quiet_share(hour, company.smb_quiet_start, company.smb_quiet_end)
            sent.append((moment, channel))
        return len(sent), held, quiet

    def _forecast_cap_rules(self):
        """The rules of the frequency cap that hold this journey's emails, in words."""
        if not (self.marketing and self.company_id.smb_frequency_cap):
            return []
        # sudo: the company's rules, read for the forecast whoever asks
        rules = self.env["smb.journey.frequency.rule"].sudo().search(
            [("company_id", "in", [self.company_id.id, False])])
        return [rule.name for rule in rules]

    def _forecast_quiet_words(self):
        company = self.company_id
        if not (company.smb_quiet_hours and self.respect_quiet_hours):
            return False
        return self.env._("%(start)s to %(end)s", start=_hour_words(company.smb_quiet_start),
                          end=_hour_words(company.smb_quiet_end))

    # ------------------------------------------------------------
    # ENTRANTS: _forecast_<trigger>(date_from, date_to) -> Entrants
    # ------------------------------------------------------------

    def _forecast_audience_domain(self, path="id"):
        """The journey's audience (and consent) as a domain on ``path`` (a
        partner field of the counted records)."""
        domain = self._parsed("audience_domain") & Domain("active", "=", True) & Domain("email", "!=", False)
        if self.consent_required:
            domain &= Domain("smb_consent_confirmed", "=", True)
        return domain if path == "id" else Domain(path, "any", domain)

    def _forecast_rate(self, model, date_field, domain, date_from, date_to, partner_field="partner_id", what=""):
        """Entrants from the rate of past events: the records of ``model``
        matching ``domain`` (and the audience, through ``partner_field``)
        dated within the lookback, per day, times the window's days. The
        re-entry policy counts per customer: once (customers who never
        entered), again after N days (at most once per N days each), every
        time (every record)."""
        lookback = self._forecast_lookback()
        since = date_from - timedelta(days=lookback)
        domain = Domain(domain) & Domain(date_field, ">=", since) & Domain(date_field, "<", date_from)
        if partner_field:
            domain &= self._forecast_audience_domain(partner_field)
        Model = self.env[model].sudo().with_context(active_test=False)  # sudo: counts, whoever asks
        if partner_field == "id":
            counts = dict.fromkeys(Model.search(domain), 1)
        else:
            counts = dict(Model._read_group(domain, [partner_field], ["__count"]))
        total = self._forecast_per_customer(counts, lookback)
        days = (date_to - date_from).total_seconds() / 86400
        return Entrants(total / lookback * days, self.env._(
            "%(count)s %(what)s in the last %(lookback)s days, at the same rate",
            count=round(total, 1), what=what, lookback=lookback))

    def _forecast_per_customer(self, counts, lookback):
        """How many of ``counts`` ({partner: records}) enter as the re-entry policy says."""
        if self.reentry == "always":
            return sum(counts.values())
        if self.reentry == "after_days":
            most = max(1, math.ceil(lookback / max(self.reentry_days, 1)))
            return sum(min(count, most) for count in counts.values())
        entered = set(self.env["smb.journey.enrollment"].sudo().search(
            [("journey_id", "=", self.id), ("partner_id", "in", [p.id for p in counts])]).partner_id.ids)
        return sum(1 for partner in counts if partner.id not in entered)

    def _forecast_partner_created(self, date_from, date_to):
        domain = Domain("company_id", "in", (False, self.company_id.id))
        return self._forecast_rate("res.partner", "create_date", domain, date_from, date_to, partner_field="id",
                                   what=self.env._("new contacts with an email address"))

    def _forecast_order_confirmed(self, date_from, date_to):
        domain = (Domain("state", "=", "sale") & Domain("company_id", "=", self.company_id.id)
                  & self._parsed("trigger_domain"))
        return self._forecast_rate("sale.order", "date_order", domain, date_from, date_to,
                                   what=self.env._("orders confirmed"))

    def _forecast_tier_upgraded(self, date_from, date_to):
        domain = Domain("company_id", "=", self.company_id.id) & self._parsed("trigger_domain") & \
            getattr(self, f"_trigger_domain_{self.trigger}")()
        return self._forecast_rate("smb.loyalty.tier.history", "date", domain, date_from, date_to,
                                   what=self.env._("tier changes"))

    _forecast_tier_downgraded = _forecast_tier_upgraded

    def _forecast_churn_risk(self, date_from, date_to):
        domain = Domain("company_id", "=", self.company_id.id) & self._trigger_domain_churn_risk()
        return self._forecast_rate("smb.churn.history", "date", domain, date_from, date_to,
                                   what=self.env._("rises into the risk band"))

    def _forecast_cart_abandoned(self, date_from, date_to):
        """Carts abandoned now and not entered (a running journey takes them at
        its next pass), carts open now times the share of carts that end
        abandoned, and new carts at the rate of the lookback."""
        lookback = self._forecast_lookback()
        Order = self.env["sale.order"].sudo()  # sudo: counts, whoever asks
        carts = (Domain("website_id", "!=", False) & Domain("company_id", "=", self.company_id.id)
                 & Domain("order_line", "!=", False) & self._forecast_audience_domain("partner_id")
                 & self._parsed("trigger_domain") & self._trigger_domain_cart_abandoned()
                 & Domain("partner_id", "not in", Order.env["website"].sudo().search([]).user_id.partner_id.ids))
        abandoned = carts & Domain("is_abandoned_cart", "=", True)
        pending = 0
        if self.state == "running" and self.date_start:
            pending = Order.search_count(abandoned & Domain("date_order", ">=", self._cart_scan_start())
                                         & Domain("smb_enrollment_ids", "not any", [("journey_id", "=", self.id)]))
        since = date_from - timedelta(days=lookback)
        recent = carts & Domain("date_order", ">=", since) & Domain("date_order", "<", date_from)
        # the carts of the lookback whose fate is known: bought, or abandoned (not those still open)
        created = Order.search_count(recent & (Domain("state", "=", "sale") | Domain("is_abandoned_cart", "=", True)))
        lost = Order.search_count(recent & abandoned)
        share = lost / created if created else 0.0
        open_now = Order.search_count(carts & Domain("state", "=", "draft") & Domain("is_abandoned_cart", "=", False))
        days = (date_to - date_from).total_seconds() / 86400
        count = pending + open_now * share + lost / lookback * days
        return Entrants(count, self.env._(
            "%(pending)s abandoned carts waiting, %(open)s open carts of which %(share)s %% end abandoned, and "
            "%(lost)s carts abandoned in the last %(lookback)s days, at the same rate", pending=pending,
            open=open_now, share=round(share * 100), lost=lost, lookback=lookback))

    def _forecast_customer_date(self, date_from, date_to):
        """The customers whose date, shifted by the offset, falls within the
        window (exact, from their dates), less those who entered for it."""
        first, last = date_from.date(), (date_to - timedelta(days=1)).date()
        offset = self.date_offset_days
        company = self.company_id.id
        self.env["res.partner"].flush_model()
        self.env["sale.order"].flush_model(["partner_id", "date_order", "state", "company_id"])
        if self.date_source == "field":
            field = self._date_scan_field()
            value = SQL("p.%s::date", SQL.identifier(field.name))
            match = SQL("%s BETWEEN %s AND %s", value, first - timedelta(days=offset), last - timedelta(days=offset))
            join = SQL()
        else:
            if self.date_source == "anniversary":
                join = SQL("""JOIN (SELECT partner_id, MIN(date_order)::date AS first_at FROM sale_order
                                     WHERE state = 'sale' AND company_id = %s GROUP BY partner_id) o
                                ON o.partner_id = p.id""", company)
                value = SQL("o.first_at")
            else:
                join, value = SQL(), SQL("p.smb_birthday")
            match = SQL("((EXTRACT(MONTH FROM %s) * 100 + EXTRACT(DAY FROM %s))::int) = ANY(%s)",
                        value, value, dates_lib.month_days(first, last, offset))
        rows = self.env.execute_query(SQL(
            """SELECT p.id, %s FROM res_partner p %s
                WHERE p.active AND COALESCE(p.email, '') != '' AND (p.company_id IS NULL OR p.company_id = %s)
                  AND %s IS NOT NULL AND %s""", value, join, company, value, match))
        partners = self._audience(self.env["res.partner"].browse([row[0] for row in rows]))
        dates = {partner_id: born for partner_id, born in rows if partner_id in set(partners.ids)}
        keys = set()
        for partner_id, born in dates.items():
            if self.date_source == "field":
                keys.add((partner_id, dates_lib.entry_key("field", born, self.date_field_id.name)))
                continue
            # the occasion greeted within the window (born on 29 February: the 28th in other years)
            for year in {first.year, last.year}:
                occasion = dates_lib.occasion_in_year(born, year)
                if first <= occasion + timedelta(days=offset) <= last and occasion.year > born.year:
                    keys.add((partner_id, dates_lib.entry_key(self.date_source, occasion)))
        entered = {(e.partner_id.id, e.entry_key) for e in self.env["smb.journey.enrollment"].sudo().search(
            [("journey_id", "=", self.id), ("partner_id", "in", list(dates)),
             ("entry_key", "in", [key for __, key in keys])])}
        count = len(keys - entered)
        source = dict(self._fields["date_source"]._description_selection(self.env)).get(self.date_source, "")
        date = vocabulary.inline_label(self.env, source)
        if count == 1:
            return Entrants(count, self.env._("%(count)s customer whose %(date)s falls in these days",
                                              count=count, date=date))
        return Entrants(count, self.env._("%(count)s customers whose %(date)s falls in these days",
                                          count=count, date=date))

    def _forecast_no_order(self, date_from, date_to):
        """The customer accounts whose last confirmed order turns the journey's
        number of days old within the window, if they do not order again (a
        journey not scanned yet also takes, at its first pass, those who
        lapsed within the last period)."""
        days = timedelta(days=self.no_order_days)
        lo = date_from - days if self.scanned_at else date_from - 2 * days
        hi = date_to - days
        self.env["sale.order"].flush_model(["state", "company_id", "date_order", "partner_id"])
        self.env["res.partner"].flush_model(["commercial_partner_id", "email"])
        rows = self.env.execute_query(SQL(
            """SELECT last.id FROM (
                   SELECT DISTINCT ON (p.commercial_partner_id) o.id, o.date_order
                     FROM sale_order o JOIN res_partner p ON p.id = o.partner_id
                    WHERE o.state = 'sale' AND o.company_id = %(company)s
                    ORDER BY p.commercial_partner_id, o.date_order DESC, o.id DESC) last
                WHERE last.date_order > %(lo)s AND last.date_order <= %(hi)s""",
            company=self.company_id.id, lo=lo, hi=hi))
        lapsing = self.env["sale.order"].sudo().browse([row[0] for row in rows])  # sudo: counts, whoever asks
        partners = self._audience(lapsing.partner_id)
        entered = set(self.env["smb.journey.enrollment"].sudo().search([
            ("journey_id", "=", self.id),
            ("entry_key", "in", [f"no_order:sale.order,{order.id}" for order in lapsing])]).mapped("entry_key"))
        count = len([o for o in lapsing if o.partner_id in partners and f"no_order:sale.order,{o.id}" not in entered])
        if count == 1:
            return Entrants(count, self.env._(
                "%(count)s customer whose last order turns %(days)s days old in these days, if they do not order "
                "again", count=count, days=self.no_order_days))
        return Entrants(count, self.env._(
            "%(count)s customers whose last order turns %(days)s days old in these days, if they do not order again",
            count=count, days=self.no_order_days))


class SmbJourneyStep(models.Model):
    _inherit = "smb.journey.step"

    def _forecast_outlets(self):
        """({outlet: share of customers}, basis in words) for a step with
        outlets: its own history once it has some, else the type's estimate
        (``_forecast_outlets_<type>``), else an even share."""
        self.ensure_one()
        outlets = [key for key, __ in self._type().outlets]
        if self.step_type == "split":
            return self._forecast_outlets_split()
        history = dict(self.env["smb.journey.log"].sudo()._read_group(  # sudo: the step's own totals
            [("step_id", "=", self.id), ("outcome", "=", "done")], ["reason"], ["__count"]))
        by_outlet = {key: sum(count for reason, count in history.items() if reason and reason.endswith(key))
                     for key in outlets}
        total = sum(by_outlet.values())
        if total >= MIN_HISTORY:
            return {key: count / total for key, count in by_outlet.items()}, self.env._(
                "from the %s customers who went through it", total)
        estimate = getattr(self, f"_forecast_outlets_{self.step_type}", None)
        result = estimate() if estimate else None
        if result:
            return result
        return dict.fromkeys(outlets, 1.0 / len(outlets)), self.env._("no data: an even share")

    def _forecast_outlets_split(self):
        if self.split_winner:
            return {self.split_winner: 1.0}, self.env._("the winner")
        weights = dict(self._split_weights())
        return {key: weight / 100.0 for key, weight in weights.items()}, self.env._("the variants' weights")

    def _forecast_outlets_condition(self):
        if self.condition_type == "partner_domain":
            Partner = self.env["res.partner"].sudo()  # sudo: counts, whoever asks
            audience = self.journey_id._forecast_audience_domain() & Domain(
                "company_id", "in", (False, self.journey_id.company_id.id))
            total = Partner.search_count(audience)
            if total:
                # with the field access of the condition's author, as it runs
                yes = len(self.journey_id._search_as_owner(
                    "res.partner", audience & Domain(literal_eval(self.condition_domain or "[]")),
                    owner=self.filter_user_id, what=self.env._("The condition of step %s", self.name)))
                if total == 1:
                    basis = self.env._("%(yes)s of the 1 customer of the audience matches today", yes=yes)
                else:
                    basis = self.env._("%(yes)s of the %(total)s customers of the audience match today",
                                       yes=yes, total=total)
                return {"yes": yes / total, "no": 1 - yes / total}, basis
        if self.condition_type in ("opened", "clicked"):
            rate = self._forecast_engagement_rate(self.condition_type)
            if rate is not None:
                return {"yes": rate, "no": 1 - rate}, self.env._("the journeys' rate over the last days")
        return None

    def _forecast_outlets_wait_event(self):
        if self.event_type in ("opened", "clicked"):
            rate = self._forecast_engagement_rate(self.event_type)
            if rate is not None:
                return {"happened": rate, "timeout": 1 - rate}, self.env._("the journeys' rate over the last days")
        return None

    def _forecast_engagement_rate(self, what):
        """The share of the company's journey emails of the lookback that a
        person opened (or clicked); None without any."""
        since = fields.Datetime.now() - timedelta(days=self.journey_id._forecast_lookback())
        Trace = self.env["mailing.trace"].sudo()  # sudo: counts, whoever asks
        sent = Domain([("mass_mailing_id.smb_journey_step_id.company_id", "=", self.journey_id.company_id.id),
                       ("trace_type", "=", "mail"), ("sent_datetime", ">=", since)])
        total = Trace.search_count(sent)
        if not total:
            return None
        engaged = Trace._smb_human_open_domain() | Domain("links_click_datetime", "!=", False) \
            if what == "opened" else Domain("links_click_datetime", "!=", False)
        return Trace.search_count(sent & engaged) / total

    def _forecast_outlet_delay(self, outlet):
        """Hours the outlet takes: a wait for an event that times out waits its timeout."""
        if self.step_type == "wait_event" and outlet == "timeout":
            return schedule.UNITS[self.event_timeout_unit].total_seconds() / 3600 * self.event_timeout_amount
        return 0.0


def _after_wait(step, offset, hour):
    """(offset, local hour) after a wait step."""
    if step.wait_mode == "delay":
        hours = schedule.UNITS[step.wait_unit].total_seconds() / 3600 * step.wait_amount
        return offset + hours, _shift(hour, hours)
    if step.wait_mode == "until":
        return offset + AVERAGE_WAIT_HOURS["weekday" if step.wait_weekday else "hour"], step.wait_hour
    # the customer's best time: the shop's best hour stands for it
    best = step.journey_id.company_id.smb_best_hour
    return offset + AVERAGE_WAIT_HOURS["hour"], float(best) if best >= 0 else step.wait_hour


def _shift(hour, hours):
    return None if hour is None else (hour + hours) % 24


def _quiet_share(hour, start, end):
    """1 or 0 when the local hour is known (inside the quiet hours or not), else the share of the day they cover."""
    if start == end:
        return 0.0
    length = (end - start) % 24
    if hour is None:
        return length / 24
    return 1.0 if (hour - start) % 24 < length else 0.0


def _path_totals(paths):
    """Per entrant: messages expected (paths weighted), fewest and most, held by the cap, moved by quiet hours."""
    likely = [(p, timing) for p, timing in paths if p > 0] or [(1.0, (0, 0, 0.0))]
    return {
        "expected": sum(p * sent for p, (sent, __, __) in likely),
        "min": min(sent for __, (sent, __, __) in likely),
        "max": max(sent for __, (sent, __, __) in likely),
        "held": sum(p * held for p, (__, held, __) in likely),
        "quiet": sum(p * quiet for p, (__, __, quiet) in likely),
    }


def _hour_words(hour):
    return f"{int(hour):02d}:{round((hour % 1) * 60):02d}"
