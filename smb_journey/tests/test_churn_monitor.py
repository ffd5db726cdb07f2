import base64
from datetime import date, datetime, timedelta
from unittest.mock import patch

import numpy as np

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, TransactionCase, freeze_time, new_test_user, tagged

from odoo.addons.smb_journey.lib import backtest as backtest_lib
from odoo.addons.smb_journey.lib import churn as churn_lib
from odoo.addons.smb_journey.models.smb_churn_run import SmbChurnRun
from odoo.addons.smb_journey.tests.test_churn import synthetic_history

T0 = datetime(2026, 1, 1, 3, 0)  # the first run; the horizon is 30 days
HORIZON = 30


@tagged("post_install", "-at_install")
class TestChurnMonitor(TransactionCase):
    """A run checks the predictions of the run a horizon ago against what
    the customers then ordered. The predictions are set by hand (the model's
    own numbers are tested in test_churn.py) so that the check can be
    computed by hand."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env["res.company"].create({
            "name": "Monitor Shop", "currency_id": cls.env.ref("base.USD").id, "smb_churn_horizon_days": HORIZON})
        cls.other = cls.env["res.company"].create({"name": "Other Monitor Shop"})
        cls.env.user.company_ids |= cls.company | cls.other
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, allowed_company_ids=[cls.company.id]))
        cls.product = cls.env["product.product"].create({"name": "Tea", "type": "consu", "taxes_id": [Command.clear()]})
        cls.anna, cls.bob, cls.cleo, cls.dan, cls.eve = cls.env["res.partner"].create([
            {"name": name, "email": f"{name.lower()}@example.com"} for name in ("Anna", "Bob", "Cleo", "Dan", "Eve")])
        for partner in cls.anna | cls.bob | cls.cleo | cls.dan:
            cls.order(partner, 20, "2025-11-15 10:00:00")
        # what the first run predicts: P(no order in 30 days) and the value of a year
        cls.predictions = {cls.anna.id: (0.2, 365.0), cls.bob.id: (0.4, 730.0), cls.cleo.id: (0.6, 365.0),
                           cls.dan.id: (0.8, 0.0)}

    @classmethod
    def order(cls, partner, amount, when, company=None):
        company = company or cls.company
        with freeze_time(when):
            order = cls.env["sale.order"].with_company(company).create({
                "partner_id": partner.id, "company_id": company.id,
                "order_line": [Command.create({"product_id": cls.product.id, "price_unit": amount,
                                               "tax_ids": [Command.clear()]})],
            })
            order.action_confirm()
        return order

    def score(self, when, company=None):
        original = churn_lib.predict

        def predict(*args, **kwargs):
            ids, churn, orders, value, next_in, why = original(*args, **kwargs)
            known = [self.predictions.get(int(i), (0.5, 100.0)) for i in ids]
            return ids, np.array([k[0] for k in known]), orders, np.array([k[1] for k in known]), next_in, why

        with patch.object(churn_lib, "predict", predict), freeze_time(when):
            run = self.env["smb.churn.run"].score_customers(company or self.company)
        self.env.invalidate_all()
        return run

    def window_orders(self):
        """Anna and Cleo order within the first run's horizon; Bob and Dan do not (Bob buys from the
        other company, and after the window); Eve, new, is not judged."""
        self.order(self.anna, 50, "2026-01-10 10:00:00")
        self.order(self.cleo, 40, "2026-01-20 10:00:00")
        self.order(self.eve, 500, "2026-01-15 10:00:00")
        self.order(self.bob, 999, "2026-01-12 10:00:00", company=self.other)
        self.order(self.bob, 70, "2026-01-31 04:00:00")  # the horizon ended at 03:00

    def test_a_run_a_horizon_later_checks_the_predictions(self):
        first = self.score(T0)
        self.assertTrue(first.has_snapshot)
        self.assertFalse(first.backtest_run_id)
        self.assertIn("No run a horizon ago yet", first.backtest_note)
        ids, churn, revenue = backtest_lib.unpack(base64.b64decode(first.snapshot))
        self.assertEqual(ids.tolist(), sorted(self.predictions))
        np.testing.assert_allclose(revenue, [30.0, 60.0, 30.0, 0.0], rtol=1e-6,
                                   err_msg="a year's value prorated to the 30-day horizon")
        self.window_orders()
        # ten days later the horizon has not passed: nothing to check yet
        early = self.score(T0 + timedelta(days=10))
        self.assertFalse(early.backtest_run_id)
        self.assertIn("No run a horizon ago yet", early.backtest_note)
        second = self.score(T0 + timedelta(days=HORIZON))
        self.assertEqual(second.backtest_run_id, first, "the run of a horizon ago, not the one of ten days ago")
        # no order: Bob (0.4) and Dan (0.8); ordered: Anna (0.2), Cleo (0.6). Pairs ranked right: Bob>Anna,
        # Dan>Anna, Dan>Cleo, not Bob>Cleo: 3/4. One customer per bin: (0.2 + 0.6 + 0.6 + 0.2) / 4.
        # Revenue predicted 30 + 60 + 30 + 0 = 120, ordered 50 + 40 = 90: +33.3 %. Ranks predicted
        # (2.5, 4, 2.5, 1), ordered (4, 1.5, 3, 1.5): centred (0, 1.5, 0, -1.5) . (1.5, -1, 0.5, -1) = 0
        self.assertRecordValues(second, [{
            "backtest_customers": 4, "backtest_auc": 0.75, "backtest_ece": 0.4, "backtest_churn_rate": 0.5,
            "backtest_predicted_churn": 0.5, "backtest_predicted_revenue": 120.0, "backtest_actual_revenue": 90.0,
            "backtest_revenue_error": 33.3, "backtest_spearman": 0.0, "backtest_date_to": T0 + timedelta(days=30),
        }])
        self.assertEqual(second.backtest_metrics["reliability"],
                         [[0.2, 0.0, 1], [0.4, 1.0, 1], [0.6, 0.0, 1], [0.8, 1.0, 1]])
        self.assertFalse(second.warning, "four customers are too few to warn about")
        chart = second.reliability_chart["series"]
        self.assertEqual([s["key"] for s in chart], ["backtest"], "the statistical model has no validation")
        self.assertEqual(chart[0]["bins"], second.backtest_metrics["reliability"])
        # 25 days after the first run's horizon: the run of ten days later is the latest whose horizon passed
        late = self.score(T0 + timedelta(days=HORIZON + 25))
        self.assertEqual(late.backtest_run_id, early)
        # without it, the first run's horizon ended more than the tolerance (21 days) ago: too old to be checked
        early.unlink()
        later = self.score(T0 + timedelta(days=HORIZON + 26))
        self.assertFalse(later.backtest_run_id)
        self.assertIn("No run a horizon ago yet", later.backtest_note)

    def test_a_companys_check_reads_only_its_orders(self):
        self.score(T0)
        self.window_orders()
        self.order(self.dan, 300, "2026-01-05 10:00:00", company=self.other)
        second = self.score(T0 + timedelta(days=HORIZON))
        self.assertRecordValues(second, [{"backtest_actual_revenue": 90.0, "backtest_churn_rate": 0.5}])
        other_run = self.score(T0 + timedelta(days=HORIZON), company=self.other)
        self.assertFalse(other_run.backtest_run_id, "the other company has no run a horizon ago")

    def test_a_degraded_check_warns_the_administrator_once(self):
        responsible = new_test_user(self.env, "churn_responsible", groups="smb_journey.group_journey_manager",
                                    company_ids=[Command.set((self.company | self.env.company).ids)],
                                    company_id=self.company.id)
        self.company.smb_journey_user_id = responsible
        first = self.score(T0)
        self.window_orders()
        # five earlier nights whose checks went well
        good = {"customers": 4, "auc": 0.9, "ece": 0.02, "revenue_error": -3.0}
        self.env["smb.churn.run"].create([{
            "company_id": self.company.id, "state": "done", "date": T0 + timedelta(days=HORIZON - k),
            "backtest_run_id": first.id, "backtest_metrics": good,
        } for k in range(1, 6)])
        activities = self.env["mail.activity"].search([("res_model", "=", "smb.churn.run")])
        with patch.object(backtest_lib, "MIN_CUSTOMERS", 4):
            second = self.score(T0 + timedelta(days=HORIZON))
            third = self.score(T0 + timedelta(days=HORIZON, hours=24))
        self.assertEqual(second.warning_metrics, "auc,ece,revenue")
        self.assertIn("AUC 0.75 against 0.90 usually", second.warning)
        self.assertIn("40 points off on average (more than 10)", second.warning)
        self.assertIn("the prediction was 33 % above what the customers ordered (more than 25 % off either way)",
                      second.warning)
        new = self.env["mail.activity"].search([("res_model", "=", "smb.churn.run")]) - activities
        self.assertRecordValues(new, [{"res_id": second.id, "user_id": responsible.id,
                                       "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id}])
        self.assertEqual(third.backtest_run_id, first, "the next night checks the same run again")
        self.assertTrue(third.warning, "still worse than usual")
        self.assertFalse(third.activity_ids, "the administrator was told the night before")
        # the responsible (a Journey Manager: runs are read-only) notes what they found and marks it done
        new.with_user(responsible).action_feedback(feedback="A wholesale customer left: expected.")
        self.assertFalse(second.activity_ids)
        self.assertIn("wholesale customer", second.message_ids[:1].body)

    def test_snapshots_no_run_needs_are_dropped(self):
        first = self.score(T0)
        later = self.score(T0 + timedelta(days=40))
        attachment = self.env["ir.attachment"].search([
            ("res_model", "=", "smb.churn.run"), ("res_field", "=", "snapshot"), ("res_id", "=", first.id)])
        self.assertEqual(len(attachment), 1, "kept as one attachment")
        with freeze_time(T0 + timedelta(days=HORIZON + 22)), self.enter_registry_test_mode():
            self.env.ref("smb_journey.ir_cron_churn_score").method_direct_trigger()
        self.env.invalidate_all()
        self.assertFalse(first.has_snapshot or first.snapshot, "past its horizon and the tolerance: dropped")
        self.assertFalse(attachment.exists())
        self.assertTrue(later.has_snapshot and later.snapshot, "still to be checked")

    def test_a_trained_model_keeps_its_validations_reliability_bins(self):
        history = synthetic_history()
        partners = self.env["res.partner"].create([{"name": f"Synthetic {i}"} for i in range(600)])
        customer = np.asarray(partners.ids)[history.customer - 1]
        order = np.lexsort((history.day, customer))
        history = churn_lib.History(customer[order], history.day[order], history.amount[order])
        with patch.object(SmbChurnRun, "_purchase_history", lambda *args: history), \
                freeze_time(date(1970, 1, 1) + timedelta(days=20000 - 1)):
            run = self.env["smb.churn.run"].score_customers(self.company)
        self.assertEqual(run.model_kind, "logistic_regression")
        bins = run.model_params["metrics"]["reliability"]
        self.assertEqual(sum(b[2] for b in bins), run.holdout_rows, "every holdout customer is in a bin")
        self.assertAlmostEqual(run.holdout_ece, sum(abs(b[0] - b[1]) * b[2] for b in bins) / run.holdout_rows,
                               places=3)
        self.assertEqual([(s["key"], s["bins"]) for s in run.reliability_chart["series"]], [("holdout", bins)])

    def test_journey_users_read_runs_and_portal_users_nothing(self):
        self.score(T0)
        self.window_orders()
        run = self.score(T0 + timedelta(days=HORIZON))
        user = new_test_user(self.env, "churn_reader", groups="smb_journey.group_journey_user",
                             company_ids=[Command.set((self.company | self.env.company).ids)],
                             company_id=self.company.id)
        as_user = run.with_user(user)
        self.assertEqual(as_user.backtest_auc, 0.75)
        self.assertTrue(as_user.reliability_chart)
        with self.assertRaises(AccessError):
            as_user.read(["snapshot"])
        portal = new_test_user(self.env, "churn_portal", groups="base.group_portal")
        with self.assertRaises(AccessError):
            run.with_user(portal).read(["backtest_auc"])
        attachment = self.env["ir.attachment"].search([("res_model", "=", "smb.churn.run"), ("res_field", "=", "snapshot")])
        self.assertTrue(attachment)
        with self.assertRaises(AccessError):
            attachment.with_user(portal).read(["datas"])
        with self.assertRaises(AccessError):
            attachment.with_user(user).read(["datas"])
        # runs are read-only, their chatter is not: a Journey User notes what they saw and plans a To-Do
        as_user.message_post(body="Fewer orders since the price change", message_type="comment",
                             subtype_xmlid="mail.mt_note")
        as_user.activity_schedule("mail.mail_activity_data_todo", summary="Check the horizon", user_id=user.id)
        self.assertEqual(run.activity_ids.summary, "Check the horizon")
        self.assertIn("price change", run.message_ids[:1].body)


@tagged("post_install", "-at_install")
class TestChurnMonitorUi(HttpCase):

    def test_run_shows_its_reliability_diagram_and_the_check(self):
        company = self.env.ref("base.main_company")
        Run = self.env["smb.churn.run"]
        past = Run.create({"company_id": company.id, "state": "done", "date": datetime(2026, 1, 1, 3), "horizon_days": 30})
        bins = [[0.05, 0.04, 120], [0.25, 0.3, 60], [0.55, 0.5, 30], [0.85, 0.9, 90]]
        run = Run.create({
            "company_id": company.id, "state": "done", "date": datetime(2026, 1, 31, 3), "horizon_days": 30,
            "customer_count": 300, "model_kind": "logistic_regression",
            "model_params": {"kind": "logistic_regression", "metrics": {"ece": 0.03, "holdout_rows": 300,
                                                                        "reliability": bins}},
            "backtest_run_id": past.id, "backtest_customers": 300, "backtest_auc": 0.81, "backtest_ece": 0.12,
            "backtest_churn_rate": 0.4, "backtest_actual_revenue": 1000.0, "backtest_revenue_error": -12.5,
            "backtest_metrics": {"customers": 300, "ece": 0.12, "reliability": bins[:3]},
            "warning": "The predictions of 1 January turned out worse than usual",
        })
        # the night before: every customer checked had ordered, nothing to rank: no AUC, not a 0.000
        Run.create({
            "company_id": company.id, "state": "done", "date": datetime(2026, 1, 30, 3), "horizon_days": 30,
            "backtest_run_id": past.id, "backtest_customers": 3, "backtest_churn_rate": 0.0,
            "backtest_actual_revenue": 90.0, "backtest_revenue_error": 4.0,
            "backtest_note": "AUC not measurable: every customer checked ordered, or none did.",
        })
        self.start_tour(f"/odoo/action-smb_journey.smb_churn_run_action_trend/{run.id}",
                        "smb_journey_churn_monitor_tour", login="admin")
