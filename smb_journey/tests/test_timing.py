from datetime import datetime, timedelta
from unittest.mock import patch

from odoo.tests import Form, HttpCase, freeze_time, tagged

from odoo.addons.smb_journey.lib import send_time

from .common import JourneyCase

# Monday 2 March 2026, 22:00 UTC: 23:00 in Brussels (CET, UTC+1)
NIGHT = datetime(2026, 3, 2, 22, 0)
# the next morning at 08:00 in Brussels
MORNING = datetime(2026, 3, 3, 7, 0)
# Monday 2 March 2026, 09:00 UTC: 10:00 in Brussels
T0 = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
class TestTiming(JourneyCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.partner_id.tz = "Europe/Brussels"
        cls.customer.tz = "Europe/Brussels"
        cls.company.write({"smb_quiet_hours": False, "smb_frequency_cap": False,
                           "smb_quiet_start": 21.0, "smb_quiet_end": 8.0})
        # the shipped rules: 1 within 16 hours, 3 within 7 days
        cls.rules = cls.env["smb.journey.frequency.rule"].search([])
        cls.newsletter = cls.env["mailing.mailing"].create({
            "subject": "Newsletter", "body_html": "<p>News</p>",
            "mailing_model_id": cls.env["ir.model"]._get_id("res.partner")})

    def make_journey(self, name, steps=None, **vals):
        steps = steps or [{"name": f"{name} email", "step_type": "email", "subject": f"{name}",
                           "body_html": "<p>Hello</p>"}]
        journey = self.env["smb.journey"].create(dict({
            "name": name, "trigger": "manual", "reentry": "always", "volume_limit": 0,
            "step_ids": [(0, 0, dict(step, sequence=i)) for i, step in enumerate(steps, 1)],
        }, **vals))
        journey.action_start()
        return journey

    def sent(self, journey, partner=None):
        partner = partner or self.customer
        return self.env["mail.mail"].search_count(
            [("mailing_id", "in", journey.step_ids.mailing_id.ids), ("res_id", "=", partner.id)])

    # ------------------------------------------------------------
    # settings and forms
    # ------------------------------------------------------------

    def test_settings_and_forms(self):
        self.env["res.config.settings"].create({
            "smb_quiet_hours": True, "smb_quiet_start": 22.0, "smb_quiet_end": 7.5, "smb_frequency_cap": True,
        }).execute()
        self.assertEqual(
            (self.company.smb_quiet_hours, self.company.smb_quiet_start, self.company.smb_quiet_end,
             self.company.smb_frequency_cap), (True, 22.0, 7.5, True))
        with self.assertRefused("Quiet hours"):
            self.company.smb_quiet_end = 24.0
        with self.assertRefused("at least one message"):
            self.rules[0].max_messages = 0
        with Form(self.journey) as form:
            form.respect_quiet_hours = False
            form.priority = "2"
            form.cap_policy = "skip"
        self.assertEqual((self.journey.respect_quiet_hours, self.journey.priority, self.journey.cap_policy),
                         (False, "2", "skip"))
        with Form(self.step_wait) as form:
            form.wait_mode = "best_time"
        self.assertEqual(self.step_wait.diagram_info["summary"], "Until the customer's best time")
        with Form(self.step_hello) as form:
            form.ignore_quiet_hours = True
        self.assertIn("fa-moon-o", [icon for icon, __ in self.step_hello.diagram_info["badges"]])

    # ------------------------------------------------------------
    # quiet hours
    # ------------------------------------------------------------

    def test_email_due_at_night_waits_for_the_morning_and_goes_then(self):
        self.company.smb_quiet_hours = True
        with freeze_time(NIGHT):
            journey = self.make_journey("Welcome")
            enrollment = journey.enroll(self.customer)
            self.run_engine()
            self.assertEqual(self.sent(journey), 0, "23:00 where the customer lives: not now")
            self.assertEqual(enrollment.state, "running")
            self.assertEqual(enrollment.step_id, journey.step_ids)
            self.assertEqual(enrollment.due_at, MORNING, "08:00 in Brussels")
            self.assertEqual(enrollment.hold_reason, "quiet_hours")
            self.assertFalse(enrollment.log_ids, "postponed, not done: nothing logged")
        with freeze_time(MORNING - timedelta(minutes=1)):
            self.run_engine()
            self.assertEqual(self.sent(journey), 0)
        with freeze_time(MORNING):
            self.run_engine()
            self.assertEqual(self.sent(journey), 1, "sent at 08:00, not dropped")
            self.assertEqual(enrollment.state, "completed")
            self.assertEqual(enrollment.log_ids.mapped("outcome"), ["sent"])
            self.assertFalse(enrollment.hold_reason)

    def test_quiet_hours_follow_the_customer_timezone(self):
        """23:00 in Brussels is 17:00 in New York: the New Yorker gets it now."""
        self.company.smb_quiet_hours = True
        new_yorker = self.env["res.partner"].create({
            "name": "Nora York", "email": "nora@example.com", "tz": "America/New_York"})
        no_tz = self.env["res.partner"].create({"name": "Zed", "email": "zed@example.com"})
        with freeze_time(NIGHT):
            journey = self.make_journey("Welcome")
            journey.enroll(self.customer | new_yorker | no_tz)
            self.run_engine()
            self.assertEqual(self.sent(journey, new_yorker), 1)
            self.assertEqual(self.sent(journey), 0)
            self.assertEqual(self.sent(journey, no_tz), 0, "no timezone: the company's (Brussels)")

    def test_transactional_journeys_and_steps_ignore_quiet_hours(self):
        self.company.smb_quiet_hours = True
        with freeze_time(NIGHT):
            follow_up = self.make_journey("Order follow-up", respect_quiet_hours=False, marketing=False)
            cart = self.make_journey("Cart", steps=[
                {"name": "First reminder", "step_type": "email", "subject": "Your cart", "body_html": "<p>Cart</p>",
                 "ignore_quiet_hours": True},
                {"name": "Wait", "step_type": "wait", "wait_amount": 1, "wait_unit": "hours"},
                {"name": "Second reminder", "step_type": "email", "subject": "Still", "body_html": "<p>Cart</p>"},
            ])
            follow_up.enroll(self.customer)
            enrollment = cart.enroll(self.customer)
            self.run_engine()
            self.assertEqual(self.sent(follow_up), 1, "the journey opts out")
            self.assertEqual(self.sent(cart), 1, "the first reminder opts out")
        with freeze_time(NIGHT + timedelta(hours=1)):
            self.run_engine()
            self.assertEqual(self.sent(cart), 1, "the second reminder keeps the quiet hours")
            self.assertEqual((enrollment.due_at, enrollment.hold_reason), (MORNING, "quiet_hours"))

    def test_quiet_hours_off_by_default(self):
        self.assertFalse(self.env["res.company"].new({"name": "New shop"}).smb_quiet_hours)
        with freeze_time(NIGHT):
            journey = self.make_journey("Welcome")
            journey.enroll(self.customer)
            self.run_engine()
            self.assertEqual(self.sent(journey), 1)

    # ------------------------------------------------------------
    # frequency cap
    # ------------------------------------------------------------

    def test_shipped_rules(self):
        self.assertEqual(sorted((r.max_messages, r.window_hours) for r in self.rules), [(1, 16), (3, 168)])
        self.assertEqual(sorted(self.rules.mapped("name")), ["1 per 16 h", "3 per 7 days"])
        # the shipped journeys: the first cart reminder and the order's thank-you go even at night
        ref = self.env.ref
        self.assertTrue(ref("smb_journey.journey_abandoned_cart_step_email_1").ignore_quiet_hours)
        self.assertFalse(ref("smb_journey.journey_abandoned_cart_step_email_2").ignore_quiet_hours)
        self.assertTrue(ref("smb_journey.journey_post_purchase_step_email_1").ignore_quiet_hours)
        self.assertEqual(ref("smb_journey.journey_abandoned_cart").priority, "2")

    def test_second_marketing_email_within_16_hours_waits(self):
        self.company.smb_frequency_cap = True
        with freeze_time(T0):
            welcome, offers = self.make_journey("Welcome"), self.make_journey("Offers")
            welcome.enroll(self.customer)
            self.run_engine()
            self.assertEqual(self.sent(welcome), 1)
        with freeze_time(T0 + timedelta(hours=1)):
            enrollment = offers.enroll(self.customer)
            self.run_engine()
            self.assertEqual(self.sent(offers), 0, "one marketing email within 16 hours")
            self.assertEqual(enrollment.hold_reason, "frequency_cap")
            self.assertEqual(enrollment.due_at, T0 + timedelta(hours=16), "when the first leaves the window")
            self.assertFalse(enrollment.log_ids)
        with freeze_time(T0 + timedelta(hours=16)):
            self.run_engine()
            self.assertEqual(self.sent(offers), 1)
            self.assertEqual(enrollment.state, "completed")

    def test_three_within_seven_days(self):
        self.company.smb_frequency_cap = True
        with freeze_time(T0):
            offers = self.make_journey("Offers")
        for day in range(3):
            with freeze_time(T0 + timedelta(days=day)):
                offers.enroll(self.customer)
                self.run_engine()
        self.assertEqual(self.sent(offers), 3, "one a day: within the 16-hour rule")
        with freeze_time(T0 + timedelta(days=3)):
            fourth = offers.enroll(self.customer)
            self.run_engine()
            self.assertEqual(self.sent(offers), 3, "a fourth within 7 days waits")
            self.assertEqual(fourth.due_at, T0 + timedelta(days=7), "the first of the three leaves the window")
        with freeze_time(T0 + timedelta(days=7)):
            self.run_engine()
            self.assertEqual(self.sent(offers), 4)

    def test_skip_policy_logs_the_reason_and_goes_on(self):
        self.company.smb_frequency_cap = True
        with freeze_time(T0):
            welcome = self.make_journey("Welcome")
            offers = self.make_journey("Offers", cap_policy="skip", steps=[
                {"name": "Offer", "step_type": "email", "subject": "Offer", "body_html": "<p>Offer</p>"},
                {"name": "Tag", "step_type": "exit"}])
            welcome.enroll(self.customer)
            self.run_engine()
            enrollment = offers.enroll(self.customer)
            self.run_engine()
            self.assertEqual(self.sent(offers), 0)
            log = enrollment.log_ids.sorted("id")[0]
            self.assertEqual((log.outcome, log.reason, log.message),
                             ("skipped", "frequency_cap", "At most 1 within 16 hours"))
            self.assertEqual(enrollment.state, "completed", "skipped: the journey goes on at once")

    def test_transactional_journeys_are_neither_capped_nor_counted(self):
        self.company.smb_frequency_cap = True
        with freeze_time(T0):
            welcome, offers = self.make_journey("Welcome"), self.make_journey("Offers")
            follow_up = self.make_journey("Order follow-up", marketing=False)
            follow_up.enroll(self.customer)
            self.run_engine()
            welcome.enroll(self.customer)
            self.run_engine()
            self.assertEqual(self.sent(welcome), 1, "the follow-up did not count")
            follow_up.enroll(self.customer)
            offers.enroll(self.customer)
            self.run_engine()
            self.assertEqual(self.sent(follow_up), 2, "not capped")
            self.assertEqual(self.sent(offers), 0, "capped")

    def test_cap_off_and_an_archived_rule(self):
        with freeze_time(T0):
            welcome, offers = self.make_journey("Welcome"), self.make_journey("Offers")
            welcome.enroll(self.customer)
            offers.enroll(self.customer)
            self.run_engine()
            self.assertEqual(self.sent(welcome) + self.sent(offers), 2, "the cap is off")
        self.company.smb_frequency_cap = True
        self.rules.filtered(lambda r: r.window_hours == 16).active = False
        with freeze_time(T0 + timedelta(hours=1)):
            others = self.make_journey("Others")
            for __ in range(4):
                others.enroll(self.customer)
            self.run_engine()
            self.assertEqual(self.sent(others), 3, "3 within 7 days (sends made while the cap was off not counted)")

    def test_higher_priority_journey_goes_first(self):
        """Due at the same time for the same customer: the journey with more
        stars takes the one email the cap allows, whatever the order the
        journeys were made in."""
        self.company.smb_frequency_cap = True
        with freeze_time(T0):
            newsletter_like = self.make_journey("Offers")
            cart = self.make_journey("Cart", priority="2")
            newsletter_like.enroll(self.customer)
            cart.enroll(self.customer)
            self.run_engine()
            self.assertEqual((self.sent(cart), self.sent(newsletter_like)), (1, 0))
            waiting = newsletter_like.enrollment_ids
            self.assertEqual((waiting.hold_reason, waiting.due_at), ("frequency_cap", T0 + timedelta(hours=16)))

    # ------------------------------------------------------------
    # best send time
    # ------------------------------------------------------------

    def opens(self, partner, hour_utc, count):
        """``count`` emails of the newsletter opened at ``hour_utc`` on successive days."""
        self.env["mailing.trace"].create([{
            "trace_type": "mail", "mass_mailing_id": self.newsletter.id, "model": "res.partner",
            "res_id": partner.id, "email": partner.email_normalized, "trace_status": "open",
            "sent_datetime": datetime(2026, 2, 1 + day, 6, 0),
            "open_datetime": datetime(2026, 2, 1 + day, hour_utc, 10),
        } for day in range(count)])

    def compute_best_hours(self):
        with freeze_time(T0), self.enter_registry_test_mode():
            self.env.ref("smb_journey.ir_cron_best_send_time").method_direct_trigger()
        self.env.invalidate_all()

    def test_best_hour_learnt_from_opens_in_the_customer_timezone(self):
        bob = self.env["res.partner"].create({"name": "Bob", "email": "bob@example.com", "tz": "Europe/Brussels"})
        self.opens(self.customer, 18, 6)  # 19:10 in Brussels
        self.opens(bob, 12, 10)  # 13:10 in Brussels
        self.compute_best_hours()
        # the shop: 6 opens at 19:00 and 10 at 13:00, one pseudo-open per hour: 7/40 and 11/40.
        # Ann: (6 + 4 * 7/40) / 10 = 0.67 at 19:00 against (4 * 11/40) / 10 = 0.11 at 13:00
        self.assertEqual(self.customer.smb_best_hour, 19.0)
        self.assertEqual(self.customer.smb_best_hour_opens, 6)
        self.assertAlmostEqual(self.customer.smb_best_hour_confidence, 0.6)
        self.assertEqual(bob.smb_best_hour, 13.0)
        self.assertEqual(self.company.smb_best_hour, 13, "the shop's best hour: most opens at 13:00")

    def test_machine_opens_teach_no_best_hour(self):
        """A mail scanner opening at delivery (06:00 UTC) is not when Ann reads."""
        self.opens(self.customer, 18, 2)
        self.opens(self.customer, 6, 5)
        self.env["mailing.trace"].search([("res_id", "=", self.customer.id)]).filtered(
            lambda t: t.open_datetime.hour == 6).smb_machine_open = True
        self.compute_best_hours()
        self.assertEqual(self.customer.smb_best_hour, 19.0, "her two opens at 19:10 in Brussels, not the scanner's")
        self.assertEqual(self.customer.smb_best_hour_opens, 2)

    def test_best_time_wait_lands_in_the_customer_best_hour(self):
        carl = self.env["res.partner"].create({"name": "Carl", "email": "carl@example.com", "tz": "Europe/Brussels"})
        bob = self.env["res.partner"].create({"name": "Bob", "email": "bob@example.com", "tz": "Europe/Brussels"})
        self.opens(self.customer, 18, 6)
        self.opens(bob, 12, 10)
        self.compute_best_hours()
        with freeze_time(T0), patch.object(send_time, "EXPLORATION_SHARE", 0.0):
            journey = self.make_journey("Best time", steps=[
                {"name": "Wait for their hour", "step_type": "wait", "wait_mode": "best_time"},
                {"name": "News", "step_type": "email", "subject": "News", "body_html": "<p>News</p>"}])
            ann, carl_enrollment = journey.enroll(self.customer), journey.enroll(carl)
            self.run_engine()
            self.assertEqual(ann.due_at, datetime(2026, 3, 2, 18, 0), "19:00 in Brussels, Ann's hour")
            self.assertEqual(carl_enrollment.due_at, datetime(2026, 3, 2, 12, 0),
                             "no history: the shop's best hour, 13:00 in Brussels")
            self.assertEqual(journey.step_ids[0].diagram_info["summary"], "Until the customer's best time")
        with freeze_time(datetime(2026, 3, 2, 18, 0)):
            self.run_engine()
            self.assertEqual(self.sent(journey), 1)
            self.assertEqual(ann.state, "completed")

    def test_best_time_wait_explores_another_daytime_hour(self):
        self.opens(self.customer, 18, 6)
        self.compute_best_hours()
        # at night (4:00 in Brussels): the explored daytime hour is always ahead, whichever
        # the record ids make it (at 10:00 it could be the current hour, and the email go at once)
        night = T0.replace(hour=3)
        with freeze_time(night), patch.object(send_time, "EXPLORATION_SHARE", 1.0):
            journey = self.make_journey("Best time", steps=[
                {"name": "Wait for their hour", "step_type": "wait", "wait_mode": "best_time"},
                {"name": "News", "step_type": "email", "subject": "News", "body_html": "<p>News</p>"}])
            enrollment = journey.enroll(self.customer)
            self.run_engine()
            local_hour = (enrollment.due_at + timedelta(hours=1)).hour
            self.assertNotEqual(local_hour, 19)
            self.assertIn(local_hour, send_time.DAYTIME)
            self.assertLessEqual(enrollment.due_at - night, timedelta(hours=24))


@tagged("post_install", "-at_install")
class TestTimingUi(HttpCase):

    def test_admin_sets_quiet_hours_and_the_cap(self):
        company = self.env.ref("base.main_company")
        company.write({"smb_quiet_hours": False, "smb_frequency_cap": False})
        self.start_tour("/odoo/action-smb_journey.smb_journey_settings_action",
                        "smb_journey_timing_settings_tour", login="admin")
        self.assertEqual((company.smb_quiet_hours, company.smb_quiet_start, company.smb_frequency_cap),
                         (True, 22.0, True))
