from odoo.tests import Form, tagged

from .common import JourneyCase


@tagged("post_install", "-at_install")
class TestTriggers(JourneyCase):

    def test_new_contact_enters_welcome_not_staff_or_vendors(self):
        welcome = self.env.ref("smb_journey.journey_welcome")
        self.assertEqual(welcome.state, "draft", "shipped journeys wait for the admin")
        welcome.action_start()
        customer = self.env["res.partner"].create({"name": "New Customer", "email": "new@example.com"})
        no_email = self.env["res.partner"].create({"name": "No Email"})
        vendor = self.env["res.partner"].create({"name": "Vendor", "email": "v@example.com", "supplier_rank": 1})
        self.process_events()
        self.assertEqual(welcome.enrollment_ids.partner_id, customer)
        self.assertNotIn(no_email, welcome.enrollment_ids.partner_id)
        self.assertNotIn(vendor, welcome.enrollment_ids.partner_id)
        # a user's contact is created before the user: staff never enter, portal sign-ups do
        staff = self.env["res.users"].create({
            "name": "Staff", "login": "staff@example.com", "email": "staff@example.com",
            "group_ids": [(6, 0, self.env.ref("base.group_user").ids)]})
        portal = self.env["res.users"].create({
            "name": "Portal Customer", "login": "portal@example.com", "email": "portal@example.com",
            "group_ids": [(6, 0, self.env.ref("base.group_portal").ids)]})
        self.process_events()
        self.assertEqual(welcome.enrollment_ids.partner_id, customer | portal.partner_id)
        self.assertNotIn(staff.partner_id, welcome.enrollment_ids.partner_id)
        self.run_engine()
        first_email = welcome.step_ids.filtered(lambda s: s.step_type == "email").sorted("sequence")[:1]
        self.assertEqual(sorted(self.mails(first_email).mapped("res_id")), sorted([customer.id, portal.partner_id.id]))

    def test_import_of_many_contacts_is_set_based(self):
        """Enrolment costs the same number of queries for 20 or 200 contacts."""
        welcome = self.env.ref("smb_journey.journey_welcome")
        welcome.volume_limit = 0  # no guard: 220 in a minute is what this test does
        welcome.action_start()
        Partner = self.env["res.partner"]
        Partner.create([{"name": f"S{i}", "email": f"s{i}@example.com"} for i in range(20)])
        self.env.flush_all()
        self.env.invalidate_all()
        with self.count_queries() as few:
            self.process_events()
        Partner.create([{"name": f"B{i}", "email": f"b{i}@example.com"} for i in range(200)])
        self.env.flush_all()
        self.env.invalidate_all()
        with self.count_queries() as many:
            self.process_events()
        self.assertLessEqual(many["n"], few["n"] + 2)
        self.assertEqual(len(self.env.ref("smb_journey.journey_welcome").enrollment_ids), 220)

    def test_order_confirmed_enters_post_purchase_once(self):
        journey = self.env.ref("smb_journey.journey_post_purchase")
        journey.action_start()
        order = self.make_order(self.customer, website=False)
        order.action_confirm()
        self.process_events()
        self.assertEqual(journey.enrollment_ids.order_id, order)
        self.env["smb.journey"]._fire_trigger("order_confirmed", order)  # fired again
        self.assertEqual(len(journey.enrollment_ids), 1, "one enrollment per order")
        self.run_engine()
        first_email = journey.step_ids.filtered(lambda s: s.step_type == "email").sorted("sequence")[:1]
        mail = self.mails(first_email)
        self.assertEqual(len(mail), 1)
        self.assertIn(order.name, mail.body_html, "the thank-you email summarises the order")
        # cancelling the order ends the follow-ups
        order._action_cancel()
        self.process_events()
        self.assertEqual(journey.enrollment_ids.state, "exited")
        self.assertEqual(journey.enrollment_ids.exit_reason, "cancelled")

    def test_enrol_by_hand_from_partner_and_lead(self):
        self.journey.action_start()
        action = self.customer.action_smb_enroll()
        wizard = Form(self.env[action["res_model"]].with_context(action["context"]))
        wizard.journey_id = self.journey
        wizard.save().action_enroll()
        self.assertEqual(self.journey.enrollment_ids.partner_id, self.customer)
        lead = self.env["crm.lead"].create({"name": "Big deal", "email_from": "lead@example.com", "contact_name": "Lee"})
        action = lead.action_smb_enroll()
        wizard = Form(self.env[action["res_model"]].with_context(action["context"]))
        wizard.journey_id = self.journey
        wizard.save().action_enroll()
        self.assertTrue(lead.partner_id, "a customer is created from the lead's contact")
        enrollment = self.journey.enrollment_ids.filtered(lambda e: e.lead_id == lead)
        self.assertEqual(enrollment.partner_id, lead.partner_id)
        self.assertEqual(lead.smb_enrollment_count, 1)
        self.assertEqual(self.customer.smb_enrollment_count, 1)
