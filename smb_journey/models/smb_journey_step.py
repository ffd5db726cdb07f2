import logging
import re
from ast import literal_eval
from dataclasses import dataclass, field
from datetime import datetime

import lxml.html
from markupsafe import Markup

from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import format_date, formatLang

from odoo.addons.link_tracker.tools.html import find_links_with_urls_and_labels
from odoo.addons.smb_journey.lib import sandbox, schedule

_logger = logging.getLogger(__name__)

# condition type -> model its filter reads
CONDITION_MODELS = {"partner_domain": "res.partner", "record_domain": "sale.order"}
# an <a> element with a double-quoted href (group 1) and its content (group 2)
_ANCHOR_RE = re.compile(r'<a\b[^>]*?\shref="([^"]*)"[^>]*>(.*?)</a\s*>', re.IGNORECASE | re.DOTALL)
_ANCHOR_OPEN_RE = re.compile(r"<a[\s>]", re.IGNORECASE)
WEEKDAYS = [
    ("0", "Monday"), ("1", "Tuesday"), ("2", "Wednesday"), ("3", "Thursday"),
    ("4", "Friday"), ("5", "Saturday"), ("6", "Sunday"),
]


@dataclass
class StepResult:
    """What running a step did to one enrollment; the engine applies it."""

    enrollment: models.Model
    outcome: str  # a smb.journey.log outcome
    reason: str = False  # a smb.journey.log reason code
    message: str = False
    next_step: models.Model | None = None  # None: the step's natural successor
    due_at: datetime | None = None  # None: now
    end_state: str = False  # 'completed' / 'exited' / 'error' to end the enrollment
    log_vals: dict = field(default_factory=dict)


class SmbJourneyStep(models.Model):
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
    parent_id = fields.Many2one(
        "smb.journey.step", "Inside Condition", index=True, ondelete="cascade",
        domain="[('journey_id', '=', journey_id), ('step_type', '=', 'condition')]",
        help="Steps inside a condition run on its 'yes' or 'no' branch, then the "
        "journey goes on after the condition.",
    )
    branch = fields.Selection([("yes", "If yes"), ("no", "If no")], default="yes")
    child_ids = fields.One2many("smb.journey.step", "parent_id", "Branch Steps")
    depth = fields.Integer(compute="_compute_depth", recursive=True)
    step_type = fields.Selection(
        [("email", "Send email"), ("wait", "Wait"), ("condition", "Condition"),
         ("activity", "Activity for the salesperson"), ("exit", "Exit")],
        "Type", required=True, default="email",
    )
    # email
    subject = fields.Char(translate=True, help="Jinja placeholders allowed, e.g. {{ customer.first_name }}.")
    preview_text = fields.Char(translate=True, help="Shown by mail clients after the subject.")
    body_html = fields.Html(
        "Email Body", translate=True, sanitize_attributes=False, sanitize_form=False,
        help="Loops and conditions: data-smb-for=\"line in order.lines\" and "
        "data-smb-if=\"coupon\" attributes on any element; values: {{ customer.first_name }}.",
    )
    email_from = fields.Char(help="Sender; the company's email when empty.")
    reply_to = fields.Char()
    mailing_id = fields.Many2one(
        "mailing.mailing", "Tracking Mailing", readonly=True, copy=False, ondelete="set null",
        help="Technical mailing that holds this step's traces, opens, clicks and bounces.",
    )
    coupon_program_id = fields.Many2one(
        "loyalty.program", "Coupon Program", check_company=True,
        domain="[('program_type', 'in', ('coupons', 'promo_code', 'gift_card', 'next_order_coupons'))]",
        help="A personal coupon of this program is generated for each customer and given "
        "to the email as {{ coupon.code }}.",
    )
    recommendation_count = fields.Integer(
        "Recommended Products", default=3,
        help="How many related products the email gets as {{ recommendations }}.",
    )
    # wait
    wait_mode = fields.Selection(
        [("delay", "For a delay"), ("until", "Until a day and hour")], default="delay"
    )
    wait_amount = fields.Integer("Wait", default=1)
    wait_unit = fields.Selection(
        [("minutes", "Minutes"), ("hours", "Hours"), ("days", "Days"), ("weeks", "Weeks")],
        default="days",
    )
    wait_weekday = fields.Selection(WEEKDAYS, "Weekday", help="Any day when empty.")
    wait_hour = fields.Float("Hour", default=10.0, help="In the customer's timezone.")
    # activity
    activity_type_id = fields.Many2one(
        "mail.activity.type", "Activity Type", default=lambda self: self.env.ref("mail.mail_activity_data_todo", False))
    activity_summary = fields.Char("Activity Summary", translate=True)
    activity_note = fields.Html("Activity Note", translate=True)
    activity_days = fields.Integer("Due In (days)", default=1)
    # condition
    condition_type = fields.Selection(
        [
            ("partner_domain", "Customer matches a filter"),
            ("record_domain", "Triggering order matches a filter"),
            ("opened", "Opened the previous email"),
            ("clicked", "Clicked in the previous email"),
        ],
        default="partner_domain",
    )
    condition_domain = fields.Char("Filter", default="[]")
    filter_user_id = fields.Many2one(
        "res.users", "Filter Written By", readonly=True, copy=False, ondelete="set null",
        help="The condition runs with this user's field access (see the journey's filters).")
    # statistics
    processed_count = fields.Integer("Processed", compute="_compute_statistics")
    waiting_count = fields.Integer("Waiting Here", compute="_compute_statistics")
    skipped_count = fields.Integer("Skipped", compute="_compute_statistics")
    error_count = fields.Integer("Errors", compute="_compute_statistics")

    @api.depends("parent_id", "parent_id.depth")
    def _compute_depth(self):
        for step in self:
            step.depth = step.parent_id.depth + 1 if step.parent_id else 0

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

    @api.constrains("parent_id", "journey_id")
    def _check_parent(self):
        for step in self.filtered("parent_id"):
            if step.parent_id.journey_id != step.journey_id or step.parent_id.step_type != "condition":
                raise ValidationError(self.env._("A branch step must sit inside a condition of its own journey."))
        if self._has_cycle():
            raise ValidationError(self.env._("Steps cannot contain themselves."))

    @api.constrains("step_type", "condition_type", "condition_domain")
    def _check_condition_domain(self):
        for step in self.filtered(lambda s: s.step_type == "condition" and s.condition_type in CONDITION_MODELS):
            self.env["smb.journey"]._validate_filter(
                step.condition_domain, CONDITION_MODELS[step.condition_type],
                self.env._("Step %(step)s, condition", step=step.name), company=step.journey_id.company_id)

    @api.constrains("subject", "preview_text", "body_html", "step_type", "coupon_program_id")
    def _check_template(self):
        """Refuse, when it is saved rather than when it is sent, an email that
        does not compile or cannot render in this journey, in any language:
        a placeholder the journey cannot fill (an order in a welcome email, a
        coupon without a coupon program) or a typo is named."""
        for step in self.filtered(lambda s: s.step_type == "email"):
            sample = step._sample_context()
            for lang, __ in self.env["res.lang"].get_installed():
                translated = step.with_context(lang=lang)
                for source, text in ((translated.subject or "", True), (translated._body_with_preview(), False)):
                    try:
                        sandbox.check(source, sample, text=text)
                    except sandbox.TemplateError as e:
                        raise ValidationError(self.env._(
                            "Step %(step)s (%(lang)s): %(error)s", step=step.name, lang=lang, error=e)) from e

    @api.constrains("wait_amount", "wait_hour")
    def _check_wait(self):
        for step in self.filtered(lambda s: s.step_type == "wait"):
            if step.wait_amount < 0 or not 0 <= step.wait_hour < 24:
                raise ValidationError(self.env._("Step %s: a wait needs a positive delay and an hour within 0-24.", step.name))

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
        if {"name", "subject", "email_from", "step_type"} & set(vals):
            self._sync_mailing()
        return res

    def _update_field_translations(self, field_name, translations, digest=None, source_lang=""):
        """A translation is checked like the source: the translation dialog
        writes it directly, past the constraints."""
        res = super()._update_field_translations(field_name, translations, digest=digest, source_lang=source_lang)
        self._validate_fields([field_name])
        return res

    @api.ondelete(at_uninstall=False)
    def _unlink_except_waiting(self):
        if self.env["smb.journey.enrollment"].search_count(
            [("step_id", "in", self.ids), ("state", "=", "running")], limit=1
        ):
            raise UserError(self.env._(
                "Customers are waiting on this step. Pause or stop the journey and let them "
                "exit first, or move the step instead of deleting it."))

    def action_preview(self):
        """Render the email for a sample customer and show the result (or the error)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Email Preview: %s", self.name),
            "res_model": "smb.journey.step.preview",
            "view_mode": "form",
            "target": "new",
            "context": {"default_step_id": self.id},
        }

    # ------------------------------------------------------------
    # NAVIGATION
    # ------------------------------------------------------------

    def _siblings(self):
        self.ensure_one()
        return self.journey_id.step_ids.filtered(
            lambda s: s.parent_id == self.parent_id and (not self.parent_id or s.branch == self.branch)
        ).sorted(lambda s: (s.sequence, s.id))

    def _next_step(self):
        """The step after this one: its next sibling, else the step after the
        condition it sits in; an empty record at the end of the journey."""
        self.ensure_one()
        siblings = list(self._siblings())
        index = siblings.index(self)
        if index + 1 < len(siblings):
            return siblings[index + 1]
        return self.parent_id._next_step() if self.parent_id else self.browse()

    def _branch_first_step(self, branch):
        self.ensure_one()
        return self.child_ids.filtered(lambda s: s.branch == branch).sorted(lambda s: (s.sequence, s.id))[:1]

    def _check_runnable(self):
        for step in self:
            if step.step_type == "email" and (not step.subject or tools.is_html_empty(step.body_html)):
                raise UserError(self.env._("Email step %s needs a subject and a body.", step.name))

    # ------------------------------------------------------------
    # EXECUTION: a step type is a method _run_<type>(enrollments) -> [StepResult]
    # (the engine, smb.journey.enrollment._run_step, isolates failures)
    # ------------------------------------------------------------

    def _run_wait(self, enrollments):
        now = fields.Datetime.now()
        results = []
        for enrollment in enrollments:
            if self.wait_mode == "until":
                tz = enrollment.partner_id.tz or enrollment.company_id.partner_id.tz or "UTC"
                weekday = int(self.wait_weekday) if self.wait_weekday else None
                due = schedule.next_local_time(now, self.wait_hour, weekday=weekday, tz=tz)
            else:
                due = schedule.after_delay(now, self.wait_amount, self.wait_unit)
            results.append(StepResult(enrollment, "done", "waiting", due_at=due))
        return results

    def _run_activity(self, enrollments):
        """A to-do for the customer's salesperson (the journey's responsible
        when the customer has none): the human stays in the loop, and reads
        why this customer is there."""
        today = fields.Date.context_today(self)
        partner_model = self.env["ir.model"]._get_id("res.partner")
        fallback = self.journey_id._activity_fallback_user()
        reasons = enrollments._entry_reasons()
        vals, results = [], []
        for enrollment in enrollments:
            partner = enrollment.partner_id
            user = partner.user_id or partner.commercial_partner_id.user_id
            if not (user and user.active and not user.share):
                user = fallback
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

    def _run_exit(self, enrollments):
        return [StepResult(e, "done", "exit_step", end_state="completed") for e in enrollments]

    def _run_condition(self, enrollments):
        if self.condition_type in CONDITION_MODELS:
            model = CONDITION_MODELS[self.condition_type]
            records = enrollments.partner_id if model == "res.partner" else enrollments.order_id
            domain = Domain("id", "in", records.ids) & Domain(literal_eval(self.condition_domain or "[]"))
            # the journey's company (per-company values such as the tier or the
            # churn risk), with the field access of the condition's author
            matching = set(self.journey_id._search_as_owner(
                model, domain, owner=self.filter_user_id,
                what=self.env._("The condition of step %s", self.name)).ids)
            if model == "res.partner":
                passed = lambda e: e.partner_id.id in matching  # noqa: E731
            else:
                passed = lambda e: e.order_id.id in matching  # noqa: E731
        else:
            last_traces = enrollments._last_email_traces()
            if self.condition_type == "opened":
                passed = lambda e: bool(last_traces.get(e.id) and (  # noqa: E731
                    last_traces[e.id].open_datetime or last_traces[e.id].links_click_datetime))
            else:
                passed = lambda e: bool(last_traces.get(e.id) and last_traces[e.id].links_click_datetime)  # noqa: E731
        results = []
        for enrollment in enrollments:
            branch = "yes" if passed(enrollment) else "no"
            first = self._branch_first_step(branch)
            results.append(StepResult(
                enrollment, "done", f"branch_{branch}", next_step=first or self._next_step()))
        return results

    def _run_email(self, enrollments):
        """Queue one personalised email per enrollment in Odoo's mail queue.

        The mail is attached to this step's tracking mailing so mass_mailing
        adds the open pixel, per-recipient unsubscribe link and headers, click
        tracking, and keeps the trace that bounces and replies update.
        Nothing is sent here: Odoo's mail cron sends the queue.
        """
        results = []
        sendable = enrollments.browse()
        for enrollment, reason in enrollments._email_skip_reasons().items():
            if reason:
                results.append(StepResult(enrollment, "skipped", reason))
            else:
                sendable |= enrollment
        if not sendable:
            return results
        # kept in sync by the step's and journey's write; only a deleted one is remade here
        mailing = self.mailing_id or self._sync_mailing()
        contexts = self._prepare_render_contexts(sendable)
        email_from = self._email_from()
        # a title spares link_tracker fetching every (per-cart) URL over HTTP to name it
        link_vals = dict(mailing._get_link_tracker_values(), title=mailing.name)
        base_url = self.journey_id.get_base_url()
        mail_vals, trace_vals, pending = [], [], []
        chatter_prefix = self.env._(
            "Journey email queued (%(journey)s, %(step)s):", journey=self.journey_id.name, step=self.name)
        langs = sendable._render_langs()
        for lang, group in sendable.grouped(lambda e: langs[e.id]).items():
            step = self.with_context(lang=lang)
            try:
                subject_tpl = sandbox.compile_text(step.subject or "")
                body_tpl = sandbox.compile_template(step._body_with_unsubscribe())
            except sandbox.TemplateError as e:
                results += [StepResult(en, "error", "template", message=str(e), end_state="error") for en in group]
                continue
            for enrollment in group:
                partner = enrollment.partner_id
                # frozen once for both renders (render() leaves frozen values as they are)
                context = {key: sandbox.freeze(value) for key, value in contexts[enrollment.id].items()}
                try:
                    subject = sandbox.render(subject_tpl, context).strip()
                    body = sandbox.render(body_tpl, context)
                except sandbox.TemplateError as e:
                    results.append(StepResult(enrollment, "error", "template", message=str(e), end_state="error"))
                    continue
                message_id = tools.mail.generate_tracking_message_id(f"smbj-{enrollment.id}")
                mail_vals.append({
                    "subject": subject,
                    "body_html": body,
                    # what the customer's chatter shows while the email waits in the
                    # queue (it leaves with the sent mail, as mass mailings do): never
                    # an empty "removed" message; a line, not the whole email, which
                    # mail.message would sanitize again at 1.7 ms an email
                    "body": Markup("<p>%s <strong>%s</strong></p>") % (chatter_prefix, subject),
                    "email_from": email_from,
                    "reply_to": self.reply_to or email_from,
                    "email_to": partner.email_formatted,
                    "model": "res.partner",
                    "res_id": partner.id,
                    "message_id": message_id,
                    "message_type": "email_outgoing",
                    "mailing_id": mailing.id,
                    "auto_delete": True,
                    "is_notification": False,
                    "state": "outgoing",
                })
                trace_vals.append({
                    "trace_type": "mail",
                    "email": partner.email_normalized,
                    "mass_mailing_id": mailing.id,
                    "message_id": message_id,
                    "model": "res.partner",
                    "res_id": partner.id,
                })
                pending.append(enrollment)
        if mail_vals:
            bodies = self._shorten_links_batch([vals["body_html"] for vals in mail_vals], link_vals, base_url)
            for vals, body in zip(mail_vals, bodies):
                vals["body_html"] = Markup(body)
            # sudo: the engine runs as the cron user; mails and traces are technical records
            trace_ids = self.env["mail.mail"].sudo()._smb_journey_queue(mail_vals, trace_vals)
            for enrollment, trace_id in zip(pending, trace_ids):
                results.append(StepResult(enrollment, "sent", False, log_vals={"mailing_trace_id": trace_id}))
            self.env.ref("mail.ir_cron_mail_scheduler_action")._trigger()
        return results

    # ------------------------------------------------------------
    # EMAIL HELPERS
    # ------------------------------------------------------------

    def _shorten_links_batch(self, bodies, link_vals, base_url):
        """``mail.render.mixin._shorten_links`` for a whole batch: one
        link-tracker lookup for every link of every body, instead of one per
        email (the most expensive part of queuing a mass mail).

        The emails of a step share most of their links: each distinct ``<a>``
        element is read once (with link_tracker's own
        ``find_links_with_urls_and_labels``, for the same URL and label) and
        its ``href`` replaced in place; only a body whose links a regular
        expression cannot delimit (an ``<a>`` without a double-quoted href,
        nested ones) is parsed and written back whole, as link_tracker does."""
        short_prefix = base_url + "/r/"
        find_options = dict(skip_regex=rf"^{tools.mail.URL_SKIP_PROTOCOL_REGEX}", skip_prefix=short_prefix,
                            skip_list=["/unsubscribe_from_list", "/view"])
        found = {}  # <a> element as written -> {'url', 'label'} to shorten, or None
        plans, urls_and_labels = [], []  # per body: ('split', [(start, end, anchor)]) / ('lxml', root, nodes)
        for body in bodies:
            if tools.is_html_empty(body):
                plans.append(None)
                continue
            anchors = list(_ANCHOR_RE.finditer(body))
            if len(anchors) == len(_ANCHOR_OPEN_RE.findall(body)) and not any(
                    _ANCHOR_OPEN_RE.search(anchor.group(2)) for anchor in anchors):
                spans = []
                for anchor in anchors:
                    element = anchor.group(0)
                    if element not in found:
                        __, link = find_links_with_urls_and_labels(
                            lxml.html.fragment_fromstring(element), base_url, **find_options)
                        found[element] = link[0] if link else None
                    if found[element]:
                        spans.append((anchor.start(1), anchor.end(1), found[element]))
                        urls_and_labels.append(found[element])
                plans.append(("split", spans) if spans else None)
                continue
            root = lxml.html.fromstring(body)
            nodes, urls = find_links_with_urls_and_labels(root, base_url, **find_options)
            plans.append(("lxml", root, nodes, urls) if nodes else None)
            urls_and_labels += urls
        if not urls_and_labels:
            return bodies
        keys = list(dict.fromkeys((link["url"], link["label"]) for link in urls_and_labels))
        trackers = self.env["link.tracker"].search_or_create(
            [dict(link_vals, url=url, label=label) for url, label in keys])
        short_urls = {key: tracker.short_url for key, tracker in zip(keys, trackers)}
        result = []
        for body, plan in zip(bodies, plans):
            if plan is None:
                result.append(body)
            elif plan[0] == "split":
                parts, last = [], 0
                for start, end, link in plan[1]:
                    parts += [body[last:start], short_urls[link["url"], link["label"]]]
                    last = end
                parts.append(body[last:])
                result.append("".join(parts))
            else:
                __, root, nodes, urls = plan
                for node, link in zip(nodes, urls):
                    node.set("href", short_urls[link["url"], link["label"]])
                result.append(lxml.html.tostring(root, encoding="unicode", method="xml"))
        return result

    def _email_from(self):
        return self.email_from or self.journey_id.company_id.email_formatted or self.env.user.email_formatted

    def _body_with_preview(self):
        """The body, led by the preview text that mail clients show after the
        subject (hidden in the email itself), as mass_mailing does."""
        if not self.preview_text:
            return self.body_html or ""
        preview = Markup(
            '<div style="display:none;font-size:1px;color:#ffffff;line-height:1px;max-height:0;'
            'max-width:0;opacity:0;overflow:hidden;">%s</div>') % self.preview_text
        return preview + (self.body_html or "")

    def _body_with_unsubscribe(self):
        """The body (with its preview text), plus a small unsubscribe footer
        when the author left no unsubscribe link: every journey email can be
        refused in one click (mass_mailing turns the link into the customer's
        own unsubscribe URL, and adds the List-Unsubscribe headers)."""
        body = self._body_with_preview()
        if "unsubscribe_from_list" in body or "unsubscribe_url" in body:
            return body
        footer = Markup(
            '<p style="margin:16px 0;font-family:Arial,Helvetica,sans-serif;font-size:12px;line-height:18px;'
            'color:#6b7280;text-align:center;">{{ company.name }} &#183; '
            '<a href="{{ unsubscribe_url }}" style="color:#6b7280;">%s</a></p>') % self.env._("Unsubscribe")
        return Markup(body) + footer

    def _referenced_names(self):
        """Context names the email uses in any language, so costly ones are computed only when shown."""
        names = set()
        for lang, __ in self.env["res.lang"].get_installed():
            step = self.with_context(lang=lang)
            for source in (step._body_with_preview(), step.subject or ""):
                try:
                    names |= sandbox.referenced_names(source)
                except sandbox.TemplateError:
                    continue  # reported when the email is rendered
        return names

    def _sync_mailing(self):
        """Keep one technical ``mailing.mailing`` per email step (for traces,
        link tracking and mass_mailing's statistics); returns it for one step.
        It is archived so Email Marketing's lists show only real campaigns
        (its "Journey Emails" filter finds them), and its subject reads
        without template code."""
        Mailing = self.env["mailing.mailing"].sudo()  # sudo: technical record owned by the step
        partner_model = self.env["ir.model"]._get_id("res.partner")
        for step in self.filtered(lambda s: s.step_type == "email"):
            campaign = step.journey_id._ensure_utm_campaign()
            vals = {
                "subject": _readable_subject(step.subject) or step.name,
                "email_from": step._email_from(),
                "name": f"[{step.journey_id.name}] {step.name}",
                "campaign_id": campaign.id,
                "user_id": step.journey_id.user_id.id,
                "active": False,
            }
            if step.mailing_id:
                mailing = step.mailing_id.sudo().with_context(active_test=False)
                changed = {k: v for k, v in vals.items() if mailing[k] != (
                    mailing[k].browse(v) if isinstance(mailing[k], models.BaseModel) else v)}
                if changed:
                    mailing.write(changed)
            else:
                step.mailing_id = Mailing.create(dict(
                    vals,
                    mailing_type="mail",
                    mailing_model_id=partner_model,
                    mailing_domain="[('id', '=', 0)]",
                    smb_journey_step_id=step.id,
                    state="done",
                    sent_date=fields.Datetime.now(),
                ))
        return self.mailing_id[:1]

    def _sample_context(self):
        """What a render of this step can read, with sample values: the keys a
        real render has (see :meth:`_prepare_render_contexts`), None for what
        this journey never fills (an order in a welcome series, a coupon
        without a coupon program), so a save check refuses an unguarded use."""
        self.ensure_one()
        journey = self.journey_id
        company = journey.company_id
        base_url = journey.get_base_url()
        has_order = journey.record_model == "sale.order"
        env = self.env

        def money(amount):
            return _money(env, amount, company.currency_id)

        image = f"{base_url}/web/static/img/placeholder.png"
        line = {
            "name": "Espresso Cup", "description": "Espresso Cup, white", "quantity": "2",
            "price_unit": money(12.0), "subtotal": money(24.0), "total": money(27.6),
            "image_url": image, "product_url": f"{base_url}/shop",
        }
        order = {
            "name": "S00042", "date": format_date(env, fields.Date.today()), "url": f"{base_url}/my/orders",
            "review_url": f"{base_url}/my/orders", "lines": [line], "line_count": 1,
            "amount_untaxed": money(24.0), "amount_tax": money(3.6), "amount_total": money(27.6),
        } if has_order else None
        return {
            "customer": {
                "name": "Ann Smith", "first_name": "Ann", "email": "ann@example.com", "city": "Brussels",
                "country": "Belgium", "company_name": "",
            },
            "company": _company_context(company, base_url),
            **_links_context(base_url),
            "order": order,
            "cart": order,
            "coupon": _sample_coupon(self.coupon_program_id) if self.coupon_program_id else None,
            "tier": {
                "name": "Gold", "benefits": "", "since": format_date(env, fields.Date.today()),
                "spend": money(1500.0), "order_count": 3,
                "grace_until": "", "next_name": "", "to_next": "", "orders_to_next": 0,
                "reward_code": "GOLD-SAMPLE", "reward_description": "15% off", "reward_expires": "",
            },
            "recommendations": [{
                "name": "Teapot", "price": money(30.0), "url": f"{base_url}/shop", "image_url": image,
            }],
        }

    def _prepare_render_contexts(self, enrollments):
        """Curated plain-data context per enrollment: only values, never records."""
        self.ensure_one()
        base_url = self.journey_id.get_base_url()
        company = self.journey_id.company_id
        preview = self.env.context.get("smb_journey_preview")
        if self.coupon_program_id and preview:
            # a preview or a test email issues no coupon: a sample code shows where it goes
            coupons = {e.id: _sample_coupon(self.coupon_program_id) for e in enrollments}
        else:
            coupons = self._issue_coupons(enrollments) if self.coupon_program_id else {}
        if not preview:
            for order in enrollments.order_id.filtered(lambda o: not o.access_token):
                order._portal_ensure_token()
        used = self._referenced_names()
        recommendations = (
            enrollments._recommended_products(self.recommendation_count)
            if self.recommendation_count and "recommendations" in used else {}
        )
        # sudo: the tier values are read for the customer's own email
        tiers = self.env["smb.loyalty.tier"].sudo()._render_contexts(enrollments, company) if "tier" in used else {}
        langs = enrollments._render_langs()
        envs = {lang: self.with_context(lang=lang).env for lang in set(langs.values())}
        # the same for every customer of the step (the render only reads them)
        company_ctx = _company_context(company, base_url)
        links_ctx = _links_context(base_url)
        contexts = {}
        for enrollment in enrollments:
            partner = enrollment.partner_id
            env = envs[langs[enrollment.id]]
            order_ctx = enrollment.order_id and _order_context(env, enrollment.order_id, base_url, cart=(
                enrollment.journey_id.trigger == "cart_abandoned"))
            contexts[enrollment.id] = {
                "customer": {
                    "name": partner.name or "",
                    "first_name": (partner.name or "").split(" ")[0] if not partner.is_company else partner.name,
                    "email": partner.email or "",
                    "city": partner.city or "",
                    "country": partner.country_id.name or "",
                    "company_name": partner.commercial_company_name or "",
                },
                "company": company_ctx,
                **links_ctx,
                "order": order_ctx or None,
                "cart": order_ctx or None,
                "coupon": coupons.get(enrollment.id),
                "tier": tiers.get(enrollment.id),
                "recommendations": [
                    _product_context(env, product, base_url) for product in recommendations.get(enrollment.id, [])
                ],
            }
        return contexts

    def _issue_coupons(self, enrollments):
        """One personal coupon per enrollment through Odoo's loyalty machinery."""
        program = self.coupon_program_id.sudo()  # sudo: issuing a coupon is part of the send
        cards = self.env["loyalty.card"].sudo().create([{
            "program_id": program.id,
            "partner_id": enrollment.partner_id.id,
            "points": 1 if program.program_type != "gift_card" else 0,
        } for enrollment in enrollments])
        rewards = program.reward_ids[:1]
        result = {}
        langs = enrollments._render_langs()
        for enrollment, card in zip(enrollments, cards):
            env = self.with_context(lang=langs[enrollment.id]).env
            result[enrollment.id] = {
                "code": card.code,
                "description": rewards.description or program.name,
                "expires": format_date(env, card.expiration_date) if card.expiration_date else "",
            }
        return result


def _readable_subject(subject):
    """A template subject as people read it in lists: {{ customer.first_name }} -> [customer.first_name]."""
    return re.sub(r"{[{%]-?\s*(.*?)\s*-?[%}]}", r"[\1]", subject or "").strip()


def _company_context(company, base_url):
    return {
        "name": company.name,
        "email": company.email or "",
        "phone": company.phone or "",
        "website": company.website or base_url,
        "logo_url": f"{base_url}/logo.png?company={company.id}",
        "address": ", ".join(filter(None, [company.street, company.zip, company.city, company.country_id.name])),
    }


def _links_context(base_url):
    # mass_mailing turns the last two into the recipient's own links when the email leaves
    return {
        "shop_url": f"{base_url}/shop",
        "unsubscribe_url": f"{base_url}/unsubscribe_from_list",
        "view_url": f"{base_url}/view",
    }


def _sample_coupon(program):
    return {
        "code": "SAMPLE-CODE",
        "description": program.reward_ids[:1].description or program.name,
        "expires": "",
    }


def _money(env, amount, currency):
    return formatLang(env, amount, currency_obj=currency)


def _product_context(env, product, base_url):
    product = product.with_env(env)
    return {
        "name": product.display_name,
        "price": _money(env, product.list_price, product.currency_id),
        "url": f"{base_url}{product.website_url or '/shop'}",
        "image_url": f"{base_url}/web/image/product.product/{product.id}/image_256",
    }


def _order_context(env, order, base_url, cart=False):
    order = order.with_env(env)
    url = (
        f"{base_url}/shop/cart?id={order.id}&access_token={order.access_token}"
        if cart else f"{base_url}{order.get_portal_url()}"
    )
    lines = []
    for line in order.order_line.filtered(lambda l: not l.display_type and l.product_id):
        lines.append({
            "name": line.product_id.display_name,
            "description": line.name or "",
            "quantity": formatLang(env, line.product_uom_qty, digits=0 if line.product_uom_qty.is_integer() else 2),
            "price_unit": _money(env, line.price_unit, order.currency_id),
            "subtotal": _money(env, line.price_subtotal, order.currency_id),
            "total": _money(env, line.price_total, order.currency_id),
            "image_url": f"{base_url}/web/image/product.product/{line.product_id.id}/image_128",
            "product_url": f"{base_url}{line.product_id.website_url or '/shop'}",
        })
    return {
        "name": order.name,
        "date": format_date(env, order.date_order),
        "url": url,
        "review_url": f"{base_url}{order.get_portal_url()}#discussion",
        "lines": lines,
        "line_count": len(lines),
        "amount_untaxed": _money(env, order.amount_untaxed, order.currency_id),
        "amount_tax": _money(env, order.amount_tax, order.currency_id),
        "amount_total": _money(env, order.amount_total, order.currency_id),
    }
