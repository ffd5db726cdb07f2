from odoo import fields, models
from odoo.fields import Domain

from .smb_journey_conversion import DELIVERED

# counts of mailing.trace statuses, as mailing.mailing._compute_statistics reads them
MAIL_COUNTS = ("queued", "sent", "delivered", "opened", "machine_opened", "clicked", "replied", "bounced", "failed",
               "reachable")


class SmbJourneyStatisticsMixin(models.AbstractModel):
    """The message and sales numbers of a journey or of one of its steps.

    Messages (emails, and any step type that declares a ``mailing_type``) are
    counted exactly as Email Marketing counts the same mailings (the traces
    of the steps' technical mailings), so both screens agree, but for the
    opens: an open by a mail scanner or a privacy proxy (a machine open, see
    mailing.trace) is counted apart, not as opened nor in the open rate. The
    rates use its denominator (messages not cancelled, bounced or failed).
    Conversions are the distinct orders credited, with their revenue. An
    inheriting model says what each record sums in ``_statistics_scope()``."""

    _name = "smb.journey.statistics.mixin"
    _description = "Journey Message and Sales Numbers"

    currency_id = fields.Many2one("res.currency")  # the inheriting models' own, related to their company
    queued_count = fields.Integer("Queued", compute="_compute_mail_statistics", help="Messages waiting in the queue.")
    sent_count = fields.Integer("Sent", compute="_compute_mail_statistics", help="Messages that left the queue.")
    delivered_count = fields.Integer("Delivered", compute="_compute_mail_statistics")
    opened_count = fields.Integer(
        "Opened", compute="_compute_mail_statistics", help="Messages the customers opened (machine opens apart).")
    machine_opened_count = fields.Integer(
        "Machine Opens", compute="_compute_mail_statistics",
        help="Messages whose only open was a machine's: a mail scanner or a privacy proxy (Apple Mail Privacy "
        "Protection) fetched the images on delivery. Not counted as opened.")
    clicked_count = fields.Integer("Clicked", compute="_compute_mail_statistics")
    replied_count = fields.Integer("Replied", compute="_compute_mail_statistics")
    bounced_count = fields.Integer("Bounced", compute="_compute_mail_statistics")
    failed_count = fields.Integer(
        "Failed", compute="_compute_mail_statistics", help="Messages the server could not send.")
    converted_count = fields.Integer(
        "Conversions", compute="_compute_mail_statistics", help="Orders credited to these messages.")
    revenue = fields.Monetary(compute="_compute_mail_statistics", currency_field="currency_id")
    open_rate = fields.Float("Open Rate (%)", compute="_compute_mail_statistics")
    click_rate = fields.Float("Click Rate (%)", compute="_compute_mail_statistics")
    recipient_count = fields.Integer(
        "Recipients", compute="_compute_revenue_per_recipient",
        help="Customers (accounts: a company with its contacts counts once) who were delivered at least one "
        "message: those whose orders can be credited.")
    revenue_per_recipient = fields.Monetary(
        "Revenue per Recipient", compute="_compute_revenue_per_recipient", currency_field="currency_id",
        help="Revenue credited divided by the recipients.")

    def _statistics_scope(self):
        """``(field, steps_of)``: the smb.journey.conversion field pointing to
        these records, and a function giving each record's steps."""
        raise NotImplementedError

    def _compute_mail_statistics(self):
        field, steps_of = self._statistics_scope()
        steps = self.env["smb.journey.step"].union(*(steps_of(record) for record in self))
        mail = self._trace_statistics(steps.mailing_id)
        # sudo: a journey's own figures, also for sales staff who see only their customers' conversions
        conversions = {
            record.id: (orders, revenue)
            for record, orders, revenue in self.env["smb.journey.conversion"].sudo()._read_group(
                [(field, "in", self.ids)], [field], ["order_id:count_distinct", "revenue:sum"])
        }
        for record in self:
            counts = dict.fromkeys(MAIL_COUNTS, 0)
            for step in steps_of(record):
                for key, value in mail.get(step.mailing_id.id, {}).items():
                    counts[key] += value
            for key in MAIL_COUNTS[:-1]:
                record[f"{key}_count"] = counts[key]
            reachable = counts["reachable"]
            record.open_rate = 100.0 * counts["opened"] / reachable if reachable else 0.0
            record.click_rate = 100.0 * counts["clicked"] / reachable if reachable else 0.0
            record.converted_count, record.revenue = conversions.get(record.id, (0, 0.0))

    def _compute_revenue_per_recipient(self):
        field, __ = self._statistics_scope()
        recipients = dict(self._recipient_counts(field, self.ids))
        for record in self:
            record.recipient_count = recipients.get(record.id, 0)
            record.revenue_per_recipient = record.revenue / record.recipient_count if record.recipient_count else 0.0

    def _recipient_counts(self, field, ids, domain=()):
        """[(id, recipients)] per value of the step log's ``field`` (journey_id
        or step_id) among ``ids``: the distinct customer accounts delivered a
        message (the statuses conversions credit), in the step logs matching
        ``domain`` too (the dashboard's period)."""
        # sudo: a journey's own figures, as the counts above; sales staff see only their customers' logs
        return [
            (record.id, count) for record, count in self.env["smb.journey.log"].sudo()._read_group(
                Domain.AND([[(field, "in", list(ids)), ("outcome", "=", "sent"),
                             ("mailing_trace_id.trace_status", "in", DELIVERED)], list(domain)]),
                [field], ["commercial_partner_id:count_distinct"])
        ]

    def _trace_statistics(self, mailings, domain=()):
        """{mailing id: counts}, as ``mailing.mailing._compute_statistics``
        counts, of the traces matching ``domain`` too (the dashboard's period)."""
        if not mailings:
            return {}
        statuses, clicked, sent, machine = {}, {}, {}, {}
        # sudo: the traces of the steps' own technical mailings; sales staff
        # read a journey's figures without Email Marketing rights
        for mailing, status, machine_open, count, clicks, sent_count in self.env["mailing.trace"].sudo()._read_group(
            Domain.AND([[("mass_mailing_id", "in", mailings.ids)], list(domain)]),
            ["mass_mailing_id", "trace_status", "smb_machine_open"],
            ["__count", "links_click_datetime:count", "sent_datetime:count"],
        ):
            line = statuses.setdefault(mailing.id, {})
            line[status] = line.get(status, 0) + count
            if machine_open and status == "open":
                machine[mailing.id] = machine.get(mailing.id, 0) + count
            clicked[mailing.id] = clicked.get(mailing.id, 0) + clicks
            sent[mailing.id] = sent.get(mailing.id, 0) + sent_count
        result = {}
        for mailing_id, line in statuses.items():
            get = line.get
            result[mailing_id] = {
                # waiting in the queue, or handed to the SMS provider without its answer
                # yet ('pending' is an SMS the provider accepted: sent, counted below)
                "queued": get("outgoing", 0) + get("process", 0),
                "sent": sent[mailing_id],
                # as conversions credit them: an SMS the provider accepted is delivered
                # (many providers send no delivery report); emails are never 'pending'
                "delivered": sum(get(status, 0) for status in DELIVERED),
                # a machine open is no open (``mailing.trace._smb_human_open_domain``)
                "opened": get("open", 0) - machine.get(mailing_id, 0) + get("reply", 0),
                "machine_opened": machine.get(mailing_id, 0),
                "replied": get("reply", 0),
                "bounced": get("bounce", 0),
                "failed": get("error", 0),
                "clicked": clicked[mailing_id],
                # Email Marketing's denominator of its open and click ratios
                "reachable": sum(line.values()) - get("cancel", 0) - get("bounce", 0) - get("error", 0),
            }
        return result
