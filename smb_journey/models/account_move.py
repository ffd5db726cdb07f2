from odoo import models


class AccountMove(models.Model):
    _inherit = "account.move"

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        orders = posted.filtered(lambda m: m.move_type == "out_refund").line_ids.sale_line_ids.order_id
        if orders:
            # sudo: a refund lowers the customer's loyalty spend whoever posts it
            self.env["smb.loyalty.tier"].sudo()._on_orders_changed(orders, "cancel")
        return posted
