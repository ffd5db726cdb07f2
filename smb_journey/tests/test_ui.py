from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestJourneyUi(HttpCase):

    def test_admin_starts_a_shipped_journey(self):
        journey = self.env.ref("smb_journey.journey_abandoned_cart")
        self.start_tour("/odoo/action-smb_journey.smb_journey_action", "smb_journey_start_tour", login="admin")
        self.assertEqual(journey.state, "running")

    def test_salesperson_enrols_a_customer_from_the_contact(self):
        journey = self.env["smb.journey"].create({
            "name": "Tour journey", "trigger": "manual",
            "step_ids": [(0, 0, {"name": "Hi", "step_type": "email", "subject": "Hi", "body_html": "<p>Hi</p>"})],
        })
        journey.action_start()
        customer = self.env["res.partner"].create({"name": "Tour Customer", "email": "tour@example.com"})
        self.start_tour(f"/odoo/contacts/{customer.id}", "smb_journey_enroll_tour", login="admin")
        self.assertEqual(journey.enrollment_ids.partner_id, customer)
