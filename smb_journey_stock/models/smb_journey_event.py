from odoo import models


class SmbJourneyEvent(models.Model):
    _inherit = "smb.journey.event"

    def _event_kinds(self):
        return super()._event_kinds() | {
            "order_delivered": ("Order delivered", "sale.order", "_handle_orders_delivered"),
        }

    def _handle_orders_delivered(self, orders, imported=False):
        """A delivery of these orders was validated (or the rest of one
        cancelled): those now fully delivered, still confirmed, with at least
        one delivery done, enter the journeys on deliveries."""
        delivered = orders.filtered(lambda o: o.state == "sale" and o.delivery_status == "full" and any(
            p.state == "done" and p.picking_type_code == "outgoing" for p in o.picking_ids))
        if delivered:
            self.env["smb.journey"]._fire_trigger(  # contained per journey
                "order_delivered", delivered, happened=self._happened())
