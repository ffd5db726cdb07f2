import logging
from ast import literal_eval
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import format_duration

from odoo.addons.smb_journey.lib import schedule
from odoo.addons.smb_journey.tools.registry import Condition, StepType

_logger = logging.getLogger(__name__)

# a StepResult outcome: not run yet, run again at due_at (see StepResult)
POSTPONED = "postponed"

WEEKDAYS = [
    ("0", "Monday"), ("1", "Tuesday"), ("2", "Wednesday"), ("3", "Thursday"),
    ("4", "Friday"), ("5", "Saturday"), ("6", "Sunday"),
]
# the units of a delay (lib/schedule.after_delay reads them)
DELAY_UNITS = [("minutes", "Minutes"), ("hours", "Hours"), ("days", "Days"), ("weeks", "Weeks")]


@dataclass
class StepResult:
    """What running a step did to one enrollment; the engine applies it."""

    enrollment: models.Model
    # a smb.journey.log outcome (tools/vocabulary.py), or POSTPONED: the step
    # runs again at due_at (quiet hours, a frequency cap, an event awaited),
    # nothing is logged, and the reason shows on the enrollment
    outcome: str
    reason: str = False  # a reason code (tools/vocabulary.py)
    message: str = False
    outlet: str = False  # the outlet taken (a condition's 'yes'): its steps run next
    next_step: models.Model | None = None  # None: the outlet's first step, else the step's natural successor
    due_at: datetime | None = None  # None: now
    end_state: str = False  # 'completed' / 'exited' / 'error' to end the enrollment
    log_vals: dict = field(default_factory=dict)


class SmbJourneyStep(models.Model):
    """A step of a journey. What a step type does is declared once, in
    ``_step_types()``, and run by ``_run_<type>``; the email step lives in
    smb_journey_step_email.py, the names its templates read in
    smb_journey_step_context.py."""

    _name = "smb.journey.step"
    _inherit = ["smb.journey.statistics.mixin"]
    _description = "Journey Step"
    _order = "journey_id, sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    journey_id = fields.Many2one("smb.journey", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="journey_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="journey_id.currency_id")
    sequence = fields.Integer(default=10)
    step_type = fields.Selection(selection="_step_type_selection", string="Type", required=True, default="email")
    parent_id = fields.Many2one(
        "smb.journey.step", "Placed After", index=True, ondelete="cascade",
        domain="[('journey_id', '=', journey_id), ('has_outlets', '=', True)]",
        help="Steps placed on an outlet of a step (a condition's yes or no) run when the customer takes that "
        "outlet, then the journey goes on after that step.",
    )
    branch = fields.Selection(
        selection="_outlet_selection", string="Outlet", default="yes",
        help="Which outlet of the step above this step is placed on.")
    # a step's branch steps are of its version: archived with it when it is retired
    child_ids = fields.One2many("smb.journey.step", "parent_id", "Branch Steps", context={"active_test": False})
    depth = fields.Integer(compute="_compute_depth", recursive=True)
    has_outlets = fields.Boolean(compute="_compute_has_outlets", store=True)
    sends_messages = fields.Boolean(compute="_compute_sends_messages")
    tracks_opens = fields.Boolean(
        compute="_compute_sends_messages", help="Its messages can be opened (an email; not a text message).")
    diagram_info = fields.Json(
        compute="_compute_diagram_info",
        help="Technical: what the diagram draws for this step (icon, type, summary, outlets).")
    mailing_id = fields.Many2one(
        "mailing.mailing", "Tracking Mailing", readonly=True, copy=False, ondelete="set null",
        help="Technical mailing that holds this step's traces, opens, clicks and bounces.",
    )
    # wait
    wait_mode = fields.Selection(
        [("delay", "For a delay"), ("until", "Until a day and hour")], default="delay"
    )
    wait_amount = fields.Integer("Wait", default=1)
    wait_unit = fields.Selection(DELAY_UNITS, default="days")
    wait_weekday = fields.Selection(WEEKDAYS, "Weekday", help="Any day when empty.")
    wait_hour = fields.Float("Hour", default=10.0, help="In the customer's timezone.")
    # activity
    activity_type_id = fields.Many2one(
        "mail.activity.type", "Activity Type", default=lambda self: self.env.ref("mail.mail_activity_data_todo", False))
    activity_summary = fields.Char("Activity Summary", translate=True)
    activity_note = fields.Html("Activity Note", translate=True)
    activity_days = fields.Integer("Due In (days)", default=1)
    # condition
    condition_type = fields.Selection(selection="_condition_type_selection", default="partner_domain")
    condition_domain = fields.Char("Filter", default="[]")
    condition_model = fields.Char(compute="_compute_condition_model")
    filter_user_id = fields.Many2one(
        "res.users", "Filter Written By", readonly=True, copy=False, ondelete="set null",
        help="The condition runs with this user's field access (see the journey's filters).")
    # statistics
    processed_count = fields.Integer("Processed", compute="_compute_statistics")
    waiting_count = fields.Integer("Waiting Here", compute="_compute_statistics")
    skipped_count = fields.Integer("Skipped", compute="_compute_statistics")
    error_count = fields.Integer("Errors", compute="_compute_statistics")

    # ------------------------------------------------------------
    # REGISTRIES: a step type, a condition is one declaration (tools/registry.py)
    # ------------------------------------------------------------

    @api.model
    def _step_types(self):
        """{key: StepType}: every kind of step. Extend with super()."""
        _ = self.env._
        return {
            "email": StepType(_("Send email"), icon="fa-envelope", mailing_type="mail",
                              help=_("A personalised email through the mail queue, tracked like a mailing.")),
            "wait": StepType(_("Wait"), icon="fa-hourglass-half",
                             help=_("For a delay, or until a day and hour in the customer's timezone.")),
            "condition": StepType(_("Condition"), icon="fa-code-fork",
                                  outlets=(("yes", _("If yes")), ("no", _("If no"))),
                                  help=_("Sends the customer down its yes or no outlet.")),
            "activity": StepType(_("Activity for the salesperson"), icon="fa-user-circle", treatment=True,
                                 help=_("A to-do for the customer's (or the lead's) salesperson.")),
            "exit": StepType(_("Exit"), icon="fa-sign-out", help=_("Ends the journey for the customer.")),
        }

    @api.model
    def _step_type_selection(self):
        return [(key, step_type.label) for key, step_type in self._step_types().items()]

    @api.model
    def _outlet_selection(self):
        outlets = []
        for step_type in self._step_types().values():
            outlets += [outlet for outlet in step_type.outlets if outlet[0] not in dict(outlets)]
        return outlets

    def _type(self):
        self.ensure_one()
        return self._step_types().get(self.step_type) or StepType(self.step_type or "")

    @api.model
    def _condition_types(self):
        """{key: Condition}: the questions a condition step asks. Extend with super()."""
        _ = self.env._
        return {
            "partner_domain": Condition(_("Customer matches a filter"), filter_model="res.partner"),
            "record_domain": Condition(_("Triggering record matches a filter"), filter_model="record"),
            "opened": Condition(_("Opened the previous message")),
            "clicked": Condition(_("Clicked in the previous message")),
        }

    @api.model
    def _condition_type_selection(self):
        return [(key, condition.label) for key, condition in self._condition_types().items()]

    # ------------------------------------------------------------
    # COMPUTES
    # ------------------------------------------------------------

    @api.depends("parent_id", "parent_id.depth")
    def _compute_depth(self):
        for step in self:
            step.depth = step.parent_id.depth + 1 if step.parent_id else 0

    @api.depends("step_type")
    def _compute_has_outlets(self):
        for step in self:
            step.has_outlets = bool(step._type().outlets)

    @api.depends("step_type")
    def _compute_sends_messages(self):
        for step in self:
            step.sends_messages = bool(step._type().mailing_type)
            step.tracks_opens = step._type().mailing_type == "mail"

    @api.depends("condition_type", "journey_id.trigger")
    def _compute_condition_model(self):
        for step in self:
            model = self._condition_types().get(step.condition_type, Condition("")).filter_model
            step.condition_model = step.journey_id.record_model if model == "record" else (model or False)

    @api.depends(lambda self: self._diagram_depends())
    def _compute_diagram_info(self):
        for step in self:
            step_type = step._type()
            describe = getattr(step, f"_describe_{step.step_type}", None)
            step.diagram_info = {
                "icon": step_type.icon,
                "type": step_type.label,
                "summary": (describe() if describe else "") or "",
                "outlets": [{"key": key, "label": label} for key, label in step_type.outlets],
                "messages": bool(step_type.mailing_type),
                "opens": step_type.mailing_type == "mail",
                "badges": step._diagram_badges(),
            }

    @api.model
    def _diagram_depends(self):
        """The fields the diagram's summaries read (an extension adds its own)."""
        return ["name", "step_type", "wait_mode", "wait_amount", "wait_unit", "wait_weekday", "wait_hour",
                "condition_type", "condition_domain", "activity_summary"]

    def _diagram_badges(self):
        """[(icon, title)] small marks on the diagram's box."""
        return []

    def _compute_statistics(self):
        # sudo: a step's own totals, also for sales staff who see only their customers' logs
        logs = {
            (step.id, outcome): count
            for step, outcome, count in self.env["smb.journey.log"].sudo()._read_group(
                [("step_id", "in", self.ids)], ["step_id", "outcome"], ["__count"])
        }
        waiting = dict(self.env["smb.journey.enrollment"].sudo()._read_group(
            [("step_id", "in", self.ids), ("state", "=", "running")], ["step_id"], ["__count"]))
        for step in self:
            def count(outcome, step=step):
                return logs.get((step.id, outcome), 0)

            step.processed_count = sum(count(o) for o in ("sent", "skipped", "done", "error"))
            step.waiting_count = waiting.get(step, 0)
            step.skipped_count = count("skipped")
            step.error_count = count("error")

    def _statistics_scope(self):
        return "step_id", lambda step: step

    # ------------------------------------------------------------
    # CONSTRAINTS, CRUD
    # ------------------------------------------------------------

    @api.constrains("parent_id", "journey_id", "branch")
    def _check_parent(self):
        for step in self.filtered("parent_id"):
            outlets = dict(step.parent_id._type().outlets)
            if step.parent_id.journey_id != step.journey_id or not outlets:
                raise ValidationError(self.env._(
                    "A step can only be placed on an outlet of a step of its own journey (a condition, ...)."))
            if step.branch not in outlets:
                raise ValidationError(self.env._(
                    "Step %(step)s: %(parent)s has the outlets %(outlets)s.", step=step.name,
                    parent=step.parent_id.name, outlets=", ".join(outlets.values())))
        if self._has_cycle():
            raise ValidationError(self.env._("Steps cannot contain themselves."))

    @api.constrains("step_type", "condition_type", "condition_domain")
    def _check_condition_domain(self):
        for step in self.filtered(lambda s: s.step_type == "condition" and s.condition_model):
            self.env["smb.journey"]._validate_filter(
                step.condition_domain, step.condition_model,
                self.env._("Step %(step)s, condition", step=step.name), company=step.journey_id.company_id)

    @api.constrains("wait_amount", "wait_hour")
    def _check_wait(self):
        for step in self.filtered(lambda s: s.step_type == "wait"):
            if step.wait_amount < 0 or not 0 <= step.wait_hour < 24:
                raise ValidationError(self.env._("Step %s: a wait needs a positive delay and an hour within 0-24.", step.name))

    @api.onchange("parent_id")
    def _onchange_parent_id(self):
        """Placed after a step of another kind: its first outlet (a wait for
        an event's "Happened", not a condition's "If yes")."""
        outlets = dict(self.parent_id._type().outlets) if self.parent_id else {}
        if outlets and self.branch not in outlets:
            self.branch = next(iter(outlets))

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            vals_list = [dict(vals, filter_user_id=self.env.uid) if "condition_domain" in vals else vals
                         for vals in vals_list]
        steps = super().create(vals_list)
        steps._sync_mailing()
        return steps

    def write(self, vals):
        if "journey_id" in vals and any(step.journey_id.id != vals["journey_id"] for step in self):
            raise UserError(self.env._(
                "A step cannot move to another journey: customers may be waiting on it. Duplicate it instead."))
        if "condition_domain" in vals and not self.env.su:
            vals = dict(vals, filter_user_id=self.env.uid)
        res = super().write(vals)
        if set(self._mailing_fields()) & set(vals):
            self._sync_mailing()
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_except_waiting(self):
        if self.env["smb.journey.enrollment"].search_count(
            [("step_id", "in", self.ids), ("state", "=", "running")], limit=1
        ):
            raise UserError(self.env._(
                "Customers are waiting on this step. Pause or stop the journey and let them "
                "exit first, or move the step instead of deleting it."))

    def _template_sources(self):
        """The templates this step renders, as sent (extended per step type)."""
        return []

    def _mailing_fields(self):
        """Fields whose change updates the step's tracking mailing."""
        return ["name", "step_type"]

    def _sync_mailing(self):
        """Keep one technical ``mailing.mailing`` per step that sends messages,
        of the step's channel (its traces, link tracking and statistics);
        returns it for one step. It is archived so the marketing apps' lists
        show only real campaigns (their "Journey" filters find them). A step
        changed to another channel keeps its old mailing's traces and gets a
        mailing of the new one. What a channel's mailing shows comes from
        ``_mailing_vals_<channel>()``."""
        Mailing = self.env["mailing.mailing"].sudo()  # sudo: technical record owned by the step
        partner_model = self.env["ir.model"]._get_id("res.partner")
        for step in self:
            channel = step._type().mailing_type
            if not channel:
                continue
            vals = {
                "name": f"[{step.journey_id.name}] {step.name}",
                "campaign_id": step.journey_id._ensure_utm_campaign().id,
                "user_id": step.journey_id.user_id.id,
                "active": False,
                **getattr(step, f"_mailing_vals_{channel}")(),
            }
            if step.mailing_id.mailing_type == channel:
                mailing = step.mailing_id.sudo().with_context(active_test=False)
                changed = {k: v for k, v in vals.items() if mailing[k] != (
                    mailing[k].browse(v) if isinstance(mailing[k], models.BaseModel) else v)}
                if changed:
                    mailing.write(changed)
            else:
                step.mailing_id = Mailing.create(dict(
                    vals,
                    mailing_type=channel,
                    mailing_model_id=partner_model,
                    mailing_domain="[('id', '=', 0)]",
                    smb_journey_step_id=step.id,
                    state="done",
                    sent_date=fields.Datetime.now(),
                ))
        return self.mailing_id[:1]

    # ------------------------------------------------------------
    # VERSIONS: what a new version of the journey does with a step
    # (smb_journey_step_version.py); a step type extends them with super()
    # ------------------------------------------------------------

    @api.model
    def _version_free_fields(self):
        """Fields whose change applies in place, to the current version,
        without making a new one: what the admin reads (the step's name) and
        what the engine keeps on the step (its tracking mailing, the author
        whose field access its filter runs with). A step type adds its own
        with super()."""
        return {"name", "mailing_id", "filter_user_id"}

    def _version_carried_values(self):
        """Values a copy of this step in a new version takes from it beyond
        what ``copy()`` copies: what the step learnt while customers went
        through it (an A/B split's winner) and what it must keep (the author
        of its filter, whose field access the filter runs with). A step type
        adds its own with super(). The journey-wide learnt state (its
        holdout, the customers' best send times) is not the steps' and
        needs nothing here."""
        self.ensure_one()
        return {"filter_user_id": self.filter_user_id.id}

    # ------------------------------------------------------------
    # MESSAGE GATES: run before a step that sends messages
    # ------------------------------------------------------------

    def _hold_messages(self, enrollments):
        """{enrollment: StepResult} for the enrollments whose message this
        step must not send now: skipped (a holdout's control group) or
        POSTPONED (quiet hours, a frequency cap). The others run the step.
        Asked for the step types that send messages or declare themselves
        ``treatment`` (``StepType.gated``); a gate about messages only (the
        clock, the cap) lets the others through.

        Each gate is an override in its own file that calls ``super()`` first
        and judges only what is left, so the gates apply in load order.
        Called inside the step's savepoint, so what a gate reserves is undone
        with a failed run."""
        self.ensure_one()
        return {}

    def _messages_done(self, results):
        """After the step ran: ``results`` is what it did to the enrollments
        the gates let through (a frequency cap counts the messages sent)."""

    # ------------------------------------------------------------
    # NAVIGATION
    # ------------------------------------------------------------

    def _siblings(self):
        self.ensure_one()
        return self._version_steps().filtered(
            lambda s: s.parent_id == self.parent_id and (not self.parent_id or s.branch == self.branch)
        ).sorted(lambda s: (s.sequence, s.id))

    def _next_step(self):
        """The step after this one: its next sibling, else the step after the
        step whose outlet it sits on; an empty record at the end of the journey."""
        self.ensure_one()
        siblings = list(self._siblings())
        index = siblings.index(self)
        if index + 1 < len(siblings):
            return siblings[index + 1]
        return self.parent_id._next_step() if self.parent_id else self.browse()

    def _preceding_steps(self):
        """The steps every customer goes through before this one: the earlier
        steps of its branch, the step whose outlet it is placed on, and so up
        to the main path (not the steps placed on another outlet). Works on a
        step being edited, not saved yet (its form's placeholders)."""
        self.ensure_one()

        def key(step):  # a new step comes after the saved ones of its sequence
            return step.sequence, step.id if isinstance(step.id, int) else float("inf")

        steps = self.browse()
        step = self
        while step:
            parent, branch, position = step.parent_id, step.branch, key(step)
            steps |= step._version_steps().filtered(
                lambda s, parent=parent, branch=branch, position=position: s.parent_id == parent
                and (not parent or s.branch == branch) and key(s) < position)
            steps |= parent
            step = parent
        return steps

    def _outlet_first_step(self, outlet):
        """The first step placed on ``outlet`` of this step (empty: none)."""
        self.ensure_one()
        return self.child_ids.filtered(lambda s: s.branch == outlet).sorted(lambda s: (s.sequence, s.id))[:1]

    def _check_runnable(self):
        """Refuse to start a journey with an unfinished step (``_check_<type>``)."""
        for step in self:
            check = getattr(step, f"_check_{step.step_type}", None)
            if check:
                check()

    # ------------------------------------------------------------
    # EXECUTION: a step type is a method _run_<type>(enrollments) -> [StepResult]
    # (the engine, smb.journey.enrollment._run_step, isolates failures)
    # ------------------------------------------------------------

    def _run_wait(self, enrollments, now=None):
        """``now``: the moment the wait starts (a test run's simulated clock); the present by default."""
        now = now or fields.Datetime.now()
        results = []
        for enrollment in enrollments:
            if self.wait_mode == "until":
                tz = enrollment._timezone()
                weekday = int(self.wait_weekday) if self.wait_weekday else None
                due = schedule.next_local_time(now, self.wait_hour, weekday=weekday, tz=tz)
            else:
                due = schedule.after_delay(now, self.wait_amount, self.wait_unit)
            results.append(StepResult(enrollment, "done", "waiting", due_at=due))
        return results

    def _describe_wait(self):
        if self.wait_mode == "until":
            day = dict(self._fields["wait_weekday"]._description_selection(self.env)).get(self.wait_weekday) \
                or self.env._("the next day")
            return self.env._("Until %(day)s at %(hour)s", day=day, hour=format_duration(self.wait_hour or 0))
        return self.env._("For %(delay)s", delay=self._delay_words(self.wait_amount, "wait_unit"))

    def _delay_words(self, amount, unit_field):
        """A delay as read: "1 day", "3 hours" (``unit_field``: the step's DELAY_UNITS field), one
        sentence per unit and number, so that each language says its own singular and plural."""
        _ = self.env._
        one, many = {
            "minutes": (_("%s minute"), _("%s minutes")),
            "hours": (_("%s hour"), _("%s hours")),
            "days": (_("%s day"), _("%s days")),
            "weeks": (_("%s week"), _("%s weeks")),
        }.get(self[unit_field], ("%s", "%s"))
        return (one if amount == 1 else many) % amount

    def _run_activity(self, enrollments):
        """A to-do for the salesperson of the triggering record (a lead's),
        else of the customer (the journey's responsible when there is none):
        the human stays in the loop, and reads why this customer is there."""
        today = fields.Date.context_today(self)
        partner_model = self.env["ir.model"]._get_id("res.partner")
        fallback = self.journey_id._activity_fallback_user()
        reasons = enrollments._entry_reasons()
        vals, results = [], []
        for enrollment in enrollments:
            partner = enrollment.partner_id
            user = self._activity_user(enrollment, fallback)
            why = Markup("<p><strong>%s</strong> %s</p>") % (
                self.env._("Why this customer:"), reasons.get(enrollment.id, ""))
            vals.append({
                "res_model_id": partner_model,
                "res_id": partner.id,
                "activity_type_id": self.activity_type_id.id,
                "summary": self.activity_summary or self.name,
                "note": why + (self.activity_note or ""),
                "date_deadline": fields.Date.add(today, days=self.activity_days),
                "user_id": user.id,
            })
            results.append(StepResult(enrollment, "done", "activity", message=user.name))
        # sudo: the engine runs as the cron user and assigns to-dos to salespeople
        self.env["mail.activity"].sudo().with_context(mail_activity_quick_update=True).create(vals)
        return results

    def _activity_user(self, enrollment, fallback):
        """Who gets the activity about ``enrollment``: the lead's salesperson,
        else the customer's, else ``fallback`` (the journey's responsible)."""
        partner = enrollment.partner_id
        user = enrollment.lead_id.user_id or partner.user_id or partner.commercial_partner_id.user_id
        return user if user and user.active and not user.share else fallback

    def _describe_activity(self):
        return self.activity_summary or ""

    def _run_exit(self, enrollments):
        return [StepResult(e, "done", "exit_step", end_state="completed") for e in enrollments]

    def _run_condition(self, enrollments):
        """The yes/no outlet of each enrollment, from ``_condition_<type>``."""
        passed = getattr(self, f"_condition_{self.condition_type}")(enrollments)
        return [
            StepResult(enrollment, "done", f"branch_{outlet}", outlet=outlet)
            for enrollment in enrollments
            for outlet in ["yes" if enrollment.id in passed else "no"]
        ]

    def _describe_condition(self):
        label = dict(self._condition_type_selection()).get(self.condition_type, "")
        if self.condition_model and self.condition_domain and self.condition_domain != "[]":
            try:
                described = self.env["smb.journey"]._describe_filter(self.condition_model, self.condition_domain)
            except Exception:  # noqa: BLE001 - an unsaved, half-written filter
                described = ""
            return f"{label}: {described}" if described else label
        return label

    # ------------------------------------------------------------
    # CONDITIONS: _condition_<key>(enrollments) -> ids answering yes
    # ------------------------------------------------------------

    def _condition_filter(self, enrollments):
        """The enrollments whose customer (or triggering record) matches the
        condition's filter, as the journey's company sees them, with the field
        access of the condition's author."""
        model = self.condition_model
        if model == "res.partner":
            record_of = lambda e: e.partner_id.id  # noqa: E731
        else:
            record_of = lambda e: e.res_id if e.res_model == model else False  # noqa: E731
        ids = {record_of(e) for e in enrollments} - {False}
        domain = Domain("id", "in", list(ids)) & Domain(literal_eval(self.condition_domain or "[]"))
        matching = set(self.journey_id._search_as_owner(
            model, domain, owner=self.filter_user_id,
            what=self.env._("The condition of step %s", self.name)).ids)
        return {e.id for e in enrollments if record_of(e) in matching}

    _condition_partner_domain = _condition_filter
    _condition_record_domain = _condition_filter

    def _condition_opened(self, enrollments):
        """Opened by the customer: an open by a mail scanner or a privacy
        proxy (a machine open, see mailing.trace) is no answer."""
        traces = enrollments._last_message_traces()
        opened = self.env["mailing.trace"].union(*traces.values())._smb_human_opened()
        return {e_id for e_id, trace in traces.items() if trace in opened or trace.links_click_datetime}

    def _condition_clicked(self, enrollments):
        traces = enrollments._last_message_traces()
        return {e_id for e_id, trace in traces.items() if trace.links_click_datetime}
