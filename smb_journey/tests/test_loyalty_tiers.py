from datetime import datetime, timedelta

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, freeze_time, new_test_user, tagged


class TierCase(TransactionCase):
    """A shop of its own (company, currency, tiers) so the numbers below are
    computed by hand: Bronze from 100, Silver from 500 with two orders, Gold
    from 1000 with a reward coupon; twelve months, thirty days of grace."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.usd = cls.env.ref("base.USD")
        cls.company = cls.env["res.company"].create({"name": "Tier Shop", "currency_id": cls.usd.id})
        cls.env.user.company_ids |= cls.company
        cls.env = cls.env(context=dict(
            cls.env.context, tracking_disable=True, allowed_company_ids=[cls.company.id]))
        cls.Tier = cls.env["smb.loyalty.tier"]
        cls.program = cls.env["loyalty.program"].create({
            "name": "Gold gift", "program_type": "coupons", "company_id": cls.company.id,
            "trigger": "with_code", "communication_plan_ids": [Command.clear()],
            "reward_ids": [Command.create({"reward_type": "discount", "discount": 15, "description": "15% off"})],
        })
        cls.bronze, cls.silver, cls.gold = cls.Tier.create([
            {"name": "Bronze", "min_spend": 100, "company_id": cls.company.id},
            {"name": "Silver", "min_spend": 500, "min_orders": 2, "company_id": cls.company.id},
            {"name": "Gold", "min_spend": 1000, "company_id": cls.company.id,
             "reward_program_id": cls.program.id},
        ])
        cls.product = cls.env["product.product"].create({
            "name": "Teapot", "list_price": 1.0, "type": "consu", "taxes_id": [Command.clear()],
        })
        cls.customer = cls.env["res.partner"].create({"name": "Ann Smith", "email": "ann@example.com"})
        # the first full computation places customers quietly; the tests start after it
        cls.Tier.recompute_tiers(companies=cls.company)
        cls.process_events()

    @classmethod
    def order(cls, partner, amount, confirm=True, **vals):
        order = cls.env["sale.order"].create(dict({
            "partner_id": partner.id,
            "company_id": cls.company.id,
            "order_line": [Command.create({"product_id": cls.product.id, "product_uom_qty": 1,
                                           "price_unit": amount, "tax_ids": [Command.clear()]})],
        }, **vals))
        if confirm:
            order.action_confirm()
            cls.process_events()
        return order

    @classmethod
    def process_events(cls):
        """What the events cron does seconds after a confirmation or a credit note."""
        cls.env["smb.journey.event"].process_pending()
        cls.env.invalidate_all()

    def recompute(self):
        return self.Tier.recompute_tiers(companies=self.company)

    def history(self, partner):
        return self.env["smb.loyalty.tier.history"].search(
            [("partner_id", "=", partner.id)], order="id")

    def cards(self, partner):
        return self.env["loyalty.card"].search([("partner_id", "=", partner.id), ("program_id", "=", self.program.id)])


@tagged("post_install", "-at_install")
class TestTierRules(TierCase):

    def test_threshold_is_reached_at_the_exact_amount(self):
        self.order(self.customer, 99.99)
        self.assertFalse(self.customer.smb_tier_id, "99.99 is below Bronze's 100")
        self.assertEqual(self.customer.smb_trailing_spend, 99.99)
        self.assertEqual(self.customer.smb_tier_next_id, self.bronze)
        self.assertAlmostEqual(self.customer.smb_tier_missing_amount, 0.01)
        self.order(self.customer, 0.01)
        self.assertEqual(self.customer.smb_tier_id, self.bronze, "an order confirmed upgrades at once")
        self.assertEqual(self.customer.smb_tier_since, datetime.now().date())
        row = self.history(self.customer)
        self.assertRecordValues(row, [{
            "from_tier_id": False, "to_tier_id": self.bronze.id, "change": "upgrade", "source": "order",
            "trailing_spend": 100.0, "order_count": 2,
        }])

    def test_minimum_orders_hold_back_a_big_single_order(self):
        self.order(self.customer, 600)
        self.assertEqual(self.customer.smb_tier_id, self.bronze, "Silver needs two orders")
        self.assertEqual(self.customer.smb_tier_next_id, self.silver)
        self.assertEqual(self.customer.smb_tier_missing_amount, 0.0)
        self.assertEqual(self.customer.smb_tier_missing_orders, 1)
        self.order(self.customer, 1)
        self.assertEqual(self.customer.smb_tier_id, self.silver)

    def test_a_jump_skips_tiers_and_issues_the_reward_once(self):
        self.order(self.customer, 1500)
        self.assertEqual(self.customer.smb_tier_id, self.gold)
        self.assertEqual(len(self.history(self.customer)), 1, "one change: none -> Gold")
        card = self.cards(self.customer)
        self.assertEqual(len(card), 1)
        self.assertEqual(self.history(self.customer).reward_card_id, card)
        # recomputing again, incrementally or in full, changes nothing
        self.recompute()
        self.Tier.recompute_tiers(partners=self.customer)
        self.order(self.customer, 10)
        self.assertEqual(len(self.cards(self.customer)), 1)
        self.assertEqual(len(self.history(self.customer)), 1)

    def test_orders_in_another_currency_count_in_the_company_currency(self):
        eur = self.env.ref("base.EUR")
        eur.active = True
        self.env["res.currency.rate"].create({
            "currency_id": eur.id, "company_id": self.company.id, "name": "2020-01-01", "rate": 0.5,
        })
        pricelist = self.env["product.pricelist"].create({
            "name": "EUR", "currency_id": eur.id, "company_id": self.company.id})
        order = self.order(self.customer, 300, pricelist_id=pricelist.id)
        self.assertEqual(order.currency_id, eur)
        self.assertEqual(self.customer.smb_trailing_spend, 600.0, "300 EUR at 0.5 EUR per USD")
        self.assertEqual(self.customer.smb_tier_id, self.bronze)

    def test_cancelled_order_moves_down_at_once(self):
        self.order(self.customer, 400)
        big = self.order(self.customer, 700)
        self.assertEqual(self.customer.smb_tier_id, self.gold)
        big._action_cancel()
        self.process_events()
        self.assertEqual(self.customer.smb_tier_id, self.bronze, "no grace for spend that was cancelled")
        self.assertFalse(self.customer.smb_tier_grace_since)
        self.assertRecordValues(self.history(self.customer)[-1], [{
            "from_tier_id": self.gold.id, "to_tier_id": self.bronze.id, "change": "downgrade", "source": "cancel",
        }])
        self.assertEqual(self.customer.smb_trailing_spend, 400.0)

    def test_cancelling_a_quotation_does_not_touch_the_tier(self):
        self.order(self.customer, 1200)
        self.order(self.customer, 50, confirm=False)._action_cancel()
        self.process_events()
        self.assertEqual(len(self.history(self.customer)), 1)

    def test_contacts_share_their_company_tier(self):
        acme = self.env["res.partner"].create({"name": "Acme", "is_company": True})
        buyer = self.env["res.partner"].create({"name": "Bob Buyer", "parent_id": acme.id})
        self.order(buyer, 800)
        self.order(acme, 300)
        for partner in (acme, buyer):
            self.assertEqual(partner.smb_tier_id, self.gold)
            self.assertEqual(partner.smb_trailing_spend, 1100.0)
        self.assertEqual(self.history(acme).to_tier_id, self.bronze | self.gold, "the history is the company's")
        self.assertFalse(self.history(buyer))
        self.assertEqual(len(self.cards(acme)), 1, "one reward for the company, not one per contact")
        newcomer = self.env["res.partner"].create({"name": "New Colleague", "parent_id": acme.id})
        self.process_events()
        self.assertEqual(newcomer.smb_tier_id, self.gold, "a new contact joins with the company's tier")
        self.assertEqual(newcomer.smb_tier_history_ids, self.history(acme))
        buyer.parent_id = False
        self.assertEqual(buyer.smb_tier_id, self.bronze,
                         "leaving the company, Bob keeps only his own orders: 800 in one order")
        self.assertEqual(acme.smb_trailing_spend, 300.0, "Acme no longer counts Bob's order")
        self.assertEqual(acme.smb_tier_id, self.gold, "but keeps Gold for the grace period")
        self.assertTrue(acme.smb_tier_grace_since)

    def test_unchanged_tiers_leave_the_rows_untouched(self):
        acme = self.env["res.partner"].create({"name": "Acme", "is_company": True})
        buyer = self.env["res.partner"].create({"name": "Bob Buyer", "parent_id": acme.id})
        nobody = self.env["res.partner"].create({"name": "Free Sample Fred"})
        self.order(acme, 600)
        self.order(buyer, 100)
        self.order(self.customer, 150)
        self.order(nobody, 0)
        people = acme | buyer | nobody | self.customer

        def versions():
            # a rewritten row is a new row version: another place in the table, another transaction id
            self.env.cr.execute("SELECT id, ctid::text, xmin::text FROM res_partner WHERE id = ANY(%s)", [people.ids])
            return {row[0]: row[1:] for row in self.env.cr.fetchall()}

        def stored(partner):
            self.env.cr.execute("SELECT smb_trailing_spend, smb_tier_id FROM res_partner WHERE id = %s", [partner.id])
            return self.env.cr.fetchone()

        self.assertEqual((acme.smb_tier_id, buyer.smb_tier_id), (self.silver, self.silver))
        self.assertEqual(stored(nobody), (None, None), "nothing spent, no tier: nothing is written")
        before = versions()
        self.assertEqual(self.recompute(), 0)
        self.assertEqual(versions(), before, "nothing changed: no row is rewritten")
        # an admin edits a tier: every customer is decided again, still nothing to write
        self.bronze.min_spend = 90
        self.recompute()
        self.assertEqual(versions(), before)
        self.assertEqual(stored(nobody), (None, None))
        self.order(buyer, 500)
        after = versions()
        self.assertNotEqual(after[acme.id], before[acme.id])
        self.assertNotEqual(after[buyer.id], before[buyer.id], "the contact follows its company")
        self.assertEqual(after[self.customer.id], before[self.customer.id], "another customer is not touched")
        self.env.invalidate_all()
        self.assertEqual((acme.smb_trailing_spend, buyer.smb_trailing_spend), (1200.0, 1200.0))
        self.assertEqual(buyer.smb_tier_id, self.gold)

    def test_tiers_are_per_company(self):
        other = self.env["res.company"].create({"name": "Other Shop", "currency_id": self.usd.id})
        self.env.user.company_ids |= other
        other_gold = self.Tier.create({"name": "Other Gold", "min_spend": 50, "company_id": other.id})
        self.order(self.customer, 120, company_id=other.id)
        self.assertFalse(self.customer.smb_tier_id, "orders of another company do not count here")
        self.assertEqual(self.customer.with_company(other).smb_tier_id, other_gold)
        self.assertEqual(self.customer.with_company(other).smb_trailing_spend, 120.0)
        # a salesperson of this shop only sees this shop's tiers and changes
        user = new_test_user(self.env, "tier_seller", groups="sales_team.group_sale_salesman",
                             company_id=self.company.id, company_ids=[Command.set(self.company.ids)])
        self.assertEqual(self.Tier.with_user(user).search([]), self.bronze | self.silver | self.gold)
        with self.assertRaises(AccessError):
            other_gold.with_user(user).read(["name"])
        self.assertFalse(self.env["smb.loyalty.tier.history"].with_user(user).search(
            [("company_id", "=", other.id)]))

    def test_order_and_lead_show_the_customer_tier(self):
        order = self.order(self.customer, 1000)
        self.assertEqual(order.smb_tier_id, self.gold)
        self.assertEqual(order.smb_trailing_spend, 1000.0)
        lead = self.env["crm.lead"].create({
            "name": "More teapots", "partner_id": self.customer.id, "company_id": self.company.id})
        self.assertEqual(lead.smb_tier_id, self.gold)
        # and the churn risk and value the nightly scoring wrote
        self.env["smb.churn.run"].score_customers(self.company)
        self.env.invalidate_all()
        self.assertTrue(self.customer.smb_churn_band)
        for record in (order, lead):
            self.assertEqual(record.smb_churn_band, self.customer.smb_churn_band)
            self.assertEqual(record.smb_churn_score, self.customer.smb_churn_score)
            self.assertEqual(record.smb_clv, self.customer.smb_clv)
            self.assertEqual(record.smb_next_order_date, self.customer.smb_next_order_date)
            self.assertEqual(record.smb_churn_explanation, self.customer.smb_churn_explanation)

    def test_report_counts_customer_accounts_per_tier(self):
        acme = self.env["res.partner"].create({"name": "Acme", "is_company": True})
        self.env["res.partner"].create({"name": "Bob Buyer", "parent_id": acme.id})
        self.order(acme, 1000)
        self.order(self.customer, 150)
        groups = dict(
            (tier, (count, spend)) for tier, count, spend in self.env["res.partner"]._read_group(
                [("smb_is_commercial", "=", True), ("smb_tier_id", "!=", False)],
                ["smb_tier_id"], ["__count", "smb_trailing_spend:sum"]))
        self.assertEqual(groups[self.gold], (1, 1000.0), "the contact is not counted twice")
        self.assertEqual(groups[self.bronze], (1, 150.0))
        self.assertEqual((self.gold.partner_count, self.gold.trailing_spend), (1, 1000.0))


@tagged("post_install", "-at_install")
class TestTierTime(TierCase):

    def run_cron(self):
        with self.enter_registry_test_mode():
            self.env.ref("smb_journey.ir_cron_loyalty_tiers").method_direct_trigger()
        self.env.invalidate_all()

    def test_downgrade_only_after_the_grace_period(self):
        with freeze_time("2026-01-10 12:00:00"):
            self.order(self.customer, 1200)
            self.assertEqual(self.customer.smb_tier_id, self.gold)
        with freeze_time("2027-01-11 02:00:00"):
            self.run_cron()  # the order left the twelve-month window: grace starts
            self.assertEqual(self.customer.smb_tier_id, self.gold)
            self.assertEqual(str(self.customer.smb_tier_grace_since), "2027-01-11")
            self.assertEqual(str(self.customer.smb_tier_grace_end), "2027-02-10")
            self.assertEqual(self.customer.smb_trailing_spend, 0.0)
        with freeze_time("2027-02-09 02:00:00"):
            self.run_cron()
            self.assertEqual(self.customer.smb_tier_id, self.gold, "day 29 of 30: still Gold")
        with freeze_time("2027-02-10 02:00:00"):
            self.run_cron()
            self.assertFalse(self.customer.smb_tier_id, "day 30: down to the tier the spend qualifies for")
            self.assertFalse(self.customer.smb_tier_grace_since)
        self.assertRecordValues(self.history(self.customer)[-1], [{
            "from_tier_id": self.gold.id, "to_tier_id": False, "change": "downgrade", "source": "nightly",
        }])

    def test_qualifying_again_during_grace_keeps_the_tier(self):
        with freeze_time("2026-01-10 12:00:00"):
            self.order(self.customer, 1200)
        with freeze_time("2027-01-11 02:00:00"):
            self.run_cron()
            self.assertTrue(self.customer.smb_tier_grace_since)
        with freeze_time("2027-01-20 12:00:00"):
            self.order(self.customer, 1000)
            self.assertEqual(self.customer.smb_tier_id, self.gold)
            self.assertFalse(self.customer.smb_tier_grace_since, "qualifying again ends the grace period")
        self.assertEqual(len(self.history(self.customer)), 1, "no downgrade, no second upgrade")
        self.assertEqual(len(self.cards(self.customer)), 1)

    def test_first_computation_is_quiet(self):
        shop = self.env["res.company"].create({"name": "New Shop", "currency_id": self.usd.id})
        self.env.user.company_ids |= shop
        self.order(self.customer, 2000, company_id=shop.id)  # no tier in that shop yet
        tier = self.Tier.create({"name": "VIP", "min_spend": 1000, "company_id": shop.id,
                                 "reward_program_id": self.program.copy({"company_id": shop.id}).id})
        self.Tier.recompute_tiers(companies=shop)
        self.assertEqual(self.customer.with_company(shop).smb_tier_id, tier)
        row = self.env["smb.loyalty.tier.history"].search([("company_id", "=", shop.id)])
        self.assertEqual(row.source, "initial")
        self.assertFalse(row.reward_card_id, "placing existing customers is not an upgrade to reward")
        self.assertTrue(shop.smb_tiers_computed_at)


@tagged("post_install", "-at_install")
class TestTierJourneys(TierCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.email = "shop@example.com"
        cls.journey = cls.env["smb.journey"].create({
            "name": "Gold welcome", "company_id": cls.company.id, "trigger": "tier_upgraded",
            "tier_id": cls.gold.id, "reentry": "always",
            "step_ids": [Command.create({
                "name": "Welcome", "step_type": "email",
                "subject": "Welcome to {{ tier.name }}, {{ customer.first_name }}",
                "body_html": "<p>Code: <b>{{ tier.reward_code }}</b> ({{ tier.reward_description }}).</p>"
                             "<p data-smb-if='tier.next_name'>next {{ tier.next_name }}</p>",
            })],
        })
        cls.journey.action_start()
        cls.lost = cls.env["smb.journey"].create({
            "name": "Lost Gold", "company_id": cls.company.id, "trigger": "tier_downgraded",
            "tier_id": cls.gold.id, "reentry": "always",
            "step_ids": [Command.create({"name": "Miss you", "step_type": "email", "subject": "We miss you",
                                         "body_html": "<p>You are {{ tier.name or 'a friend' }}</p>"})],
        })
        cls.lost.action_start()

    def test_upgrade_to_the_tier_enrols_and_the_email_carries_the_reward(self):
        self.order(self.customer, 300)  # Bronze: not this journey's tier
        self.assertFalse(self.journey.enrollment_ids)
        self.order(self.customer, 800)
        enrollment = self.journey.enrollment_ids
        self.assertEqual(len(enrollment), 1)
        self.assertEqual(enrollment.res_model, "smb.loyalty.tier.history")
        self.env["smb.journey.enrollment"].run_engine()
        mail = self.env["mail.mail"].search([("mailing_id", "=", self.journey.step_ids.mailing_id.id)])
        code = self.cards(self.customer).code
        self.assertTrue(code)
        self.assertEqual(mail.subject, "Welcome to Gold, Ann")
        self.assertIn(f"<b>{code}</b> (15% off)", str(mail.body_html))
        self.assertNotIn("next ", str(mail.body_html), "Gold is the top tier")

    def test_downgrade_enrols_the_customers_who_lost_the_tier(self):
        order = self.order(self.customer, 1100)
        order._action_cancel()
        self.process_events()
        self.assertEqual(len(self.lost.enrollment_ids), 1)
        self.assertEqual(self.lost.enrollment_ids.partner_id, self.customer)


@tagged("post_install", "-at_install")
class TestTierRefunds(TransactionCase):
    """A credit note takes its spend back at once, like a cancellation."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        if not cls.env["account.journal"].search_count(
                [("type", "=", "sale"), ("company_id", "=", cls.company.id)], limit=1):
            cls.skipTest(cls, "the main company has no chart of accounts")
        cls.env["smb.loyalty.tier"].search([("company_id", "=", cls.company.id)]).active = False
        cls.gold = cls.env["smb.loyalty.tier"].create({"name": "Refund Gold", "min_spend": 1000})
        cls.env["smb.loyalty.tier"].recompute_tiers(companies=cls.company)
        cls.product = cls.env["product.product"].create({
            "name": "Kettle", "type": "consu", "invoice_policy": "order", "taxes_id": [Command.clear()]})
        cls.customer = cls.env["res.partner"].create({"name": "Rita Refund"})

    def process_events(self):
        self.env["smb.journey.event"].process_pending()
        self.env.invalidate_all()

    def test_refund_moves_down_at_once(self):
        orders = self.env["sale.order"].create([{
            "partner_id": self.customer.id,
            "order_line": [Command.create({"product_id": self.product.id, "price_unit": 600,
                                           "tax_ids": [Command.clear()]})],
        } for __ in range(2)])
        orders.action_confirm()
        self.process_events()
        self.assertEqual(self.customer.smb_tier_id, self.gold)
        invoice = orders[1]._create_invoices()
        invoice.action_post()
        self.process_events()
        self.assertEqual(self.customer.smb_tier_id, self.gold, "an invoice changes nothing")
        invoice._reverse_moves(cancel=True)
        self.process_events()
        self.assertFalse(self.customer.smb_tier_id, "the credit note takes 600 back: 600 left")
        self.assertEqual(self.customer.smb_trailing_spend, 600.0)
        self.assertEqual(self.customer.smb_tier_order_count, 1, "a fully refunded order is no order")
        row = self.env["smb.loyalty.tier.history"].search([("partner_id", "=", self.customer.id)], limit=1)
        self.assertEqual((row.change, row.source), ("downgrade", "cancel"))
