from odoo import api, fields, models
from odoo.fields import Domain

from odoo.addons.mass_mailing.models.mail_thread import BLACKLIST_MAX_BOUNCED_LIMIT
from odoo.addons.smb_journey.lib import bounce as bounce_lib
from odoo.addons.smb_journey.lib import machine_opens


class MailingTrace(models.Model):
    _inherit = "mailing.trace"

    # the inactivity scanners read an address's traces, and the traces sent in a window
    _smb_email_idx = models.Index("(email) WHERE email IS NOT NULL")
    _smb_sent_datetime_idx = models.Index("(sent_datetime) WHERE sent_datetime IS NOT NULL")

    smb_machine_open = fields.Boolean(
        "Machine Open", readonly=True,
        help="The open was recorded within seconds of sending, or by a mail scanner or privacy proxy (Apple Mail "
        "Privacy Protection): nobody read the email then. Journeys count it apart and do not treat it as opened; "
        "a later open by the reader, or a click, makes it a real open.")

    @api.model
    def _smb_human_open_domain(self):
        """The traces a person opened: the one definition that journey
        conditions, statistics and timing read. A person's click sets the
        open too (mass_mailing) and clears the machine flag; a machine's click
        is not recorded on the trace (``set_clicked``), so
        ``links_click_datetime`` is always a person's click."""
        return Domain("open_datetime", "!=", False) & Domain("smb_machine_open", "=", False)

    def _smb_human_opened(self):
        """These traces, those a person opened (``_smb_human_open_domain`` in Python)."""
        return self.filtered(lambda t: t.open_datetime and not t.smb_machine_open)

    def set_opened(self, domain=None):
        """Flag machine opens (``lib/machine_opens.py``): the tracking pixel
        and the links' redirects pass the user agent that fetched them; an
        open through a reply has none and is judged on its time only. A reader's open after
        a machine's turns the trace into a real open, at the reader's time."""
        traces = self + (self.search(domain) if domain else self.browse())
        machine_agent = machine_opens.is_machine_agent(self.env.context.get("smb_tracking_user_agent"))
        fresh = traces.filtered(lambda t: t.trace_status not in ("open", "reply"))
        flagged = traces.filtered(lambda t: t.smb_machine_open and t.trace_status == "open")
        super(MailingTrace, traces).set_opened()
        now = fields.Datetime.now()

        def by_machine(trace):
            return machine_agent or machine_opens.is_fast_open(trace.sent_datetime, now)

        machine = fresh.filtered(by_machine)
        if machine:
            machine.write({"smb_machine_open": True})
        read = flagged.filtered(lambda t: not by_machine(t))
        if read:
            read.write({"smb_machine_open": False, "open_datetime": now})
        ((fresh - machine) | read)._smb_journey_engaged()
        return traces

    def set_clicked(self, domain=None):
        """A person's click makes an open flagged as a machine's real. A
        machine's click (``lib/machine_opens.py``: within seconds of sending,
        or from a scanner's user agent, as the link's redirect passes it) is
        not the trace's click: the link tracker keeps its click (Odoo's
        figures per link), but the trace's click time stays empty, so no
        journey, rate, send hour or churn score takes it for the customer's."""
        traces = self + (self.search(domain) if domain else self.browse())
        agent = self.env.context.get("smb_tracking_user_agent")
        now = fields.Datetime.now()
        machine = traces.filtered(lambda t: machine_opens.is_machine_open(t.sent_datetime, now, agent))
        clicked = traces - machine
        if clicked:
            super(MailingTrace, clicked).set_clicked()
            clicked.filtered("smb_machine_open").write({"smb_machine_open": False})
            clicked._smb_journey_engaged()
        return traces

    def _smb_journey_engaged(self):
        """These traces were just opened or clicked by a person: customers
        waiting on a "wait for an event" step for them go on at the engine's
        next pass rather than at their next re-check."""
        journey_traces = self.filtered(lambda t: t.mass_mailing_id.smb_journey_step_id)
        if journey_traces:
            # sudo: a reader's open, through the public tracking pixel, wakes the journey's bookkeeping
            self.env["smb.journey.step"].sudo()._wake_waiting_for_engagement(journey_traces)

    def set_bounced(self, domain=None, bounce_message=False):
        """A journey email's bounce is noted on the customer's line of that
        email in the step log, hard or soft (see ``lib/bounce.py``). A hard
        bounce ends the customer's journeys; a soft one ends them only once
        Odoo counts as many bounces of the address as Email Marketing's
        blacklisting rule does (``message_bounce``, which the mail gateway
        raises before it marks the traces)."""
        traces = super().set_bounced(domain=domain, bounce_message=bounce_message)
        journey_traces = traces.filtered(lambda t: t.mass_mailing_id.smb_journey_step_id)
        if journey_traces:
            report = self.env.context.get("smb_journey_bounce_report") or {}
            journey_traces._smb_journey_bounced(bounce_lib.classify(text=bounce_message or "", **report))
        return traces

    def _smb_journey_bounced(self, verdict):
        """Note ``verdict`` (a ``lib.bounce.Bounce``) on these journey traces'
        step logs and end the journeys of the addresses it kills."""
        emails = set(self.mapped("email")) - {False}
        counts = {}
        if not verdict.hard and emails:
            # sudo: the bounce count of whoever has the address, as the gateway raised it
            for partner in self.env["res.partner"].sudo().with_context(active_test=False).search(
                    [("email_normalized", "in", list(emails)), ("message_bounce", ">=", BLACKLIST_MAX_BOUNCED_LIMIT)]):
                counts[partner.email_normalized] = max(counts.get(partner.email_normalized, 0), partner.message_bounce)
        detail = f"{verdict.cause} ({verdict.code})" if verdict.code else verdict.cause
        # sudo: the step log is the engine's record; a bounce comes in through the mail gateway
        logs = self.env["smb.journey.log"].sudo().search([("mailing_trace_id", "in", self.ids), ("outcome", "=", "sent")])
        for log in logs:
            if log.reason == "hard_bounce" and not verdict.hard:
                continue  # a later report (a delay notice) does not make a dead address live
            count = counts.get(log.mailing_trace_id.email)
            log.write({
                "reason": "hard_bounce" if verdict.hard else "soft_bounce",
                "message": self.env._(
                    "%(detail)s; %(count)s bounces of this address: its journeys end", detail=detail, count=count,
                ) if count else detail,
            })
        dead = emails if verdict.hard else set(counts)
        if dead:
            self.env["smb.journey.enrollment"]._exit_for_emails(list(dead), "bounced")
