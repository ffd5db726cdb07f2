from odoo import api, fields, models

from odoo.addons.smb_journey.tools import vocabulary


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
    outcome = fields.Selection(vocabulary.OUTCOMES, required=True)
    reason = fields.Selection(selection=lambda self: self.env["smb.journey"]._reason_selection())
    message = fields.Char()
    due_at = fields.Datetime("Next Step At", readonly=True, help="When the step lets the customer go on (a wait).")
    mailing_trace_id = fields.Many2one("mailing.trace", "Email Trace", index="btree_not_null", ondelete="set null")
    loyalty_card_id = fields.Many2one(
        "loyalty.card", "Coupon", index="btree_not_null", ondelete="set null", readonly=True,
        help="The personal coupon a coupon step gave the customer.")
    # sudo (compute_sudo / related): sales staff read how their customer's
    # email did without Email Marketing rights on the traces themselves
    trace_status = fields.Selection(related="mailing_trace_id.trace_status", string="Email Status")
    sent_datetime = fields.Datetime(
        related="mailing_trace_id.sent_datetime", string="Left the Queue On",
        help="When the message was sent: the statistics count a message sent then.")
    opened = fields.Boolean(compute="_compute_engagement", compute_sudo=True)
    clicked = fields.Boolean(compute="_compute_engagement", compute_sudo=True)
    conversion_ids = fields.One2many("smb.journey.conversion", "log_id", "Conversions")
    converted = fields.Boolean(compute="_compute_conversion", store=True)
    order_id = fields.Many2one("sale.order", "Converting Order", compute="_compute_conversion", store=True)
    revenue = fields.Monetary(compute="_compute_conversion", store=True, currency_field="currency_id")

    @api.model_create_multi
    def create(self, vals_list):
        """The engine logs every step of every customer. What the stored
        related and conversion fields hold is known when a log is written:
        inserted with the row, the recompute that follows the insert finds
        them right and writes nothing (otherwise every new log is written a
        second time, an UPDATE at the next flush)."""
        enrollments = self.env["smb.journey.enrollment"].browse(
            {vals["enrollment_id"] for vals in vals_list if vals.get("enrollment_id")})
        known = {e.id: {
            "journey_id": e.journey_id.id,
            "partner_id": e.partner_id.id,
            "commercial_partner_id": e.partner_id.commercial_partner_id.id,
            "company_id": e.company_id.id,
        } for e in enrollments}
        # a new log has no conversion yet (they come with later orders)
        unconverted = {"converted": False, "order_id": False, "revenue": 0.0}
        return super().create([
            {**known.get(vals.get("enrollment_id"), {}), **(unconverted if "conversion_ids" not in vals else {}),
             **vals}
            for vals in vals_list
        ])

    @api.depends("mailing_trace_id.open_datetime", "mailing_trace_id.smb_machine_open",
                 "mailing_trace_id.links_click_datetime")
    def _compute_engagement(self):
        opened = self.mailing_trace_id._smb_human_opened()
        for log in self:
            trace = log.mailing_trace_id
            # a machine open (a mail scanner, a privacy proxy) is not the customer's
            log.opened = bool(trace in opened or trace.links_click_datetime)
            log.clicked = bool(trace.links_click_datetime)

    @api.depends("conversion_ids.revenue", "conversion_ids.order_id")
    def _compute_conversion(self):
        no_order = self.env["sale.order"]
        for log in self:
            conversions = log.conversion_ids
            if not conversions:  # every new log (the engine writes thousands at a time)
                log.converted, log.order_id, log.revenue = False, no_order, 0.0
                continue
            log.converted = True
            log.order_id = conversions.sorted("date")[-1:].order_id
            log.revenue = sum(conversions.mapped("revenue"))
