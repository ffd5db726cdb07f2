"""The test run: one contact walked through a journey with time simulated.

Each step type says what it would do with ``_simulate_<type>(sim)``, which
returns a :class:`Simulated` and writes nothing: the email step renders its
message with the real template engine and queues nothing, the coupon step
names the coupon it would issue, a wait says when the customer would go on
(its own ``_run_wait`` given the simulated clock), a condition answers on
real data. A step type without such a method is described by its
``_describe_<type>()`` and, when it has outlets, goes down its first one,
saying so. The wizard (wizard/smb_journey_test_run.py) walks the steps and
runs the whole walk inside a savepoint it rolls back."""

from dataclasses import dataclass, field
from datetime import date, datetime

from odoo import api, fields, models
from odoo.fields import Domain

from odoo.addons.smb_journey.lib import dates as dates_lib
from odoo.addons.smb_journey.lib import experiments, sandbox, schedule

from .smb_journey_step_frequency_cap import _room_at
from .smb_journey_step_split import SALT


@dataclass
class Simulation:
    """A test run in progress: the unsaved enrollment, the simulated clock
    and what is assumed about the customer."""

    enrollment: models.Model
    clock: datetime
    order_after_step: models.Model  # the customer orders once this step is passed
    engagement: str = "none"  # none / open / click: what the customer does with each message
    ordered: bool = False
    messages: list = field(default_factory=list)  # [(moment, channel)] sent during the run
    ledger: list = field(default_factory=list)  # [(moment, channel)] counted by the frequency cap


@dataclass
class Simulated:
    """What a step would do in a test run."""

    action: str
    outlet: str = False
    due_at: datetime | None = None  # the journey goes on then (a wait); None: at once
    end_state: str = False  # completed / exited: the journey ends here
    skipped: bool = False  # a message that would not be sent
    channel: str = False  # a message sent: its channel (mail, sms)
    subject: str = False
    body: str = False  # the rendered email (HTML) or text message
    error: str = False
    notes: list = field(default_factory=list)


class SmbJourney(models.Model):
    _inherit = "smb.journey"

    def action_open_test_run(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Test Run: %s", self.name),
            "res_model": "smb.journey.test.run",
            "view_mode": "form",
            "target": "new",
            "context": {"default_journey_id": self.id},
        }

    def _test_run_record(self, partner):
        """The contact's latest record of the trigger's model (their latest
        cart, order, lead...) in the journey's company, as the user may read
        it; empty when the trigger has none or the contact has none."""
        self.ensure_one()
        model = self._trigger().model
        if not model or model not in self.env:
            return None
        Model = self.env[model]
        hook = getattr(self, f"_test_run_record_domain_{self.trigger}", None)
        if hook:
            domain = hook(partner)
        elif "partner_id" in Model._fields:
            domain = Domain("partner_id", "child_of", partner.commercial_partner_id.id)
        else:
            return Model
        if "company_id" in Model._fields:
            domain &= Domain("company_id", "in", (False, self.company_id.id))
        narrow = getattr(self, f"_trigger_domain_{self.trigger}", None)
        if narrow:
            domain &= narrow()
        return Model.search(domain, order="id desc", limit=1)

    def _test_run_record_domain_cart_abandoned(self, partner):
        return Domain([("partner_id", "child_of", partner.commercial_partner_id.id), ("website_id", "!=", False),
                       ("state", "in", ("draft", "sent"))])

    def _test_run_record_domain_browse_abandoned(self, partner):
        return Domain([("visitor_id.partner_id", "=", partner.id), ("product_id", "!=", False)])

    def _test_run_entry_key(self, partner, record, day):
        """The entry key the trigger would give the contact entering on
        ``day``: templates read some of it (a birthday's years)."""
        self.ensure_one()
        if record:
            return f"{record._name},{record.id}"
        born = self._test_run_date(partner)
        if born and self.date_source == "field":
            return dates_lib.entry_key("field", born, self.date_field_id.name)
        if born:
            occasion = dates_lib.occasion_in_year(born, day.year)
            if occasion < day:
                occasion = dates_lib.occasion_in_year(born, day.year + 1)
            return dates_lib.entry_key(self.date_source, occasion)
        return "test-run"

    def _test_run_date(self, partner):
        """The contact's date that a date journey waits for (None: none)."""
        if self.trigger != "customer_date":
            return None
        if self.date_source == "birthday":
            return partner.smb_birthday or None
        if self.date_source == "anniversary":
            first = self.env["sale.order"].search(
                [("partner_id", "=", partner.id), ("state", "=", "sale"), ("company_id", "=", self.company_id.id)],
                order="date_order", limit=1)
            return first.date_order.date() if first else None
        value = partner[self.date_field_id.name] if self.date_field_id.name in partner._fields else None
        return value.date() if isinstance(value, datetime) else value if isinstance(value, date) else None

    def _test_run_ends(self, sim):
        """(state, reason) when the journey would end before the next step
        (the engine's checks before every step: the triggering record, the
        audience, the goal), else None. An order assumed by the test run
        reaches the order goal and buys an abandoned cart."""
        self.ensure_one()
        enrollment = sim.enrollment
        ends = self._record_exit_reasons(enrollment)
        if ends:
            return next(iter(ends.values()))
        if sim.ordered and self.trigger == "cart_abandoned" and enrollment.order_id:
            return "completed", "purchased"
        if not self._audience(enrollment.partner_id):
            return "exited", "left_audience"
        if sim.ordered and self.goal == "order_confirmed":
            return "completed", "goal"
        if self._goal_reached(enrollment):
            return "completed", "goal"
        return None


class SmbJourneyStep(models.Model):
    _inherit = "smb.journey.step"

    def _simulate(self, sim):
        """What this step would do for the test run ``sim``: its type's
        ``_simulate_<type>``, else its description."""
        self.ensure_one()
        method = getattr(self, f"_simulate_{self.step_type}", None)
        if method:
            return method(sim)
        describe = getattr(self, f"_describe_{self.step_type}", None)
        result = Simulated((describe() if describe else "") or self._type().label)
        if self._type().outlets:
            result.outlet = self._type().outlets[0][0]
            result.notes.append(self.env._("The test run cannot tell which outlet: it takes the first one."))
        return result

    # ------------------------------------------------------------
    # MESSAGE GATES, as the engine's would judge at the simulated time
    # ------------------------------------------------------------

    def _simulate_gates(self, sim):
        """Move the simulated clock past the quiet hours and the frequency
        cap as the gates would (smb_journey_step_quiet_hours.py,
        smb_journey_step_frequency_cap.py); returns (notes, skipped reason
        or False). The cap counts the customer's messages in its ledger and
        those the test run already sent."""
        notes = []
        journey, company = self.journey_id, self.journey_id.company_id
        channel = self._type().mailing_type
        quiet = (company.smb_quiet_hours and journey.respect_quiet_hours and not self.ignore_quiet_hours)
        limits = self._cap_limits()
        tz = sim.enrollment._timezone()
        for __ in range(10):  # the cap's room may fall in the night, the morning may be full
            moved = False
            if quiet:
                allowed = schedule.next_allowed(sim.clock, company.smb_quiet_start, company.smb_quiet_end, tz)
                if allowed > sim.clock:
                    notes.append(self.env._("Quiet hours: waits until %(when)s.", when=self._test_run_moment(allowed)))
                    sim.clock, moved = allowed, True
            if limits:
                room_at, rule = _room_at(sim.ledger, limits, sim.clock)
                if room_at > sim.clock:
                    count, window = rule
                    cap = self.env._("at most %(count)s within %(hours)s hours", count=count,
                                     hours=int(window.total_seconds() // 3600))
                    if journey.cap_policy == "skip":
                        return notes, self.env._("Frequency cap (%(cap)s): the message would be skipped.", cap=cap)
                    notes.append(self.env._("Frequency cap (%(cap)s): waits until %(when)s.", cap=cap,
                                            when=self._test_run_moment(room_at)))
                    sim.clock, moved = room_at, True
            if not moved:
                break
        if limits or self._cap_counts():
            sim.ledger.append((sim.clock, channel))
        return notes, False

    def _test_run_moment(self, moment):
        return fields.Datetime.to_string(fields.Datetime.context_timestamp(self, moment))[:16]

    # ------------------------------------------------------------
    # SIMULATIONS: _simulate_<type>(sim) -> Simulated
    # ------------------------------------------------------------

    def _simulate_wait(self, sim):
        [result] = self._run_wait(sim.enrollment, now=sim.clock)
        return Simulated(self._describe_wait(), due_at=result.due_at)

    def _simulate_condition(self, sim):
        """A filter is answered on real data; opened / clicked by what the
        test run assumes the customer does with the messages it sent."""
        if self.condition_type in ("opened", "clicked"):
            sent = bool(sim.messages)
            yes = sent and (sim.engagement == "click" or (sim.engagement == "open" and self.condition_type == "opened"))
            note = self.env._("As assumed by the test run.") if sent else self.env._("No message was sent before.")
        else:
            yes = bool(getattr(self, f"_condition_{self.condition_type}")(sim.enrollment))
            note = self.env._("Answered on the contact's data.")
        return Simulated(self._describe_condition(), outlet="yes" if yes else "no", notes=[note])

    def _simulate_split(self, sim):
        if self.split_winner:
            return Simulated(self._describe_split(), outlet=self.split_winner,
                             notes=[self.env._("Every customer takes the winner.")])
        variant = experiments.assign(self._split_weights(), SALT, self.id, sim.enrollment.partner_id.id)
        return Simulated(self._describe_split(), outlet=variant, notes=[self.env._(
            "The contact's draw: Variant %(variant)s, the same every time (%(weight)s %% of customers).",
            variant=variant.upper(), weight=dict(self._split_weights())[variant])])

    def _simulate_wait_event(self, sim):
        timeout = schedule.after_delay(sim.clock, self.event_timeout_amount, self.event_timeout_unit)
        if self.event_type == "ordered":
            happened = sim.ordered
        else:
            happened = bool(sim.messages) and (
                sim.engagement == "click" or (sim.engagement == "open" and self.event_type == "opened"))
        if happened:
            return Simulated(self._describe_wait_event(), outlet="happened",
                             notes=[self.env._("As assumed by the test run.")])
        return Simulated(self._describe_wait_event(), outlet="timeout", due_at=timeout)

    def _simulate_exit(self, sim):
        return Simulated(self.env._("Ends the journey."), end_state="completed")

    def _simulate_activity(self, sim):
        user = self._activity_user(sim.enrollment, self.journey_id._activity_fallback_user())
        due = fields.Date.add(fields.Datetime.context_timestamp(self, sim.clock).date(), days=self.activity_days)
        return Simulated(self.env._(
            "Would create the activity %(summary)s for %(user)s, due on %(date)s.",
            summary=self.activity_summary or self.name, user=user.name, date=fields.Date.to_string(due)))

    def _simulate_tag(self, sim):
        return Simulated(self.env._("Would: %s", self._describe_tag()))

    def _simulate_coupon(self, sim):
        return Simulated(self.env._("Would issue a personal coupon of %s.", self.coupon_program_id.name or ""))

    def _simulate_webhook(self, sim):
        return Simulated(self.env._("Would call the webhook %s with the customer and the journey.",
                                    self._describe_webhook()))

    def _simulate_email(self, sim):
        reason = self._skip_reasons_email(sim.enrollment)[sim.enrollment]
        return self._simulate_message(sim, reason, self._test_run_render_email)

    def _simulate_message(self, sim, skip_reason, render):
        """A message step: the gates, then the message rendered by ``render``
        (enrollment -> (subject, body)), or why it would not be sent."""
        result = Simulated(self._type().label)
        if skip_reason:
            result.skipped = True
            result.action = self.env._("Would not be sent: %s",
                                       dict(self.journey_id._reason_selection()).get(skip_reason, skip_reason))
        else:
            result.notes, capped = self._simulate_gates(sim)
            if capped:
                result.skipped, result.action = True, capped
            else:
                result.channel = self._type().mailing_type
                sim.messages.append((sim.clock, result.channel))
                result.action = self.env._("Would send it on %s.", self._test_run_moment(sim.clock))
        try:
            result.subject, result.body = render(sim.enrollment)
        except sandbox.TemplateError as e:
            result.error = self.env._("The message cannot be rendered: %s", e)
        if self.coupon_source_program_id and "coupon" in self._referenced_names():
            result.notes.append(self.env._(
                "The coupon of %s shows a sample code: the real one is issued when the step runs.",
                self.coupon_source_program_id.name))
        return result

    def _test_run_render_email(self, enrollment):
        """(subject, body) of this email for ``enrollment`` as the engine
        renders it, in the customer's language, without issuing a coupon or
        shortening links (nothing is written)."""
        step = self.with_context(smb_journey_preview=True)
        context = step._prepare_render_contexts(enrollment)[enrollment.id]
        step = step.with_context(lang=enrollment._render_langs()[enrollment.id])
        subject = sandbox.render(sandbox.compile_text(step.subject or ""), context).strip()
        body = sandbox.render(sandbox.compile_template(step._body_with_unsubscribe()), context)
        return subject, body
