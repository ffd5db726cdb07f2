import logging
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL, format_date

from odoo.addons.smb_journey.tools import locking, vocabulary

from .smb_journey_step import POSTPONED, StepResult

_logger = logging.getLogger(__name__)

# a batch walks its enrollments through instant steps (email -> wait); bound it
MAX_HOPS = 50
# enrollments per batch, unless the smb_journey.batch_size parameter says otherwise
BATCH_SIZE = 1000


class SmbJourneyEnrollment(models.Model):
    _name = "smb.journey.enrollment"
    _description = "Journey Enrollment"
    _order = "date_start desc, id desc"
    _check_company_auto = True
    _rec_name = "partner_id"

    _unique_entry = models.UniqueIndex(
        "(journey_id, partner_id, entry_key)",
        "A customer enters a journey once per triggering record.",
    )
    _due_idx = models.Index("(due_at, id) WHERE state = 'running'")
    # the volume guard counts a journey's entries of the last hour
    _entries_idx = models.Index("(journey_id, date_start)")

    journey_id = fields.Many2one("smb.journey", required=True, index=True, ondelete="cascade", check_company=True)
    company_id = fields.Many2one("res.company", required=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    partner_id = fields.Many2one("res.partner", "Customer", required=True, index=True, ondelete="cascade")
    commercial_partner_id = fields.Many2one(related="partner_id.commercial_partner_id")
    entry_key = fields.Char(required=True, readonly=True, help="Triggering record or rank of entry; unique per customer.")
    res_model = fields.Char("Triggering Model", readonly=True)
    res_id = fields.Many2oneReference("Triggering Record ID", model_field="res_model", readonly=True)
    order_id = fields.Many2one("sale.order", "Order / Cart", index="btree_not_null", ondelete="set null", readonly=True)
    lead_id = fields.Many2one("crm.lead", "Lead", index="btree_not_null", ondelete="set null")
    state = fields.Selection(vocabulary.ENROLLMENT_STATES, default="running", required=True, index=True)
    exit_reason = fields.Selection(selection=lambda self: self.env["smb.journey"]._reason_selection(), readonly=True)
    error_message = fields.Text(readonly=True)
    step_id = fields.Many2one(
        "smb.journey.step", "Next Step", index=True, ondelete="restrict",
        domain="[('journey_id', '=', journey_id)]")
    version_id = fields.Many2one(
        "smb.journey.version", "Version", index=True, readonly=True, ondelete="set null",
        help="The version of the journey's steps this customer goes through: the one they entered, unless moved.")
    due_at = fields.Datetime("Next Step Due", index=True)
    hold_reason = fields.Selection(
        selection=lambda self: self.env["smb.journey"]._reason_selection(), string="Waiting On", readonly=True,
        help="Why the next step waits past its time (quiet hours, a frequency cap, an event awaited).")
    date_start = fields.Datetime("Entered On", required=True, default=fields.Datetime.now, readonly=True)
    manual = fields.Boolean("Enrolled by Hand", readonly=True, help="Enrolled by a user or a script, not by the trigger.")
    held_out = fields.Boolean(
        "Held Out", readonly=True, copy=False,
        help="In the journey's control group (its holdout): goes through the journey receiving nothing.")
    date_end = fields.Datetime("Ended On", readonly=True)
    log_ids = fields.One2many("smb.journey.log", "enrollment_id", "Step Log")
    revenue = fields.Monetary(compute="_compute_revenue", currency_field="currency_id")

    def _compute_revenue(self):
        revenue = dict(self.env["smb.journey.log"]._read_group(
            [("enrollment_id", "in", self.ids)], ["enrollment_id"], ["revenue:sum"]))
        for enrollment in self:
            enrollment.revenue = revenue.get(enrollment, 0.0)

    def _check_journey_user(self):
        """Enrol, remove and retry are Journey User actions, on the enrollments
        the user may see (their Sales rights' record rules). Only a Journey
        Manager writes enrollments directly: a write could move a customer to
        any step, date, order or state."""
        if self.env.su:
            return
        if not self.env.user.has_group("smb_journey.group_journey_user"):
            raise AccessError(self.env._("Only Journey Users enrol customers in journeys and remove them."))
        self.check_access("read")

    def _compute_display_name(self):
        for enrollment in self:
            enrollment.display_name = f"{enrollment.journey_id.name} / {enrollment.partner_id.display_name}"

    @api.constrains("step_id", "journey_id", "company_id", "version_id")
    def _check_journey_consistency(self):
        """An enrollment runs the steps of its own journey, in its company: a
        step of another journey (or company) would send that journey's email.
        And of its own version: customers move between versions with the
        move wizard, which matches their step in the other version."""
        for enrollment in self:
            if enrollment.step_id and enrollment.step_id.journey_id != enrollment.journey_id:
                raise ValidationError(self.env._(
                    "%(customer)s can only be moved to a step of the journey %(journey)s.",
                    customer=enrollment.partner_id.display_name, journey=enrollment.journey_id.name))
            step_version = enrollment.step_id.version_id
            if step_version and enrollment.version_id and step_version != enrollment.version_id:
                raise ValidationError(self.env._(
                    "%(customer)s goes through version %(number)s of the journey %(journey)s: move customers to "
                    "another version with Move Customers, on the journey's Versions tab.",
                    customer=enrollment.partner_id.display_name, number=enrollment.version_id.number,
                    journey=enrollment.journey_id.name))
            if enrollment.company_id != enrollment.journey_id.company_id:
                raise ValidationError(self.env._("An enrollment belongs to the company of its journey."))

    @api.model_create_multi
    def create(self, vals_list):
        """Entering by the ORM (the engine inserts in SQL): the version of the
        step given, else the journey's current one."""
        for vals in vals_list:
            if not vals.get("version_id"):
                step = self.env["smb.journey.step"].browse(vals.get("step_id"))
                journey = self.env["smb.journey"].browse(vals.get("journey_id"))
                vals["version_id"] = step.version_id.id or journey.version_id.id
        return super().create(vals_list)

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_exit(self):
        """Remove customers from their journey (Journey Users and up)."""
        self._check_journey_user()
        self.filtered(lambda e: e.state in ("running", "error"))._exit("manual")

    def action_retry(self):
        """Run the failed step again at the next engine pass (Journey Users and up)."""
        self._check_journey_user()
        errors = self.filtered(lambda e: e.state == "error")
        # sudo: Journey Users may not write enrollments (a write could move
        # one to any step); putting it back on its own step is this action
        errors.sudo().write({"state": "running", "error_message": False, "due_at": fields.Datetime.now()})
        self.env.ref("smb_journey.ir_cron_journey_engine")._trigger()

    def action_open_record(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": self.res_model, "res_id": self.res_id, "view_mode": "form"}

    # ------------------------------------------------------------
    # CRON
    # ------------------------------------------------------------

    @api.model
    def _due_domain(self):
        return Domain([
            ("state", "=", "running"),
            ("due_at", "<=", fields.Datetime.now()),
            ("journey_id.state", "=", "running"),
            # held by its volume guard until the responsible goes on
            ("journey_id.volume_held_since", "=", False),
            # an archived company sends nothing
            ("company_id.active", "=", True),
        ])

    @api.model
    def _cron_process(self):
        """Engine: run the due step of every due enrollment, batch by batch.

        Like ``sms.sms._process_queue``: a batch is locked (SKIP LOCKED, so a
        second worker takes other rows), run, and committed with the progress
        API; the runner calls again while enrollments remain. A crash rolls
        back the batch it was in (mails included) and the next run redoes it.
        """
        # the runner calls again after each batch: scan once a minute, not before every batch
        self.env["smb.journey"]._run_scanners(every=timedelta(minutes=1))
        processed, remaining = self._process_due_batch()
        if remaining:
            # more due, or a stale snapshot (another worker committed rows we
            # saw due): the runner ends this job without progress, wake it again
            self._wake_engine_jobs()
        self.env["ir.cron"]._commit_progress(processed, remaining=remaining)

    @api.model
    def run_engine(self):
        """Process everything due now, in this transaction (no commit): for
        server actions, demo data and scripts. Returns the number processed.
        Pending shop events (orders confirmed, contacts created) are taken
        in first, as if their cron had run."""
        self.env["smb.journey.event"].process_pending()
        self.env["smb.journey"]._run_scanners()
        total = 0
        while True:
            processed, remaining = self._process_due_batch()
            total += processed
            if not processed or not remaining:
                return total

    @api.model
    def _process_due_batch(self):
        """Lock and run one batch of due enrollments; returns (processed, remaining)."""
        domain = self._due_domain()
        # a batch is one transaction: 1000 keeps it to a few seconds while the
        # per-batch queries and the commit weigh little per email
        batch_size = int(self.env["ir.config_parameter"].sudo().get_param("smb_journey.batch_size", BATCH_SIZE))
        batch = self._lock_due(domain, batch_size)
        if batch is None:
            # a worker committed these rows after our snapshot was taken: the
            # runner calls again after the commit, with a fresh snapshot
            return 0, 1
        if batch:
            batch._process()
        remaining = self.search_count(domain) if len(batch) == batch_size else 0
        return len(batch), remaining

    @api.model
    def _lock_due(self, domain, limit):
        """The first ``limit`` due enrollments that no other worker holds,
        locked; None when one changed since our snapshot (tools/locking.py)."""
        return locking.lock_next(self, domain, "due_at, id", limit)

    def _wake_engine_jobs(self):
        """More is due (or this call met a stale snapshot): trigger every other active engine job
        (the shipped one, its parallel copies, any duplicate an admin made)
        that is not already due, so that each cron worker takes a share of
        the due set now rather than at its next interval (SKIP LOCKED keeps
        their batches apart); and wake the cron workers once this batch is
        committed, so that this job, which the runner reschedules "as soon
        as possible" without waking anyone, goes on at once rather than at
        the workers' next poll (up to a minute later)."""
        # sudo: the engine runs as the cron's user; scheduled actions are technical
        Cron = self.env["ir.cron"].sudo()
        jobs = Cron.search([
            ("model_id.model", "=", self._name), ("code", "=", "model._cron_process()"), ("active", "=", True),
            ("id", "!=", self.env.context.get("cron_id", 0)),
        ])
        now = fields.Datetime.now()
        pending = self.env["ir.cron.trigger"].sudo().search(
            [("cron_id", "in", jobs.ids), ("call_at", "<=", now)]).cron_id
        for job in jobs - pending:
            job._trigger()
        if self.env.context.get("cron_id"):
            self.env.cr.postcommit.add(Cron._notifydb)

    def _process(self):
        """Walk locked enrollments through every step due now."""
        todo = self
        for __ in range(MAX_HOPS):
            # what was searched may be stale: re-read under the lock
            todo.invalidate_recordset()
            todo = todo.filtered_domain(self._due_domain())
            todo = todo._apply_exit_conditions()
            if not todo:
                break
            # the journeys with more stars first: their emails take the room a
            # frequency cap leaves for a customer before the others'
            groups = sorted(todo.grouped("step_id").items(),
                            key=lambda item: (-int(item[0].journey_id.priority or 0), item[0].id))
            for step, group in groups:
                if not step:
                    group._end("completed", "end")
                    continue
                group._run_step(step)
        else:
            _logger.warning("Journey enrollments %s still due after %s steps: stopped the walk", todo.ids, MAX_HOPS)

    def _run_step(self, step):
        """Run ``step`` for these enrollments and apply what it did, as one
        unit per enrollment: if anything fails (the step, its log, the move),
        the batch is redone one enrollment at a time, and only the ones that
        fail go into error with a readable message, their email unsent. The
        others' emails and moves stand."""
        already = self._already_ran(step)
        if already:
            # put back by hand on a step they already went through: it does not
            # run twice (one email per step), they go on from there, a wait
            # keeping the time it had set
            self.browse(list(already))._move_on(step, already)
            self -= self.browse(list(already))
        if not self:
            return
        try:
            with self.env.cr.savepoint():
                results, todo = [], self
                gated = step._type().gated
                if gated:
                    held = step._hold_messages(self)
                    results = list(held.values())
                    todo = self - self.browse().union(*held)
                if todo:
                    ran = getattr(step, f"_run_{step.step_type}")(todo)
                    if gated:
                        step._messages_done(ran)
                    results += ran
                self._apply_results(step, results)
        except Exception as e:  # noqa: BLE001 - any failure becomes a readable error on the enrollment
            if len(self) > 1:
                for enrollment in self:
                    enrollment._run_step(step)
                return
            _logger.warning("Journey step %s failed for enrollment %s", step.id, self.id, exc_info=True)
            self._fail(step, str(e) or repr(e))

    def _fail(self, step, message):
        """Put one enrollment in error on ``step``, whatever state the failure left."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                self._apply_results(step, [StepResult(self, "error", "exception", message=message, end_state="error")])
        except Exception:  # noqa: BLE001 - last resort: the enrollment must leave the due queue
            _logger.warning("Could not log the failure of enrollment %s", self.id, exc_info=True)
            self.env.cr.execute(SQL(
                "UPDATE smb_journey_enrollment SET state = 'error', error_message = %s WHERE id = %s",
                message, self.id))
            self.invalidate_recordset()

    def _already_ran(self, step):
        """{enrollment id: when the run let it go on} for these enrollments
        whose log already holds a run of ``step``."""
        Log = self.env["smb.journey.log"]
        Log.flush_model()
        return dict(self.env.execute_query(SQL(
            """SELECT enrollment_id, MAX(due_at) FROM smb_journey_log
                WHERE enrollment_id = ANY(%s) AND step_id = %s AND outcome NOT IN ('error', 'exited')
                GROUP BY enrollment_id""",
            self.ids, step.id)))

    def _move_on(self, step, due_by_id):
        """Past ``step`` without running it again."""
        next_step = step._next_step()
        if not next_step:
            self._end("completed", "end")
            return
        now = fields.Datetime.now()
        for due, group in self.grouped(lambda e: max(due_by_id.get(e.id) or now, now)).items():
            group.sudo().write({"step_id": next_step.id, "due_at": due, "hold_reason": False})

    def _apply_results(self, step, results):
        """Log what ``step`` did and move each enrollment to where it goes
        next; a POSTPONED one stays on ``step``, unlogged, until its due_at."""
        now = fields.Datetime.now()
        postponed = [result for result in results if result.outcome == POSTPONED]
        if any(not result.due_at for result in postponed):
            # never due again, the customer would wait forever unseen: a fault of the step type
            raise ValueError(f"Step {step.name!r} postponed a customer without saying until when.")
        for (due_at, reason), group in groupby_results(postponed):
            self.browse(group).write({"due_at": due_at, "hold_reason": reason})
        results = [result for result in results if result.outcome != POSTPONED]
        self.env["smb.journey.log"].create([dict(
            result.log_vals,
            enrollment_id=result.enrollment.id,
            step_id=step.id,
            date=now,
            outcome=result.outcome,
            reason=result.reason,
            message=result.message,
            due_at=result.due_at or False,
        ) for result in results])
        moves = {}
        natural_next = None  # the step's successor, looked up once for the batch
        outlet_first = {}  # outlet -> the first step placed on it
        for result in results:
            if result.end_state:
                key = ("end", result.end_state, result.reason, result.message)
            else:
                if result.outlet and result.outlet not in outlet_first:
                    outlet_first[result.outlet] = step._outlet_first_step(result.outlet)
                next_step = result.next_step
                if next_step is None and result.outlet:
                    next_step = outlet_first[result.outlet] or None
                if next_step is None:
                    if natural_next is None:
                        natural_next = step._next_step()
                    next_step = natural_next
                key = ("move", next_step, result.due_at or now)
            moves.setdefault(key, []).append(result.enrollment.id)
        for key, ids in moves.items():
            enrollments = self.browse(ids)
            if key[0] == "end":
                __, state, reason, message = key
                if state == "error":
                    enrollments.write({"state": "error", "exit_reason": False, "error_message": message})
                else:
                    enrollments._end(state, reason or "end")
            else:
                __, next_step, due_at = key
                if next_step:
                    enrollments.write({"step_id": next_step.id, "due_at": due_at, "hold_reason": False})
                else:
                    enrollments._end("completed", "end")

    def _apply_exit_conditions(self):
        """End the enrollments that must not go on; return the others.

        Checked before every step rather than only on events, so a change the
        engine did not hear about (cart emptied, contact archived, goal reached
        by hand) still stops the journey before the next email. A journey
        whose audience or goal filter fails is flagged, its enrollments of
        this batch go into error (Retry once fixed), and the others go on.
        """
        ends = {}  # (state, reason) -> ids
        archived = self.filtered(lambda e: not e.partner_id.active)
        if archived:
            ends[("exited", "archived")] = archived.ids
        failed = self.browse()
        for journey, group in (self - archived).grouped("journey_id").items():
            # a trigger's exit check may run a filter (a segment): isolated like the audience and goal
            with journey._isolated() as ok:
                by_record = self.env["smb.journey"]._record_exit_reasons(group)
                group -= self.browse().union(*by_record)
                in_audience = journey._audience(group.partner_id)
                reached = journey._goal_reached(group)
            if not ok:
                failed |= (self - archived).filtered(lambda e, journey=journey: e.journey_id == journey)
                continue
            for enrollment, reason in by_record.items():
                ends.setdefault(reason, []).append(enrollment.id)
            for enrollment in group:
                if enrollment.id in reached:
                    ends.setdefault(("completed", "goal"), []).append(enrollment.id)
                elif enrollment.partner_id not in in_audience:
                    ends.setdefault(("exited", "left_audience"), []).append(enrollment.id)
        for (state, reason), ids in ends.items():
            self.browse(ids)._log_and_end(state, reason)
        for journey, group in failed.grouped("journey_id").items():
            message = self.env._("The journey's exit, audience or goal check failed: %s", journey.error_message or "")
            self.env["smb.journey.log"].create([{
                "enrollment_id": e.id, "step_id": e.step_id.id, "date": fields.Datetime.now(),
                "outcome": "error", "reason": "journey_error", "message": message[:250],
            } for e in group])
            group.write({"state": "error", "error_message": message})
        ended = {i for ids in ends.values() for i in ids}
        return self.filtered(lambda e: e.id not in ended) - failed

    # ------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------

    def _end(self, state, reason):
        """End these enrollments. Callers check the user's right first (the
        engine, an action that checked it, a business hook)."""
        if self:
            # sudo: ending is the engine's bookkeeping (Journey Users may not write enrollments)
            self.sudo().write({
                "state": state, "exit_reason": reason, "date_end": fields.Datetime.now(),
                "due_at": False, "step_id": False, "hold_reason": False,
            })

    def _exit(self, reason):
        """Exit the running (or failed) ones with ``reason``."""
        self.filtered(lambda e: e.state in ("running", "error"))._log_and_end("exited", reason)

    @api.model
    def _exit_for_emails(self, emails, reason):
        """End, at once, every running enrollment of customers with these emails
        (unsubscribed, blacklisted, bounced)."""
        emails = [e for e in emails if e]
        if not emails:
            return self
        enrollments = self.sudo().search([
            ("state", "in", ("running", "error")),
            ("partner_id.email_normalized", "in", emails),
        ])
        enrollments._exit(reason)
        return enrollments

    @api.model
    def _on_orders_confirmed(self, orders):
        """A confirmed order ends the enrollments it triggered as their
        trigger says (a cart bought completes its reminders), and completes
        the enrollments of its company whose goal it reaches: the same
        checks the engine makes before every step, made at once."""
        ended = self.sudo().search([("order_id", "in", orders.ids), ("state", "=", "running")])._end_as_records_say()
        candidates = self.sudo().search([
            ("state", "=", "running"), ("journey_id.goal", "=", "order_confirmed"),
            ("commercial_partner_id", "in", orders.partner_id.commercial_partner_id.ids),
            ("company_id", "in", orders.company_id.ids),
            ("id", "not in", ended.ids),
        ])
        for journey, group in candidates.grouped("journey_id").items():
            self.browse(journey._goal_reached(group))._log_and_end("completed", "goal")

    def _end_as_records_say(self):
        """End, at once, those of these running enrollments that their
        triggering record ends (the checks the engine makes before every
        step: a cart bought, a lead lost); returns them."""
        ends = self.env["smb.journey"]._record_exit_reasons(self)
        ended = self.browse().union(*ends)
        for (state, reason), group in ended.grouped(lambda e: ends[e]).items():
            group._log_and_end(state, reason)
        return ended

    @api.model
    def _on_orders_cancelled(self, orders):
        self.sudo().search([("order_id", "in", orders.ids), ("state", "=", "running")])._exit("cancelled")

    def _log_and_end(self, state, reason):
        """End with ``reason``, logged on the step each one was waiting on so
        the admin sees where and why a customer left."""
        if not self:
            return
        # sudo: the step log is the engine's record; users may read it, not write it
        self.env["smb.journey.log"].sudo().create([{
            "enrollment_id": e.id, "step_id": e.step_id.id, "date": fields.Datetime.now(),
            "outcome": "exited", "reason": reason,
        } for e in self])
        self._end(state, reason)

    def _timezone(self):
        """The customer's timezone: theirs, else their journey company's, else UTC."""
        self.ensure_one()
        return self.partner_id.tz or self.company_id.partner_id.tz or "UTC"

    def _render_langs(self):
        """{enrollment id: language} to write to each customer in: theirs when
        it is installed, else their journey company's, else English."""
        installed = {code for code, __ in self.env["res.lang"].get_installed()}
        result = {}
        for enrollment in self:
            for lang in (enrollment.partner_id.lang, enrollment.journey_id.company_id.partner_id.lang, "en_US"):
                if lang in installed:
                    result[enrollment.id] = lang
                    break
            else:
                result[enrollment.id] = next(iter(installed))
        return result

    def _entry_reasons(self):
        """{enrollment id: why the customer is in the journey}, in words, for
        the salesperson who gets an activity about them."""
        env = self.env
        existing = {  # the triggering records still there, one query per model
            model: set(env[model].browse(group.mapped("res_id")).exists().ids)
            for model, group in self.filtered("res_model").grouped("res_model").items()
        }
        result = {}
        for enrollment in self:
            record = (env[enrollment.res_model].browse(enrollment.res_id)
                      if enrollment.res_id in existing.get(enrollment.res_model, ()) else None)
            journey = enrollment.journey_id
            day = format_date(env, enrollment.date_start)
            # the trigger says it best: _entry_reason_<trigger>(enrollment, record)
            describe = getattr(journey, f"_entry_reason_{journey.trigger}", None)
            text = describe(enrollment, record) if describe and record else None
            if text:
                result[enrollment.id] = text
            elif enrollment.lead_id:
                result[enrollment.id] = env._(
                    "%(user)s enrolled them from the lead %(lead)s on %(date)s.", user=enrollment.create_uid.name,
                    lead=enrollment.lead_id.name, date=day)
            elif enrollment.manual or journey.trigger == "manual":
                result[enrollment.id] = env._(
                    "%(user)s enrolled them by hand on %(date)s.", user=enrollment.create_uid.name, date=day)
            else:
                result[enrollment.id] = env._(
                    "they entered on %(date)s: %(trigger)s.", date=day, trigger=journey._trigger().label)
        return result

    def _last_message_traces(self):
        """The mailing trace of each enrollment's latest message (email, SMS...)."""
        logs = self.env["smb.journey.log"].search(
            [("enrollment_id", "in", self.ids), ("outcome", "=", "sent"), ("mailing_trace_id", "!=", False)],
            order="date desc, id desc",
        )
        traces = {}
        for log in logs:
            traces.setdefault(log.enrollment_id.id, log.mailing_trace_id)
        return traces

    def _recommended_products(self, limit):
        """Per enrollment, up to ``limit`` published products its customer has
        not bought: the admin's accessories and alternatives of the order's
        products (of what they bought before, when there is no order), then
        what customers who bought those products bought with them or next
        (``smb.product.affinity``, learnt nightly), then the shop's best
        sellers. A few queries per batch, not per customer."""
        result = {}
        for company, enrollments in self.grouped("company_id").items():
            result.update(self.env["smb.product.affinity"]._recommend(company, {
                enrollment.id: (enrollment.commercial_partner_id.id,
                                enrollment.order_id.order_line.product_id.product_tmpl_id.ids)
                for enrollment in enrollments
            }, limit))
        return result


def groupby_results(results):
    """[((due_at, reason), [enrollment ids])] of postponed results."""
    groups = defaultdict(list)
    for result in results:
        groups[result.due_at, result.reason or False].append(result.enrollment.id)
    return list(groups.items())
