from odoo import fields, models


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "smb.customer.insight.mixin"]

    smb_enrollment_ids = fields.One2many("smb.journey.enrollment", "order_id", "Journey Enrollments")
    smb_enrollment_count = fields.Integer("Journeys", compute="_compute_smb_enrollment_count")

    def _compute_smb_enrollment_count(self):
        counts = dict(self.env["smb.journey.enrollment"]._read_group(
            [("order_id", "in", self.ids)], ["order_id"], ["__count"]))
        for order in self:
            order.smb_enrollment_count = counts.get(order, 0)

    def action_view_smb_enrollments(self):
        """The journeys this cart or order started (abandoned-cart, post-purchase)."""
        action = self.env["ir.actions.act_window"]._for_xml_id("smb_journey.smb_journey_enrollment_action")
        action["domain"] = [("order_id", "in", self.ids)]
        action["context"] = {"create": False}
        return action

    def _action_confirm(self):
        res = super()._action_confirm()
        # the journeys' part (conversion credit, goals, post-purchase entry,
        # tier) runs in the events cron, seconds later: the confirmation only
        # writes the event (see smb.journey.event)
        self.env["smb.journey.event"]._enqueue("order_confirmed", self)
        return res

    def _action_cancel(self):
        # a quotation or a cart cancelled changes no spend and earned nothing:
        # only confirmed orders have a cancellation to take back (a cart's
        # journey sees its cart cancelled before its next step)
        confirmed = self.filtered(lambda o: o.state == "sale")
        res = super()._action_cancel()
        self.env["smb.journey.event"]._enqueue("order_cancelled", confirmed)
        return res

    def _filter_can_send_abandoned_cart_mail(self):
        """Leave to our journey the carts of websites where one runs, so no
        customer gets website_sale's reminder and ours for the same cart."""
        carts = super()._filter_can_send_abandoned_cart_mail()
        journeys = self.env["smb.journey"].sudo().search([
            ("trigger", "=", "cart_abandoned"), ("state", "=", "running"),
        ])
        if not journeys:
            return carts
        return carts.filtered(lambda cart: not journeys.filtered(
            lambda j: j.company_id == cart.company_id)._covers_website(cart.website_id))
