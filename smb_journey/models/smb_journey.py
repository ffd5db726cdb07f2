from ast import literal_eval

import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL

from odoo.addons.smb_journey.lib import entry as entry_lib

# Trigger -> model of the triggering record (False: the customer alone)
TRIGGER_RECORD_MODEL = {
    "partner_created": False,
    "cart_abandoned": "sale.order",
    "order_confirmed": "sale.order",
    "tier_upgraded": "smb.loyalty.tier.history",
    "tier_downgraded": "smb.loyalty.tier.history",
    "churn_risk": "smb.churn.history",
    "manual": False,
}


class SmbJourney(models.Model):
    _name = "smb.journey"
    _description = "Customer Journey"
    _inherit = ["mail.thread"]
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True, tracking=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10)
    color = fields.Integer()
    description = fields.Text(translate=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    user_id = fields.Many2one(
        "res.users", "Responsible", default=lambda self: self.env.user, tracking=True,
        help="Gets the activities of customers who have no salesperson.")
    state = fields.Selection(
        [("draft", "Draft"), ("running", "Running"), ("paused", "Paused"), ("stopped", "Stopped")],
        default="draft", required=True, copy=False, tracking=True, index=True,
    )
    date_start = fields.Datetime(
        "Started On", copy=False, readonly=True,
        help="When the journey was first started; abandoned carts older than this are not enrolled.",
    )
    # Trigger
    trigger = fields.Selection(
        [
            ("partner_created", "New contact"),
            ("cart_abandoned", "Abandoned website cart"),
            ("order_confirmed", "Sale order confirmed"),
            ("tier_upgraded", "Loyalty tier reached"),
            ("tier_downgraded", "Loyalty tier lost"),
            ("churn_risk", "Churn risk rose"),
            ("manual", "By hand or from a server action"),
        ],
        required=True, default="manual", tracking=True,
    )
    website_id = fields.Many2one(
        "website", check_company=True,
        help="Abandoned carts of this website only; all websites of the company when empty.",
    )
    tier_id = fields.Many2one(
        "smb.loyalty.tier", "Tier", check_company=True,
        help="Tier reached: customers who move up to this tier. Tier lost: customers who move down "
        "from this tier. Any tier when empty.",
    )
    churn_band = fields.Selection(
        [("medium", "Medium or higher"), ("high", "High")], "Risk Reached", default="high",
        help="The customer enters when the nightly scoring moves them into this risk band (or above) "
        "from a lower one; staying there does not enter them again.",
    )
    trigger_domain = fields.Char(
        "Triggering Record Filter", default="[]",
        help="Only orders or carts matching this filter enter the journey.",
    )
    record_model = fields.Char(compute="_compute_record_model")
    audience_domain = fields.Char(
        "Audience", default="[]",
        help="Customers who may enter; checked again before every step, so a customer "
        "who leaves the audience (e.g. becomes an employee) exits.",
    )
    reentry = fields.Selection(
        [("once", "Only once"), ("after_days", "Again after a delay"), ("always", "Every time")],
        "Re-entry", required=True, default="once",
        help="Whatever the policy, a cart or an order enters a journey at most once.",
    )
    reentry_days = fields.Integer("Re-entry After (days)", default=30)
    # Goal
    goal = fields.Selection(
        [("none", "No goal"), ("order_confirmed", "Customer confirms an order"),
         ("domain", "Customer matches a filter")],
        required=True, default="none",
        help="Reaching the goal completes the enrollment: no further step is run.",
    )
    goal_domain = fields.Char(default="[]")
    conversion_window_days = fields.Integer(
        "Conversion Window (days)", default=5,
        help="An order confirmed within this many days after a journey email is credited "
        "to that email, with its revenue.",
    )
    utm_campaign_id = fields.Many2one(
        "utm.campaign", "UTM Campaign", copy=False, ondelete="restrict",
        help="Campaign put on every tracked link and mailing of this journey.",
    )
    step_ids = fields.One2many("smb.journey.step", "journey_id", "Steps", copy=True)
    enrollment_ids = fields.One2many("smb.journey.enrollment", "journey_id", "Enrollments")
    # Statistics
    enrollment_count = fields.Integer("Enrolled", compute="_compute_enrollment_stats")
    running_count = fields.Integer("In Progress", compute="_compute_enrollment_stats")
    completed_count = fields.Integer("Completed", compute="_compute_enrollment_stats")
    exited_count = fields.Integer("Exited", compute="_compute_enrollment_stats")
    error_count = fields.Integer("In Error", compute="_compute_enrollment_stats")
    sent_count = fields.Integer("Sent", compute="_compute_mail_stats")
    opened_count = fields.Integer("Opened", compute="_compute_mail_stats")
    clicked_count = fields.Integer("Clicked", compute="_compute_mail_stats")
    converted_count = fields.Integer("Conversions", compute="_compute_mail_stats")
    revenue = fields.Monetary(compute="_compute_mail_stats", currency_field="currency_id")
    open_rate = fields.Float("Open Rate (%)", compute="_compute_mail_stats")
    click_rate = fields.Float("Click Rate (%)", compute="_compute_mail_stats")

    @api.depends("trigger")
    def _compute_record_model(self):
        for journey in self:
            journey.record_model = TRIGGER_RECORD_MODEL.get(journey.trigger) or "res.partner"

    def _compute_enrollment_stats(self):
        counts = {
            (journey.id, state): count
            for journey, state, count in self.env["smb.journey.enrollment"]._read_group(
                [("journey_id", "in", self.ids)], ["journey_id", "state"], ["__count"]
            )
        }
        for journey in self:
            get = lambda state: counts.get((journey.id, state), 0)  # noqa: E731
            journey.running_count = get("running")
            journey.completed_count = get("completed")
            journey.exited_count = get("exited")
            journey.error_count = get("error")
            journey.enrollment_count = sum(get(s) for s in ("running", "completed", "exited", "error"))

    @api.depends("step_ids")
    def _compute_mail_stats(self):
        stats = {journey.id: dict.fromkeys(
            ("sent", "opened", "clicked", "converted", "revenue"), 0) for journey in self}
        for step in self.step_ids:
            acc = stats[step.journey_id.id]
            acc["sent"] += step.sent_count
            acc["opened"] += step.opened_count
            acc["clicked"] += step.clicked_count
            acc["converted"] += step.converted_count
            acc["revenue"] += step.revenue
        for journey in self:
            acc = stats.get(journey.id) or dict.fromkeys(("sent", "opened", "clicked", "converted", "revenue"), 0)
            journey.sent_count = acc["sent"]
            journey.opened_count = acc["opened"]
            journey.clicked_count = acc["clicked"]
            journey.converted_count = acc["converted"]
            journey.revenue = acc["revenue"]
            journey.open_rate = 100.0 * acc["opened"] / acc["sent"] if acc["sent"] else 0.0
            journey.click_rate = 100.0 * acc["clicked"] / acc["sent"] if acc["sent"] else 0.0

    @api.constrains("audience_domain", "goal_domain", "trigger_domain")
    def _check_domains(self):
        for journey in self:
            for fname, model in (
                ("audience_domain", "res.partner"),
                ("goal_domain", "res.partner"),
                ("trigger_domain", journey.record_model),
            ):
                try:
                    Domain(literal_eval(journey[fname] or "[]")).validate(self.env[model])
                except Exception as e:  # noqa: BLE001 - any parse error is shown as is
                    raise ValidationError(self.env._(
                        "Journey %(journey)s: invalid filter %(field)s: %(error)s",
                        journey=journey.name, field=journey._fields[fname].string, error=e,
                    )) from e

    @api.constrains("reentry_days", "conversion_window_days")
    def _check_days(self):
        if any(j.reentry_days < 0 or j.conversion_window_days < 0 for j in self):
            raise ValidationError(self.env._("Delays cannot be negative."))

    def write(self, vals):
        res = super().write(vals)
        if {"name", "company_id"} & set(vals):
            self.step_ids._sync_mailing()  # their tracking mailings carry the journey's name and sender
        return res

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_start(self):
        for journey in self:
            if not journey.step_ids:
                raise UserError(self.env._("Journey %s has no step to run.", journey.name))
            journey.step_ids._check_runnable()
        for journey in self.filtered(lambda j: not j.date_start):
            journey.date_start = fields.Datetime.now()
        self.write({"state": "running"})
        self.env.ref("smb_journey.ir_cron_journey_engine")._trigger()

    def action_pause(self):
        self.filtered(lambda j: j.state == "running").write({"state": "paused"})

    def action_stop(self):
        """Stop for good: customers still inside exit, nothing more is sent."""
        self.write({"state": "stopped"})
        running = self.env["smb.journey.enrollment"].search(
            [("journey_id", "in", self.ids), ("state", "in", ("running", "error"))]
        )
        running._exit("journey_stopped")

    def action_reset_draft(self):
        self.filtered(lambda j: j.state == "stopped").write({"state": "draft"})

    def action_view_enrollments(self):
        action = self.env["ir.actions.act_window"]._for_xml_id("smb_journey.smb_journey_enrollment_action")
        action["domain"] = [("journey_id", "in", self.ids)]
        action["context"] = {"default_journey_id": self.id, "search_default_filter_running": 0}
        return action

    def action_open_enroll_wizard(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": "smb.journey.enroll.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_journey_id": self.id},
        }

    # ------------------------------------------------------------
    # PUBLIC API (server actions, other modules)
    # ------------------------------------------------------------

    def enroll(self, records, lead=None):
        """Enrol customers into this journey; returns the new enrollments.

        :param records: ``res.partner`` records, or records of the journey's
            triggering model (sale orders) whose ``partner_id`` enters.
        Customers outside the audience, or whom the re-entry policy keeps out,
        are silently left out; calling twice enrols once.
        """
        self.ensure_one()
        # rows are inserted in SQL below: check the caller's right to enrol here
        self.env["smb.journey.enrollment"].check_access("create")
        if self.state != "running":
            raise UserError(self.env._("Journey %s is not running: start it first.", self.name))
        if records._name == "res.partner":
            pairs = [(p, None) for p in records]
        else:
            pairs = [(r.partner_id, r) for r in records]
        return self._enroll_pairs(pairs, lead=lead)

    def exit(self, partners, reason="manual"):
        """End the running enrollments of ``partners`` in these journeys."""
        enrollments = self.env["smb.journey.enrollment"].search([
            ("journey_id", "in", self.ids),
            ("partner_id", "in", partners.ids),
            ("state", "in", ("running", "error")),
        ])
        enrollments._exit(reason)
        return enrollments

    @api.model
    def _fire_trigger(self, trigger, records):
        """Enrol ``records`` (partners or triggering records) into every running
        journey listening to ``trigger``. Set-based: a handful of queries per
        journey whatever the number of records."""
        if not records:
            return self.env["smb.journey.enrollment"]
        journeys = self.sudo().search([("trigger", "=", trigger), ("state", "=", "running")])
        enrollments = self.env["smb.journey.enrollment"]
        for journey in journeys:
            # sudo: the trigger fires for whoever created the record (a website
            # visitor, an import); enrolment is the journey's own bookkeeping.
            matching = journey._filter_trigger_records(records)
            if matching._name == "res.partner":
                pairs = [(p, None) for p in matching]
            else:
                pairs = [(r.partner_id, r) for r in matching]
            enrollments |= journey._enroll_pairs(pairs)
        return enrollments

    # ------------------------------------------------------------
    # PRIVATE
    # ------------------------------------------------------------

    def _parsed(self, fname):
        return Domain(literal_eval(self[fname] or "[]"))

    def _filter_trigger_records(self, records):
        self.ensure_one()
        company = Domain("company_id", "in", (False, self.company_id.id))
        domain = Domain("id", "in", records.ids) & company
        if records._name != "res.partner":
            domain &= self._parsed("trigger_domain")
            if self.website_id and "website_id" in records._fields:
                domain &= Domain("website_id", "=", self.website_id.id)
            if self.tier_id and self.trigger == "tier_upgraded":
                domain &= Domain("to_tier_id", "=", self.tier_id.id)
            elif self.tier_id and self.trigger == "tier_downgraded":
                domain &= Domain("from_tier_id", "=", self.tier_id.id)
            if self.trigger == "churn_risk":
                reached = ["high"] if self.churn_band == "high" else ["medium", "high"]
                domain &= Domain("to_band", "in", reached) & Domain("from_band", "not in", reached)
        return records.with_context(active_test=False).search(domain) if records else records

    def _audience(self, partners):
        """The subset of ``partners`` in the audience (one query)."""
        self.ensure_one()
        if not partners:
            return partners
        domain = Domain("id", "in", partners.ids) & self._parsed("audience_domain")
        return partners.search(domain)

    def _first_step(self):
        self.ensure_one()
        return self.step_ids.filtered(lambda s: not s.parent_id).sorted(lambda s: (s.sequence, s.id))[:1]

    def _enroll_pairs(self, pairs, lead=None):
        """Insert one enrollment per (partner, record) allowed in, exactly once.

        The unique index on (journey, partner, entry key) settles races: rows
        are inserted with ``ON CONFLICT DO NOTHING``, so the same trigger fired
        twice, or by two processes, enrols once and never raises.
        """
        self.ensure_one()
        Enrollment = self.env["smb.journey.enrollment"]
        pairs = [(p, r) for p, r in pairs if p]
        if not pairs or self.state != "running":
            return Enrollment
        partners = self.env["res.partner"].union(*(p for p, __ in pairs))
        allowed = self._audience(partners.filtered(lambda p: p.active))
        if not allowed:
            return Enrollment
        now = fields.Datetime.now()
        Enrollment.flush_model()
        history = {
            partner.id: (count, last_start, "running" in states)
            for partner, count, last_start, states in Enrollment.sudo()._read_group(
                [("journey_id", "=", self.id), ("partner_id", "in", allowed.ids)],
                ["partner_id"], ["__count", "date_start:max", "state:array_agg"],
            )
        }
        first_step = self._first_step()
        rows, seen = [], set()
        for partner, record in pairs:
            if partner not in allowed:
                continue
            count, last_start, running = history.get(partner.id, (0, None, False))
            ref = f"{record._name},{record.id}" if record else None
            if not entry_lib.may_enter(
                self.reentry, now, last_start=last_start, any_running=running and self.reentry != "always",
                days=self.reentry_days,
            ):
                continue
            key = entry_lib.entry_key(ref, count)
            if (partner.id, key) in seen:
                continue
            seen.add((partner.id, key))
            history[partner.id] = (count + 1, now, True)
            rows.append(SQL(
                "(%s, %s, %s, %s, %s, %s, %s, %s, 'running', %s, %s, %s, %s, %s, %s, %s)",
                self.id, partner.id, self.company_id.id, key,
                record._name if record else None, record.id if record else None,
                record.id if record and record._name == "sale.order" else None,
                lead.id if lead else None,
                first_step.id or None, now, now, self.env.uid, now, self.env.uid, now,
            ))
        if not rows:
            return Enrollment
        ids = self._insert_enrollments(rows)
        Enrollment.invalidate_model()
        self.invalidate_recordset(["enrollment_ids"])
        if ids:
            self.env.ref("smb_journey.ir_cron_journey_engine")._trigger()
        return Enrollment.browse(ids)

    def _insert_enrollments(self, rows):
        """INSERT .. ON CONFLICT DO NOTHING; returns the ids inserted.

        Under Odoo's REPEATABLE READ, a conflict with a row that a concurrent
        transaction committed after our snapshot raises a serialization failure
        instead of doing nothing. That row is the same entry made by the other
        process: retry row by row and skip the ones that conflict.
        """
        cr = self.env.cr

        def insert(values):
            cr.execute(SQL(
                """INSERT INTO smb_journey_enrollment
                       (journey_id, partner_id, company_id, entry_key, res_model, res_id,
                        order_id, lead_id, state, step_id, due_at, date_start,
                        create_uid, create_date, write_uid, write_date)
                   VALUES %s
                   ON CONFLICT (journey_id, partner_id, entry_key) DO NOTHING
                   RETURNING id""",
                SQL(", ").join(values),
            ), log_exceptions=False)
            return [row[0] for row in cr.fetchall()]

        try:
            with cr.savepoint(flush=False):
                return insert(rows)
        except psycopg2.errors.SerializationFailure:
            ids = []
            for row in rows:
                try:
                    with cr.savepoint(flush=False):
                        ids += insert([row])
                except psycopg2.errors.SerializationFailure:
                    continue  # entered by a concurrent transaction
            return ids

    def _ensure_utm_campaign(self):
        for journey in self.filtered(lambda j: not j.utm_campaign_id):
            # sudo: UTM campaigns are technical bookkeeping of tracked links
            journey.utm_campaign_id = self.env["utm.campaign"].sudo().create({
                "name": self.env._("Journey: %s", journey.name),
            })
        return self.utm_campaign_id

    def _get_record_exit_reason(self, enrollment):
        """Why ``enrollment`` must end because of its triggering record, or False.

        Returns ``(state, reason)``; extend per trigger.
        """
        if enrollment.res_model and enrollment.res_id and not enrollment.order_id and enrollment.res_model == "sale.order":
            return "exited", "record_deleted"
        order = enrollment.order_id
        if self.trigger == "cart_abandoned" and order:
            if order.state == "sale":
                return "completed", "purchased"
            if order.state == "cancel":
                return "exited", "cancelled"
            if not order.order_line:
                return "exited", "emptied"
        if self.trigger == "order_confirmed" and order and order.state == "cancel":
            return "exited", "cancelled"
        return False

    # ------------------------------------------------------------
    # CRON
    # ------------------------------------------------------------

    @api.model
    def _scan_abandoned_carts(self):
        """Enrol carts that became abandoned since the last run.

        website_sale's definition of an abandoned cart is reused
        (``is_abandoned_cart``: a draft website order with lines, of a known
        customer, untouched for the website's delay).
        """
        journeys = self.search([("trigger", "=", "cart_abandoned"), ("state", "=", "running")])
        Order = self.env["sale.order"]
        for journey in journeys:
            domain = Domain([
                ("is_abandoned_cart", "=", True),
                ("date_order", ">=", journey.date_start),
                ("partner_id.email", "!=", False),
                ("company_id", "=", journey.company_id.id),
                ("smb_enrollment_ids", "not any", [("journey_id", "=", journey.id)]),
            ])
            if journey.website_id:
                domain &= Domain("website_id", "=", journey.website_id.id)
            carts = Order.search(domain & journey._parsed("trigger_domain"))
            journey._enroll_pairs([(cart.partner_id, cart) for cart in carts])

    def _covers_website(self, website):
        return any(not j.website_id or j.website_id == website for j in self)
