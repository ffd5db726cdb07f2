from odoo import fields, models

from odoo.addons.smb_journey.tools import contained


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
        # sudo: a customer paying online confirms the order; the journeys'
        # bookkeeping (conversion credit, goal, post-purchase entry, tier) is
        # not theirs to read. Each part is contained: a failure is logged (and
        # flagged on the journey), the confirmation goes through.
        with contained(self.env, "Journey conversions"):
            self.env["smb.journey.conversion"].sudo()._credit_orders(self)
        with contained(self.env, "Journey goals"):
            self.env["smb.journey.enrollment"].sudo()._on_orders_confirmed(self)
        self.env["smb.journey"].sudo()._fire_trigger("order_confirmed", self)  # contained per journey
        with contained(self.env, "Loyalty tiers"):
            self.env["smb.loyalty.tier"].sudo()._on_orders_changed(self, "order")
        return res

    def _action_cancel(self):
        confirmed = self.filtered(lambda o: o.state == "sale")
        res = super()._action_cancel()
        # sudo and contained: as above
        with contained(self.env, "Journey exits"):
            self.env["smb.journey.enrollment"].sudo()._on_orders_cancelled(self)
        with contained(self.env, "Journey conversions"):
            self.env["smb.journey.conversion"].sudo()._on_orders_cancelled(confirmed)
        with contained(self.env, "Loyalty tiers"):
            self.env["smb.loyalty.tier"].sudo()._on_orders_changed(confirmed, "cancel")
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
