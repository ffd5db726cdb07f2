from odoo import api, fields, models
from odoo.tools import SQL

from .res_company import ATTRIBUTION_MODELS

# a journey email counts as a touch only once it really left: what mass_mailing
# calls delivered (sent, opened, replied); queued, failed, bounced, cancelled do not.
# An SMS the provider accepted ('pending', which emails never are) left too:
# delivery reports are optional, and many never come
DELIVERED = ("sent", "open", "reply", "pending")


class SmbJourneyConversion(models.Model):
    """An order credited to a journey email: the revenue a journey brought.

    One row per (order, email credited). An order is credited once across all
    the journeys of its company, to the emails its customer was really sent
    before it, within each journey's conversion window, by the company's
    attribution model (last touch, first touch, or linear with shares adding
    up to 1). Revenue follows the order: a cancelled order takes its credit
    back, a credit note lowers it.
    """

    _name = "smb.journey.conversion"
    _description = "Journey Conversion"
    _order = "date desc, id desc"
    _check_company_auto = True

    _unique_order_log = models.UniqueIndex("(order_id, log_id)", "An order is credited to an email once.")

    order_id = fields.Many2one("sale.order", "Order", required=True, index=True, ondelete="cascade", readonly=True)
    log_id = fields.Many2one(
        "smb.journey.log", "Email Credited", required=True, index=True, ondelete="cascade", readonly=True)
    enrollment_id = fields.Many2one(related="log_id.enrollment_id", store=True, index=True)
    journey_id = fields.Many2one(related="log_id.journey_id", store=True, index=True)
    step_id = fields.Many2one(related="log_id.step_id", store=True, index=True)
    version_id = fields.Many2one(related="log_id.step_id.version_id", store=True, index="btree_not_null")
    partner_id = fields.Many2one(related="order_id.partner_id", string="Customer")
    company_id = fields.Many2one("res.company", required=True, index=True, readonly=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    date = fields.Datetime("Order Date", required=True, readonly=True)
    email_date = fields.Datetime("Email Sent On", readonly=True)
    attribution = fields.Selection(ATTRIBUTION_MODELS, required=True, readonly=True)
    # not rounded: a third must stay a third for the shares to add up to the order
    share = fields.Float(readonly=True, help="Share of the order credited to this email (1 = all).")
    revenue = fields.Monetary(
        readonly=True, currency_field="currency_id",
        help="The share of the order's untaxed amount, less its credit notes, in the company currency.")

    @api.model
    def _credit_orders(self, orders):
        """Credit confirmed ``orders`` to the journey emails that led to them.

        Set-based: one query finds every candidate email of every order.
        Idempotent: an order already credited is left as it is.
        """
        orders = orders.filtered(lambda o: o.state == "sale")
        if not orders:
            return self
        self.env["smb.journey.log"].flush_model()
        self.env["mailing.trace"].flush_model(["trace_status", "sent_datetime"])
        self.env["sale.order"].flush_model(["date_order", "state", "partner_id", "company_id"])
        self.flush_model()
        # candidates: emails of the order's company, to the order's customer
        # (any contact of its account), delivered before the order and within
        # their journey's window, of journeys this order can convert; orders
        # already credited are left out
        rows = self.env.execute_query(SQL(
            """
            SELECT o.id, l.id, t.sent_datetime
              FROM sale_order o
              JOIN res_partner op ON op.id = o.partner_id
              JOIN smb_journey_log l ON l.commercial_partner_id = op.commercial_partner_id
                                    AND l.company_id = o.company_id AND l.outcome = 'sent'
              JOIN smb_journey_enrollment e ON e.id = l.enrollment_id
              JOIN smb_journey j ON j.id = e.journey_id
              JOIN mailing_trace t ON t.id = l.mailing_trace_id
             WHERE o.id = ANY(%(orders)s)
               AND t.trace_status IN %(delivered)s
               AND t.sent_datetime <= o.date_order
               AND t.sent_datetime >= o.date_order - make_interval(days => j.conversion_window_days)
               -- a journey whose goal is its own cart (or order) earns only from it
               AND (j.goal != 'order_confirmed' OR j.goal_scope != 'record' OR e.order_id = o.id)
               AND NOT EXISTS (SELECT 1 FROM smb_journey_conversion c WHERE c.order_id = o.id)
             ORDER BY o.id, t.sent_datetime, l.id
            """,
            orders=orders.ids, delivered=DELIVERED,
        ))
        touches = {}
        for order_id, log_id, sent in rows:
            touches.setdefault(order_id, []).append((log_id, sent))
        vals = []
        for order in orders.filtered(lambda o: o.id in touches):
            model = order.company_id.smb_attribution_model or "last"
            found = touches[order.id]
            credited = found[-1:] if model == "last" else found[:1] if model == "first" else found
            share = 1.0 / len(credited)
            vals += [{
                "order_id": order.id, "log_id": log_id, "company_id": order.company_id.id,
                "date": order.date_order, "email_date": sent, "attribution": model, "share": share,
            } for log_id, sent in credited]
        conversions = self.create(vals)
        conversions._refresh_revenue()
        return conversions

    @api.model
    def _on_orders_cancelled(self, orders):
        """A cancelled order never happened: its credit goes."""
        self.search([("order_id", "in", orders.ids)]).unlink()

    @api.model
    def _on_orders_refunded(self, orders):
        self.search([("order_id", "in", orders.ids)])._refresh_revenue()

    def _refresh_revenue(self):
        """Revenue = share × the order's net amount: untaxed, in the company
        currency at the order's rate, less the posted credit notes of its lines
        (the loyalty tiers' definition of spend)."""
        if not self:
            return
        self.env["account.move.line"].flush_model()
        net = dict(self.env.execute_query(SQL(
            """
            SELECT o.id, o.amount_untaxed / COALESCE(NULLIF(o.currency_rate, 0), 1) - COALESCE((
                       SELECT SUM(aml.balance)
                         FROM account_move_line aml
                         JOIN account_move m ON m.id = aml.move_id
                         JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = aml.id
                         JOIN sale_order_line sol ON sol.id = rel.order_line_id
                        WHERE sol.order_id = o.id AND m.move_type = 'out_refund' AND m.state = 'posted'), 0)
              FROM sale_order o
             WHERE o.id = ANY(%s)
            """,
            self.order_id.ids,
        )))
        # per order, each share rounded, the rounding remainder on the last
        # email: a linear split adds up to the order to the cent
        for order, conversions in self.grouped("order_id").items():
            conversions = conversions.sorted(lambda c: (c.email_date or c.date, c.id))
            currency = conversions[:1].currency_id
            total = currency.round(max(net.get(order.id) or 0.0, 0.0) * sum(conversions.mapped("share")))
            left = total
            for index, conversion in enumerate(conversions):
                last = index == len(conversions) - 1
                revenue = left if last else currency.round(total * conversion.share / sum(conversions.mapped("share")))
                left = currency.round(left - revenue)
                if conversion.revenue != revenue:
                    conversion.revenue = revenue
