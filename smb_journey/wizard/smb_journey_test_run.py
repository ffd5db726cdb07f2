from contextlib import closing

from markupsafe import Markup

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from odoo.addons.smb_journey.lib import entry as entry_lib
from odoo.addons.smb_journey.models.smb_journey_test_run import Simulation

# a journey's walk is bounded, as the engine's (MAX_HOPS), with room for long journeys
MAX_STEPS = 200


class SmbJourneyTestRun(models.TransientModel):
    """Walk one contact through a journey with time simulated: waits are
    skipped (and say until when), conditions answer on the contact's real
    data, messages are rendered as they would be sent. Nothing is recorded:
    no enrollment, log, mail, trace, coupon, activity or webhook call, and
    nothing counts in the statistics; the walk runs in a savepoint that is
    rolled back, and the steps' simulations write nothing in the first place
    (smb_journey_test_run.py). The rendered emails can be sent to the user's
    own address, marked [TEST]."""

    _name = "smb.journey.test.run"
    _description = "Journey Test Run"

    journey_id = fields.Many2one("smb.journey", required=True, ondelete="cascade", readonly=True)
    company_id = fields.Many2one(related="journey_id.company_id")
    state = fields.Selection([("setup", "Setup"), ("done", "Done")], default="setup", required=True)
    partner_id = fields.Many2one(
        "res.partner", "Contact", required=True, check_company=True,
        domain="[('company_id', 'in', (False, company_id))]",
        help="The contact walked through the journey, with their real data.")
    record_model_id = fields.Many2one("ir.model", compute="_compute_record_model_id")
    record_ref = fields.Reference(
        selection="_selection_record_models", string="Triggering Record",
        compute="_compute_record_ref", store=True, readonly=False,
        help="The cart, order, lead... the journey is about: the contact's latest by default.")
    date_start = fields.Datetime(
        "Enters On", required=True, default=fields.Datetime.now,
        help="When the contact enters: the simulated clock starts there (quiet hours and waits count from it).")
    assume_order_step_id = fields.Many2one(
        "smb.journey.step", "Customer Orders After",
        domain="[('journey_id', '=', journey_id)]",
        help="Assume the customer places an order once this step is done: the order goal is reached, an "
        "abandoned cart is bought, a wait for an order ends. Empty: no order.")
    assume_engagement = fields.Selection(
        [("none", "Opens nothing"), ("open", "Opens every message"), ("click", "Opens and clicks every message")],
        "The Customer", default="none", required=True,
        help="What the customer is assumed to do with the messages of the test run: conditions and waits "
        "on opens and clicks answer accordingly.")
    timeline = fields.Json("Steps Walked", readonly=True, help="Technical: the steps walked, as the timeline shows them.")
    timeline_html = fields.Html("Timeline", compute="_compute_timeline_html", sanitize=False)
    summary = fields.Char(readonly=True)
    email_to = fields.Char(
        "Send the Emails To", default=lambda self: self.env.user.email_formatted,
        help="The rendered emails go to this address, marked [TEST]: not tracked, not counted.")

    @api.model
    def _selection_record_models(self):
        journeys = self.env["smb.journey"]
        models_ = {trigger.model for trigger in journeys._trigger_types().values() if trigger.model}
        return [(model, self.env[model]._description) for model in sorted(models_) if model in self.env]

    @api.depends("journey_id")
    def _compute_record_model_id(self):
        for wizard in self:
            model = wizard.journey_id._trigger().model if wizard.journey_id else False
            wizard.record_model_id = self.env["ir.model"]._get(model) if model and model in self.env else False

    @api.depends("partner_id", "journey_id")
    def _compute_record_ref(self):
        for wizard in self:
            record = wizard.partner_id and wizard.journey_id._test_run_record(wizard.partner_id)
            wizard.record_ref = f"{record._name},{record.id}" if record else False

    @api.depends("timeline")
    def _compute_timeline_html(self):
        for wizard in self:
            wizard.timeline_html = self.env["ir.qweb"]._render(
                "smb_journey.test_run_timeline", {"rows": wizard.timeline or []}) if wizard.timeline else False

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_run(self):
        self.ensure_one()
        record = self._checked_record()
        rows = self._walk(record)
        messages = [row for row in rows if row.get("channel")]
        last = rows[-1]
        if len(messages) == 1:
            summary = self.env._("1 message; %(end)s on %(date)s.", end=last["action"], date=last["date"])
        else:
            summary = self.env._(
                "%(count)s messages; %(end)s on %(date)s.", count=len(messages), end=last["action"], date=last["date"])
        self.write({"state": "done", "timeline": rows, "summary": summary})
        return self._reopen()

    def action_back(self):
        self.write({"state": "setup", "timeline": False, "summary": False})
        return self._reopen()

    def action_send_test(self):
        """Send the rendered emails of the run to ``email_to``, marked
        [TEST], as the email preview's test does: not tracked, not counted."""
        self.ensure_one()
        emails = [email for email in tools.email_split(self.email_to or "") if email]
        if not emails:
            raise UserError(self.env._("Enter the address to send the test emails to."))
        rows = [row for row in self.timeline or [] if row.get("channel") == "mail" and row.get("body")]
        if not rows:
            raise UserError(self.env._("This test run renders no email to send."))
        steps = self.env["smb.journey.step"].browse([row["step_id"] for row in rows])
        # sudo: test mails are technical records, deleted once sent
        mails = self.env["mail.mail"].sudo().create([{
            "subject": self.env._("[TEST] %(subject)s", subject=row["subject"]),
            "body_html": row["body"],
            "email_from": step._email_from(),
            "reply_to": step.reply_to or step._email_from(),
            "email_to": email,
            "is_notification": True,
            "auto_delete": False,
            "model": "res.users",
            "res_id": self.env.user.id,
        } for row, step in zip(rows, steps) for email in emails])
        mails.with_context(mailing_test_mail=True).send()
        sent = mails.filtered(lambda m: m.state == "sent")
        failed = mails - sent
        details = "; ".join(f"{m.email_to}: {m.failure_reason or m.state}" for m in failed)
        mails.unlink()
        if failed:
            message = self.env._("%(sent)s test emails sent, %(failed)s could not be sent (%(details)s).",
                                 sent=len(sent), failed=len(failed), details=details)
        else:
            message = self.env._("%(sent)s test emails sent to %(to)s.", sent=len(sent), to=", ".join(emails))
        self.journey_id._message_log(body=Markup("<p>%s</p>") % self.env._(
            "Test run of %(contact)s: %(message)s", contact=self.partner_id.display_name, message=message))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"message": message, "type": "warning" if failed else "success", "sticky": bool(failed),
                       "next": self._reopen()},
        }

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Test Run: %s", self.journey_id.name),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    # ------------------------------------------------------------
    # THE WALK
    # ------------------------------------------------------------

    def _checked_record(self):
        """The triggering record, refused when the user may not read it (or
        the contact), or it is of another company, model or customer."""
        journey, partner = self.journey_id, self.partner_id
        try:
            partner.check_access("read")
        except AccessError as e:
            raise UserError(self.env._("You may not read the contact %s.", partner.display_name)) from e
        if partner.company_id and partner.company_id != journey.company_id:
            raise UserError(self.env._(
                "%(contact)s belongs to another company than the journey's (%(company)s).",
                contact=partner.display_name, company=journey.company_id.name))
        record = self.record_ref
        if not record:
            return None
        if record._name != journey._trigger().model:
            raise UserError(self.env._("The journey's trigger is about %s records.",
                                       self.record_model_id.name or journey._trigger().model))
        try:
            record.check_access("read")
        except AccessError as e:
            raise UserError(self.env._("You may not read this %(model)s (#%(id)s).",
                                       model=self.record_model_id.name, id=record.id)) from e
        if "company_id" in record._fields and record.company_id and record.company_id != journey.company_id:
            raise UserError(self.env._("%(record)s belongs to another company than the journey's (%(company)s).",
                                       record=record.display_name, company=journey.company_id.name))
        if "partner_id" in record._fields and record.partner_id and \
                record.partner_id.commercial_partner_id != partner.commercial_partner_id:
            raise UserError(self.env._("%(record)s is not a record of %(contact)s.", record=record.display_name,
                                       contact=partner.display_name))
        return record

    def _walk(self, record):
        """The timeline: a row per step walked. Run in a savepoint that is
        rolled back whatever happens, each step in its own savepoint so a
        failing filter or template stops the walk with its message."""
        cr = self.env.cr
        with closing(cr.savepoint()):
            try:
                return self._walk_steps(record)
            finally:
                self.env.invalidate_all()

    def _walk_steps(self, record):
        journey, partner = self.journey_id, self.partner_id
        start = self.date_start
        rows = [self._entry_row(start, record)]
        # a real enrollment, so that the steps' own code reads it as the engine does (its id
        # in queries, its triggering record); it goes with the savepoint. sudo: Journey Users
        # do not write enrollments, and sales staff might not read this one back (the user's
        # right to read the contact and the record is checked before the walk)
        Enrollment = self.env["smb.journey.enrollment"].sudo()
        key = journey._test_run_entry_key(partner, record, start.date())
        if Enrollment.search_count([("journey_id", "=", journey.id), ("partner_id", "=", partner.id),
                                    ("entry_key", "=", key)], limit=1):
            key = f"{key}:test-run"
        enrollment = Enrollment.create({
            "journey_id": journey.id, "partner_id": partner.id, "company_id": journey.company_id.id,
            "entry_key": key,
            "res_model": record._name if record else False, "res_id": record.id if record else False,
            "order_id": record.id if record and record._name == "sale.order" else False,
            "lead_id": record.id if record and record._name == "crm.lead" else False,
            "date_start": start, "state": "running",
        })
        sim = Simulation(enrollment, start, self.assume_order_step_id, self.assume_engagement)
        ledger = self.env.execute_query(SQL(
            "SELECT sent_at, sent_via FROM smb_journey_send_ledger WHERE partner_id = %s", partner.id))
        sim.ledger = [pair for sent_at, sent_via in ledger for pair in zip(sent_at, sent_via, strict=True)]
        step = journey._first_step()
        for __ in range(MAX_STEPS):
            if not step:
                rows.append(self._end_row(sim, "completed", "end"))
                return rows
            try:
                with self.env.cr.savepoint():
                    ends = journey._test_run_ends(sim)
                    result = None if ends else step._simulate(sim)
            except Exception as e:  # noqa: BLE001 - any failure is shown on its step, as the engine's error
                rows.append(self._error_row(sim, step, e))
                return rows
            if ends:
                rows.append(self._end_row(sim, *ends))
                return rows
            rows.append(self._step_row(sim, step, result))
            if result.error:
                rows.append(self._end_row(sim, "error", "exception", message=result.error))
                return rows
            if result.due_at and result.due_at > sim.clock:
                sim.clock = result.due_at
            if result.end_state:
                rows.append(self._end_row(sim, result.end_state, "exit_step"))
                return rows
            if step == sim.order_after_step:
                sim.ordered = True
            following = step._outlet_first_step(result.outlet) if result.outlet else step.browse()
            step = following or step._next_step()
        rows.append(self._end_row(sim, "error", "exception", message=self.env._(
            "The walk stopped after %s steps.", MAX_STEPS)))
        return rows

    # ------------------------------------------------------------
    # ROWS (plain values: they outlive the savepoint)
    # ------------------------------------------------------------

    def _moment(self, moment):
        return self.env["smb.journey.step"]._test_run_moment(moment)

    def _entry_row(self, start, record):
        journey, partner = self.journey_id, self.partner_id
        _ = self.env._
        notes = []
        if not journey._audience(partner):
            notes.append(_("Not in the journey's audience: the trigger would not enrol them (the test run goes on)."))
        Enrollment = self.env["smb.journey.enrollment"].sudo()  # sudo: the journey's own history, counted only
        past = Enrollment.search([("journey_id", "=", journey.id), ("partner_id", "=", partner.id)],
                                 order="date_start desc")
        if record and past.filtered(lambda e: e.res_model == record._name and e.res_id == record.id):
            notes.append(_("%s already entered this journey: it would not enter again.", record.display_name))
        elif past and not entry_lib.may_enter(
                journey.reentry, start, last_start=past[0].date_start,
                any_running=any(e.state == "running" for e in past) and journey.reentry != "always",
                days=journey.reentry_days):
            notes.append(_("Entered already on %(date)s: the re-entry policy (%(policy)s) would keep them out.",
                           date=self._moment(past[0].date_start),
                           policy=dict(journey._fields["reentry"]._description_selection(self.env))[journey.reentry]))
        if not partner.email:
            notes.append(_("The contact has no email address."))
        action = _("%(contact)s enters: %(trigger)s", contact=partner.display_name, trigger=journey._trigger().label)
        if record:
            action = _("%(action)s (%(record)s)", action=action, record=record.display_name)
        return {"kind": "entry", "name": _("Entry"), "type": journey._trigger().label, "icon": journey._trigger().icon,
                "date": self._moment(start), "action": action, "notes": notes}

    def _step_row(self, sim, step, result):
        step_type = step._type()
        outlets = dict(step_type.outlets)
        row = {
            "kind": "step", "step_id": step.id, "name": step.name, "type": step_type.label, "icon": step_type.icon,
            "date": self._moment(sim.clock), "action": str(result.action or ""),
            "outlet": str(outlets.get(result.outlet, result.outlet or "")), "notes": [str(n) for n in result.notes],
            "skipped": result.skipped, "channel": result.channel or False,
            "format": "html" if step_type.mailing_type == "mail" else "text",
            "subject": str(result.subject or ""), "body": str(result.body or ""), "error": str(result.error or ""),
        }
        if result.due_at and result.due_at > sim.clock:
            row["until"] = self.env._("would continue on %s", self._moment(result.due_at))
        return row

    def _error_row(self, sim, step, error):
        message = error.args[0] if isinstance(error, UserError) and error.args else str(error) or repr(error)
        return {"kind": "end", "state": "error", "step_id": step.id, "name": step.name,
                "type": step._type().label, "icon": "fa-exclamation-triangle", "date": self._moment(sim.clock),
                "action": self.env._("Error"), "error": str(message), "notes": [self.env._(
                    "In a real run the customer would stop here, in error, until the step is fixed and retried.")]}

    def _end_row(self, sim, state, reason, message=None):
        reasons = dict(self.journey_id._reason_selection())
        states = dict(self.env["smb.journey.enrollment"]._fields["state"]._description_selection(self.env))
        action = self.env._("%(state)s: %(reason)s", state=states.get(state, state), reason=reasons.get(reason, reason))
        return {"kind": "end", "state": state, "name": self.env._("End"), "type": states.get(state, state),
                "icon": "fa-flag-checkered" if state != "error" else "fa-exclamation-triangle",
                "date": self._moment(sim.clock), "action": str(action), "error": str(message or ""), "notes": []}
