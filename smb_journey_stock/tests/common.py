from odoo.addons.smb_journey.tests.common import JourneyCase


class StockJourneyCase(JourneyCase):
    """JourneyCase with a storable product and the main warehouse."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.company.id)], limit=1)
        cls.storable = cls.env["product.product"].create({
            "name": "Moka Pot", "list_price": 35.0, "sale_ok": True, "is_published": True,
            "type": "consu", "is_storable": True, "allow_out_of_stock_order": False,
        })

    def set_stock(self, product, quantity, warehouse=None):
        """Receive (or lose) ``quantity`` in the stock of ``warehouse``."""
        self.env["stock.quant"]._update_available_quantity(
            product, (warehouse or self.warehouse).lot_stock_id, quantity)
