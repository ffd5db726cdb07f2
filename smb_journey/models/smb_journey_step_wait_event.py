from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL

from odoo.addons.smb_journey.lib import schedule
from odoo.addons.smb_journey.tools import vocabulary
from odoo.addons.smb_journey.tools.registry import StepType

from .smb_journey_step import DELAY_UNITS, POSTPONED, StepResult

# how often a customer waiting for an event is looked at again: a safety net
# only, as an open, a click or an order wakes them at the engine's next pass
# (a short one would re-run every waiting customer all day long)
RECHECK = timedelta(hours=6)


class SmbJourneyStep(models.Model):
    """The "wait for an event" step: the customer waits until they open or
    click an email of the journey, or place an order, and goes down the
    "Happened" outlet; after the timeout without it, down "Timed out".

    While waiting, the step is POSTPONED (nothing logged, the reason shows on
    the enrollment) and looked at again every RECHECK, or sooner when an open,
    a click or an order wakes the customer; its log is written once, when
    the wait ends."""

    _inherit = "smb.journey.step"

    event_type = fields.Selection(
        [("opened", "Opens an email"), ("clicked", "Clicks in an email"), ("ordered", "Places an order")],
        "Wait Until The Customer", default="opened",
        help="Opens or clicks: the journey's previous email, or any email of the journey sent while waiting; "
        "an open by a mail scanner or a privacy proxy does not count. Orders: an order confirmed in the "
        "journey's company while waiting.")
    event_timeout_amount = fields.Integer("Timeout", default=3, help="How long the customer waits at most.")
    event_timeout_unit = fields.Selection(DELAY_UNITS, "Timeout Unit", default="days")

    @api.model
    def _step_types(self):
        _ = self.env._
        return super()._step_types() | {
            "wait_event": StepType(
                _("Wait for an event"), icon="fa-bell-o",
                outlets=(("happened", _("Happened")), ("timeout", _("Timed out"))),
                reasons=(("awaiting_event", _("An open, click or order (or the timeout)")), ("event_happened", _("Event happened")),
                         ("event_timeout", _("Timed out waiting"))),
                help=_("Until the customer opens, clicks or orders, or a timeout: one outlet each.")),
        }

    @api.constrains("step_type", "event_timeout_amount")
    def _check_event_timeout(self):
        for step in self.filtered(lambda s: s.step_type == "wait_event"):
            if step.event_timeout_amount < 0:
                raise ValidationError(self.env._("Step %s: the timeout cannot be negative.", step.name))

    @api.model
    def _diagram_depends(self):
        return super()._diagram_depends() + ["event_type", "event_timeout_amount", "event_timeout_unit"]

    def _check_wait_event(self):
        if not self.event_type or not self.event_timeout_amount or not self.event_timeout_unit:
            raise UserError(self.env._("Step %s needs the event to wait for and a timeout.", self.name))

    def _describe_wait_event(self):
        event = dict(self._fields["event_type"]._description_selection(self.env)).get(self.event_type, "")
        if not event:
            return ""
        return self.env._("Until the customer %(event)s, at most %(delay)s", event=vocabulary.inline_label(self.env, event),
                          delay=self._delay_words(self.event_timeout_amount, "event_timeout_unit"))

    def _run_wait_event(self, enrollments):
        now = fields.Datetime.now()
        arrivals = self._arrivals(enrollments)
        happened = getattr(self, f"_event_{self.event_type}")(enrollments, arrivals)
        results = []
        for enrollment in enrollments:
            timeout = schedule.after_delay(arrivals[enrollment.id], self.event_timeout_amount, self.event_timeout_unit)
            if enrollment.id in happened:
                results.append(StepResult(enrollment, "done", "event_happened", outlet="happened"))
            elif timeout <= now:
                results.append(StepResult(enrollment, "done", "event_timeout", outlet="timeout"))
            else:
                results.append(StepResult(enrollment, POSTPONED, "awaiting_event", due_at=min(timeout, now + RECHECK)))
        return results

    def _arrivals(self, enrollments):
        """{enrollment id: when it reached this step}: when its previous step
        let it go on (the end of a wait), else when it entered the journey.
        One query for the batch."""
        self.env["smb.journey.log"].flush_model(["enrollment_id", "step_id", "date", "due_at", "outcome"])
        rows = self.env.execute_query(SQL(
            """SELECT DISTINCT ON (enrollment_id) enrollment_id, GREATEST(date, due_at)
                 FROM smb_journey_log
                WHERE enrollment_id = ANY(%s) AND step_id != %s AND outcome != 'error'
             ORDER BY enrollment_id, date DESC, id DESC""",
            enrollments.ids, self.id))
        arrivals = dict(rows)
        return {e.id: arrivals.get(e.id) or e.date_start for e in enrollments}

    # ------------------------------------------------------------
    # EVENTS: _event_<event_type>(enrollments, arrivals) -> ids for which it happened
    # ------------------------------------------------------------

    def _event_opened(self, enrollments, arrivals):
        return self._engaged(enrollments, arrivals, self.env["mailing.trace"]._smb_human_open_domain()
                             | Domain("links_click_datetime", "!=", False))

    def _event_clicked(self, enrollments, arrivals):
        return self._engaged(enrollments, arrivals, Domain("links_click_datetime", "!=", False))

    def _engaged(self, enrollments, arrivals, trace_domain):
        """The enrollments whose previous message, or a message of the journey
        sent since they arrived, has a trace matching ``trace_domain``: one
        query for the messages, one for their traces."""
        # sudo: the engine's log and the journey's own traces
        logs = self.env["smb.journey.log"].sudo().search_fetch(
            [("enrollment_id", "in", enrollments.ids), ("outcome", "=", "sent"), ("mailing_trace_id", "!=", False)],
            ["enrollment_id", "date", "mailing_trace_id"], order="date desc, id desc")
        watched = {}  # enrollment id -> the trace ids to look at
        for log in logs:
            enrollment_id = log.enrollment_id.id
            traces = watched.setdefault(enrollment_id, [])
            # every message since the arrival, and the last one before it
            if not traces or traces[-1][0] >= arrivals[enrollment_id]:
                traces.append((log.date, log.mailing_trace_id.id))
        trace_ids = {trace_id for traces in watched.values() for __, trace_id in traces}
        if not trace_ids:
            return set()
        engaged = set(self.env["mailing.trace"].sudo().search(Domain("id", "in", list(trace_ids)) & trace_domain).ids)
        return {e_id for e_id, traces in watched.items() if any(trace_id in engaged for __, trace_id in traces)}

    def _event_ordered(self, enrollments, arrivals):
        """The enrollments whose customer (their company, as a whole) had an
        order confirmed in the journey's company since they arrived."""
        commercial = enrollments.partner_id.commercial_partner_id
        # sudo: the engine reads the customers' orders whatever its user's Sales rights
        orders = self.env["sale.order"].sudo()._read_group(
            [("state", "=", "sale"), ("company_id", "=", self.journey_id.company_id.id),
             ("partner_id", "child_of", commercial.ids), ("date_order", ">=", min(arrivals.values()))],
            ["partner_id"], ["date_order:max"])
        latest = {}
        for partner, date_order in orders:
            key = partner.commercial_partner_id.id
            latest[key] = max(latest.get(key, date_order), date_order)
        return {
            e.id for e in enrollments
            for ordered in [latest.get(e.partner_id.commercial_partner_id.id)]
            if ordered and ordered >= arrivals[e.id]
        }

    # ------------------------------------------------------------
    # WAKE-UPS: an event brings the customers waiting for it to the engine's next pass
    # ------------------------------------------------------------

    def _waiting_domain(self, event_types):
        return Domain([
            ("state", "=", "running"), ("step_id.step_type", "=", "wait_event"),
            ("step_id.event_type", "in", event_types), ("due_at", ">", fields.Datetime.now()),
        ])

    @api.model
    def _wake_waiting_for_engagement(self, traces):
        """Customers waiting for an open or a click of these traces' emails."""
        event_types = ["opened", "clicked"] if traces.filtered("links_click_datetime") else ["opened"]
        waiting = self.env["smb.journey.enrollment"].search(self._waiting_domain(event_types) & Domain(
            "log_ids", "any", [("mailing_trace_id", "in", traces.ids)]))
        if waiting:
            waiting.write({"due_at": fields.Datetime.now()})

    @api.model
    def _wake_waiting_for_orders(self, orders):
        """Customers waiting for an order, of these confirmed orders' customers."""
        waiting = self.env["smb.journey.enrollment"].search(self._waiting_domain(["ordered"]) & Domain([
            ("commercial_partner_id", "in", orders.partner_id.commercial_partner_id.ids),
            ("company_id", "in", orders.company_id.ids),
        ]))
        if waiting:
            waiting.write({"due_at": fields.Datetime.now()})
