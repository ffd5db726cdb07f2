from datetime import datetime

from odoo.exceptions import AccessError, UserError
from odoo.tests import freeze_time, new_test_user, tagged

from odoo.addons.smb_journey.lib import experiments
from odoo.addons.smb_journey.models.smb_journey_step_split import SALT

from .common import JourneyCase

T0 = datetime(2025, 3, 3, 10, 0)  # a Monday, 10:00 UTC

# what a test run must leave untouched
RECORDED = ("smb.journey.enrollment", "smb.journey.log", "mailing.trace", "mail.mail", "loyalty.card",
            "mail.activity", "smb.journey.webhook.delivery", "link.tracker")


@tagged("post_install", "-at_install")
class TestTestRun(JourneyCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer.write({"city": "Brussels", "tz": "UTC"})
        cls.env.company.partner_id.tz = "UTC"
        cls.program = cls.env["loyalty.program"].create({
            "name": "Come back", "program_type": "coupons", "company_id": cls.company.id, "trigger": "with_code",
            "reward_ids": [(0, 0, {"reward_type": "discount", "discount": 10, "discount_mode": "percent"})],
        })
        cls.webhook = cls.env["smb.journey.webhook"].create({
            "name": "CRM", "url": "https://crm.example.com/hook", "company_id": cls.company.id})
        cls.tag = cls.env["res.partner.category"].create({"name": "Tested"})

    def run_test(self, journey=None, partner=None, **vals):
        wizard = self.env["smb.journey.test.run"].create(dict({
            "journey_id": (journey or self.journey).id, "partner_id": (partner or self.customer).id,
            "date_start": T0}, **vals))
        wizard.action_run()
        return wizard

    def counts(self):
        return {model: self.env[model].sudo().with_context(active_test=False).search_count([]) for model in RECORDED}

    def branching_journey(self):
        """condition (Brussels?) -> yes: split A/B (an email each) / no: coupon; then tag, activity, webhook."""
        journey = self.env["smb.journey"].create({"name": "Branches", "trigger": "manual"})
        Step = self.env["smb.journey.step"]
        condition = Step.create({"journey_id": journey.id, "name": "In Brussels?", "sequence": 1,
                                 "step_type": "condition", "condition_type": "partner_domain",
                                 "condition_domain": "[('city', '=', 'Brussels')]"})
        split = Step.create({"journey_id": journey.id, "name": "Subject test", "sequence": 1, "step_type": "split",
                             "parent_id": condition.id, "branch": "yes", "split_weight_a": 30, "split_weight_b": 70})
        for variant in ("a", "b"):
            Step.create({"journey_id": journey.id, "name": f"Variant {variant}", "step_type": "email",
                         "parent_id": split.id, "branch": variant, "subject": f"Offer {variant.upper()}",
                         "body_html": "<p>Hi {{ customer.first_name }}, here is {{ coupon.code }}</p>",
                         "coupon_program_id": self.program.id})
        Step.create({"journey_id": journey.id, "name": "Coupon", "step_type": "coupon", "parent_id": condition.id,
                     "branch": "no", "coupon_program_id": self.program.id})
        Step.create([
            {"journey_id": journey.id, "name": "Tag", "sequence": 2, "step_type": "tag", "tag_ids": [(6, 0, self.tag.ids)]},
            {"journey_id": journey.id, "name": "Call", "sequence": 3, "step_type": "activity", "activity_summary": "Call them",
             "activity_days": 2},
            {"journey_id": journey.id, "name": "Hook", "sequence": 4, "step_type": "webhook", "webhook_id": self.webhook.id},
        ])
        return journey, condition, split

    def test_timeline_of_emails_and_a_wait(self):
        before = self.counts()
        wizard = self.run_test()
        entry, hello, wait, again, end = wizard.timeline
        self.assertEqual(entry["kind"], "entry")
        self.assertIn("Ann Smith enters", entry["action"])
        self.assertEqual((hello["name"], hello["channel"], hello["subject"]), ("Hello", "mail", "Hello Ann"))
        self.assertIn("Hi Ann, see", hello["body"])
        self.assertIn("unsubscribe_from_list", hello["body"], "the body as sent, with its footer")
        self.assertEqual(hello["date"], "2025-03-03 10:00")
        self.assertEqual(wait["action"], "For 1 day")
        self.assertEqual(wait["until"], "would continue on 2025-03-04 10:00")
        self.assertEqual((again["subject"], again["date"]), ("Still there, Ann?", "2025-03-04 10:00"))
        self.assertEqual((end["kind"], end["state"]), ("end", "completed"))
        self.assertEqual(wizard.summary, "2 messages; Completed: Last step done on 2025-03-04 10:00.")
        self.assertIn("o_smb_test_run_email", wizard.timeline_html)
        self.assertIn("Hello Ann", wizard.timeline_html)
        self.assertEqual(self.counts(), before, "a test run records nothing")

    def test_condition_split_and_other_steps_leave_nothing(self):
        journey, condition, split = self.branching_journey()
        journey.action_start()  # a running journey can be tested too
        before = self.counts()
        with self.mock_mail_gateway():
            wizard = self.run_test(journey)
        rows = {row.get("name"): row for row in wizard.timeline}
        self.assertEqual(rows["In Brussels?"]["outlet"], "If yes")
        variant = experiments.assign([("a", 30), ("b", 70)], SALT, split.id, self.customer.id)
        self.assertEqual(rows["Subject test"]["outlet"], f"Variant {variant.upper()}")
        self.assertIn(f"Variant {variant.upper()}", rows["Subject test"]["notes"][0])
        email = rows[f"Variant {variant}"]
        self.assertEqual(email["subject"], f"Offer {variant.upper()}")
        self.assertIn("SAMPLE-CODE", email["body"], "no coupon issued: a sample code shows where it goes")
        self.assertNotIn(f"Variant {'b' if variant == 'a' else 'a'}", rows)
        self.assertNotIn("Coupon", rows, "the no outlet is not walked")
        self.assertEqual(rows["Tag"]["action"], "Would: Add Tested")
        self.assertIn("Call them", rows["Call"]["action"])
        self.assertIn("due on 2025-03-05", rows["Call"]["action"])
        self.assertIn("CRM", rows["Hook"]["action"])
        self.assertEqual(self.counts(), before)
        self.assertFalse(self.customer.category_id, "the tag step tagged no one")
        self.assertFalse(self._mails, "nothing sent")

        # the other outlet: a customer elsewhere gets the coupon step
        self.customer.city = "Paris"
        rows = {row.get("name"): row for row in self.run_test(journey).timeline}
        self.assertEqual(rows["In Brussels?"]["outlet"], "If no")
        self.assertEqual(rows["Coupon"]["action"], "Would issue a personal coupon of Come back.")
        self.assertEqual(self.counts(), before)

    def test_bad_filter_shows_a_readable_error(self):
        journey, condition, __ = self.branching_journey()
        # a field removed since the filter was saved (the save check refuses it today)
        self.env.cr.execute("UPDATE smb_journey_step SET condition_domain = %s WHERE id = %s",
                            ["[('x_gone', '=', 1)]", condition.id])
        condition.invalidate_recordset()
        wizard = self.run_test(journey)
        entry, error = wizard.timeline
        self.assertEqual((error["state"], error["name"]), ("error", "In Brussels?"))
        self.assertIn("The condition of step In Brussels? no longer runs", error["error"])
        self.assertNotIn("Traceback", error["error"])
        self.assertIn("o_smb_test_run_error", wizard.timeline_html)

    def test_bad_template_shows_a_readable_error(self):
        self.env.cr.execute("UPDATE smb_journey_step SET subject = %s WHERE id = %s",
                            ['{"en_US": "Hi {{ customer.first_name "}', self.step_again.id])
        self.step_again.invalidate_recordset()
        rows = self.run_test().timeline
        self.assertEqual([row.get("name") for row in rows], ["Entry", "Hello", "Wait a day", "Again", "End"])
        self.assertIn("cannot be rendered", rows[3]["error"])
        self.assertEqual(rows[-1]["state"], "error")

    def test_french_contact_gets_french_rendering(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.step_hello.update_field_translations("subject", {"fr_FR": "Bonjour {{ customer.first_name }}"})
        self.customer.lang = "fr_FR"
        hello = self.run_test().timeline[1]
        self.assertEqual(hello["subject"], "Bonjour Ann")
        self.customer.lang = "en_US"
        self.assertEqual(self.run_test().timeline[1]["subject"], "Hello Ann")

    def test_quiet_hours_and_frequency_cap_move_the_clock(self):
        self.company.write({"smb_quiet_hours": True, "smb_quiet_start": 21.0, "smb_quiet_end": 8.0,
                            "smb_frequency_cap": True})
        self.env["smb.journey.frequency.rule"].search([]).unlink()
        self.env["smb.journey.frequency.rule"].create({"max_messages": 1, "window_hours": 48, "channel": "mail"})
        wizard = self.run_test(date_start=datetime(2025, 3, 3, 22, 0))
        __, hello, wait, again, __ = wizard.timeline
        self.assertEqual(hello["date"], "2025-03-04 08:00")
        self.assertIn("Quiet hours: waits until 2025-03-04 08:00.", hello["notes"])
        self.assertEqual(wait["until"], "would continue on 2025-03-05 08:00")
        # one email per 48 hours: the second waits until the first leaves the window
        self.assertEqual(again["date"], "2025-03-06 08:00")
        self.assertIn("Frequency cap (at most 1 within 48 hours): waits until 2025-03-06 08:00.", again["notes"])
        self.journey.cap_policy = "skip"
        again = self.run_test(date_start=datetime(2025, 3, 3, 22, 0)).timeline[3]
        self.assertTrue(again["skipped"])
        self.assertFalse(again["channel"])
        self.assertIn("would be skipped", again["action"])

    def test_assumed_order_reaches_the_goal(self):
        self.journey.goal = "order_confirmed"
        rows = self.run_test(assume_order_step_id=self.step_hello.id).timeline
        self.assertEqual([row["name"] for row in rows], ["Entry", "Hello", "End"])
        self.assertEqual(rows[-1]["action"], "Completed: Goal reached")

    def test_cart_journey_takes_the_latest_cart(self):
        journey = self.env.ref("smb_journey.journey_abandoned_cart")
        old_cart = self.make_order(self.customer)
        cart = self.make_order(self.customer)
        wizard = self.env["smb.journey.test.run"].create({"journey_id": journey.id, "partner_id": self.customer.id})
        self.assertEqual(wizard.record_ref, cart)
        wizard.action_run()
        email = next(row for row in wizard.timeline if row.get("channel") == "mail")
        self.assertIn(cart.name, wizard.timeline[0]["action"])
        self.assertIn(f"/shop/cart?id={cart.id}", email["body"], "the cart's own link")
        # the customer buys after the first email: the cart is bought, the journey ends
        wizard.write({"state": "setup", "record_ref": f"sale.order,{old_cart.id}",
                      "assume_order_step_id": journey._first_step().id})
        wizard.action_run()
        self.assertEqual(wizard.timeline[-1]["action"], "Completed: Purchased")

    def test_record_of_another_customer_or_company_is_refused(self):
        journey = self.env.ref("smb_journey.journey_abandoned_cart")
        other = self.env["res.partner"].create({"name": "Bob", "email": "bob@example.com"})
        cart = self.make_order(other)
        wizard = self.env["smb.journey.test.run"].create({
            "journey_id": journey.id, "partner_id": self.customer.id, "record_ref": f"sale.order,{cart.id}"})
        with self.assertRaisesRegex(UserError, "not a record of Ann Smith"):
            wizard.action_run()
        company = self.env["res.company"].create({"name": "Other shop"})
        foreign = self.env["res.partner"].create({"name": "Foreign", "company_id": company.id})
        wizard = self.env["smb.journey.test.run"].create({"journey_id": self.journey.id, "partner_id": foreign.id})
        with self.assertRaisesRegex(UserError, "another company"):
            wizard.action_run()

    def test_access(self):
        outsider = new_test_user(self.env, "test_run_outsider", groups="base.group_user")
        with self.assertRaises(AccessError):
            self.env["smb.journey.test.run"].with_user(outsider).create(
                {"journey_id": self.journey.id, "partner_id": self.customer.id})
        # a Journey User tests without editing; a salesperson restricted to their own
        # documents may not test with another salesperson's order
        user = new_test_user(self.env, "test_run_user", groups="smb_journey.group_journey_user,sales_team.group_sale_salesman")
        journey = self.env.ref("smb_journey.journey_post_purchase")
        order = self.make_order(self.customer, website=False, user_id=self.env.ref("base.user_admin").id)
        wizard = self.env["smb.journey.test.run"].with_user(user).create({
            "journey_id": journey.id, "partner_id": self.customer.id, "record_ref": f"sale.order,{order.id}"})
        with self.assertRaisesRegex(UserError, "You may not read"):
            wizard.action_run()
        wizard.record_ref = False
        wizard.action_run()
        self.assertEqual(wizard.timeline[-1]["kind"], "end")

    def test_send_the_rendered_emails_as_tests(self):
        before = self.counts()
        wizard = self.run_test()
        wizard.email_to = "admin@example.com"
        with self.mock_mail_gateway(mail_unlink_sent=True):
            wizard.action_send_test()
        self.assertEqual(len(self._mails), 2)
        self.assertEqual(sorted(m["subject"] for m in self._mails), ["[TEST] Hello Ann", "[TEST] Still there, Ann?"])
        self.assertEqual({tuple(m["email_to"]) for m in self._mails}, {("admin@example.com",)})
        self.assertEqual(self.counts(), before, "not tracked, not counted, not kept")
        self.assertEqual(self.journey.sent_count, 0)

    @freeze_time(T0)
    def test_open_from_the_journey(self):
        action = self.journey.action_open_test_run()
        wizard = self.env["smb.journey.test.run"].with_context(action["context"]).create(
            {"partner_id": self.customer.id})
        self.assertEqual(wizard.journey_id, self.journey)
        self.assertEqual(wizard.date_start, T0)
