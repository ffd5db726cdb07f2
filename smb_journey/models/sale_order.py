from odoo import fields, models


class SaleOrder(models.Model):
    _inherit = "sale.order"

    smb_enrollment_ids = fields.One2many("smb.journey.enrollment", "order_id", "Journey Enrollments")

    def _action_confirm(self):
        res = super()._action_confirm()
        # sudo: a customer paying online confirms the order; the journeys'
        # bookkeeping (conversion credit, goal, post-purchase entry) is not theirs to read
        self.env["smb.journey.log"].sudo()._record_conversions(self)
        self.env["smb.journey.enrollment"].sudo()._on_orders_confirmed(self)
        self.env["smb.journey"].sudo()._fire_trigger("order_confirmed", self)
        return res

    def _action_cancel(self):
        res = super()._action_cancel()
        self.env["smb.journey.enrollment"].sudo()._on_orders_cancelled(self)
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
