from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import JourneyCase


@tagged("post_install", "-at_install")
class TestSecurity(JourneyCase):

    def test_multi_company_isolation(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        user = new_test_user(self.env, "journey_b", groups="smb_journey.group_journey_manager",
                             company_id=other_company.id, company_ids=[(6, 0, other_company.ids)])
        self.assertFalse(self.env["smb.journey"].with_user(user).search([("id", "=", self.journey.id)]))
        self.journey.action_start()
        self.journey.enroll(self.customer)
        self.assertFalse(self.env["smb.journey.enrollment"].with_user(user).search([]))

    def test_salesman_reads_but_cannot_enrol(self):
        salesman = new_test_user(self.env, "sales_only", groups="sales_team.group_sale_salesman")
        self.journey.action_start()
        self.journey.enroll(self.customer)
        self.assertEqual(self.customer.with_user(salesman).smb_enrollment_count, 1)
        with self.assertRaises(AccessError):
            self.journey.with_user(salesman).enroll(self.env["res.partner"].create({"name": "X", "email": "x@e.com"}))

    def test_journey_user_enrols(self):
        user = new_test_user(self.env, "journey_user", groups="smb_journey.group_journey_user")
        self.journey.action_start()
        self.assertTrue(self.journey.with_user(user).enroll(self.customer))

    def test_salesman_sees_the_journeys_of_a_customer_and_their_log(self):
        salesman = new_test_user(self.env, "sales_viewer", groups="sales_team.group_sale_salesman")
        self.journey.action_start()
        enrollment = self.journey.enroll(self.customer)
        self.run_engine()
        action = self.customer.with_user(salesman).action_view_smb_enrollments()
        found = self.env["smb.journey.enrollment"].with_user(salesman).search(action["domain"])
        self.assertEqual(found, enrollment)
        # what the enrollment form shows: steps, log lines, the email's status
        log_data = found.log_ids.read(["step_id", "outcome", "mailing_trace_id", "trace_status", "opened"])
        sent = [row for row in log_data if row["outcome"] == "sent"]
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["trace_status"], "outgoing")
