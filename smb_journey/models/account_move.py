from odoo import models

from odoo.addons.smb_journey.tools import contained


class AccountMove(models.Model):
    _inherit = "account.move"

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        orders = posted.filtered(lambda m: m.move_type == "out_refund").line_ids.sale_line_ids.order_id
        if orders:
            # sudo: a refund lowers the customer's loyalty spend and the revenue
            # journeys brought, whoever posts it; contained: posting goes through
            with contained(self.env, "Journey revenue after a credit note"):
                self.env["smb.journey.conversion"].sudo()._on_orders_refunded(orders)
            with contained(self.env, "Loyalty tiers after a credit note"):
                self.env["smb.loyalty.tier"].sudo()._on_orders_changed(orders, "cancel")
        return posted

    def button_draft(self):
        """A credit note taken back to draft no longer lowers the revenue journeys brought."""
        refunds = self.filtered(lambda m: m.move_type == "out_refund" and m.state == "posted")
        res = super().button_draft()
        orders = refunds.line_ids.sale_line_ids.order_id
        if orders:
            with contained(self.env, "Journey revenue after a credit note"):
                # sudo: as in _post
                self.env["smb.journey.conversion"].sudo()._on_orders_refunded(orders)
        return res
