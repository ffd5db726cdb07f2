from odoo.tests import HttpCase, new_test_user, tagged


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

    def test_salesperson_sees_the_tier_on_the_contact(self):
        self.env = self.env(context=dict(self.env.context, tracking_disable=True))
        seller = new_test_user(self.env, "tier_seller", groups="sales_team.group_sale_salesman")
        gold = self.env.ref("smb_journey.smb_loyalty_tier_gold")
        product = self.env["product.product"].create({"name": "Tour teapot", "type": "consu"})
        customer = self.env["res.partner"].create({"name": "Golden Customer", "email": "gold@example.com"})
        orders = self.env["sale.order"].create([{
            "partner_id": customer.id,
            "order_line": [(0, 0, {"product_id": product.id, "price_unit": 600, "tax_ids": [(5,)]})],
        } for __ in range(3)])
        orders.action_confirm()
        self.env["smb.journey.event"].process_pending()  # what the events cron does seconds later
        self.assertEqual(customer.smb_tier_id, gold)
        self.start_tour(f"/odoo/contacts/{customer.id}", "smb_journey_tier_tour", login=seller.login)

    def test_admin_recomputes_the_tiers(self):
        self.start_tour("/odoo/action-smb_journey.smb_loyalty_tier_action", "smb_journey_tier_report_tour",
                        login="admin")
        self.assertTrue(self.env.ref("base.main_company").smb_tiers_computed_at)

    def test_admin_scores_churn_and_reads_the_run(self):
        self.env["sale.order"].create({
            "partner_id": self.env["res.partner"].create({"name": "Churn Tour"}).id,
            "order_line": [(0, 0, {"product_id": self.env["product.product"].create(
                {"name": "Tour record", "type": "consu"}).id, "price_unit": 30})],
        }).action_confirm()
        self.start_tour("/odoo/action-smb_journey.smb_churn_run_action", "smb_journey_churn_tour", login="admin")
        self.assertTrue(self.env["smb.churn.run"].search([("state", "=", "done")]))

    def test_salesperson_sees_the_churn_risk_on_the_contact(self):
        seller = new_test_user(self.env, "churn_seller", groups="sales_team.group_sale_salesman")
        customer = self.env["res.partner"].create({"name": "Risky Customer"})
        key = str(self.env.company.id)
        # the scoring writes these columns in SQL (see smb.churn.run._write_scores)
        self.env.cr.execute(
            "UPDATE res_partner SET smb_churn_band = jsonb_build_object(%s, 'high'), "
            "smb_churn_score = jsonb_build_object(%s, 0.82), smb_clv = jsonb_build_object(%s, 640.0), "
            "smb_churn_reasons = jsonb_build_object(%s, %s) WHERE id = %s",
            [key, key, key, key, '[["+", "recency", 120, 30], ["-", "frequency", 6]]', customer.id])
        self.start_tour(f"/odoo/contacts/{customer.id}", "smb_journey_churn_contact_tour", login=seller.login)

    def test_salesperson_opens_journeys_and_sees_their_customers(self):
        self.env = self.env(context=dict(self.env.context, tracking_disable=True))
        groups = "sales_team.group_sale_salesman,smb_journey.group_journey_user"
        seller = new_test_user(self.env, "journey_seller", groups=groups)
        colleague = new_test_user(self.env, "journey_colleague", groups=groups)
        journey = self.env["smb.journey"].create({
            "name": "Sales Tour Journey", "trigger": "manual",
            "step_ids": [(0, 0, {"name": "Hello tour", "step_type": "email", "subject": "Hi",
                                 "body_html": "<p>Hi</p>"})],
        })
        journey.action_start()
        own, other = self.env["res.partner"].create([
            {"name": "Tour Own Customer", "email": "own@example.com", "user_id": seller.id},
            {"name": "Tour Other Customer", "email": "other@example.com", "user_id": colleague.id},
        ])
        journey.enroll(own | other)
        self.env["smb.journey.enrollment"].run_engine()
        self.assertFalse(seller.has_group("mass_mailing.group_mass_mailing_user"))
        self.start_tour("/odoo", "smb_journey_salesperson_tour", login=seller.login)

    def test_admin_puts_a_step_in_a_branch_of_an_unsaved_journey(self):
        self.start_tour("/odoo/action-smb_journey.smb_journey_action/new", "smb_journey_branch_tour", login="admin")
        journey = self.env["smb.journey"].search([("name", "=", "Tour win-back")])
        condition = journey.step_ids.filtered(lambda s: s.step_type == "condition")
        call = journey.step_ids.filtered(lambda s: s.step_type == "activity")
        self.assertEqual(call.parent_id, condition)
