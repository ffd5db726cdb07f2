from datetime import timedelta

from odoo import api, fields, models

LOG_REASONS = [
    # skips
    ("email_missing", "No email address"),
    ("email_invalid", "Invalid email address"),
    ("blacklisted", "Blacklisted address"),
    ("opted_out", "Opted out of journeys"),
    # errors
    ("template", "Template error"),
    ("exception", "Step failed"),
    # steps and exits
    ("waiting", "Waiting"),
    ("branch_yes", "Condition met"),
    ("branch_no", "Condition not met"),
    ("exit_step", "Exit step"),
    ("activity", "Activity assigned"),
    ("goal", "Goal reached"),
    ("purchased", "Purchased"),
    ("cancelled", "Order cancelled"),
    ("unsubscribed", "Unsubscribed"),
    ("bounced", "Email bounced"),
    ("emptied", "Cart emptied"),
    ("record_deleted", "Triggering record deleted"),
    ("left_audience", "Left the audience"),
    ("archived", "Contact archived"),
    ("blacklisted", "Blacklisted"),
    ("journey_stopped", "Journey stopped"),
    ("manual", "Removed by hand"),
]


class SmbJourneyLog(models.Model):
    _name = "smb.journey.log"
    _description = "Journey Step Log"
    _order = "date desc, id desc"

    # exactly-once: a step runs at most once per enrollment (a failed run may be retried)
    _unique_step_run = models.UniqueIndex(
        "(enrollment_id, step_id) WHERE outcome != 'error' AND outcome != 'exited'",
        "This step already ran for this enrollment.",
    )

    enrollment_id = fields.Many2one("smb.journey.enrollment", required=True, index=True, ondelete="cascade")
    journey_id = fields.Many2one(related="enrollment_id.journey_id", store=True, index=True)
    partner_id = fields.Many2one(related="enrollment_id.partner_id", store=True)
    commercial_partner_id = fields.Many2one(
        "res.partner", related="enrollment_id.partner_id.commercial_partner_id", store=True, index=True)
    company_id = fields.Many2one(related="enrollment_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    step_id = fields.Many2one("smb.journey.step", index=True, ondelete="cascade")
    step_type = fields.Selection(related="step_id.step_type")
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    outcome = fields.Selection(
        [("sent", "Email queued"), ("skipped", "Skipped"), ("done", "Done"),
         ("error", "Error"), ("exited", "Exited")],
        required=True,
    )
    reason = fields.Selection(LOG_REASONS)
    message = fields.Char()
    mailing_trace_id = fields.Many2one("mailing.trace", "Email Trace", index="btree_not_null", ondelete="set null")
    trace_status = fields.Selection(related="mailing_trace_id.trace_status", string="Email Status")
    opened = fields.Boolean(compute="_compute_engagement")
    clicked = fields.Boolean(compute="_compute_engagement")
    converted = fields.Boolean(readonly=True)
    order_id = fields.Many2one("sale.order", "Converting Order", readonly=True, ondelete="set null")
    revenue = fields.Monetary(readonly=True, currency_field="currency_id")

    @api.depends("mailing_trace_id.open_datetime", "mailing_trace_id.links_click_datetime")
    def _compute_engagement(self):
        for log in self:
            trace = log.mailing_trace_id
            log.opened = bool(trace.open_datetime or trace.links_click_datetime)
            log.clicked = bool(trace.links_click_datetime)

    @api.model
    def _record_conversions(self, orders):
        """Credit each confirmed order to the last email of every journey sent
        to that customer within the journey's conversion window (last touch)."""
        now = fields.Datetime.now()
        max_window = max(self.env["smb.journey"].sudo().search([]).mapped("conversion_window_days") or [0])
        logs = self.sudo().search([
            ("outcome", "=", "sent"),
            ("commercial_partner_id", "in", orders.partner_id.commercial_partner_id.ids),
            ("date", ">=", now - timedelta(days=max_window)),
            ("date", "<=", now),
        ], order="date desc, id desc")
        for order in orders:
            credited = set()
            for log in logs:
                journey = log.journey_id
                if (log.commercial_partner_id != order.partner_id.commercial_partner_id
                        or journey.id in credited
                        or log.date + timedelta(days=journey.conversion_window_days) < now):
                    continue
                credited.add(journey.id)
                company = log.company_id
                amount = order.currency_id._convert(
                    order.amount_untaxed, company.currency_id, company, fields.Date.context_today(self))
                log.write({
                    "converted": True,
                    "order_id": log.order_id.id or order.id,
                    "revenue": log.revenue + amount,
                })
