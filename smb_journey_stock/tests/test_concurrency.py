from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.smb_journey.tests.test_concurrency import ConcurrentCase

N = 10


@tagged("post_install", "-at_install")
class TestConcurrentBackInStock(ConcurrentCase):
    """Two engine workers scan the same back-in-stock journey at once."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            journey = env["smb.journey"].create({
                "name": "Back in stock, concurrency",
                "trigger": "back_in_stock",
                "reentry": "always",
                "step_ids": [(0, 0, {"name": "It is back", "step_type": "email",
                                     "subject": "Hi {{ customer.first_name }}", "body_html": "<p>Back</p>"})],
            })
            journey.action_start()
            partners = env["res.partner"].create([
                {"name": f"Waiting {i}", "email": f"waiting{i}@example.com"} for i in range(N)])
            product = env["product.product"].create({
                "name": "Parallel Kettle", "type": "consu", "is_storable": True,
                "stock_notification_partner_ids": [(6, 0, partners.ids)],
            })
            warehouse = env["stock.warehouse"].search([("company_id", "=", env.company.id)], limit=1)
            env["stock.quant"]._update_available_quantity(product, warehouse.lot_stock_id, 5)
            self.journey_id, self.partner_ids, self.product_id = journey.id, partners.ids, product.id
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            self._drop_journeys(env, [self.journey_id])
            env.cr.execute(SQL("DELETE FROM stock_quant WHERE product_id = %s", self.product_id))
            env["product.product"].browse(self.product_id).unlink()
            self._drop_records(env, "res.partner", self.partner_ids)

    def test_two_scans_enrol_each_subscriber_once(self):
        def scan(env):
            journey = env["smb.journey"].browse(self.journey_id)
            journey._scan_back_in_stock()
            return env["smb.journey.enrollment"].search_count([("journey_id", "=", self.journey_id)])

        self._in_threads(scan)
        self.assertEqual(self._count("smb.journey.enrollment", [("journey_id", "=", self.journey_id)]), N,
                         "each waiting customer entered exactly once")
        self.assertEqual(self._count("product.product", [
            ("id", "=", self.product_id), ("stock_notification_partner_ids", "!=", False)]), 0,
            "nobody left on Odoo's notification list")
