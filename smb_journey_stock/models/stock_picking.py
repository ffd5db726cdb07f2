from odoo import models


class StockPicking(models.Model):
    _inherit = "stock.picking"

    def _smb_notify_delivery(self):
        """One shop event for the sale orders of these customer deliveries
        (validated or cancelled): whether the order is now fully delivered is
        read by the events cron, not here."""
        orders = self.filtered(lambda p: p.picking_type_code == "outgoing").sale_id
        self.env["smb.journey.event"]._enqueue("order_delivered", orders)

    def _action_done(self):
        res = super()._action_done()
        self._smb_notify_delivery()
        return res

    def action_cancel(self):
        # the rest of an order that will never ship: what was delivered is all.
        # An order with nothing delivered (cancelled whole) writes no event.
        res = super().action_cancel()
        self.filtered(lambda p: any(q.state == "done" for q in p.sale_id.picking_ids))._smb_notify_delivery()
        return res
