from datetime import date, datetime, timedelta
from unittest.mock import patch

import numpy as np

from odoo import Command
from odoo.tests import TransactionCase, freeze_time, tagged
from odoo.tools import mute_logger

from odoo.addons.smb_journey.lib import churn as churn_lib
from odoo.addons.smb_journey.models.smb_churn_run import SmbChurnRun


def synthetic_history(n=600, days=720, now=20000, seed=3):
    """Loyal customers keep buying every ~30 days, the others stop: enough
    history for the model to train on (customer ids 1..n)."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(1, n + 1):
        start = now - days + rng.uniform(0, days * 0.6)
        stop = now if rng.random() < 0.4 else start + rng.exponential(90)
        t = start
        while t < min(stop, now):
            rows.append((c, float(int(t)), float(rng.gamma(2.0, 30.0))))
            t += rng.exponential(rng.uniform(15, 60))
    return churn_lib.History.from_rows(rows)


@tagged("post_install", "-at_install")
class TestChurnScoring(TransactionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env["res.company"].create({"name": "Churn Shop", "currency_id": cls.env.ref("base.USD").id})
        cls.env.user.company_ids |= cls.company
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, allowed_company_ids=[cls.company.id]))
        cls.product = cls.env["product.product"].create({"name": "Record", "type": "consu", "taxes_id": [Command.clear()]})
        cls.regular, cls.lapsed = cls.env["res.partner"].create([
            {"name": "Regular Rita", "email": "rita@example.com"},
            {"name": "Lapsed Leo", "email": "leo@example.com"},
        ])
        cls.contact = cls.env["res.partner"].create({"name": "Rita's assistant", "parent_id": cls.regular.id})

    def order(self, partner, amount, when):
        with freeze_time(when):
            order = self.env["sale.order"].create({
                "partner_id": partner.id, "company_id": self.company.id,
                "order_line": [Command.create({"product_id": self.product.id, "price_unit": amount,
                                               "tax_ids": [Command.clear()]})],
            })
            order.action_confirm()
        return order

    def run_cron(self):
        with self.enter_registry_test_mode():
            self.env.ref("smb_journey.ir_cron_churn_score").method_direct_trigger()
        self.env.invalidate_all()
        return self.env["smb.churn.run"].search([("company_id", "=", self.company.id)], limit=1)

    def test_history_is_read_per_customer_and_day_in_company_currency(self):
        self.order(self.regular, 100, "2026-01-05 10:00:00")
        self.order(self.contact, 50, "2026-01-05 15:00:00")  # same day, the company's contact
        self.order(self.regular, 30, "2026-02-01 10:00:00")
        self.order(self.lapsed, 80, "2025-06-01 10:00:00")
        with freeze_time("2026-03-01"):
            history = self.env["smb.churn.run"]._purchase_history(self.company, date(2026, 3, 1))
        epoch = date(1970, 1, 1)
        self.assertEqual(
            list(zip(history.customer.tolist(), history.day.tolist(), history.amount.tolist())),
            sorted([
                (self.regular.id, float((date(2026, 1, 5) - epoch).days), 150.0),
                (self.regular.id, float((date(2026, 2, 1) - epoch).days), 30.0),
                (self.lapsed.id, float((date(2025, 6, 1) - epoch).days), 80.0),
            ]))
        orders = {(c, d): n for c, d, n in zip(history.customer.tolist(), history.day.tolist(), history.orders.tolist(),
                                                strict=True)}
        self.assertEqual(orders[self.regular.id, float((date(2026, 1, 5) - epoch).days)], 2,
                         "the orders of each day are counted: the contact's order of 5 January is the second")
        self.assertEqual(sum(orders.values()), 4)

    def test_tiny_shop_uses_the_fallback_and_says_why(self):
        for when in ("2025-11-01 10:00:00", "2025-12-01 10:00:00", "2026-01-01 10:00:00", "2026-02-01 10:00:00"):
            self.order(self.regular, 60, when)
        self.order(self.lapsed, 80, "2025-03-01 10:00:00")
        before = self.regular.write_date
        with freeze_time("2026-02-20 03:00:00"):
            run = self.run_cron()
        self.assertRecordValues(run, [{"state": "done", "customer_count": 2, "model_kind": "statistical"}])
        self.assertTrue(run.model_reason)
        self.assertTrue(run.model_params and run.model_params["kind"] == "statistical")
        self.assertIn("purchase rate", run.model_summary)
        self.assertEqual(run.season_note,
                         "Not read yet: 10 full months of history, 13 needed. Every month counts alike.",
                         "a young shop's owner reads why the expected orders follow no yearly pattern")
        self.assertLess(self.regular.smb_churn_score, self.lapsed.smb_churn_score,
                        "the monthly buyer seen 19 days ago is less at risk than the one gone for a year")
        self.assertEqual(self.lapsed.smb_churn_band, "high")
        self.assertIn("Raises the risk: Last order 356 days ago", self.lapsed.smb_churn_explanation,
                      "sales staff read why, in words")
        self.assertGreater(self.regular.smb_clv, self.lapsed.smb_clv)
        self.assertTrue(self.regular.smb_next_order_date)
        self.assertEqual(self.contact.smb_churn_band, self.regular.smb_churn_band, "contacts carry their company's")
        newcomer = self.env["res.partner"].create({"name": "Rita's new colleague", "parent_id": self.regular.id})
        self.env["smb.journey.event"].process_pending()  # what the events cron does seconds later
        self.env.invalidate_all()
        self.assertEqual((newcomer.smb_churn_band, newcomer.smb_clv), (self.regular.smb_churn_band, self.regular.smb_clv),
                         "a new contact joins with the company's risk and value")
        self.assertEqual(self.regular.write_date, before, "scores are written without touching write_date")

    def test_young_shop_values_stay_in_proportion_and_orders_are_counted(self):
        """The demo shop as a user found it: a wholesale customer who reorders every few days, a customer seen
        once a month ago, and new customers whose orders were confirmed minutes ago, one of them with two."""
        newcomers = self.env["res.partner"].create([{"name": f"Newcomer {i}"} for i in range(5)])
        for k in range(12):
            self.order(self.regular, 1200, datetime(2026, 1, 26, 10) + timedelta(days=3 * k))
        self.order(self.regular, 1500, "2026-03-02 05:40:00")
        self.order(self.lapsed, 2900, "2026-01-31 10:00:00")
        for partner, amount in zip(newcomers, (120.60, 102.60, 304.20, 121.50, 138.51), strict=True):
            self.order(partner, amount, "2026-03-02 05:50:00")
        self.order(newcomers[2], 224.10, "2026-03-02 05:51:00")  # a second order the same morning
        with freeze_time("2026-03-02 05:52:50"):
            run = self.run_cron()
        self.assertRecordValues(run, [{"state": "done", "customer_count": 7, "model_kind": "statistical"}])
        self.assertIn("too young to read its purchase rate from", run.model_reason, "the admin reads why")
        self.assertIn("The shop is too young to read its purchase rate from", run.model_summary)
        customers = self.regular | self.lapsed | newcomers
        # the largest spend of the shop: the wholesale customer's 15,900 of the last five weeks
        biggest = 12 * 1200 + 1500
        for partner in customers:
            self.assertLessEqual(partner.smb_clv, 3 * biggest * 365 / 35,
                                 "nobody above three times a year at the busiest customer's pace")
        for partner in newcomers:
            self.assertLess(partner.smb_clv, biggest, f"{partner.name}: a new customer is not worth the wholesaler")
            self.assertGreater(partner.smb_churn_score, 0.05, "a customer of this morning is not certain to return")
            self.assertIn("Lowers the risk: Ordered today", partner.smb_churn_explanation)
        self.assertLess(sum(newcomers.mapped("smb_clv")), self.regular.smb_clv)
        self.assertLess(newcomers[1].smb_clv, newcomers[2].smb_clv, "a customer's own orders set their level")
        self.assertIn("Raises the risk: 2 orders so far", newcomers[2].smb_churn_explanation)
        self.assertIn("Raises the risk: 1 order so far", newcomers[0].smb_churn_explanation)
        self.assertNotIn("1 orders", newcomers[0].smb_churn_explanation)
        self.assertIn("Lowers the risk: 13 orders so far", self.regular.smb_churn_explanation)

    def test_trained_model_is_recorded_with_its_holdout_quality(self):
        history = synthetic_history()
        ids = history.customer
        # the synthetic customers are real partners of this company
        partners = self.env["res.partner"].create([{"name": f"Synthetic {i}"} for i in range(600)])
        mapping = dict(zip(range(1, 601), partners.ids, strict=True))
        history = churn_lib.History(np.array([mapping[c] for c in ids]), history.day, history.amount)
        order = np.lexsort((history.day, history.customer))
        history = churn_lib.History(history.customer[order], history.day[order], history.amount[order])
        now_day = 20000
        with patch.object(SmbChurnRun, "_purchase_history", lambda *args: history), \
                freeze_time(date(1970, 1, 1).fromordinal(date(1970, 1, 1).toordinal() + now_day - 1)):
            run = self.env["smb.churn.run"].score_customers(self.company)
        self.assertEqual(run.state, "done", run.message)
        self.assertEqual(run.model_kind, "logistic_regression")
        self.assertGreater(run.holdout_auc, 0.75)
        self.assertTrue(run.top_features)
        self.assertIn("Weights on standardised inputs", run.model_summary, "the admin reads what the model learned")
        self.assertIn("missed_orders:", run.model_summary)
        self.assertEqual(run.horizon_source, "cadence")
        self.assertEqual(set(run.model_params["coef"] and ["coef"]), {"coef"})
        self.assertRegex(run.season_note, r"^Read from 2\d months: \w+ x1\.\d\d, \w+ x0\.\d\d of an average month\.$",
                         "two years of history: the expected orders follow the shop's yearly pattern")
        self.assertRegex(run.model_summary,
                         r"\nYearly pattern \(1 = an average month\): Jan \d\.\d\d, Feb \d\.\d\d, .*, Dec \d\.\d\d\n"
                         r"Weights on standardised inputs \(positive: more risk\), intercept -?\d\.\d+:\n  \w+: ",
                         "the months named, and the line announcing the weights just above them")
        scored = partners.filtered("smb_churn_band")
        self.assertEqual(len(scored), run.customer_count)
        self.assertEqual(run.high_count, len(scored.filtered(lambda p: p.smb_churn_band == "high")))

    def test_a_shop_with_less_than_a_year_of_history_says_it_has_no_yearly_pattern_yet(self):
        history = synthetic_history(days=300)
        partners = self.env["res.partner"].create([{"name": f"Young {i}"} for i in range(600)])
        mapping = dict(zip(range(1, 601), partners.ids, strict=True))
        customers = np.array([mapping[c] for c in history.customer])
        order = np.lexsort((history.day, customers))
        history = churn_lib.History(customers[order], history.day[order], history.amount[order])
        with patch.object(SmbChurnRun, "_purchase_history", lambda *args: history), \
                freeze_time(date(1970, 1, 1).fromordinal(date(1970, 1, 1).toordinal() + 20000 - 1)):
            run = self.env["smb.churn.run"].score_customers(self.company)
        self.assertEqual(run.model_kind, "logistic_regression", run.model_reason)
        self.assertEqual(run.season_note,
                         "Not read yet: 9 full months of history, 13 needed. Every month counts alike.")
        self.assertNotIn("Yearly pattern", run.model_summary)

    def test_the_yearly_pattern_note_counts_full_months_and_says_what_the_statistical_model_follows(self):
        epoch = date(1970, 1, 1)

        def note(days, now):
            history = churn_lib.History(np.array([self.regular.id] * len(days)),
                                        np.array([float((d - epoch).days) for d in days]), np.full(len(days), 50.0))
            with patch.object(SmbChurnRun, "_purchase_history", lambda *args: history), freeze_time(now):
                run = self.env["smb.churn.run"].score_customers(self.company)
            self.assertEqual(run.model_kind, "statistical", "one customer: nothing to train on")
            return run.season_note

        self.assertEqual(note([date(2026, 1, 5), date(2026, 2, 10)], "2026-03-15 03:00:00"),
                         "Not read yet: 1 full month of history, 13 needed. Every month counts alike.")
        # two years of monthly orders: enough to read a pattern from, which the statistical model does not follow
        monthly = [date(2024 + m // 12, m % 12 + 1, 1) for m in range(26)]
        self.assertEqual(note(monthly, "2026-02-20 03:00:00"),
                         "Not followed: the statistical model counts every month alike (24 full months of history).")

    def test_companies_are_scored_apart(self):
        other = self.env["res.company"].create({"name": "Other Shop"})
        self.env.user.company_ids |= other
        self.order(self.lapsed, 80, "2025-03-01 10:00:00")
        with freeze_time("2026-02-20 03:00:00"):
            run = self.env["smb.churn.run"].score_customers(self.company)
            other_run = self.env["smb.churn.run"].score_customers(other)
        self.assertEqual(run.customer_count, 1)
        self.assertEqual(other_run.customer_count, 0)
        self.assertEqual(self.lapsed.smb_churn_band, "high")
        self.assertFalse(self.lapsed.with_company(other).smb_churn_band)

    def test_band_keeps_high_while_the_score_hovers_at_the_threshold(self):
        self.order(self.lapsed, 80, "2025-03-01 10:00:00")
        scores = iter([0.72, 0.65, 0.55])
        original = churn_lib.predict

        def predict(*args, **kwargs):
            ids, churn, orders, value, next_in, why = original(*args, **kwargs)
            return ids, np.full(len(ids), next(scores)), orders, value, next_in, why

        bands = []
        with patch.object(churn_lib, "predict", predict):
            for __ in range(3):
                self.env["smb.churn.run"].score_customers(self.company)
                self.env.invalidate_all()
                bands.append(self.lapsed.smb_churn_band)
        self.assertEqual(bands, ["high", "high", "medium"], "0.65 is within the 0.1 hysteresis of 0.7")

    def test_unchanged_scores_leave_the_rows_untouched(self):
        """A nightly pass rewrites only the customers (and their contacts) whose
        shown values changed: the score at its two displayed digits, the band,
        the value in cents, the next order date, the reasons."""
        self.order(self.regular, 60, "2025-12-01 10:00:00")
        self.order(self.regular, 60, "2026-01-20 10:00:00")
        self.order(self.lapsed, 80, "2025-03-01 10:00:00")
        people = self.regular | self.contact | self.lapsed
        scores = {}
        original = churn_lib.predict

        def predict(*args, **kwargs):
            ids, churn, orders, value, next_in, why = original(*args, **kwargs)
            return ids, np.array([scores[int(i)] for i in ids]), orders, value, next_in, why

        def score(regular, lapsed):
            scores.update({self.regular.id: regular, self.lapsed.id: lapsed})
            with patch.object(churn_lib, "predict", predict), freeze_time("2026-02-20 03:00:00"):
                run = self.env["smb.churn.run"].score_customers(self.company)
            self.env.invalidate_all()
            return run

        def versions():
            # a rewritten row is a new row version: another place in the table, another transaction id
            self.env.cr.execute("SELECT id, ctid::text, xmin::text FROM res_partner WHERE id = ANY(%s)", [people.ids])
            return {row[0]: row[1:] for row in self.env.cr.fetchall()}

        score(0.301, 0.8)
        first = versions()
        self.assertEqual(self.contact.smb_churn_score, self.regular.smb_churn_score)
        score(0.301, 0.8)
        self.assertEqual(versions(), first, "nothing changed: no row is rewritten")
        score(0.304, 0.8)
        self.assertEqual(versions(), first, "0.304 shows as 0.30 like 0.301: no row is rewritten")
        self.assertAlmostEqual(self.regular.smb_churn_score, 0.301, places=4, msg="the stored score is kept")
        run = score(0.312, 0.8)
        after = versions()
        self.assertNotEqual(after[self.regular.id], first[self.regular.id], "0.31 is shown: written")
        self.assertNotEqual(after[self.contact.id], first[self.contact.id], "its contact follows")
        self.assertEqual(after[self.lapsed.id], first[self.lapsed.id], "the lapsed customer did not change")
        self.assertAlmostEqual(self.regular.smb_churn_score, 0.312, places=4)
        self.assertAlmostEqual(self.contact.smb_churn_score, 0.312, places=4)
        self.assertEqual(run.customer_count, 2, "every customer is still scored")
        # a contact out of step with its company (e.g. written by an older version) is brought back alone
        self.env.cr.execute("UPDATE res_partner SET smb_churn_score = smb_churn_score || jsonb_build_object(%s, 0.99)"
                            " WHERE id = %s", [str(self.company.id), self.contact.id])
        before = versions()
        score(0.312, 0.8)
        after = versions()
        self.assertNotEqual(after[self.contact.id], before[self.contact.id])
        self.assertEqual(after[self.regular.id], before[self.regular.id])
        self.assertAlmostEqual(self.contact.smb_churn_score, 0.312, places=4)
        history = self.env["smb.churn.history"].search([("partner_id", "in", people.ids)])
        self.assertEqual(len(history), 2, "one row per customer placed by the first run, none since")

    def test_a_failing_run_is_recorded_and_keeps_the_scores(self):
        self.order(self.lapsed, 80, "2025-03-01 10:00:00")
        self.env["smb.churn.run"].score_customers(self.company)
        band = self.lapsed.smb_churn_band
        with patch.object(churn_lib, "train", side_effect=ValueError("boom")), \
                mute_logger("odoo.addons.smb_journey.models.smb_churn_run"):
            run = self.env["smb.churn.run"].score_customers(self.company)
        self.assertRecordValues(run, [{"state": "failed", "message": "boom"}])
        self.env.invalidate_all()
        self.assertEqual(self.lapsed.smb_churn_band, band)


@tagged("post_install", "-at_install")
class TestChurnJourneys(TransactionCase):
    """The 'churn risk rose' trigger, the activity step and the shipped win-back journey."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.company.email = "shop@example.com"
        cls.seller = cls.env["res.users"].create({
            "name": "Sally Seller", "login": "sally_churn", "email": "sally@example.com",
            "group_ids": [Command.link(cls.env.ref("sales_team.group_sale_salesman").id)],
        })
        cls.product = cls.env["product.product"].create({"name": "Vinyl", "type": "consu", "taxes_id": [Command.clear()]})
        cls.valuable, cls.small = cls.env["res.partner"].create([
            {"name": "Valuable Vera", "email": "vera@example.com", "user_id": cls.seller.id},
            {"name": "Small Sam", "email": "sam@example.com"},
        ])
        for partner in (cls.valuable, cls.small):
            with freeze_time("2025-06-01 10:00:00"):
                order = cls.env["sale.order"].create({
                    "partner_id": partner.id,
                    "order_line": [Command.create({"product_id": cls.product.id, "price_unit": 90,
                                                   "tax_ids": [Command.clear()]})],
                })
                order.action_confirm()

    def score(self, scores, values=None):
        """A scoring run whose model answers ``scores`` (and predicted values) per customer."""
        original = churn_lib.predict

        def predict(*args, **kwargs):
            ids, churn, orders, value, next_in, why = original(*args, **kwargs)
            churn = np.array([scores.get(int(i), 0.1) for i in ids])
            if values:
                value = np.array([values.get(int(i), 0.0) for i in ids])
            return ids, churn, orders, value, next_in, why

        with patch.object(churn_lib, "predict", predict):
            run = self.env["smb.churn.run"].score_customers(self.company)
        self.env.invalidate_all()
        return run

    def journey(self, **vals):
        journey = self.env["smb.journey"].create(dict({
            "name": "At risk", "trigger": "churn_risk", "churn_band": "high", "reentry": "always",
            "step_ids": [Command.create({"name": "Miss you", "step_type": "email", "subject": "We miss you",
                                         "body_html": "<p>Come back</p>"})],
        }, **vals))
        journey.action_start()
        return journey

    def test_trigger_fires_once_when_the_risk_rises_not_every_night(self):
        journey = self.journey()
        self.score({})  # first run: everyone placed (low), quietly
        self.score({self.valuable.id: 0.75})
        self.assertEqual(journey.enrollment_ids.partner_id, self.valuable)
        self.assertEqual(journey.enrollment_ids.res_model, "smb.churn.history")
        self.score({self.valuable.id: 0.74})  # still high: no new entry
        self.score({self.valuable.id: 0.66})  # within the hysteresis: still high
        self.assertEqual(len(journey.enrollment_ids), 1)
        self.score({self.valuable.id: 0.5})  # down to medium
        self.score({self.valuable.id: 0.8})  # rises again: a new entry
        self.assertEqual(len(journey.enrollment_ids), 2)
        history = self.env["smb.churn.history"].search([("partner_id", "=", self.valuable.id)], order="id")
        self.assertEqual(history.mapped("to_band"), ["low", "high", "medium", "high"])

    def test_first_run_is_quiet(self):
        journey = self.journey()
        self.score({self.valuable.id: 0.9})
        self.assertEqual(self.valuable.smb_churn_band, "high")
        self.assertFalse(journey.enrollment_ids, "placing existing customers at go-live starts no journey")

    def test_medium_band_journey_takes_rises_into_medium_or_high(self):
        journey = self.journey(churn_band="medium")
        self.score({})
        self.score({self.valuable.id: 0.9, self.small.id: 0.5})
        self.assertEqual(journey.enrollment_ids.partner_id, self.valuable | self.small)

    def test_shipped_win_back_calls_valuable_customers_and_emails_everyone(self):
        journey = self.env.ref("smb_journey.journey_win_back")
        journey.action_start()
        self.score({})
        self.score({self.valuable.id: 0.9, self.small.id: 0.9}, values={self.valuable.id: 1200.0, self.small.id: 80.0})
        self.assertEqual(journey.enrollment_ids.partner_id, self.valuable | self.small)
        self.env["smb.journey.enrollment"].run_engine()
        activities = self.env["mail.activity"].search([
            ("res_model", "=", "res.partner"), ("res_id", "in", (self.valuable | self.small).ids)])
        self.assertEqual(activities.res_id, self.valuable.id, "only the valuable customer gets a call")
        self.assertEqual(activities.user_id, self.seller, "assigned to her salesperson")
        email = journey.step_ids.filtered(lambda s: s.name == "We miss you")
        mails = self.env["mail.mail"].search([("mailing_id", "=", email.mailing_id.id)])
        self.assertEqual(len(mails), 2)
        self.assertEqual(set(mails.mapped("subject")), {"We miss you, Valuable", "We miss you, Small"})

    def test_activity_without_salesperson_goes_to_the_journey_responsible(self):
        manager = self.env.ref("base.user_admin")
        journey = self.journey(user_id=manager.id, step_ids=[Command.create({
            "name": "Call", "step_type": "activity", "activity_summary": "Call them", "activity_days": 3})])
        self.score({})
        with freeze_time("2026-03-02 09:00:00"):
            self.score({self.small.id: 0.9})
            self.env["smb.journey.enrollment"].run_engine()
        activity = self.env["mail.activity"].search([("res_model", "=", "res.partner"), ("res_id", "=", self.small.id)])
        self.assertRecordValues(activity, [{"user_id": manager.id, "summary": "Call them",
                                            "date_deadline": date(2026, 3, 5)}])
        self.assertEqual(journey.enrollment_ids.log_ids.filtered(lambda l: l.outcome == "done").reason, "activity")

    def test_signals_count_the_customers_opens_not_a_mail_scanners(self):
        step = self.journey().step_ids
        self.assertTrue(step.mailing_id)
        sent = datetime(2026, 2, 1, 9, 0)

        def trace(partner, **vals):
            return self.env["mailing.trace"].create(dict({
                "model": "res.partner", "res_id": partner.id, "mass_mailing_id": step.mailing_id.id,
                "trace_type": "mail", "email": partner.email, "trace_status": "open", "sent_datetime": sent,
                "open_datetime": sent + timedelta(hours=1)}, **vals))

        trace(self.valuable)  # read
        trace(self.valuable, links_click_datetime=sent + timedelta(hours=1))  # read and clicked
        trace(self.small, smb_machine_open=True, open_datetime=sent)  # a scanner's open at delivery
        now = datetime(2026, 2, 10)
        signals = self.env["smb.churn.run"]._signals(self.company, now)((date(2026, 2, 10) - date(1970, 1, 1)).days)
        self.assertEqual(signals["opens_90d"], {self.valuable.id: 2})
        self.assertEqual(signals["clicks_90d"], {self.valuable.id: 1})
