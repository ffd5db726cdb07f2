from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import JourneyCase


@tagged("post_install", "-at_install")
class TestSalesAccess(JourneyCase):
    """Sales staff work with journeys as their Sales rights allow."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = "sales_team.group_sale_salesman,smb_journey.group_journey_user"
        cls.seller = new_test_user(cls.env, "own_seller", groups=groups)
        cls.other_seller = new_test_user(cls.env, "other_seller", groups=groups)
        cls.all_seller = new_test_user(
            cls.env, "all_seller", groups="sales_team.group_sale_salesman_all_leads,smb_journey.group_journey_user")
        cls.manager = new_test_user(cls.env, "journey_boss", groups="smb_journey.group_journey_manager")
        Partner = cls.env["res.partner"]
        cls.mine = Partner.create({"name": "Mine", "email": "mine@example.com", "user_id": cls.seller.id})
        cls.theirs = Partner.create({"name": "Theirs", "email": "theirs@example.com", "user_id": cls.other_seller.id})
        cls.nobodys = Partner.create({"name": "Nobody's", "email": "nobody@example.com"})
        cls.journey.action_start()
        cls.enrollments = cls.journey.enroll(cls.mine | cls.theirs | cls.nobodys)

    def test_salesperson_reads_journeys_and_their_numbers_without_email_marketing(self):
        self.run_engine()
        self.deliver(self.mails(self.step_hello))
        self.assertFalse(self.seller.has_group("mass_mailing.group_mass_mailing_user"))
        journey = self.journey.with_user(self.seller)
        # what the kanban, list and form (Performance tab, step list, diagram) read
        journey.invalidate_recordset()
        values = journey.read(["sent_count", "opened_count", "open_rate", "click_rate", "converted_count",
                               "revenue", "enrollment_count", "queued_count"])[0]
        self.assertEqual(values["sent_count"], 3)
        self.assertEqual(values["enrollment_count"], 3, "the journey's totals, not only their customers'")
        step = journey.step_ids.filtered(lambda s: s.id == self.step_hello.id)
        self.assertEqual(step.read(["sent_count", "delivered_count", "opened_count", "waiting_count"])[0]["sent_count"], 3)
        # an enrollment of theirs, with its log and how the email did
        enrollment = self.env["smb.journey.enrollment"].with_user(self.seller).search(
            [("partner_id", "=", self.mine.id)])
        log = enrollment.log_ids.filtered(lambda l: l.outcome == "sent")
        self.assertEqual(log.read(["trace_status", "opened", "clicked", "converted"])[0]["trace_status"], "sent")

    def test_own_documents_means_own_and_unassigned_customers(self):
        Enrollment = self.env["smb.journey.enrollment"]
        seen = Enrollment.with_user(self.seller).search([("journey_id", "=", self.journey.id)])
        self.assertEqual(seen.partner_id, self.mine | self.nobodys)
        self.run_engine()
        logs = self.env["smb.journey.log"].with_user(self.seller).search([("journey_id", "=", self.journey.id)])
        self.assertEqual(logs.partner_id, self.mine | self.nobodys)
        everything = Enrollment.with_user(self.all_seller).search([("journey_id", "=", self.journey.id)])
        self.assertEqual(everything, self.enrollments)
        with self.assertRaises(AccessError):
            self.enrollments.filtered(lambda e: e.partner_id == self.theirs).with_user(self.seller).action_exit()

    def test_journey_user_removes_a_customer_but_cannot_move_one(self):
        mine = self.enrollments.filtered(lambda e: e.partner_id == self.mine).with_user(self.seller)
        with self.assertRaises(AccessError):
            mine.step_id = self.step_again
        with self.assertRaises(AccessError):
            mine.due_at = "2030-01-01 00:00:00"
        mine.action_exit()
        self.assertEqual((mine.state, mine.exit_reason), ("exited", "manual"))
        self.assertEqual(mine.log_ids.reason, "manual", "the removal is logged on the step it waited on")

    def test_a_manager_moves_a_customer_only_within_the_journey(self):
        other = self.env["smb.journey"].create({
            "name": "Other journey", "step_ids": [(0, 0, {"name": "Elsewhere", "step_type": "exit"})]})
        enrollment = self.enrollments[:1].with_user(self.manager)
        with self.assertRaises(ValidationError):
            enrollment.step_id = other.step_ids
        enrollment.step_id = self.step_again
        self.assertEqual(enrollment.step_id, self.step_again)

    def test_portal_and_public_users_cannot_read_churn_scores(self):
        portal = new_test_user(self.env, "portal_cust", groups="base.group_portal")
        key = str(self.env.company.id)
        self.env.cr.execute(
            "UPDATE res_partner SET smb_churn_score = jsonb_build_object(%s, 0.9), "
            "smb_clv = jsonb_build_object(%s, 800.0) WHERE id = %s", [key, key, portal.partner_id.id])
        for field in ("smb_churn_score", "smb_clv", "smb_churn_band", "smb_churn_explanation", "smb_next_order_date"):
            with self.assertRaises(AccessError, msg=field):
                portal.partner_id.with_user(portal).read([field])
        order = self.make_order(portal.partner_id, website=False)
        with self.assertRaises(AccessError):
            order.with_user(portal).read(["smb_clv"])
        self.assertAlmostEqual(portal.partner_id.with_user(self.seller).smb_clv, 800.0, msg="staff still see it")

    def test_shipped_journeys_have_a_real_responsible(self):
        admin = self.env.ref("base.user_admin")
        for xmlid in ("journey_welcome", "journey_abandoned_cart", "journey_post_purchase", "journey_vip_welcome",
                      "journey_win_back"):
            self.assertEqual(self.env.ref(f"smb_journey.{xmlid}").user_id, admin, xmlid)

    def test_activity_goes_to_a_person_and_says_why(self):
        journey = self.env["smb.journey"].create({
            "name": "Call them", "step_ids": [(0, 0, {
                "name": "Call", "step_type": "activity",
                "activity_type_id": self.env.ref("mail.mail_activity_data_call").id})],
        })
        # created by the superuser (like the shipped journeys): not OdooBot's to-do
        journey.sudo().user_id = self.env.ref("base.user_root")
        journey.action_start()
        journey.with_user(self.seller).enroll(self.nobodys)
        journey.enroll(self.mine)
        self.run_engine()
        Activity = self.env["mail.activity"]
        unassigned = Activity.search([("res_model", "=", "res.partner"), ("res_id", "=", self.nobodys.id)])
        self.assertEqual(unassigned.user_id, self.env.ref("base.user_admin"))
        self.assertIn("own_seller", unassigned.note)
        self.assertIn("enrolled them by hand", unassigned.note)
        self.assertNotIn("nightly", unassigned.note)
        self.assertEqual(
            Activity.search([("res_model", "=", "res.partner"), ("res_id", "=", self.mine.id)]).user_id, self.seller)
