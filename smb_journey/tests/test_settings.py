from unittest.mock import patch

import numpy as np

from odoo import Command
from odoo.tests import Form, HttpCase, freeze_time, tagged

from odoo.addons.smb_journey.lib import churn as churn_lib

from .common import JourneyCase


@tagged("post_install", "-at_install")
class TestSettings(JourneyCase):
    """Settings > Journeys: every value is the current company's, and each one
    changes what the engine, the scoring or a new journey does."""

    def save_settings(self, **vals):
        self.env["res.config.settings"].create(vals).execute()
        self.env.invalidate_all()

    def read_settings(self):
        return self.env["res.config.settings"].create({})

    def test_each_value_round_trips_through_the_company(self):
        values = {
            "smb_quiet_hours": True, "smb_quiet_start": 22.5, "smb_quiet_end": 7.0, "smb_frequency_cap": True,
            "smb_journey_email_from": '"Cup Shop" <news@cupshop.example.com>',
            "smb_attribution_model": "linear", "smb_default_conversion_window_days": 9,
            "smb_churn_horizon_days": 120, "smb_churn_medium_threshold": 0.3, "smb_churn_high_threshold": 0.55,
            "smb_churn_hysteresis": 0.05, "smb_tier_period_months": 6, "smb_tier_grace_days": 10,
            "smb_default_respect_quiet_hours": False, "smb_default_goal_order": True,
            "smb_default_holdout_percent": 10, "smb_default_cap_policy": "skip",
            "smb_default_consent_required": True,
        }
        self.save_settings(**values)
        for fname, value in values.items():
            self.assertEqual(self.company[fname], value, fname)
        settings = self.read_settings()
        for fname, value in values.items():
            self.assertEqual(settings[fname], value, fname)

    def test_values_are_per_company(self):
        other = self.env["res.company"].create({"name": "Other Shop"})
        self.env.user.company_ids |= other
        self.env["res.config.settings"].with_company(other).create({"smb_churn_high_threshold": 0.9}).execute()
        self.assertEqual(other.smb_churn_high_threshold, 0.9)
        self.assertEqual(self.company.smb_churn_high_threshold, 0.7, "the other company keeps its bands")

    def test_churn_bands_in_percent_are_the_fractions_the_scoring_compares(self):
        """The form shows 30 % and 55 %; the company stores 0.3 and 0.55, and a
        score of 0.6 is then high risk (it is medium with the default 70 %)."""
        self.save_settings(smb_churn_medium_threshold=0.3, smb_churn_high_threshold=0.55)
        product = self.env["product.product"].create({"name": "Record", "type": "consu", "taxes_id": [Command.clear()]})
        with freeze_time("2025-03-01 10:00:00"):
            self.env["sale.order"].create({
                "partner_id": self.customer.id,
                "order_line": [Command.create(
                    {"product_id": product.id, "price_unit": 50, "tax_ids": [Command.clear()]})],
            }).action_confirm()
        original = churn_lib.predict

        def predict(*args, **kwargs):
            ids, __, orders, value, next_in, why = original(*args, **kwargs)
            return ids, np.full(len(ids), 0.6), orders, value, next_in, why

        with patch.object(churn_lib, "predict", predict):
            self.env["smb.churn.run"].score_customers(self.company)
        self.env.invalidate_all()
        self.assertEqual(self.customer.smb_churn_band, "high")

    def test_risk_bands_out_of_order_are_refused(self):
        with self.assertRefused("high risk above medium risk"):
            self.save_settings(smb_churn_medium_threshold=0.8, smb_churn_high_threshold=0.7)
        with self.assertRefused("at most at 100 %"):
            self.save_settings(smb_churn_high_threshold=7.0)
        with self.assertRefused("hysteresis"):
            self.save_settings(smb_churn_hysteresis=0.5)
        with self.assertRefused("0 to 50 %"):
            self.save_settings(smb_default_holdout_percent=60)
        with self.assertRefused("one address"):
            self.save_settings(smb_journey_email_from="not an address")

    def test_defaults_apply_to_new_journeys(self):
        self.save_settings(
            smb_default_respect_quiet_hours=False, smb_default_goal_order=True, smb_default_holdout_percent=10,
            smb_default_cap_policy="skip", smb_default_consent_required=True, smb_default_conversion_window_days=9)
        with freeze_time("2026-02-02 10:00:00"):
            form = Form(self.env["smb.journey"])
            form.name = "From the form"
            journey = form.save()
        self.assertRecordValues(journey, [{
            "respect_quiet_hours": False, "goal": "order_confirmed", "holdout_percent": 10,
            "cap_policy": "skip", "consent_required": True, "conversion_window_days": 9, "state": "draft",
        }])
        self.assertEqual(str(journey.holdout_since), "2026-02-02 10:00:00", "the holdout report counts from then")
        scripted = self.env["smb.journey"].create({"name": "From a script", "trigger": "manual"})
        self.assertEqual((scripted.goal, scripted.holdout_percent), ("order_confirmed", 10))
        # what the caller says wins: a context default, a value given
        given = self.env["smb.journey"].with_context(default_holdout_percent=0).create(
            {"name": "Given", "goal": "none"})
        self.assertEqual((given.goal, given.holdout_percent), ("none", 0))
        self.assertFalse(given.holdout_since)
        # journeys that exist keep their own settings
        self.assertEqual((self.journey.goal, self.journey.holdout_percent, self.journey.respect_quiet_hours),
                         ("none", 0, True))

    def test_default_sender_is_used_by_steps_without_their_own(self):
        self.save_settings(smb_journey_email_from='"Cup Shop" <news@cupshop.example.com>')
        self.step_again.email_from = "owner@cupshop.example.com"
        self.journey.action_start()
        self.journey.enroll(self.customer)
        self.env["smb.journey.enrollment"].run_engine()
        self.assertEqual(self.mails(self.step_hello).email_from, '"Cup Shop" <news@cupshop.example.com>')
        self.assertEqual(self.step_hello.mailing_id.email_from, '"Cup Shop" <news@cupshop.example.com>')
        self.assertEqual(self.step_again._email_from(), "owner@cupshop.example.com", "a step's own sender wins")
        self.save_settings(smb_journey_email_from=False)
        self.assertEqual(self.step_hello._email_from(), self.company.email_formatted)

    def test_quiet_hours_set_in_settings_hold_the_emails(self):
        self.save_settings(smb_quiet_hours=True, smb_quiet_start=21.0, smb_quiet_end=8.0)
        self.customer.tz = "UTC"
        self.journey.action_start()
        with freeze_time("2026-02-02 23:00:00"):
            self.journey.enroll(self.customer)
            self.env["smb.journey.enrollment"].run_engine()
        self.assertFalse(self.mails(self.step_hello), "23:00 for the customer: the email waits")
        enrollment = self.journey.enrollment_ids
        self.assertEqual((str(enrollment.due_at), enrollment.hold_reason), ("2026-02-03 08:00:00", "quiet_hours"))

    def test_new_tiers_start_from_the_tier_options(self):
        self.save_settings(smb_tier_period_months=6, smb_tier_grace_days=10)
        tier = self.env["smb.loyalty.tier"].create({"name": "Platinum", "min_spend": 5000})
        self.assertEqual((tier.period_months, tier.grace_days), (6, 10))
        settings = self.read_settings()
        self.assertEqual(settings.smb_tier_count, self.env["smb.loyalty.tier"].search_count(
            [("company_id", "=", self.company.id)]))
        action = settings.action_smb_recompute_tiers()
        self.assertEqual(action["tag"], "display_notification")
        self.assertTrue(self.company.smb_tiers_computed_at)

    def test_frequency_rules_are_summarised(self):
        self.assertIn("1 per 16 h", self.read_settings().smb_frequency_rules)

    def test_settings_menu_opens_the_journeys_section(self):
        menu = self.env.ref("smb_journey.smb_journey_settings_menu")
        self.assertEqual(menu.action, self.env.ref("smb_journey.smb_journey_settings_action"))
        self.assertIn("'module': 'smb_journey'", menu.action.context)


@tagged("post_install", "-at_install")
class TestSettingsUi(HttpCase):

    def test_admin_changes_journey_settings(self):
        company = self.env.ref("base.main_company")
        company.write({"smb_churn_medium_threshold": 0.4, "smb_default_goal_order": False})
        self.start_tour("/odoo/action-smb_journey.smb_journey_action", "smb_journey_settings_tour", login="admin")
        self.assertEqual(company.smb_churn_medium_threshold, 0.3, "30 % typed, 0.3 stored")
        self.assertTrue(company.smb_default_goal_order)
        journey = self.env["smb.journey"].create({"name": "After the tour"})
        self.assertEqual(journey.goal, "order_confirmed")
