from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import JourneyCase

QUIET = ("odoo.addons.smb_journey.tools.contained",)


@tagged("post_install", "-at_install")
class TestServerActions(JourneyCase):
    """Automation rules, scheduled actions and the Actions menu enrol the
    customers of their records in a journey, or remove them, without code."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.journey.action_start()
        # a salesperson with no journey rights: the automation rules fire on what they do
        cls.seller = new_test_user(cls.env, "rule_seller", groups="sales_team.group_sale_salesman")
        cls.vip = cls.env["res.partner.category"].create({"name": "VIP"})
        Partner = cls.env["res.partner"]
        cls.bob = Partner.create({"name": "Bob Vip", "email": "bob@example.com", "category_id": [(4, cls.vip.id)]})
        cls.carol = Partner.create({"name": "Carol Plain", "email": "carol@example.com"})
        cls.env["smb.journey.event"].process_pending()

    def make_action(self, model, state="smb_journey_enroll", **vals):
        return self.env["ir.actions.server"].create(dict({
            "name": "Journey action",
            "model_id": self.env["ir.model"]._get_id(model),
            "state": state,
            "smb_journey_id": self.journey.id,
        }, **vals))

    def run_as_rule(self, action, records, user=None):
        """What an automation rule does when ``user``'s write matches it: the
        action, as superuser under their name, once per record (base_automation's _process)."""
        action = action.with_user(user or self.env.user).sudo()
        for record in records:
            action.with_context(active_model=record._name, active_ids=record.ids, active_id=record.id).run()
        self.env.invalidate_all()

    def run_from_menu(self, action, records, user=None):
        """What the Actions menu of a list does: every selected record at once."""
        action = action.with_user(user) if user else action
        action.with_context(active_model=records._name, active_ids=records.ids, active_id=records[:1].id).run()
        self.env.invalidate_all()

    def test_contacts_enter_as_themselves(self):
        action = self.make_action("res.partner")
        self.assertEqual(action.automated_name, "Enrol in Test journey", "the name Odoo suggests in the form")
        self.run_from_menu(action, self.bob | self.carol)
        enrollments = self.journey.enrollment_ids
        self.assertEqual(enrollments.partner_id, self.bob | self.carol)
        self.assertTrue(all(enrollments.mapped("manual")))
        self.assertFalse(enrollments.order_id)
        self.run_from_menu(action, self.bob)
        self.assertEqual(len(self.journey.enrollment_ids), 2, "running it again enrols once")
        # its filter keeps the others out
        other = self.make_action("res.partner", smb_journey_filter=f"[('category_id', 'in', [{self.vip.id}])]")
        self.journey.exit(self.bob | self.carol)
        self.journey.reentry = "always"
        self.run_from_menu(other, self.bob | self.carol)
        self.assertEqual(self.journey.enrollment_ids.filtered(lambda e: e.state == "running").partner_id, self.bob)

    def test_scheduled_action_enrols_every_contact_matching_its_filter(self):
        cron = self.env["ir.cron"].create({
            "name": "Enrol the VIPs",
            "model_id": self.env["ir.model"]._get_id("res.partner"),
            "state": "smb_journey_enroll",
            "smb_journey_id": self.journey.id,
            "smb_journey_filter": f"[('category_id', 'in', [{self.vip.id}])]",
            "user_id": self.env.ref("base.user_admin").id,
            "interval_number": 1, "interval_type": "days",
        })
        self.assertIn("smb_journey_enroll", cron.allowed_states, "the scheduled action form offers it")
        with self.enter_registry_test_mode():
            cron.method_direct_trigger()
        self.env.invalidate_all()
        enrollment = self.journey.enrollment_ids
        self.assertEqual(enrollment.partner_id, self.bob)
        self.assertEqual(enrollment.create_uid, self.env.ref("base.user_admin"), "as the scheduled action's user")

    def test_an_order_enters_a_journey_triggered_by_orders_as_its_triggering_record(self):
        thanks = self.env["smb.journey"].create({
            "name": "Thanks", "trigger": "order_confirmed",
            "step_ids": [(0, 0, {"name": "Bye", "step_type": "exit"})]})
        thanks.action_start()
        order = self.make_order(self.customer, website=False)
        self.run_as_rule(self.make_action("sale.order", smb_journey_id=thanks.id), order)
        self.assertEqual(thanks.enrollment_ids.partner_id, self.customer)
        self.assertEqual(thanks.enrollment_ids.order_id, order)
        self.assertEqual((thanks.enrollment_ids.res_model, thanks.enrollment_ids.res_id), ("sale.order", order.id))
        # a journey not triggered by orders: the customer alone
        self.run_as_rule(self.make_action("sale.order"), order)
        self.assertEqual(self.journey.enrollment_ids.partner_id, self.customer)
        self.assertFalse(self.journey.enrollment_ids.order_id)

    def test_a_lead_enrols_its_contact_and_stays_linked_a_lead_without_one_is_skipped(self):
        Lead = self.env["crm.lead"]
        lead = Lead.create({"name": "Big desk order", "partner_id": self.customer.id})
        anonymous = Lead.create({"name": "Someone asked", "email_from": "anon@example.com"})
        self.assertFalse(anonymous.partner_id)
        self.run_from_menu(self.make_action("crm.lead"), lead | anonymous)
        enrollment = self.journey.enrollment_ids
        self.assertEqual(enrollment.partner_id, self.customer)
        self.assertEqual(enrollment.lead_id, lead)
        self.assertFalse(self.journey.error_message, "a record without a customer is no problem")

    def test_remove_from_a_journey_or_from_every_journey(self):
        other = self.env["smb.journey"].create({
            "name": "Other journey", "step_ids": [(0, 0, {"name": "Hello", "step_type": "exit"})]})
        other.action_start()
        mine = self.journey.enroll(self.bob | self.carol)
        theirs = other.enroll(self.bob)
        remove = self.make_action("res.partner", state="smb_journey_exit")
        self.assertEqual(remove.automated_name, "Remove from Test journey")
        self.run_as_rule(remove, self.bob)
        self.assertEqual(mine.filtered(lambda e: e.partner_id == self.bob).mapped("exit_reason"), ["manual"])
        self.assertEqual(mine.filtered(lambda e: e.partner_id == self.carol).state, "running")
        self.assertEqual(theirs.state, "running", "only from the action's journey")
        # every journey, from an order of the customer
        order = self.make_order(self.carol, website=False)
        other.enroll(self.carol)
        everywhere = self.make_action(
            "sale.order", state="smb_journey_exit", smb_journey_id=False, smb_journey_exit_all=True)
        self.assertEqual(everywhere.automated_name, "Remove from every journey")
        self.run_as_rule(everywhere, order, user=self.seller)
        carols = (self.journey | other).enrollment_ids.filtered(lambda e: e.partner_id == self.carol)
        self.assertEqual(set(carols.mapped("state")), {"exited"})
        self.assertEqual(theirs.state, "running", "Bob has no part in Carol's order")

    def test_a_journey_not_running_is_reported_and_the_flow_goes_on(self):
        self.journey.action_pause()
        order = self.make_order(self.customer, website=False, user_id=self.seller.id)
        order.with_user(self.seller).action_confirm()
        with mute_logger(*QUIET):
            self.run_as_rule(self.make_action("sale.order"), order, user=self.seller)
        self.assertEqual(order.state, "sale")
        self.assertFalse(self.journey.enrollment_ids)
        self.assertIn("not running", self.journey.error_message)
        self.assertEqual(self.journey.activity_ids.user_id, self.journey.user_id, "its responsible is told")

    def test_an_automation_rule_runs_for_the_user_who_triggered_it(self):
        """The seller has no journey rights: the rule enrols for them, under their name."""
        self.assertFalse(self.seller.has_group("smb_journey.group_journey_user"))
        order = self.make_order(self.customer, website=False, user_id=self.seller.id)
        order.with_user(self.seller).action_confirm()
        self.run_as_rule(self.make_action("sale.order"), order, user=self.seller)
        enrollment = self.journey.enrollment_ids
        self.assertEqual(enrollment.partner_id, self.customer)
        self.assertEqual(enrollment.create_uid, self.seller)

    def test_the_journeys_company_must_match(self):
        company_b = self.env["res.company"].create({"name": "Shop B"})
        order_b = self.make_order(self.customer, website=False, company_id=company_b.id)
        self.run_as_rule(self.make_action("sale.order"), order_b)
        self.assertFalse(self.journey.enrollment_ids, "an order of another company stays out")
        self.assertFalse(self.journey.error_message)
        # a user who does not work in the journey's company
        seller_b = new_test_user(
            self.env, "seller_b", groups="sales_team.group_sale_salesman", company_id=company_b.id,
            company_ids=[(6, 0, company_b.ids)])
        with mute_logger(*QUIET):
            self.run_as_rule(self.make_action("res.partner"), self.carol, user=seller_b)
        self.assertFalse(self.journey.enrollment_ids)
        self.assertIn("does not work in", self.journey.error_message)

    def test_only_journey_managers_make_such_actions_on_records_with_a_customer(self):
        admin = new_test_user(self.env, "settings_only", groups="base.group_system")
        self.assertFalse(admin.has_group("smb_journey.group_journey_manager"))
        with self.assertRefused("Only Journey Managers"):
            self.env["ir.actions.server"].with_user(admin).create({
                "name": "Enrol", "model_id": self.env["ir.model"]._get_id("res.partner"), "state": "smb_journey_enroll"})
        with self.assertRefused("no customer"):
            self.make_action("res.country")
        with self.assertRefused("Apply On"):
            self.make_action("res.partner", smb_journey_filter="[('shoe_size', '=', 42)]")
        models = self.env["ir.actions.server"].new({"state": "smb_journey_enroll"}).available_model_ids.mapped("model")
        for model in ("res.partner", "sale.order", "crm.lead", "account.move"):
            self.assertIn(model, models)
        self.assertNotIn("res.country", models)
