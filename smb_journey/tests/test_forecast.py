from datetime import date, datetime, timedelta

from odoo.tests import freeze_time, tagged

from .common import JourneyCase

NOW = datetime(2025, 6, 10, 12, 0)


def email(name, sequence, **vals):
    return (0, 0, dict({"name": name, "sequence": sequence, "step_type": "email", "subject": name,
                        "body_html": f"<p>{name}</p>"}, **vals))


def wait(sequence, hours):
    return (0, 0, {"name": f"Wait {hours} h", "sequence": sequence, "step_type": "wait",
                   "wait_amount": hours, "wait_unit": "hours"})


@freeze_time(NOW)
@tagged("post_install", "-at_install")
class TestForecast(JourneyCase):
    """Every number below is counted by hand from the fixtures."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tag = cls.env["res.partner.category"].create({"name": "Forecast audience"})
        cls.buyers = cls.env["res.partner"].create([
            {"name": f"Buyer {i}", "email": f"buyer{i}@example.com", "category_id": [(6, 0, cls.tag.ids)],
             "city": "Brussels" if i == 0 else "Paris"} for i in range(4)])

    def new_journey(self, trigger, steps=None, **vals):
        return self.env["smb.journey"].create(dict({
            "name": f"Forecast {trigger}", "trigger": trigger,
            "audience_domain": f"[('category_id', 'in', {self.tag.ids})]",
            "step_ids": steps or [email("One", 1), wait(2, 24), email("Two", 3)],
        }, **vals))

    def confirmed(self, partner, days_ago, **vals):
        order = self.make_order(partner, website=False, **vals)
        order.action_confirm()
        order.date_order = NOW - timedelta(days=days_ago)
        return order

    def test_orders_confirmed_at_the_past_rate(self):
        b0, b1, b2, b3 = self.buyers
        for partner, days_ago in ((b0, 1), (b0, 5), (b1, 10), (b1, 12), (b2, 20), (b3, 29)):
            self.confirmed(partner, days_ago)
        self.confirmed(b3, 40)  # before the 30 days read
        self.make_order(b2, website=False)  # a quotation
        self.confirmed(self.customer, 3)  # outside the audience
        journey = self.new_journey("order_confirmed", reentry="always")
        week, month = journey._forecast(lookback_days=30)["windows"]
        self.assertAlmostEqual(week["entrants"], 6 / 30 * 7)
        self.assertAlmostEqual(month["entrants"], 6.0)
        # two emails each
        self.assertAlmostEqual(month["messages"], 12.0)
        self.assertAlmostEqual(month["per_day"], 12 / 30)
        self.assertAlmostEqual(week["per_day"], 6 / 30 * 7 * 2 / 7)
        # once per customer: the 4 buyers, less the one who entered already
        journey.reentry = "once"
        self.env["smb.journey.enrollment"].create({
            "journey_id": journey.id, "partner_id": b3.id, "company_id": journey.company_id.id, "entry_key": "#1"})
        week, month = journey._forecast(lookback_days=30)["windows"]
        self.assertAlmostEqual(month["entrants"], 3.0)
        self.assertAlmostEqual(week["entrants"], 3 / 30 * 7)
        # again after 10 days: at most 3 entries in 30 days each, so all 6 orders count
        journey.write({"reentry": "after_days", "reentry_days": 10})
        self.assertAlmostEqual(journey._forecast(lookback_days=30)["windows"][1]["entrants"], 6.0)
        # a 10-day rate: the 2 orders of the last 10 days (the one 10 days ago is on the edge: in)
        journey.reentry = "always"
        self.assertAlmostEqual(journey._forecast(lookback_days=10)["windows"][1]["entrants"], 3 / 10 * 30)

    def test_abandoned_carts_open_now_and_at_the_past_rate(self):
        self.website.cart_abandoned_delay = 1.0
        b0, b1, b2, b3 = self.buyers
        for partner, days_ago in ((b0, 2), (b1, 8), (b2, 25)):
            self.make_order(partner, date_order=NOW - timedelta(days=days_ago))  # abandoned
        bought = self.make_order(b3)
        bought.action_confirm()
        bought.date_order = NOW - timedelta(days=4)
        self.make_order(b0, date_order=NOW - timedelta(days=45))  # abandoned long ago: not in the rate
        for partner in (b1, b2):
            self.make_order(partner, date_order=NOW - timedelta(minutes=10))  # open now
        self.make_order(self.customer, date_order=NOW - timedelta(days=3))  # outside the audience
        journey = self.new_journey("cart_abandoned")
        week, month = journey._forecast(lookback_days=30)["windows"]
        # 4 carts of the last 30 days, 3 abandoned: 75 %; 2 open now; 3 abandoned per 30 days
        self.assertAlmostEqual(week["entrants"], 2 * 0.75 + 3 / 30 * 7)
        self.assertAlmostEqual(month["entrants"], 2 * 0.75 + 3)
        # running since yesterday: the cart abandoned 2 days ago is older than the start, the one
        # abandoned after the start waits for the next pass
        journey.write({"state": "running", "date_start": NOW - timedelta(days=3)})
        self.assertAlmostEqual(journey._forecast(lookback_days=30)["windows"][0]["entrants"], 1 + 2 * 0.75 + 0.7)

    def test_birthdays_in_the_window(self):
        people = self.env["res.partner"].create([
            {"name": "Soon", "email": "soon@example.com", "smb_birthday": date(1990, 6, 12)},
            {"name": "Later", "email": "later@example.com", "smb_birthday": date(1985, 6, 30)},
            {"name": "July", "email": "july@example.com", "smb_birthday": date(1990, 7, 20)},
            {"name": "No email", "smb_birthday": date(1990, 6, 11)},
            {"name": "Entered", "email": "entered@example.com", "smb_birthday": date(1990, 6, 15)},
            {"name": "Today", "email": "today@example.com", "smb_birthday": date(2000, 6, 10)},
        ])
        people.category_id = self.tag
        journey = self.new_journey("customer_date", date_source="birthday")
        self.env["smb.journey.enrollment"].create({
            "journey_id": journey.id, "partner_id": people[4].id, "company_id": journey.company_id.id,
            "entry_key": "birthday:2025"})
        week, month = journey._forecast()["windows"]
        # 10 to 16 June: Soon, Today; 10 June to 9 July: and Later
        self.assertEqual((week["entrants"], month["entrants"]), (2, 3))
        # a week before the birthday: greeting 10 to 16 June is for 17 to 23 June (no one), greeting
        # until 9 July for birthdays until 16 July (Later, 30 June)
        journey.date_offset_days = -7
        week, month = journey._forecast()["windows"]
        self.assertEqual((week["entrants"], month["entrants"]), (0, 1))

    def test_no_order_for_a_while(self):
        c1, c2, c3, c4 = self.buyers
        c5 = self.env["res.partner"].create({"name": "Long gone", "email": "gone@example.com",
                                             "category_id": [(6, 0, self.tag.ids)]})
        self.confirmed(c1, 100)  # lapsed 40 days ago: the first pass takes them
        self.confirmed(c2, 55)  # lapses in 5 days
        self.confirmed(c3, 35)  # lapses in 25 days
        self.confirmed(c4, 100)
        self.confirmed(c4, 10)  # ordered again
        self.confirmed(c5, 200)  # lapsed long before: the win-back's business
        journey = self.new_journey("no_order", no_order_days=60)
        week, month = journey._forecast()["windows"]
        self.assertEqual((week["entrants"], month["entrants"]), (2, 3))
        # once scanned, only those who lapse from now on
        journey.scanned_at = NOW - timedelta(hours=1)
        week, month = journey._forecast()["windows"]
        self.assertEqual((week["entrants"], month["entrants"]), (1, 2))
        self.assertTrue(week["basis"].startswith("1 customer whose last order turns 60 days old"), week["basis"])
        self.assertTrue(month["basis"].startswith("2 customers whose last order"), month["basis"])

    def test_frequency_cap_and_quiet_hours(self):
        for i, partner in enumerate(self.buyers):
            self.confirmed(partner, 2 + i)
        self.company.write({"smb_frequency_cap": True, "smb_quiet_hours": True,
                            "smb_quiet_start": 21.0, "smb_quiet_end": 8.0})
        self.env["smb.journey.frequency.rule"].search([]).unlink()
        self.env["smb.journey.frequency.rule"].create({"max_messages": 3, "window_hours": 168, "channel": "mail"})
        journey = self.new_journey("order_confirmed", reentry="always", cap_policy="skip", step_ids=[
            email("One", 1), wait(2, 24), email("Two", 3), wait(4, 24), email("Three", 5), wait(6, 24),
            email("Four", 7)])
        forecast = journey._forecast(lookback_days=30)
        per = forecast["per_entrant"]
        # four emails a day apart, three a week allowed: the fourth is skipped
        self.assertEqual((per["expected"], per["held"]), (3, 1))
        # entry at any hour: 11 of the 24 hours are quiet, for each of the 3 emails sent
        self.assertAlmostEqual(per["quiet"], 3 * 11 / 24)
        month = forecast["windows"][1]
        self.assertAlmostEqual(month["entrants"], 4.0)
        self.assertAlmostEqual(month["per_day"], 4 * 3 / 30)
        self.assertAlmostEqual(month["held_per_day"], 4 * 1 / 30)
        self.assertAlmostEqual(month["quiet_per_day"], 4 * 3 * 11 / 24 / 30)
        self.assertEqual(forecast["rules"], ["3 per 7 days"])
        # waiting instead: all four are sent, the fourth a week after the first
        journey.cap_policy = "delay"
        per = journey._forecast()["per_entrant"]
        self.assertEqual((per["expected"], per["held"]), (4, 1))
        # an order's follow-up is not marketing: not capped
        journey.marketing = False
        self.assertEqual(journey._forecast()["per_entrant"]["held"], 0)

    def test_branches_weighted(self):
        journey = self.new_journey("order_confirmed", step_ids=[])
        Step = self.env["smb.journey.step"]
        condition = Step.create({"journey_id": journey.id, "name": "Brussels?", "sequence": 1,
                                 "step_type": "condition", "condition_domain": "[('city', '=', 'Brussels')]"})
        Step.create([email("Yes 1", 1, journey_id=journey.id, parent_id=condition.id, branch="yes")[2],
                     email("Yes 2", 2, journey_id=journey.id, parent_id=condition.id, branch="yes")[2]])
        split = Step.create({"journey_id": journey.id, "name": "Split", "sequence": 2, "step_type": "split",
                             "split_weight_a": 30, "split_weight_b": 70})
        Step.create([email("A", 1, journey_id=journey.id, parent_id=split.id, branch="a")[2],
                     email("B 1", 1, journey_id=journey.id, parent_id=split.id, branch="b")[2],
                     email("B 2", 2, journey_id=journey.id, parent_id=split.id, branch="b")[2]])
        forecast = journey._forecast()
        per = forecast["per_entrant"]
        # 1 of the 4 customers of the audience lives in Brussels: 25 % take the yes outlet
        self.assertAlmostEqual(per["expected"], 0.25 * 2 + 0.3 * 1 + 0.7 * 2)
        self.assertEqual((per["min"], per["max"]), (1, 4))
        shares = {step.name: shares for step, shares, __ in forecast["outlets"]}
        self.assertEqual(shares["Brussels?"], {"yes": 0.25, "no": 0.75})
        self.assertEqual(shares["Split"], {"a": 0.3, "b": 0.7})
        wizard = self.env["smb.journey.forecast"].create({"journey_id": journey.id})
        self.assertIn("If yes 25 %", wizard.result_html)
        self.assertIn("o_smb_forecast_windows", wizard.result_html)

    def test_trigger_without_forecast_says_so(self):
        journey = self.new_journey("manual")
        forecast = journey._forecast()
        self.assertFalse(forecast["available"])
        self.assertIn("No forecast for this trigger", forecast["message"])
        wizard = self.env["smb.journey.forecast"].create({"journey_id": journey.id})
        self.assertIn("No forecast for this trigger", wizard.result_html)
