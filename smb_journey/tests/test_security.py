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
