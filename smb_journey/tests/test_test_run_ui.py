from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestTestRunUi(HttpCase):

    def test_admin_tests_and_forecasts_a_journey(self):
        self.env = self.env(context=dict(self.env.context, tracking_disable=True))
        journey = self.env["smb.journey"].create({
            "name": "Tour Thanks", "trigger": "order_confirmed", "reentry": "always",
            "step_ids": [
                (0, 0, {"name": "Thanks", "sequence": 1, "step_type": "email",
                        "subject": "Thanks {{ customer.first_name }}", "body_html": "<p>For {{ order.name }}</p>"}),
                (0, 0, {"name": "Wait", "sequence": 2, "step_type": "wait", "wait_amount": 3, "wait_unit": "days"}),
                (0, 0, {"name": "Review", "sequence": 3, "step_type": "email", "subject": "A review?",
                        "body_html": "<p>Tell us</p>"}),
            ],
        })
        customer = self.env["res.partner"].create({"name": "Tour Tester", "email": "tester@example.com"})
        product = self.env["product.product"].create({"name": "Tour cup", "type": "consu"})
        for days in (2, 9, 16):
            order = self.env["sale.order"].create({
                "partner_id": customer.id, "order_line": [(0, 0, {"product_id": product.id, "price_unit": 20})]})
            order.action_confirm()
            order.date_order = fields.Datetime.now() - timedelta(days=days)
        counts = {model: self.env[model].search_count([])
                  for model in ("smb.journey.enrollment", "mail.mail", "mailing.trace", "smb.journey.log")}
        self.start_tour(f"/odoo/action-smb_journey.smb_journey_action/{journey.id}", "smb_journey_test_run_tour",
                        login="admin")
        self.assertEqual({model: self.env[model].search_count([]) for model in counts}, counts)
