from datetime import datetime, timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, freeze_time, new_test_user, tagged

from .common import JourneyCase

# "now" of every test: a 30-day period runs from 19 February to 20 March
# (2026-02-19 00:00 UTC), the previous one from 20 January
T0 = datetime(2026, 3, 20, 12, 0)


@tagged("post_install", "-at_install")
class TestDashboard(JourneyCase):
    """The dashboard's numbers, against a history computed by hand:

    previous period (40 days ago): Bob gets the first email, buys for 80 the next day;
    current period (3 days ago): Ann and Carl get it, Ann opens and clicks it, buys
    for 200 the next day; Carl does nothing.
    Company B (yesterday): Dora gets B's journey email, buys for 120 in B.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.env.company
        cls.product.write({"invoice_policy": "order", "taxes_id": [(5,)]})  # 40.00, untaxed = total
        cls.journey.conversion_window_days = 5
        Partner = cls.env["res.partner"]
        cls.bob, cls.carl, cls.dora = Partner.create([
            {"name": "Bob Brown", "email": "bob@example.com", "lang": "en_US"},
            {"name": "Carl Clark", "email": "carl@example.com", "lang": "en_US"},
            {"name": "Dora Diaz", "email": "dora@example.com", "lang": "en_US"},
        ])
        cls.company_b = cls.env["res.company"].create({"name": "Dashboard Shop B", "email": "b@example.com"})
        cls.journey_b = cls.env["smb.journey"].create({
            "name": "Journey of B", "trigger": "manual", "company_id": cls.company_b.id,
            "step_ids": [(0, 0, {"name": "Hello B", "step_type": "email", "subject": "Hi",
                                 "body_html": "<p>Hi from B</p>"})],
        })
        cls.tiers = {name: cls.env.ref(f"smb_journey.smb_loyalty_tier_{name}") for name in ("bronze", "silver", "gold")}
        cls.manager = new_test_user(
            cls.env, "dash_manager", groups="smb_journey.group_journey_manager",
            company_id=cls.company_a.id, company_ids=[(6, 0, (cls.company_a | cls.company_b).ids)])
        cls.journey_user = new_test_user(cls.env, "dash_user", groups="smb_journey.group_journey_user")
        cls.seller = new_test_user(
            cls.env, "dash_seller", groups="sales_team.group_sale_salesman,smb_journey.group_journey_user")
        cls.seller_only = new_test_user(cls.env, "dash_seller_only", groups="sales_team.group_sale_salesman")
        cls.build_history()

    # ------------------------------------------------------------
    # fixtures
    # ------------------------------------------------------------

    @classmethod
    def send_hello(cls, journey, partners, when):
        """``partners`` enter ``journey`` at ``when`` and its first email is
        delivered (the traces marked sent, as mass_mailing does on sending)."""
        with freeze_time(when):
            journey.enroll(partners)
            cls.env["smb.journey.enrollment"].run_engine()
            mails = cls.env["mail.mail"].search([
                ("mailing_id", "=", journey.step_ids.sorted("sequence")[:1].mailing_id.id),
                ("state", "=", "outgoing")])
            mails.mailing_trace_ids.set_sent()
            mails.write({"state": "sent"})

    @classmethod
    def buy(cls, partner, when, qty, company=None):
        with freeze_time(when):
            order = cls.make_order(partner, qty=qty, website=False,
                                   **({"company_id": company.id} if company else {}))
            order.with_company(company or cls.company_a).action_confirm()
            cls.env["smb.journey.event"].process_pending()  # the events cron, seconds later
        return order

    @classmethod
    def trace_of(cls, partner):
        return cls.env["mailing.trace"].search([
            ("mass_mailing_id", "=", cls.step_hello.mailing_id.id), ("email", "=", partner.email)])

    @classmethod
    def build_history(cls):
        with freeze_time(T0 - timedelta(days=41)):
            cls.journey.action_start()
            cls.journey_b.action_start()
        cls.send_hello(cls.journey, cls.bob, T0 - timedelta(days=40))
        cls.buy(cls.bob, T0 - timedelta(days=39), qty=2)  # 80
        cls.send_hello(cls.journey, cls.customer | cls.carl, T0 - timedelta(days=3))
        with freeze_time(T0 - timedelta(days=3, hours=-2)):  # two hours after delivery: Ann reads it
            cls.trace_of(cls.customer).set_opened()
            cls.trace_of(cls.customer).set_clicked()
        cls.buy(cls.customer, T0 - timedelta(days=2), qty=5)  # 200
        cls.send_hello(cls.journey_b, cls.dora, T0 - timedelta(days=2))
        cls.buy(cls.dora, T0 - timedelta(days=1), qty=3, company=cls.company_b)  # 120, in B
        cls.env.invalidate_all()

    def dashboard(self, period=30, journey=None, user=None, companies=None):
        env = self.env(user=user or self.manager)
        companies = companies or self.company_a
        model = env["smb.journey"].with_context(allowed_company_ids=companies.ids)
        with freeze_time(T0):
            return model.get_dashboard_data(period, journey.id if journey else False)

    def as_manager(self, model):
        """``model`` as the manager reads it in company A (an action's records)."""
        return model.with_user(self.manager).with_context(allowed_company_ids=self.company_a.ids)

    @staticmethod
    def kpis(data):
        return {kpi["key"]: (kpi["value"], kpi["previous"]) for kpi in data["kpis"]}

    def set_churn(self, partner, company, band, score, clv):
        """What the nightly scoring writes (in SQL, see smb.churn.run._write_scores)."""
        key = str(company.id)
        self.env.cr.execute(
            "UPDATE res_partner SET smb_churn_band = COALESCE(smb_churn_band, '{}') || jsonb_build_object(%s, %s), "
            "smb_churn_score = COALESCE(smb_churn_score, '{}') || jsonb_build_object(%s, %s), "
            "smb_clv = COALESCE(smb_clv, '{}') || jsonb_build_object(%s, %s) WHERE id = %s",
            [key, band, key, score, key, clv, partner.id])
        self.env.invalidate_all()

    # ------------------------------------------------------------
    # tests
    # ------------------------------------------------------------

    def test_cards_over_the_period_and_the_one_before(self):
        data = self.dashboard(30)
        kpis = self.kpis(data)
        self.assertEqual(kpis["revenue"], (200.0, 80.0))
        self.assertEqual(kpis["conversions"], (1, 1))
        self.assertEqual(kpis["sent"], (2, 1), "Ann's and Carl's emails now, Bob's before")
        # 200 over the 2 customers delivered an email now; 80 over Bob before
        self.assertEqual(kpis["revenue_per_recipient"], (100.0, 80.0))
        # over 7 days, Bob's order is out of both periods (40 days ago)
        self.assertEqual(self.kpis(self.dashboard(7))["revenue"], (200.0, 0.0))
        # over 90 days, everything of company A is in the period
        kpis = self.kpis(self.dashboard(90))
        self.assertEqual(kpis["revenue"], (280.0, 0.0))
        self.assertEqual(kpis["conversions"], (2, 0))
        self.assertAlmostEqual(kpis["revenue_per_recipient"][0], 280.0 / 3)

    def test_numbers_are_those_of_the_journey_and_its_steps(self):
        """Over a period holding the whole history, the dashboard shows what
        the journey form and the per-step statistics show."""
        data = self.dashboard(90, self.journey)
        funnel = data["funnel"]
        stages = {stage["key"]: stage["value"] for stage in funnel["stages"]}
        journey = self.journey
        self.assertEqual(stages, {
            "entered": journey.enrollment_count, "sent": journey.sent_count, "opened": journey.opened_count,
            "clicked": journey.clicked_count, "converted": journey.converted_count})
        self.assertEqual(stages, {"entered": 3, "sent": 3, "opened": 1, "clicked": 1, "converted": 2})
        self.assertEqual(funnel["revenue"], journey.revenue)
        self.assertEqual(journey.recipient_count, 3)
        self.assertAlmostEqual(journey.revenue_per_recipient, 280.0 / 3, places=2)
        self.assertAlmostEqual(funnel["revenue_per_recipient"], journey.revenue_per_recipient, places=2)
        hello = next(step for step in funnel["steps"] if step["id"] == self.step_hello.id)
        step = self.step_hello
        self.assertEqual(
            (hello["sent"], hello["opened"], hello["clicked"], hello["converted"], hello["revenue"]),
            (step.sent_count, step.opened_count, step.clicked_count, step.converted_count, step.revenue))
        self.assertEqual([s["id"] for s in funnel["steps"]], [self.step_hello.id, self.step_again.id],
                         "the message steps, in order; the wait is no message")
        row = next(r for r in data["journeys"] if r["id"] == journey.id)
        self.assertEqual((row["sent"], row["conversions"], row["revenue"], row["recipients"]), (3, 2, 280.0, 3))
        conversions = self.env["smb.journey.conversion"].search([("journey_id", "=", journey.id)])
        self.assertEqual(sum(conversions.mapped("revenue")), data["kpis"][0]["value"],
                         "the Conversions report's total")

    def test_versions_add_up(self):
        """Steps changed while a customer is inside make a new version: the
        funnel still counts every version, the retired steps as such."""
        eve = self.env["res.partner"].create({"name": "Eve Evans", "email": "eve@example.com"})
        with freeze_time(T0 - timedelta(days=1)):
            self.journey.enroll(eve)
            self.step_hello.body_html = "<p>Hello again, new wording</p>"
        self.assertEqual(self.journey.version_count, 2)
        self.assertFalse(self.step_hello.active, "the first version's step is retired")
        funnel = self.dashboard(90, self.journey)["funnel"]
        stages = {stage["key"]: stage["value"] for stage in funnel["stages"]}
        self.assertEqual(stages, {"entered": 4, "sent": 3, "opened": 1, "clicked": 1, "converted": 2})
        self.assertEqual(stages["sent"], self.journey.sent_count)
        rows = {row["id"]: row for row in funnel["steps"]}
        new_hello = self.journey.step_ids.filtered(lambda s: s.origin_id == self.step_hello)
        self.assertEqual(list(rows)[:2], (new_hello | self.journey.step_ids.filtered(
            lambda s: s.origin_id == self.step_again)).ids, "the current version first")
        self.assertEqual(rows[new_hello.id]["sent"], 0)
        retired = rows[self.step_hello.id]
        self.assertEqual((retired["sent"], retired["converted"], retired["revenue"]), (3, 2, 280.0))
        self.assertIn("version 1", retired["name"])
        self.assertNotIn(self.step_again.id, rows, "a retired step that did nothing is left out")

    def test_funnel_of_the_period(self):
        funnel = self.dashboard(30, self.journey)["funnel"]
        self.assertEqual(funnel["journey_id"], self.journey.id)
        self.assertEqual({stage["key"]: stage["value"] for stage in funnel["stages"]},
                         {"entered": 2, "sent": 2, "opened": 1, "clicked": 1, "converted": 1})
        hello = funnel["steps"][0]
        self.assertEqual(
            (hello["sent"], hello["delivered"], hello["opened"], hello["clicked"], hello["converted"],
             hello["revenue"], hello["recipients"], hello["revenue_per_recipient"]),
            (2, 2, 1, 1, 1, 200.0, 2, 100.0))
        self.assertEqual(funnel["steps"][1]["sent"], 0, "the second email is not sent yet")
        # the links open the records counted
        entered = self.as_manager(self.env["smb.journey.enrollment"]).search(funnel["links"]["entered"]["domain"])
        self.assertEqual(entered.partner_id, self.customer | self.carl)
        converted = self.as_manager(self.env["smb.journey.conversion"]).search(funnel["links"]["converted"]["domain"])
        self.assertEqual(converted.partner_id, self.customer)

    def test_default_funnel_is_the_best_earner(self):
        self.assertEqual(self.dashboard(30)["funnel"]["journey_id"], self.journey.id)
        data = self.dashboard(30, companies=self.company_b)
        self.assertEqual(data["funnel"]["journey_id"], self.journey_b.id)

    def test_revenue_over_time(self):
        chart = self.dashboard(7)["chart"]
        self.assertEqual(chart["granularity"], "day")
        self.assertEqual(len(chart["labels"]), 7, "14 to 20 March")
        [line] = chart["datasets"]
        self.assertEqual(line["id"], self.journey.id)
        # Ann's order on 18 March, the fifth day
        self.assertEqual(line["revenue"], [0.0, 0.0, 0.0, 0.0, 200.0, 0.0, 0.0])
        self.assertEqual(line["conversions"], [0, 0, 0, 0, 1, 0, 0])
        chart = self.dashboard(90)["chart"]
        self.assertEqual(chart["granularity"], "week")
        [line] = chart["datasets"]
        self.assertEqual(sum(line["revenue"]), 280.0)
        self.assertEqual(sum(line["conversions"]), 2)
        self.assertEqual(len([amount for amount in line["revenue"] if amount]), 2, "two different weeks")

    def test_companies_are_kept_apart(self):
        self.assertEqual(self.kpis(self.dashboard(30, companies=self.company_b))["revenue"], (120.0, 0.0))
        self.assertEqual(self.kpis(self.dashboard(30))["revenue"], (200.0, 80.0))
        both = self.dashboard(30, companies=self.company_a | self.company_b)
        self.assertEqual(self.kpis(both)["revenue"], (320.0, 80.0))
        self.assertEqual(self.kpis(both)["sent"], (3, 1))
        self.assertTrue(both["multi_company"])
        ids = {row["id"] for row in self.dashboard(30)["journeys"]}
        self.assertIn(self.journey.id, ids)
        self.assertNotIn(self.journey_b.id, ids)
        # a journey of another company asked for by id is not shown
        self.assertNotEqual(self.dashboard(30, self.journey_b)["funnel"]["journey_id"], self.journey_b.id)

    def test_a_company_without_journeys(self):
        company_c = self.env["res.company"].create({"name": "Dashboard Shop C"})
        self.manager.company_ids |= company_c
        data = self.dashboard(30, companies=company_c)
        self.assertFalse(data["funnel"])
        self.assertFalse(data["journeys"])
        self.assertEqual(self.kpis(data), {
            "revenue": (0.0, 0.0), "conversions": (0, 0), "sent": (0, 0), "revenue_per_recipient": (0.0, 0.0)})
        self.assertFalse(data["chart"]["datasets"])

    def test_amounts_in_the_current_company_currency(self):
        """Another company's revenue in another currency is converted at the
        current company's rate: 120 at 2 units per unit of ours is 60."""
        ours = self.company_a.currency_id
        other = self.env.ref("base.EUR") if ours != self.env.ref("base.EUR") else self.env.ref("base.USD")
        other.active = True
        self.env["res.currency.rate"].create({
            "currency_id": other.id, "rate": 2.0, "name": "2026-01-01", "company_id": self.company_a.id})
        company = self.env["res.company"].create({"name": "Dashboard Shop Abroad", "currency_id": other.id})
        with freeze_time(T0):
            self.assertAlmostEqual(self.env["smb.journey"]._dashboard_money(120.0, company), 60.0)
            self.assertEqual(self.env["smb.journey"]._dashboard_money(120.0, self.company_b), 120.0)

    def test_tier_moves(self):
        History = self.env["smb.loyalty.tier.history"]

        def move(partner, change, tier_from, tier_to, days_ago, source="order", company=None):
            History.create({
                "partner_id": partner.id, "company_id": (company or self.company_a).id, "change": change,
                "from_tier_id": tier_from and self.tiers[tier_from].id,
                "to_tier_id": tier_to and self.tiers[tier_to].id,
                "source": source, "date": T0 - timedelta(days=days_ago)})

        move(self.customer, "upgrade", "bronze", "silver", 2)
        move(self.carl, "upgrade", "bronze", "silver", 5)
        move(self.bob, "downgrade", "gold", "silver", 10, source="nightly")
        move(self.dora, "upgrade", False, "bronze", 1, source="initial")  # a first computation is no move
        move(self.bob, "upgrade", "silver", "gold", 45)  # the period before
        move(self.dora, "upgrade", "bronze", "gold", 1, company=self.company_b)  # another company
        tiers = self.dashboard(30)["tiers"]
        self.assertEqual((tiers["upgrades"], tiers["downgrades"]), (2, 1))
        self.assertEqual((tiers["previous_upgrades"], tiers["previous_downgrades"]), (1, 0))
        rows = {row["id"]: (row["upgrades"], row["downgrades"]) for row in tiers["rows"]}
        self.assertEqual(rows[self.tiers["silver"].id], (2, 0))
        self.assertEqual(rows[self.tiers["gold"].id], (0, 1))
        self.assertEqual(rows[self.tiers["bronze"].id], (0, 0))
        # the link lists the moves counted (the user's companies, as the action shows them)
        self.assertEqual(self.as_manager(History).search_count(tiers["link"]["domain"]), 3)

    def test_customers_at_risk(self):
        self.set_churn(self.customer, self.company_a, "high", 0.82, 640.0)
        self.set_churn(self.carl, self.company_a, "high", 0.71, 300.0)
        self.set_churn(self.bob, self.company_a, "medium", 0.45, 100.0)
        self.set_churn(self.dora, self.company_b, "high", 0.9, 999.0)  # at risk for company B only
        self.customer.user_id = self.seller
        History = self.env["smb.churn.history"]
        History.create([
            {"partner_id": self.customer.id, "company_id": self.company_a.id, "from_band": "medium",
             "to_band": "high", "score": 0.82, "date": T0 - timedelta(days=3)},
            {"partner_id": self.carl.id, "company_id": self.company_a.id, "from_band": "low",
             "to_band": "high", "score": 0.71, "date": T0 - timedelta(days=33)},
        ])
        risk = self.dashboard(30)["risk"]
        self.assertEqual((risk["high"], risk["high_value"]), (2, 940.0))
        self.assertEqual((risk["medium"], risk["medium_value"]), (1, 100.0))
        self.assertEqual((risk["rose"], risk["previous_rose"]), (1, 1))
        self.assertEqual([c["id"] for c in risk["customers"]], [self.customer.id, self.carl.id, self.bob.id],
                         "high risk first, the most valuable first")
        first = risk["customers"][0]
        self.assertEqual((first["clv"], first["score"], first["salesperson"]), (640.0, 0.82, self.seller.name))
        risk_b = self.dashboard(30, companies=self.company_b)["risk"]
        self.assertEqual((risk_b["high"], risk_b["high_value"]), (1, 999.0))
        self.assertEqual([c["id"] for c in risk_b["customers"]], [self.dora.id])

    def test_experiments_are_the_journeys_reports(self):
        with freeze_time(T0 - timedelta(days=1)):
            self.journey.holdout_percent = 10
        experiments = self.dashboard(30)["experiments"]
        [holdout] = experiments["holdouts"]
        report = self.journey._holdout_reports()[self.journey.id]
        self.assertEqual(holdout["journey_id"], self.journey.id)
        self.assertEqual(holdout["rows"], report["rows"])
        self.assertEqual(holdout["percent"], 10)
        self.assertFalse(experiments["splits"])

    def test_journey_users_read_it_and_others_do_not(self):
        manager = self.dashboard(30, self.journey)
        for user in (self.journey_user, self.seller):
            data = self.dashboard(30, self.journey, user=user)
            self.assertEqual(data["kpis"], manager["kpis"], "a journey's own figures, as its form shows them")
            self.assertEqual(data["funnel"]["stages"], manager["funnel"]["stages"])
        with self.assertRaises(AccessError):
            self.dashboard(30, user=self.seller_only)

    def test_links_open_what_is_counted(self):
        data = self.dashboard(30)
        links = {kpi["key"]: kpi["link"] for kpi in data["kpis"]}
        conversions = self.as_manager(self.env["smb.journey.conversion"]).search(links["revenue"]["domain"])
        self.assertEqual(sum(conversions.mapped("revenue")), 200.0)
        self.assertEqual(links["revenue"]["views"][0][1], "graph")
        logs = self.as_manager(self.env["smb.journey.log"]).search(links["sent"]["domain"])
        self.assertEqual(logs.partner_id, self.customer | self.carl)
        self.assertEqual(data["risk"]["link"]["res_model"], "res.partner")
        self.assertEqual(data["risk"]["link"]["views"][0],
                         [self.env.ref("smb_journey.res_partner_view_list_smb_my_customers").id, "list"])

    def test_salespeople_see_their_customers_journeys(self):
        """My Customers: the journeys a customer is going through, as the
        reader's Sales rights show them."""
        colleague = new_test_user(
            self.env, "dash_colleague", groups="sales_team.group_sale_salesman,smb_journey.group_journey_user")
        eve, finn = self.env["res.partner"].create([
            {"name": "Eve Evans", "email": "eve@example.com", "user_id": self.seller.id},
            {"name": "Finn Ford", "email": "finn@example.com", "user_id": colleague.id},
        ])
        self.journey.enroll(eve | finn | self.customer)
        self.assertEqual(self.journey.enrollment_ids.filtered(lambda e: e.partner_id == self.customer).mapped("state"),
                         ["completed"], "Ann went through the journey already")
        Partner = self.env["res.partner"].with_user(self.seller)
        action = self.env["ir.actions.act_window"]._for_xml_id("smb_journey.res_partner_action_smb_my_customers")
        self.assertIn("search_default_filter_smb_my_customers", action["context"])
        mine = Partner.search([("user_id", "=", self.seller.id)])
        self.assertEqual(mine, eve)
        self.assertEqual(mine.smb_active_journey_ids, self.journey)
        self.assertFalse(Partner.browse(finn.id).smb_active_journey_ids,
                         "a colleague's customer's enrollments are not theirs to see")
        gus = self.env["res.partner"].create({"name": "Gus Gray", "email": "gus@example.com",
                                              "user_id": self.seller_only.id})
        self.journey.enroll(gus)
        self.assertEqual(gus.with_user(self.seller_only).smb_active_journey_ids, self.journey,
                         "Sales rights alone read their customers' journeys")
        self.assertEqual(finn.with_user(colleague).smb_active_journey_ids, self.journey)
        self.assertFalse(self.customer.smb_active_journey_ids, "a journey gone through is no longer active")
        # a company account shows its contacts' journeys
        account = self.env["res.partner"].create({"name": "Eve's Shop", "is_company": True, "user_id": self.seller.id})
        eve.parent_id = account
        self.assertEqual(account.with_user(self.seller).smb_active_journey_ids, self.journey)


@tagged("post_install", "-at_install")
class TestDashboardUi(HttpCase):
    """The dashboard in the browser: yesterday two customers got the tour
    journey's email, one bought for 200; a customer of the salesperson is
    at high risk, in Silver since two days, and in the journey."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        company = cls.env.company
        product = cls.env["product.product"].create({
            "name": "Tour mug", "type": "consu", "list_price": 40.0, "invoice_policy": "order", "taxes_id": [(5,)]})
        groups = "sales_team.group_sale_salesman,smb_journey.group_journey_user"
        cls.seller = new_test_user(cls.env, "tour_dash_seller", groups=groups)
        colleague = new_test_user(cls.env, "tour_dash_colleague", groups=groups)
        buyer, reader, risky, __ = cls.env["res.partner"].create([
            {"name": "Tour Buyer", "email": "buyer@example.com"},
            {"name": "Tour Reader", "email": "reader@example.com"},
            {"name": "Risky Tour Customer", "email": "risky@example.com", "user_id": cls.seller.id},
            {"name": "Colleague Tour Customer", "email": "colleague@example.com", "user_id": colleague.id},
        ])
        journey = cls.env["smb.journey"].create({
            "name": "Dashboard Tour Journey", "trigger": "manual",
            "step_ids": [(0, 0, {"name": "Tour hello", "step_type": "email", "subject": "Hi",
                                 "body_html": "<p>Hi</p>"})],
        })
        journey.action_start()
        now = fields.Datetime.now()
        with freeze_time(now - timedelta(days=1)):
            journey.enroll(buyer | reader)
            cls.env["smb.journey.enrollment"].run_engine()
            mails = cls.env["mail.mail"].search([("mailing_id", "=", journey.step_ids.mailing_id.id)])
            mails.mailing_trace_ids.set_sent()  # what mass_mailing does once the server took them
            mails.write({"state": "sent"})
        with freeze_time(now - timedelta(hours=20)):
            order = cls.env["sale.order"].create({
                "partner_id": buyer.id, "order_line": [(0, 0, {"product_id": product.id, "product_uom_qty": 5})]})
            order.action_confirm()
            cls.env["smb.journey.event"].process_pending()
        journey.enroll(risky)
        silver = cls.env.ref("smb_journey.smb_loyalty_tier_silver")
        key = str(company.id)
        # what the nightly scoring and the tier recompute write (in SQL)
        cls.env.cr.execute(
            "UPDATE res_partner SET smb_churn_band = jsonb_build_object(%s, 'high'), "
            "smb_churn_score = jsonb_build_object(%s, 0.82), smb_clv = jsonb_build_object(%s, 640.0), "
            "smb_tier_id = jsonb_build_object(%s, %s) WHERE id = %s",
            [key, key, key, key, silver.id, risky.id])
        cls.env["smb.loyalty.tier.history"].create({
            "partner_id": risky.id, "company_id": company.id, "change": "upgrade", "source": "order",
            "from_tier_id": cls.env.ref("smb_journey.smb_loyalty_tier_bronze").id, "to_tier_id": silver.id,
            "date": now - timedelta(days=2)})
        cls.env.invalidate_all()

    def test_manager_reads_the_dashboard_and_clicks_through(self):
        self.start_tour("/odoo/action-smb_journey.smb_journey_dashboard_action", "smb_journey_dashboard_tour",
                        login="admin")

    def test_salesperson_opens_my_customers(self):
        self.start_tour("/odoo", "smb_journey_my_customers_tour", login=self.seller.login)
