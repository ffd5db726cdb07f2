from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, format_date

from odoo.addons.smb_journey.lib import dates as dates_lib
from odoo.addons.smb_journey.tools.registry import Provider, Trigger

# the dates a journey can wait for: yearly ones come back every year
DATE_SOURCES = [
    ("birthday", "Birthday"),
    ("anniversary", "First purchase anniversary"),
    ("field", "A date field of the customer"),
]
YEARLY = ("birthday", "anniversary")


class SmbJourney(models.Model):
    """The customer date trigger: a birthday, the anniversary of a first
    order, or any date of the contact (a warranty or subscription end),
    shifted by an offset and sent at an hour of the customer's day."""

    _inherit = "smb.journey"

    date_source = fields.Selection(
        DATE_SOURCES, "Date", default="birthday",
        help="Birthday and first purchase anniversary come back every year: the customer enters once a year. "
        "A date field enters them once per value of the date: a new warranty end enters them again.")
    date_field_id = fields.Many2one(
        "ir.model.fields", "Date Field", ondelete="set null",
        domain="[('model', '=', 'res.partner'), ('ttype', 'in', ('date', 'datetime')), ('store', '=', True), "
        "('company_dependent', '=', False)]",
        help="A date of the contact, e.g. a warranty or subscription end.")
    date_offset_days = fields.Integer(
        "Days After the Date", default=0,
        help="0: on the day. 3: three days after. -30: thirty days before (a renewal reminder a month "
        "before a subscription ends).")
    date_hour = fields.Float(
        "Send At (customer's time)", default=9.0,
        help="Hour of the day, in the customer's timezone (else the company's, else UTC), from which they "
        "enter. A day the engine missed is caught up for up to a week, never later.")

    @api.constrains("date_hour")
    def _check_date_hour(self):
        for journey in self:
            if not 0 <= journey.date_hour < 24:
                raise ValidationError(self.env._("The hour to send at must be between 00:00 and 23:59."))

    @api.constrains("trigger", "date_source", "date_field_id")
    def _check_date_field(self):
        for journey in self:
            if journey.trigger == "customer_date" and journey.date_source == "field" and not journey.date_field_id:
                raise ValidationError(self.env._(
                    "Journey %(journey)s waits for a date field of the customer: choose which one.",
                    journey=journey.name))

    @api.model
    def _owned_fields(self):
        return super()._owned_fields() + ["date_field_id"]

    @api.model
    def _trigger_types(self):
        _ = self.env._
        return super()._trigger_types() | {
            "customer_date": Trigger(
                _("A date of the customer (birthday, anniversary...)"), fires="scan",
                params=("date_source", "date_field_id", "date_offset_days", "date_hour"), record_filter=False,
                context=("occasion",), icon="fa-birthday-cake",
                entry=_("once a year for a birthday or an anniversary, once per date for a date field"),
                help=_("The customer's birthday, the anniversary of their first order or a date of the contact "
                       "comes round (give or take the offset), at the hour chosen in their timezone.")),
        }

    def _scan_customer_date(self):
        """Enrol the customers whose date comes round today in their own
        timezone, at or after the hour, with one query.

        The days since the last pass are covered (a cron that did not run
        for a few hours misses nobody), at most a week back (no birthday
        email weeks late); the entry key makes each occasion enter once."""
        self.ensure_one()
        now = fields.Datetime.now()
        start = dates_lib.scan_start(self.scanned_at, now)
        first, last = dates_lib.scan_days(self.scanned_at, now)
        field = self._date_scan_field()
        yearly = self.date_source in YEARLY
        # the date, as the customer's calendar has it: a datetime is UTC
        value, join = SQL("p.smb_birthday"), SQL()
        if self.date_source == "anniversary":
            join = SQL(
                """JOIN (SELECT partner_id, MIN(date_order) AS first_at FROM sale_order
                          WHERE state = 'sale' AND company_id = %s GROUP BY partner_id) o ON o.partner_id = p.id""",
                self.company_id.id)
            value = SQL("o.first_at")
        elif field:
            value = SQL("p.%s", SQL.identifier(field.name))
        local = self.date_source == "anniversary" or (field is not None and field.type == "datetime")
        born = SQL("(x.value AT TIME ZONE 'UTC' AT TIME ZONE x.tz)::date") if local else SQL("x.value")
        # the entry keys of dates_lib.entry_key, made in SQL to skip the occasions already entered
        if yearly:
            # 29 February is also matched by 28 February of a year without one
            match = SQL("to_char(c.born, 'MM-DD') = d.md AND EXTRACT(YEAR FROM d.occasion) > EXTRACT(YEAR FROM c.born)")
            key = SQL("%s || ':' || EXTRACT(YEAR FROM d.occasion)::int", self.date_source)
        else:
            match = SQL("c.born = d.occasion AND d.md = to_char(d.occasion, 'MM-DD')")
            key = SQL("%s || to_char(d.occasion, 'YYYY-MM-DD')", f"date:{field.name}:")
        # birthdays: only the months and days the scan covers, through res_partner's index on them
        indexed = SQL(
            "AND ((EXTRACT(MONTH FROM p.smb_birthday) * 100 + EXTRACT(DAY FROM p.smb_birthday))::int) = ANY(%s)",
            dates_lib.month_days(first, last, self.date_offset_days),
        ) if self.date_source == "birthday" else SQL()
        self.env["res.partner"].flush_model(
            ["active", "email", "company_id", "tz", "smb_birthday"] + ([field.name] if field else []))
        self.env["sale.order"].flush_model(["partner_id", "date_order", "state", "company_id"])
        self.env["smb.journey.enrollment"].flush_model(["journey_id", "partner_id", "entry_key"])
        rows = self.env.execute_query(SQL(
            """
            WITH zones AS MATERIALIZED (SELECT name FROM pg_timezone_names),
            base AS (
                SELECT d::date AS day, d::date - (%(offset)s)::int AS occasion
                  FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') d
            ),
            days AS (
                SELECT day, occasion, to_char(occasion, 'MM-DD') AS md FROM base
                 UNION ALL
                SELECT day, occasion, '02-29' FROM base
                 WHERE to_char(occasion, 'MM-DD') = '02-28'
                   AND EXTRACT(DAY FROM make_date(EXTRACT(YEAR FROM occasion)::int, 3, 1) - 1) = 28
            ),
            customers AS (
                SELECT x.partner_id, %(born)s AS born, x.tz
                  FROM (SELECT p.id AS partner_id, %(value)s AS value, COALESCE(z.name, zc.name, 'UTC') AS tz
                          FROM res_partner p %(join)s
                          LEFT JOIN zones z ON z.name = p.tz
                          LEFT JOIN zones zc ON zc.name = %(company_tz)s
                         WHERE p.active AND COALESCE(p.email, '') != ''
                           AND (p.company_id IS NULL OR p.company_id = %(company)s)
                           AND %(value)s IS NOT NULL %(indexed)s) x
            )
            SELECT c.partner_id, %(key)s AS entry_key
              FROM customers c JOIN days d ON %(match)s
             WHERE d.day <= (%(now)s AT TIME ZONE 'UTC' AT TIME ZONE c.tz)::date
               AND d.day >= (%(start)s AT TIME ZONE 'UTC' AT TIME ZONE c.tz)::date
               AND (d.day + make_interval(mins => %(minutes)s)) AT TIME ZONE c.tz <= %(now)s AT TIME ZONE 'UTC'
               AND NOT EXISTS (SELECT 1 FROM smb_journey_enrollment e
                                WHERE e.journey_id = %(journey)s AND e.partner_id = c.partner_id
                                  AND e.entry_key = %(key)s)
            """,
            indexed=indexed, offset=self.date_offset_days, first=first, last=last, born=born, value=value, join=join,
            company_tz=self.company_id.partner_id.tz or "UTC", company=self.company_id.id, key=key,
            match=match, now=now, start=start, minutes=round(self.date_hour * 60), journey=self.id,
        ))
        partners = self.env["res.partner"].browse({partner_id for partner_id, __ in rows})
        self._enroll_pairs([(partners.browse(partner_id), None, key) for partner_id, key in rows])

    def _date_scan_field(self):
        """The contact's date field a "date field" journey reads (None for
        the other dates), refused when it is not a stored date or datetime of
        contacts, or when the journey's filter author may not read it."""
        self.ensure_one()
        if self.date_source in YEARLY:
            return None
        field = self.env["res.partner"]._fields.get(self.date_field_id.name or "")
        if not field or not field.store or field.type not in ("date", "datetime") or field.company_dependent:
            raise UserError(self.env._(
                "Journey %(journey)s waits for a date field of the customer: choose a stored date field of contacts.",
                journey=self.name))
        owner = self.filter_user_id
        if owner and owner.id != SUPERUSER_ID:
            try:
                self.env["res.partner"].with_user(owner)._check_field_access(field, "read")
            except AccessError as e:
                raise UserError(self.env._(
                    "The date field %(field)s may not be read by %(user)s.", field=field.string, user=owner.name,
                )) from e
        return field

    def _occasions(self, enrollments):
        """{enrollment id: (occasion date, years)} of ``enrollments`` of this
        journey, read back from their entry keys; years is 0 for a plain date.
        One query for the first orders of an anniversary journey."""
        self.ensure_one()
        parsed = {e.id: dates_lib.parse_entry_key(e.entry_key) for e in enrollments}
        first_orders = {}
        if any(source == "anniversary" for source, __ in parsed.values()):
            # sudo: the journey reads its customers' first order for their own email
            first_orders = dict(self.env["sale.order"].sudo()._read_group(
                [("state", "=", "sale"), ("company_id", "=", self.company_id.id),
                 ("partner_id", "in", enrollments.partner_id.ids)],
                ["partner_id"], ["date_order:min"]))
        result = {}
        for enrollment in enrollments:
            source, when = parsed[enrollment.id]
            partner = enrollment.partner_id
            born = partner.smb_birthday if source == "birthday" else None
            if source == "anniversary" and first_orders.get(partner):
                born = first_orders[partner].date()
            if born:
                occasion = dates_lib.occasion_in_year(born, when)
                result[enrollment.id] = (occasion, dates_lib.years_since(born, occasion))
            elif source == "field":
                result[enrollment.id] = (when, 0)
        return result


class SmbJourneyStep(models.Model):
    """The ``occasion`` template name of the date trigger."""

    _inherit = "smb.journey.step"

    @api.model
    def _context_providers(self):
        return super()._context_providers() | {
            "occasion": Provider(
                self.env._("The customer's date that made them enter: its day, and the years it counts "
                           "(a 30th birthday, a 2nd anniversary)"), fields=("date", "years"),
                labels={"date": self.env._("Date"), "years": self.env._("Years")}),
        }

    def _context_occasion(self, enrollments, envs):
        occasions = self.journey_id._occasions(enrollments)
        return {
            e.id: {"date": format_date(envs[e.id], occasions[e.id][0]), "years": occasions[e.id][1]}
            if e.id in occasions else None
            for e in enrollments
        }

    def _sample_occasion(self):
        return {"date": format_date(self.env, fields.Date.today()), "years": 30}
