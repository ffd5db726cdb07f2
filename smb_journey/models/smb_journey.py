import logging
from collections import defaultdict
from ast import literal_eval
from contextlib import contextmanager
from datetime import timedelta

import psycopg2
import psycopg2.errors

from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL, format_amount, format_date, mute_logger

from odoo.addons.smb_journey.lib import entry as entry_lib
from odoo.addons.smb_journey.tools import contained, vocabulary
from odoo.addons.smb_journey.tools.registry import Goal, Trigger
# the volume guard's activity, found again by its summary when the emails are released
VOLUME_SUMMARY_PREFIX = "Journey on hold: "
# journey filters: field, model it filters (None: the triggering record's model)
FILTER_FIELDS = (("audience_domain", "res.partner"), ("goal_domain", "res.partner"), ("trigger_domain", None))

_logger = logging.getLogger(__name__)


class SmbJourney(models.Model):
    _name = "smb.journey"
    _description = "Customer Journey"
    _inherit = ["mail.thread", "mail.activity.mixin", "smb.journey.statistics.mixin"]
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
        "res.users", "Responsible", default=lambda self: self._default_user_id(), tracking=True,
        domain="[('share', '=', False)]",
        help="Gets the activities of customers who have no salesperson, and a warning when the journey fails.")
    state = fields.Selection(
        [("draft", "Draft"), ("running", "Running"), ("paused", "Paused"), ("stopped", "Stopped")],
        default="draft", required=True, copy=False, tracking=True, index=True,
    )
    date_start = fields.Datetime(
        "Started On", copy=False, readonly=True,
        help="When the journey was first started; abandoned carts older than this are not enrolled.",
    )
    first_event_id = fields.Integer(
        "Takes Shop Events After", copy=False, readonly=True,
        help="Technical: shop events (orders, new contacts) up to this one happened while the journey was not "
        "running; they do not make customers enter when the events cron takes them in later.")
    scanned_at = fields.Datetime(
        "Last Scanned On", copy=False, readonly=True,
        help="Last pass of the trigger's scanner (abandoned carts, dates, inactivity...); the next one reads "
        "only what changed since.")
    # Trigger
    trigger = fields.Selection(selection="_trigger_selection", required=True, default="manual", tracking=True)
    trigger_help = fields.Char(compute="_compute_trigger_flags")
    trigger_params = fields.Char(
        compute="_compute_trigger_flags",
        help="Technical: the fields of the chosen trigger, between commas; the form shows those.")
    trigger_record_filter = fields.Boolean(compute="_compute_trigger_flags")
    trigger_fires = fields.Char(compute="_compute_trigger_flags")
    trigger_icon = fields.Char(compute="_compute_trigger_flags")
    website_id = fields.Many2one(
        "website", check_company=True,
        help="Abandoned carts (or product views) of this website only; all websites of the company when empty.",
    )
    tier_id = fields.Many2one(
        "smb.loyalty.tier", "Tier", check_company=True,
        help="Tier reached: customers who move up to this tier. Tier lost: customers who move down "
        "from this tier. Any tier when empty.",
    )
    churn_band = fields.Selection(
        vocabulary.BANDS[1:], "Risk Reached", default="high",
        help="The customer enters when the nightly scoring moves them into this risk band (or above) "
        "from a lower one; staying there does not enter them again.",
    )
    trigger_domain = fields.Char(
        "Triggering Record Filter", default="[]",
        help="Only orders or carts matching this filter enter the journey.",
    )
    record_model = fields.Char(compute="_compute_record_model")
    filter_user_id = fields.Many2one(
        "res.users", "Filters Written By", readonly=True, copy=False, ondelete="set null",
        help="The filters run with this user's field access: a filter never reveals a field its author "
        "could not read.")
    audience_domain = fields.Char(
        "Audience", default="[]",
        help="Customers who may enter; checked again before every step, so a customer "
        "who leaves the audience (e.g. becomes an employee) exits.",
    )
    consent_required = fields.Boolean(
        "Consent Required",
        help="Only contacts who confirmed a double opt-in subscription (a mailing list subscription with the "
        "same email address, confirmed through the link emailed to them) enter; one who unsubscribes from "
        "that list leaves at the next step.")
    reentry = fields.Selection(
        [("once", "Only once"), ("after_days", "Again after a delay"), ("always", "Every time")],
        "Re-entry", required=True, default="once",
        help="Whatever the policy, a cart or an order enters a journey at most once.",
    )
    reentry_days = fields.Integer("Re-entry After (days)", default=30)
    enroll_imported = fields.Boolean(
        "Imported Contacts Enter Too",
        help="Contacts created by an import enter this journey too. Off by default: importing an "
        "existing customer base must not send it a welcome series.")
    # Volume guard
    volume_limit = fields.Integer(
        "Volume Guard (entries per hour)", default=lambda self: self._default_volume_limit(),
        help="When more customers than this enter within an hour, the journey holds its emails and asks "
        "its responsible to confirm. 0: no guard. Set by default from the number of customers.")
    volume_held_since = fields.Datetime(
        "Held Since", readonly=True, copy=False,
        help="The volume guard stopped sending: customers keep entering and wait on their step.")
    volume_held_count = fields.Integer("Entries That Tripped the Guard", readonly=True, copy=False)
    volume_released_at = fields.Datetime(
        "Volume Accepted Until", readonly=True, copy=False,
        help="Entries up to this time were accepted by the responsible: the guard counts those after.")
    # Goal
    goal = fields.Selection(
        selection="_goal_selection", required=True, default="none",
        help="Reaching the goal completes the enrollment: no further step is run.",
    )
    goal_domain = fields.Char(default="[]")
    goal_scope = fields.Selection(
        [("any", "Any order of the customer"), ("record", "Only the triggering cart or order")],
        "Orders Reaching the Goal", default="any", required=True,
        help="Any order: an order of this journey's company, confirmed after the customer entered. "
        "Only the triggering one: the cart (or order) that started the journey must be confirmed; a phone "
        "order for something else does not end it.")
    error_message = fields.Text(
        "Problem", readonly=True, copy=False,
        help="Why the journey last failed (a filter that no longer runs, ...). The shop went on; the "
        "customers concerned were not enrolled or are in error.")
    error_date = fields.Datetime("Problem Since", readonly=True, copy=False)
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

    @api.model
    def _default_user_id(self):
        """The user creating the journey; the shipped journeys are installed
        by the superuser (OdooBot), who must not get customers' activities:
        the company's journeys responsible, else the administrator."""
        if not self.env.su and self.env.uid != SUPERUSER_ID:
            return self.env.user
        return self.env.company.smb_journey_user_id or self.env.ref("base.user_admin", raise_if_not_found=False)

    @api.model
    def _default_volume_limit(self):
        """A burst no shop of this size has in normal trade: a twentieth of
        the company's customers with an email in one hour, at least 100."""
        count = self.env["res.partner"].sudo().search_count([
            ("email", "!=", False), ("company_id", "in", (False, self.env.company.id))])
        return max(100, count // 20)

    # ------------------------------------------------------------
    # REGISTRIES: a trigger, a goal is one declaration (tools/registry.py)
    # ------------------------------------------------------------

    @api.model
    def _trigger_types(self):
        """{key: Trigger}: every trigger a journey can have. Extend with super()."""
        _ = self.env._
        return {
            "partner_created": Trigger(
                _("New contact"), params=("enroll_imported",), record_filter=False, icon="fa-user-plus",
                entry=_("once per customer, then as the re-entry policy says"),
                help=_("A contact with an email address is created: a sign-up, a first order, by hand.")),
            "cart_abandoned": Trigger(
                _("Abandoned website cart"), model="sale.order", fires="scan", params=("website_id",),
                context=("order", "cart"), icon="fa-shopping-cart", entry=_("once per cart"),
                help=_("A website cart of a known customer stays untouched for the website's abandon delay.")),
            "order_confirmed": Trigger(
                _("Sale order confirmed"), model="sale.order", context=("order", "cart"), icon="fa-check-square-o",
                entry=_("once per order"), help=_("A sale order is confirmed, on the website or in the back office.")),
            "tier_upgraded": Trigger(
                _("Loyalty tier reached"), model="smb.loyalty.tier.history", params=("tier_id",),
                icon="fa-trophy", entry=_("once per tier change"),
                help=_("The tier recompute moves the customer up to a tier.")),
            "tier_downgraded": Trigger(
                _("Loyalty tier lost"), model="smb.loyalty.tier.history", params=("tier_id",),
                icon="fa-trophy", entry=_("once per tier change"),
                help=_("The tier recompute moves the customer down from a tier.")),
            "churn_risk": Trigger(
                _("Churn risk rose"), model="smb.churn.history", params=("churn_band",), icon="fa-heartbeat",
                entry=_("once per rise into the band"),
                help=_("The nightly scoring moves the customer into this risk band from a lower one.")),
            "manual": Trigger(
                _("By hand or from a server action"), fires="api", record_filter=False, icon="fa-hand-pointer-o",
                entry=_("once per customer, then as the re-entry policy says"),
                help=_("A user enrols customers, or a server action or script does.")),
        }

    @api.model
    def _trigger_selection(self):
        return [(key, trigger.label) for key, trigger in self._trigger_types().items()]

    def _trigger(self):
        """This journey's Trigger declaration."""
        self.ensure_one()
        return self._trigger_types().get(self.trigger) or Trigger(self.trigger or "", fires="api")

    @api.model
    def _goal_types(self):
        """{key: Goal}: what completes an enrollment. Extend with super()."""
        _ = self.env._
        return {
            "none": Goal(_("No goal")),
            "order_confirmed": Goal(_("Customer confirms an order")),
            "domain": Goal(_("Customer matches a filter")),
        }

    @api.model
    def _goal_selection(self):
        return [(key, goal.label) for key, goal in self._goal_types().items()]

    @api.model
    def _reason_selection(self):
        """The one list of reasons (tools/vocabulary.py) plus the triggers' and step types' own."""
        reasons = [(code, self.env._(label)) for code, label in vocabulary.REASONS]
        declarations = [*self._trigger_types().values(), *self.env["smb.journey.step"]._step_types().values()]
        for declaration in declarations:
            reasons += [r for r in declaration.reasons if r[0] not in dict(reasons)]
        return reasons

    @api.depends("trigger")
    def _compute_record_model(self):
        for journey in self:
            journey.record_model = journey._trigger().model or "res.partner"

    @api.depends("trigger")
    def _compute_trigger_flags(self):
        for journey in self:
            trigger = journey._trigger()
            journey.trigger_params = f",{','.join(trigger.params)},"
            journey.trigger_record_filter = bool(trigger.model and trigger.record_filter)
            journey.trigger_fires = trigger.fires
            journey.trigger_help = trigger.help
            journey.trigger_icon = trigger.icon

    def _compute_enrollment_stats(self):
        counts = {
            (journey.id, state): count
            # sudo: the journey's own totals, also for sales staff who see only their customers' enrollments
            for journey, state, count in self.env["smb.journey.enrollment"].sudo()._read_group(
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

    def _statistics_scope(self):
        return "journey_id", lambda journey: journey.step_ids

    @api.constrains("audience_domain", "goal_domain", "trigger_domain", "trigger")
    def _check_domains(self):
        for journey in self:
            for fname, model in FILTER_FIELDS:
                self._validate_filter(
                    journey[fname], model or journey.record_model,
                    self.env._("Journey %(journey)s, filter %(field)s", journey=journey.name,
                               field=journey._fields[fname].string),
                    company=journey.company_id,
                )

    @api.model
    def _validate_filter(self, value, model, where, company=None):
        """Refuse a filter that would fail or leak when it runs: it must parse,
        name only fields and models the saving user may read, and run against
        the database with its real values (a '1,000' on a number fails here,
        not at checkout), in every installed language (translated fields are
        searched per language)."""
        try:
            domain = Domain(literal_eval(value or "[]"))
        except (ValueError, SyntaxError, TypeError) as e:
            raise ValidationError(self.env._(
                "%(where)s is not a valid filter: %(error)s", where=where, error=e)) from e
        # constraints run as superuser: the field access checked is the saving user's
        user = self.env.user
        if user.id != SUPERUSER_ID:
            try:
                self._check_filter_access(model, domain, user)
            except AccessError as e:
                raise ValidationError(self.env._(
                    "%(where)s uses a field you may not read: %(error)s", where=where, error=e.args[0])) from e
        # sudo: as it runs (see _search_as_owner), whoever the records belong to
        Model = self.env[model].sudo()
        Model = Model.with_company(company) if company else Model
        for lang, __ in self.env["res.lang"].get_installed():
            try:
                with self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
                    Model.with_context(lang=lang, active_test=False).search_count(domain, limit=1)
            except (ValueError, TypeError, KeyError, psycopg2.Error) as e:
                error = e.diag.message_primary if isinstance(e, psycopg2.Error) and e.diag else str(e)
                raise ValidationError(self.env._(
                    "%(where)s cannot run: %(error)s", where=where, error=error)) from e

    @api.constrains("trigger")
    def _check_step_templates(self):
        """What an email may use depends on the trigger (an order exists only in
        journeys triggered by one): changing it checks the emails again."""
        self.step_ids._check_template()

    @api.constrains("company_id")
    def _check_company_of_enrollments(self):
        for journey in self:
            if self.env["smb.journey.enrollment"].sudo().search_count(
                    [("journey_id", "=", journey.id), ("company_id", "!=", journey.company_id.id)], limit=1):
                raise ValidationError(self.env._(
                    "Journey %s has customers of its company in it: it cannot move to another company. "
                    "Duplicate it instead.", journey.name))

    @api.constrains("reentry_days", "conversion_window_days")
    def _check_days(self):
        if any(j.reentry_days < 0 or j.conversion_window_days < 0 for j in self):
            raise ValidationError(self.env._("Delays cannot be negative."))

    @api.model
    def _owned_fields(self):
        """Fields whose author's field access they run with (filters, a date
        field): writing one makes the writer ``filter_user_id``. A trigger
        adds its own with super()."""
        return [fname for fname, __ in FILTER_FIELDS]

    @api.model_create_multi
    def create(self, vals_list):
        owned = self._owned_fields()
        for vals in vals_list:
            if not self.env.su and any(fname in vals for fname in owned):
                vals["filter_user_id"] = self.env.uid
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and any(fname in vals for fname in self._owned_fields()):
            vals = dict(vals, filter_user_id=self.env.uid)
        res = super().write(vals)
        if {"name", "company_id", "user_id"} & set(vals):
            # their tracking mailings carry the journey's name, sender and responsible
            self.step_ids._sync_mailing()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_except_running(self):
        if self.filtered(lambda j: j.state in ("running", "paused")):
            raise UserError(self.env._(
                "A running or paused journey cannot be deleted: its customers' history would go with it. "
                "Stop it or archive it instead."))

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
        # a journey started takes only the shop events written from now on; a
        # paused one resumed keeps taking those it missed while paused
        self.filtered(lambda j: j.state != "paused").write({"first_event_id": self.env["smb.journey.event"]._last_id()})
        self.write({"state": "running"})
        self.env.ref("smb_journey.ir_cron_journey_engine")._trigger()

    def action_clear_error(self):
        """The admin fixed the cause: hide the warning (it comes back if the journey fails again)."""
        self.write({"error_message": False, "error_date": False})

    def action_retry_errors(self):
        """Run again the enrollments in error (after fixing a step or a filter)."""
        self.env["smb.journey.enrollment"].search(
            [("journey_id", "in", self.ids), ("state", "=", "error")]).action_retry()

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
            "name": self.env._("Enrol Customers"),
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
        self.env["smb.journey.enrollment"]._check_journey_user()
        if self.state != "running":
            raise UserError(self.env._("Journey %s is not running: start it first.", self.name))
        if records._name == "res.partner":
            pairs = [(p, None) for p in records]
        else:
            pairs = [(r.partner_id, r) for r in records]
        return self._enroll_pairs(pairs, lead=lead, manual=True)

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
    def _fire_trigger(self, trigger, records, imported=False, happened=None):
        """Enrol ``records`` (partners or triggering records) into every running
        journey listening to ``trigger``. Set-based: a handful of queries per
        journey whatever the number of records.

        Called with what business flows did (sign-up, checkout, order
        confirmation: see smb.journey.event): a journey that fails here is
        flagged and skipped, and the other journeys still enrol. ``imported``
        records enter only the journeys that take imports; ``happened``
        ({record id: its event's id}) keeps out of a journey what happened
        before it was started.
        """
        if not records:
            return self.env["smb.journey.enrollment"]
        # sudo: the trigger fires for whoever created the record (a website
        # visitor, an import); enrolment is the journey's own bookkeeping
        domain = [("trigger", "=", trigger), ("state", "=", "running"), ("company_id.active", "=", True)]
        if imported:
            domain.append(("enroll_imported", "=", True))
        journeys = self.sudo().search(domain)
        enrollments = self.env["smb.journey.enrollment"].sudo()
        for journey in journeys:
            with journey._isolated() as ok:
                candidates = records
                if happened:
                    candidates = records.filtered(lambda r: happened.get(r.id, 0) > journey.first_event_id)
                matching = journey._filter_trigger_records(candidates)
                if matching._name == "res.partner":
                    pairs = [(p, None) for p in matching]
                else:
                    pairs = [(r.partner_id, r) for r in matching]
                new = journey._enroll_pairs(pairs)
            if ok:
                enrollments |= new
        return enrollments

    # ------------------------------------------------------------
    # PRIVATE
    # ------------------------------------------------------------

    def _parsed(self, fname):
        return Domain(literal_eval(self[fname] or "[]"))

    def _search_as_owner(self, model, domain, owner=None, what=None):
        """Records of ``model`` matching ``domain`` (which holds a filter of this
        journey, or of one of its steps), as the journey's company sees them
        and whoever they belong to (no record rule: a filter means the same
        for every customer), but only if the filter's author (``owner``, by
        default the journey's) may read every field and model it names: a
        yes/no branch must not reveal a field they could not read (another
        user's secrets, HR data, ...). A failure names the filter (``what``)."""
        self.ensure_one()
        owner = owner if owner is not None else self.filter_user_id
        what = what or self.env._("A filter")
        try:
            if owner and owner.id != SUPERUSER_ID:
                self._check_filter_access(model, domain, owner)
            # sudo: the author's field access was checked above; record rules
            # (a salesperson's "own documents") must not change who matches
            return self.env[model].sudo().with_company(self.company_id).with_context(active_test=False).search(domain)
        except AccessError as e:
            raise UserError(self.env._(
                "%(what)s uses a field its author (%(user)s) may not read: %(error)s",
                what=what, user=owner.name, error=e.args[0])) from e
        except (ValueError, TypeError, KeyError, psycopg2.Error) as e:
            raise UserError(self.env._("%(what)s no longer runs: %(error)s", what=what, error=e)) from e

    @api.model
    def _describe_filter(self, model, value):
        """A filter in words, for the diagram and lists: "Country is Belgium
        and Tags is one of VIP". Field labels and record names are read in
        the user's language; a filter it cannot read is described as such."""
        raw = literal_eval(value or "[]")
        _ = self.env._
        words = {"=": _("is"), "!=": _("is not"), "in": _("is one of"), "not in": _("is not one of"),
                 "ilike": _("contains"), "not ilike": _("does not contain"), "like": _("contains"),
                 "any": _("has"), "not any": _("has no"), "child_of": _("is in"), "=?": _("is")}
        parts = []
        for condition in Domain(raw).iter_conditions():
            Model, labels, field = self.env[model], [], None
            for name in condition.field_expr.split("."):
                field = Model._fields.get(name)
                if field is None:
                    labels.append(name)
                    break
                labels.append(field._description_string(self.env))
                if field.relational:
                    Model = self.env[field.comodel_name]
            value = condition.value
            if isinstance(value, bool) and condition.operator in ("=", "!="):
                # "is set" / "is not set" (False and True are ints in Python: never record ids)
                is_set = value == (condition.operator == "=")
                parts.append(f"{' › '.join(labels)} {_('is set') if is_set else _('is not set')}")
                continue
            if field is not None and field.relational and isinstance(value, (int, list, tuple)) \
                    and all(isinstance(v, int) and not isinstance(v, bool)
                            for v in (value if isinstance(value, (list, tuple)) else [value])):
                value = ", ".join(Model.browse(value).sudo().exists().mapped("display_name"))
            elif field is not None and field.type == "selection" and not isinstance(value, (list, tuple)):
                value = dict(field._description_selection(self.env)).get(value, value)
            elif isinstance(value, Domain):
                value = _("a filter")
            elif isinstance(value, (list, tuple)):
                value = ", ".join(str(v) for v in value)
            parts.append(f"{' › '.join(labels)} {words.get(condition.operator, condition.operator)} {value}")
        return (_(" or ") if "|" in raw else _(" and ")).join(parts)

    @api.model
    def _check_filter_access(self, model, domain, user):
        """Raise AccessError if ``domain`` names a field, or goes through a
        model, that ``user`` may not read (a path like
        ``user_ids.totp_last_counter`` is checked on every model it crosses)."""
        def walk(Model, domain):
            for condition in domain.iter_conditions():
                field = Model._fields.get(condition.field_expr.split(".")[0])
                if field is None:
                    continue  # an unknown field fails in the search itself
                Model._check_field_access(field, "read")
                if field.relational and isinstance(condition.value, Domain):
                    comodel = Model.env[field.comodel_name]
                    comodel.check_access("read")  # the model's access rights (an empty recordset: no rule)
                    walk(comodel, condition.value)

        Model = self.env[model].with_user(user)
        walk(Model, Domain(domain).optimize(Model))

    def _activity_fallback_user(self):
        """Who gets the activities of customers without a salesperson: the
        journey's responsible, else the company's journeys responsible, else
        the administrator; never OdooBot nor an archived user."""
        self.ensure_one()
        for user in (self.user_id, self.company_id.smb_journey_user_id, self.env.ref("base.user_admin")):
            if user and user.active and not user.share and user.id != SUPERUSER_ID:
                return user
        return self.env.ref("base.user_admin")

    def _filter_trigger_records(self, records):
        """The triggering ``records`` that enter this journey: the journey's
        company only, narrowed by its filter and by its trigger's parameters
        (``_trigger_domain_<trigger>``). A contact shared by every company (no
        company set) enters the journeys of the company where it was created
        or signed up (the current company), not those of every company."""
        self.ensure_one()
        if not records:
            return records
        domain = Domain("id", "in", records.ids)
        if records._name == "res.partner":
            if self.env.company == self.company_id:
                domain &= Domain("company_id", "in", (False, self.company_id.id))
            else:
                domain &= Domain("company_id", "=", self.company_id.id)
        elif "company_id" in records._fields:
            domain &= Domain("company_id", "=", self.company_id.id)
        if self._trigger().record_filter and records._name != "res.partner":
            domain &= self._parsed("trigger_domain")
        narrow = getattr(self, f"_trigger_domain_{self.trigger}", None)
        if narrow:
            domain &= narrow()
        what = self.env._("The filter %s", self._fields["trigger_domain"].string)
        return records.browse(self._search_as_owner(records._name, domain, what=what).ids)

    def _trigger_domain_cart_abandoned(self):
        return Domain("website_id", "=", self.website_id.id) if self.website_id else Domain.TRUE

    def _trigger_domain_tier_upgraded(self):
        return Domain("to_tier_id", "=", self.tier_id.id) if self.tier_id else Domain.TRUE

    def _trigger_domain_tier_downgraded(self):
        return Domain("from_tier_id", "=", self.tier_id.id) if self.tier_id else Domain.TRUE

    def _trigger_domain_churn_risk(self):
        reached = vocabulary.bands_from(self.churn_band or "high")
        return Domain("to_band", "in", reached) & Domain("from_band", "not in", reached)

    def _audience(self, partners):
        """The subset of ``partners`` in the audience (one query)."""
        self.ensure_one()
        if not partners:
            return partners
        domain = Domain("id", "in", partners.ids) & Domain("active", "=", True) & self._parsed("audience_domain")
        if self.consent_required:
            domain &= Domain("smb_consent_confirmed", "=", True)
        what = self.env._("The filter %s", self._fields["audience_domain"].string)
        return partners.browse(self._search_as_owner("res.partner", domain, what=what).ids)

    def _first_step(self):
        self.ensure_one()
        steps = self.with_context(active_test=True).step_ids  # the current version's
        return steps.filtered(lambda s: not s.parent_id).sorted(lambda s: (s.sequence, s.id))[:1]

    def _enroll_pairs(self, pairs, lead=None, manual=False):
        """Insert one enrollment per (partner, record) allowed in, exactly once.

        The unique index on (journey, partner, entry key) settles races: rows
        are inserted with ``ON CONFLICT DO NOTHING``, so the same trigger fired
        twice, or by two processes, enrols once and never raises.

        The re-entry policy counts per person: contacts sharing one email
        address are one person, so two duplicates of a customer get one
        welcome series, not two (a triggering record still enters once).
        """
        self.ensure_one()
        Enrollment = self.env["smb.journey.enrollment"]
        company = self.company_id
        # (partner, record[, key]): a trigger whose entry is not per record
        # (per year, per visit) names the key that makes entry exactly-once
        triples = [(p, r, k[0] if k else None) for p, r, *k in pairs]
        pairs = [
            (p, r, k) for p, r, k in triples
            if p and (not p.company_id or p.company_id == company)
            and not (r and "company_id" in r._fields and r.company_id and r.company_id != company)
        ]
        if not pairs or self.state != "running" or not company.active:
            return Enrollment
        partners = self.env["res.partner"].union(*(p for p, __, __ in pairs))
        allowed = self._audience(partners)
        if not allowed:
            return Enrollment
        now = fields.Datetime.now()
        Enrollment.flush_model()
        self.env["res.partner"].flush_model(["email_normalized"])

        def person(partner):
            """A person: their email address when they have one, else the contact."""
            return partner.email_normalized or partner.id

        # one query: the past entries of these customers and of every contact
        # sharing their addresses, per contact
        emails = [p.email_normalized for p in allowed if p.email_normalized]
        history, counts = {}, {}  # person -> (entries, last start, any running); contact -> entries
        for partner_id, email, count, last_start, running in self.env.execute_query(SQL(
            """SELECT e.partner_id, p.email_normalized, COUNT(*), MAX(e.date_start), BOOL_OR(e.state = 'running')
                 FROM smb_journey_enrollment e JOIN res_partner p ON p.id = e.partner_id
                WHERE e.journey_id = %s AND (e.partner_id = ANY(%s) OR p.email_normalized = ANY(%s))
                GROUP BY e.partner_id, p.email_normalized""",
            self.id, allowed.ids, emails,
        )):
            who = email or partner_id
            before = history.get(who, (0, None, False))
            history[who] = (before[0] + count, max(filter(None, (before[1], last_start))), before[2] or running)
            counts[partner_id] = count
        first_step = self._first_step()
        # the current version: customers enter it (and finish it, whatever changes after)
        version_id = first_step.version_id.id or self.version_id.id or None
        rows, seen = [], set()
        allowed_ids = set(allowed.ids)  # `record in recordset` is linear: 43k carts took 9 s
        for partner, record, given_key in pairs:
            if partner.id not in allowed_ids:
                continue
            ref = given_key or (f"{record._name},{record.id}" if record else None)
            entries, last_start, running = history.get(person(partner), (0, None, False))
            if not entry_lib.may_enter(
                self.reentry, now, last_start=last_start, any_running=running and self.reentry != "always",
                days=self.reentry_days,
            ):
                continue
            key = entry_lib.entry_key(ref, counts.get(partner.id, 0))
            if (partner.id, key) in seen:
                continue
            seen.add((partner.id, key))
            history[person(partner)] = (entries + 1, now, True)
            counts[partner.id] = counts.get(partner.id, 0) + 1
            rows.append(SQL(
                "(%s, %s, %s, %s, %s, FALSE, %s, %s, %s, %s, 'running', %s, %s, %s, %s, %s, %s, %s, %s)",
                self.id, partner.id, company.id, key, manual,
                record._name if record else None, record.id if record else None,
                record.id if record and record._name == "sale.order" else None,
                lead.id if lead else record.id if record and record._name == "crm.lead" else None,
                first_step.id or None, version_id, now, now, self.env.uid, now, self.env.uid, now,
            ))
        if not rows:
            return Enrollment
        ids = self._insert_enrollments(rows)
        Enrollment.invalidate_model()
        self.invalidate_recordset(["enrollment_ids"])
        if ids:
            self._check_volume()
            self.env.ref("smb_journey.ir_cron_journey_engine")._trigger()
        return Enrollment.browse(ids)

    def _check_volume(self):
        """Hold the journey's emails when more customers entered within the
        last hour than its volume guard allows (an import, a bot, a filter
        that matches everyone): nothing is sent until its responsible, told
        by an activity, looks and goes on. Customers keep entering and wait."""
        self.ensure_one()
        if not self.volume_limit or self.volume_held_since:
            return
        now = fields.Datetime.now()
        since = max(filter(None, (now - timedelta(hours=1), self.volume_released_at)))
        recent = [("journey_id", "=", self.id), ("date_start", ">", since)]
        Enrollment = self.env["smb.journey.enrollment"].sudo()
        if Enrollment.search_count(recent, limit=self.volume_limit + 1) <= self.volume_limit:
            return  # the usual case: counted up to the limit only
        entered = Enrollment.search_count(recent)
        waiting = Enrollment.search_count([("journey_id", "=", self.id), ("state", "=", "running")])
        # sudo: the guard holds the journey whoever's action made customers enter
        journey = self.sudo()
        journey.write({"volume_held_since": now, "volume_held_count": entered})
        journey.message_post(body=self.env._(
            "Volume guard: %(entered)s customers entered within an hour, more than %(limit)s. Emails are held; "
            "%(waiting)s customers are waiting.", entered=entered, limit=self.volume_limit, waiting=waiting))
        journey.activity_schedule(
            "mail.mail_activity_data_todo", user_id=self._activity_fallback_user().id,
            summary=(VOLUME_SUMMARY_PREFIX + self.name)[:100],
            note=self.env._(
                "%(entered)s customers entered the journey %(journey)s within an hour, more than its volume "
                "guard allows (%(limit)s). Nothing is sent until you go on: %(waiting)s customers are waiting. "
                "Open the journey to see who they are, then click Send to Them (or Stop).",
                entered=entered, limit=self.volume_limit, journey=self.name, waiting=waiting))

    def action_release_volume(self):
        """The responsible looked at who is waiting: send to them, and count
        the guard's hour from now."""
        self.write({"volume_held_since": False, "volume_held_count": 0,
                    "volume_released_at": fields.Datetime.now()})
        self.activity_ids.filtered(lambda a: a.summary and a.summary.startswith(VOLUME_SUMMARY_PREFIX)).unlink()
        self.env.ref("smb_journey.ir_cron_journey_engine")._trigger()

    def action_view_waiting(self):
        action = self.action_view_enrollments()
        action["domain"] = [("journey_id", "in", self.ids), ("state", "=", "running")]
        return action

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
                       (journey_id, partner_id, company_id, entry_key, manual, held_out, res_model, res_id,
                        order_id, lead_id, state, step_id, version_id, due_at, date_start,
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

    def _record_exit_reasons(self, enrollments):
        """{enrollment: (state, reason)} for ``enrollments`` (of these
        journeys) that their triggering record ends: deleted, or what the
        trigger's ``_exit_reasons_<trigger>(enrollments)`` says (a cart
        bought, a lead lost). Set-based: a query per model and trigger."""
        ends = {}
        for model, group in enrollments.filtered("res_model").grouped("res_model").items():
            existing = set(self.env[model].sudo().browse(set(group.mapped("res_id"))).exists().ids)
            for enrollment in group:
                if enrollment.res_id not in existing:
                    ends[enrollment] = ("exited", "record_deleted")
        for journey, group in (enrollments - self.env["smb.journey.enrollment"].union(*ends)).grouped(
                "journey_id").items():
            method = getattr(journey, f"_exit_reasons_{journey.trigger}", None)
            if method:
                ends.update(method(group))
        return ends

    def _exit_reasons_cart_abandoned(self, enrollments):
        ends = {}
        for enrollment in enrollments.filtered("order_id"):
            order = enrollment.order_id
            if order.state == "sale":
                ends[enrollment] = ("completed", "purchased")
            elif order.state == "cancel":
                ends[enrollment] = ("exited", "cancelled")
            elif not order.order_line:
                ends[enrollment] = ("exited", "emptied")
        return ends

    def _exit_reasons_order_confirmed(self, enrollments):
        return {e: ("exited", "cancelled") for e in enrollments if e.order_id.state == "cancel"}

    # what an activity tells the salesperson: _entry_reason_<trigger>(enrollment, record)

    def _entry_reason_churn_risk(self, enrollment, record):
        env = self.env
        return env._(
            "the nightly risk scoring moved them into %(band)s churn risk on %(date)s (score %(score)s %%, "
            "predicted value %(value)s).",
            band=vocabulary.inline_label(env, dict(record._fields["to_band"]._description_selection(env)).get(
                record.to_band, "")),
            date=format_date(env, record.date), score=round(record.score * 100),
            value=format_amount(env, record.clv, record.company_id.currency_id))

    def _entry_reason_tier_upgraded(self, enrollment, record):
        env = self.env
        return env._(
            "they moved from %(from)s to %(to)s on %(date)s.", date=format_date(env, record.date),
            **{"from": record.from_tier_id.name or env._("no tier"), "to": record.to_tier_id.name or env._("no tier")})

    _entry_reason_tier_downgraded = _entry_reason_tier_upgraded

    def _entry_reason_cart_abandoned(self, enrollment, record):
        return self.env._(
            "they left the cart %(cart)s (%(amount)s) on the website.", cart=record.name,
            amount=format_amount(self.env, record.amount_total, record.currency_id))

    def _entry_reason_order_confirmed(self, enrollment, record):
        return self.env._(
            "their order %(order)s (%(amount)s) was confirmed.", order=record.name,
            amount=format_amount(self.env, record.amount_total, record.currency_id))

    # ------------------------------------------------------------
    # GOALS: _goal_<key>(enrollments) -> ids that reached it; asked before
    # every step (the engine) and at once by business events (an order)
    # ------------------------------------------------------------

    def _goal_reached(self, enrollments):
        """Ids of ``enrollments`` (of this journey) that reached its goal."""
        self.ensure_one()
        method = getattr(self, f"_goal_{self.goal}", None)
        return method(enrollments) if method and enrollments else set()

    def _goal_domain(self, enrollments):
        domain = Domain("id", "in", enrollments.partner_id.ids) & self._parsed("goal_domain")
        matching = set(self._search_as_owner("res.partner", domain, what=self.env._("The goal filter")).ids)
        return {e.id for e in enrollments if e.partner_id.id in matching}

    def _goal_order_confirmed(self, enrollments):
        """An order of the journey's company confirmed after the customer
        entered: any of their account's orders, or only the triggering cart
        or order when the journey says so (``goal_scope``). The order that
        started a post-purchase journey does not end it."""
        if self.goal_scope == "record":
            # confirmed after the customer entered: a cart bought, not the order that
            # started a post-purchase or a delivery journey (whatever the trigger)
            return {e.id for e in enrollments if e.order_id.state == "sale" and e.order_id.date_order > e.date_start}
        # sudo: the journey reads its customers' orders, whoever runs the engine
        orders = self.env["sale.order"].sudo().search_fetch(
            [("state", "=", "sale"), ("company_id", "=", self.company_id.id),
             ("partner_id", "child_of", enrollments.commercial_partner_id.ids),
             ("date_order", ">", min(enrollments.mapped("date_start")))],
            ["date_order", "partner_id"])
        by_account = defaultdict(list)
        for order in orders:
            by_account[order.partner_id.commercial_partner_id.id].append(order)
        return {
            e.id for e in enrollments
            if any(o.date_order > e.date_start and o != e.order_id for o in by_account[e.commercial_partner_id.id])
        }

    # ------------------------------------------------------------
    # SCANNERS: the engine cron runs _scan_<trigger>() on the running
    # journeys of every trigger that fires by scanning
    # ------------------------------------------------------------

    @api.model
    def _run_scanners(self, triggers=None, every=None):
        """Run every registered scanner (or those of ``triggers``) on its
        running journeys, each journey isolated (one failing does not stop
        the others nor the engine). ``every``: skip a journey scanned more
        recently (the engine's cron calls this before each of its batches)."""
        scanning = [key for key, trigger in self._trigger_types().items()
                    if trigger.fires == "scan" and (triggers is None or key in triggers)]
        domain = [("trigger", "in", scanning), ("state", "=", "running"), ("company_id.active", "=", True)]
        if every:
            domain += ["|", ("scanned_at", "=", False), ("scanned_at", "<", fields.Datetime.now() - every)]
        journeys = self.sudo().search(domain)._lock_for_scan()
        scanned = []
        for journey in journeys:
            started = fields.Datetime.now()
            with journey._isolated() as ok:
                getattr(journey, f"_scan_{journey.trigger}")()
            if ok:
                # when the pass started: what changed while it ran is read again next time
                scanned.append(SQL("(%s, %s::timestamp)", journey.id, started))
        if scanned:
            self.env.execute_query(SQL(
                "UPDATE smb_journey j SET scanned_at = v.at FROM (VALUES %s) v(id, at) WHERE j.id = v.id",
                SQL(", ").join(scanned)))
            journeys.invalidate_recordset(["scanned_at"])

    def _lock_for_scan(self):
        """These journeys, less those another worker is scanning: their rows
        are locked until this transaction ends (SKIP LOCKED), so a second
        engine job, or website_sale_stock's cron, skips a journey rather than
        scanning it twice and colliding on its bookmark. One statement; one
        per journey only when a row changed since our snapshot."""
        cr = self.env.cr

        def lock(ids):
            with cr.savepoint(flush=False), mute_logger("odoo.sql_db"):
                cr.execute(SQL("SELECT id FROM smb_journey WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED",
                               ids), log_exceptions=False)
                return {row[0] for row in cr.fetchall()}

        if not self:
            return self
        try:
            locked = lock(self.ids)
        except psycopg2.errors.SerializationFailure:
            locked = set()
            for journey_id in self.ids:
                try:
                    locked |= lock([journey_id])
                except psycopg2.errors.SerializationFailure:
                    continue  # scanned and committed by another worker since our snapshot
        return self.filtered(lambda j: j.id in locked)

    def _scan_cart_abandoned(self):
        """Enrol carts that became abandoned since the last scan.

        website_sale's definition of an abandoned cart is reused
        (``is_abandoned_cart``: a draft website order with lines, of a known
        customer, untouched for the website's delay).
        """
        domain = Domain([
            ("is_abandoned_cart", "=", True),
            ("date_order", ">=", self._cart_scan_start()),
            ("partner_id.email", "!=", False),
            ("company_id", "=", self.company_id.id),
            ("smb_enrollment_ids", "not any", [("journey_id", "=", self.id)]),
        ])
        carts = self.env["sale.order"].browse(self._search_as_owner(
            "sale.order", domain & self._parsed("trigger_domain") & self._trigger_domain_cart_abandoned(),
            what=self.env._("The filter %s", self._fields["trigger_domain"].string)).ids)
        self._enroll_pairs([(cart.partner_id, cart) for cart in carts])

    def _cart_scan_start(self):
        """The oldest cart that may still become abandoned since the last scan.

        Odoo never deletes carts: reading all of them since the journey
        started would cost every scan a little more forever. A cart seen
        abandoned by the last scan was handled then, so a scan reads back to
        the last one, less the longest abandon delay of the company's
        websites and a day of margin (a cart that gets an email address or
        starts to match the filter a bit late still enters)."""
        self.ensure_one()
        if not self.scanned_at:
            return self.date_start
        websites = self.env["website"].sudo().search([("company_id", "=", self.company_id.id)])
        delay = max(websites.mapped("cart_abandoned_delay") or [0.0])
        return max(self.date_start, self.scanned_at - timedelta(hours=delay, days=1))

    # ------------------------------------------------------------
    # FAILURES: a journey never breaks the shop
    # ------------------------------------------------------------

    @contextmanager
    def _isolated(self):
        """Run the block for this journey so that its failure, whatever it is,
        neither breaks the caller (a checkout, a sign-up, the engine) nor
        undoes the caller's work (see :func:`contained`); the journey is
        flagged with the error. Yields an outcome, false when the block failed."""
        self.ensure_one()
        with contained(self.env, f"Journey {self.id} ({self.name})") as outcome:
            yield outcome
        if not outcome:
            self._report_error(outcome.error)

    def _report_error(self, error):
        """Flag the journey with ``error`` (the form shows it in a banner) and,
        the first time, warn its responsible with an activity. Never raises,
        never waits: two checkouts hitting the same broken journey at once
        must both go through."""
        self.ensure_one()
        message = error.args[0] if isinstance(error, (UserError, ValidationError)) and error.args else str(error)
        message = (message or repr(error))[:2000]
        cr = self.env.cr
        try:
            with cr.savepoint(), mute_logger("odoo.sql_db"):
                rows = self.env.execute_query(SQL(
                    """
                    WITH old AS (SELECT id, error_message IS NULL AS first FROM smb_journey
                                  WHERE id = %(id)s FOR NO KEY UPDATE SKIP LOCKED)
                    UPDATE smb_journey j SET error_message = %(message)s, error_date = %(now)s
                      FROM old WHERE j.id = old.id
                    RETURNING old.first
                    """,
                    id=self.id, message=message, now=fields.Datetime.now(),
                ))
                self.invalidate_recordset(["error_message", "error_date"])
                if rows and rows[0][0]:
                    # sudo: the engine or a website visitor hit the failure; the responsible must hear of it
                    self.sudo().activity_schedule(
                        "mail.mail_activity_data_warning", user_id=self._activity_fallback_user().id,
                        summary=self.env._("Journey failed: %s", self.name)[:100],
                        note=self.env._("The journey %(journey)s failed and skipped the customers concerned "
                                        "(the shop went on): %(error)s", journey=self.name, error=message),
                    )
        except (psycopg2.Error, AccessError, UserError):
            # locked by an edit or flagged concurrently: the failure is logged above and will recur
            _logger.info("Could not flag journey %s", self.id, exc_info=True)

    def _covers_website(self, website):
        return any(not j.website_id or j.website_id == website for j in self)
