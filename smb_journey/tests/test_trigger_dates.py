import json
from datetime import date

from odoo import fields, http
from odoo.tests import HttpCase, freeze_time, new_test_user, tagged
from odoo.tools import SQL, mute_logger

from .common import JourneyCase
from .test_concurrency import ConcurrentCase


class DateTriggerCase(JourneyCase):
    """Customers with birthdays in three timezones and a birthday journey."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.brussels = cls.env["res.partner"].create({
            "name": "Lea Peeters", "email": "lea@example.com", "tz": "Europe/Brussels",
            "smb_birthday": date(1990, 1, 15)})
        cls.new_york = cls.env["res.partner"].create({
            "name": "Mia Brown", "email": "mia@example.com", "tz": "America/New_York",
            "smb_birthday": date(1985, 1, 15)})
        cls.leapling = cls.env["res.partner"].create({
            "name": "Leo Leap", "email": "leo@example.com", "tz": "UTC", "smb_birthday": date(1992, 2, 29)})
        cls.birthdays = cls.env["smb.journey"].create({
            "name": "Birthdays", "trigger": "customer_date", "date_source": "birthday", "date_hour": 9.0,
            "reentry": "always",
            "step_ids": [(0, 0, {
                "name": "Happy birthday", "step_type": "email",
                "subject": "Happy birthday {{ customer.first_name }}",
                "body_html": "<p>Happy {{ occasion.years }}th birthday</p>"})],
        })

    def entered(self, journey, partner=None):
        domain = [("journey_id", "=", journey.id)]
        if partner:
            domain.append(("partner_id", "=", partner.id))
        return self.env["smb.journey.enrollment"].search(domain)

    def scan(self, at):
        with freeze_time(at):
            self.env["smb.journey.enrollment"].run_engine()
        self.env.invalidate_all()

    def start(self, journey, at):
        with freeze_time(at):
            journey.action_start()



@tagged("post_install", "-at_install")
class TestTriggerDates(DateTriggerCase):
    """Birthdays and first-order anniversaries come round at the journey's
    hour in each customer's timezone, once a year."""

    def test_birthday_at_the_hour_in_the_customer_timezone(self):
        self.start(self.birthdays, "2027-01-15 06:00:00")
        # 08:30 in Brussels (UTC+1): not yet
        self.scan("2027-01-15 07:30:00")
        self.assertFalse(self.entered(self.birthdays))
        # 09:05 in Brussels: Lea enters, with her 37th birthday in the email; 03:05 in New York: Mia waits
        self.scan("2027-01-15 08:05:00")
        lea = self.entered(self.birthdays, self.brussels)
        self.assertEqual(lea.entry_key, "birthday:2027")
        self.assertFalse(self.entered(self.birthdays, self.new_york))
        self.assertIn("Happy 37th birthday", self.mails(self.birthdays.step_ids).body_html)
        # 09:00 in New York
        self.scan("2027-01-15 14:00:00")
        self.assertEqual(self.entered(self.birthdays).partner_id, self.brussels | self.new_york)

    def test_29_february_comes_on_28_february_in_2027(self):
        self.start(self.birthdays, "2027-02-27 12:00:00")
        self.scan("2027-02-27 12:00:00")
        self.assertFalse(self.entered(self.birthdays, self.leapling))
        self.scan("2027-02-28 10:00:00")
        self.assertEqual(self.entered(self.birthdays, self.leapling).entry_key, "birthday:2027")
        # a leap year has its 29 February: not on the 28th
        self.scan("2028-02-28 10:00:00")
        self.assertEqual(len(self.entered(self.birthdays, self.leapling)), 1)
        self.scan("2028-02-29 10:00:00")
        self.assertEqual(self.entered(self.birthdays, self.leapling).mapped("entry_key"),
                         ["birthday:2028", "birthday:2027"])

    def test_once_a_year(self):
        self.start(self.birthdays, "2027-01-15 06:00:00")
        self.scan("2027-01-15 10:00:00")
        self.assertEqual(len(self.entered(self.birthdays, self.brussels)), 1)
        self.scan("2027-01-15 18:00:00")
        self.assertEqual(len(self.entered(self.birthdays, self.brussels)), 1, "second scan the same day")
        self.scan("2028-01-15 10:00:00")
        self.assertEqual(sorted(self.entered(self.birthdays, self.brussels).mapped("entry_key")),
                         ["birthday:2027", "birthday:2028"])

    def test_missed_hours_are_caught_up_but_not_weeks(self):
        self.start(self.birthdays, "2027-01-10 06:00:00")
        self.scan("2027-01-15 06:00:00")  # before 09:00 anywhere around Europe
        self.assertFalse(self.entered(self.birthdays))
        # the cron stops until the next morning: yesterday's birthdays still enter
        self.scan("2027-01-16 03:00:00")
        self.assertEqual(self.entered(self.birthdays).partner_id, self.brussels | self.new_york)
        # a journey whose last pass is weeks old does not send birthday emails weeks late
        late = self.birthdays.copy({"name": "Late birthdays"})
        self.start(late, "2027-01-01 06:00:00")
        late.scanned_at = fields.Datetime.to_datetime("2027-01-01 06:00:00")
        self.scan("2027-02-01 10:00:00")
        self.assertFalse(self.entered(late))

    def test_anniversary_of_the_first_order(self):
        self.customer.tz = "UTC"
        with freeze_time("2026-03-10 10:00:00"):
            self.make_order(self.customer).action_confirm()
        with freeze_time("2026-09-01 10:00:00"):
            self.make_order(self.customer).action_confirm()  # the first order counts, not the last
        self.process_events()
        journey = self.birthdays.copy({"name": "Anniversary", "date_source": "anniversary"})
        journey.step_ids.body_html = "<p>Already {{ occasion.years }} year(s) together</p>"
        self.start(journey, "2027-03-09 12:00:00")
        self.scan("2027-03-09 12:00:00")
        self.assertFalse(self.entered(journey))
        self.scan("2027-03-10 12:00:00")
        self.assertEqual(self.entered(journey).partner_id, self.customer)
        self.assertEqual(self.entered(journey).entry_key, "anniversary:2027")
        self.assertIn("Already 1 year(s) together", self.mails(journey.step_ids).body_html)
    def test_shipped_birthday_journey(self):
        """Happy Birthday: a personal coupon on the day, a reminder five days
        later only to who has not ordered since."""
        journey = self.env.ref("smb_journey.journey_birthday")
        self.assertEqual(journey.state, "draft")
        self.start(journey, "2027-01-15 06:00:00")
        self.scan("2027-01-15 08:05:00")
        email, __, reminder = journey.step_ids.sorted("sequence")
        mail = self.mails(email)
        self.assertEqual(mail.subject, "Happy birthday, Lea! A gift inside")
        coupon = self.env["loyalty.card"].search([
            ("partner_id", "=", self.brussels.id), ("program_id", "=", email.coupon_program_id.id)])
        self.assertEqual(len(coupon), 1)
        self.assertIn(coupon.code, mail.body_html)
        self.scan("2027-01-15 14:05:00")  # Mia's 09:00 in New York; she orders the next day
        with freeze_time("2027-01-16 10:00:00"):
            self.make_order(self.new_york).action_confirm()
        self.scan("2027-01-20 08:00:00")
        self.assertFalse(self.mails(reminder))
        self.scan("2027-01-20 15:00:00")  # five days after each of them
        self.assertEqual(self.mails(reminder).mapped("subject"), ["Lea, your birthday gift is still waiting"])


@tagged("post_install", "-at_install")
class TestTriggerDateField(DateTriggerCase):
    """Any date field of the contact (here a custom warranty end), with an
    offset: once per value of the date."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warranty_end = cls.env["ir.model.fields"].create({
            "name": "x_warranty_end", "field_description": "Warranty End", "ttype": "date",
            "model_id": cls.env["ir.model"]._get_id("res.partner"),
        })

    def test_date_field_thirty_days_before(self):
        """A renewal reminder a month before the warranty ends."""
        self.customer.write({"tz": "UTC", "x_warranty_end": date(2027, 4, 30)})
        journey = self.birthdays.copy({
            "name": "Renewal", "date_source": "field", "date_offset_days": -30,
            "date_field_id": self.warranty_end.id,
        })
        self.start(journey, "2027-03-30 12:00:00")
        self.scan("2027-03-30 12:00:00")
        self.assertFalse(self.entered(journey))
        self.scan("2027-03-31 12:00:00")
        self.assertEqual(self.entered(journey).entry_key, "date:x_warranty_end:2027-04-30")
        self.scan("2027-04-30 12:00:00")
        self.assertEqual(len(self.entered(journey)), 1, "the day itself is not an occasion")
        # renewed: the new end date makes them enter again, a year later
        self.customer.x_warranty_end = date(2028, 4, 30)
        self.scan("2028-03-31 12:00:00")
        self.assertEqual(len(self.entered(journey)), 2)

    def test_a_missing_date_field_flags_the_journey(self):
        with self.assertRefused("choose which one"):
            self.birthdays.copy({"name": "No field", "date_source": "field"})
        journey = self.birthdays.copy({
            "name": "Field removed", "date_source": "field", "date_field_id": self.warranty_end.id})
        self.start(journey, "2027-01-15 06:00:00")
        # the custom field was removed since: the journey is left without one
        self.env.cr.execute(SQL("UPDATE smb_journey SET date_field_id = NULL WHERE id = %s", journey.id))
        journey.invalidate_recordset()
        self.start(self.birthdays, "2027-01-15 06:00:00")
        with mute_logger("odoo.addons.smb_journey.tools.contained"):
            self.scan("2027-01-15 10:00:00")
        self.assertIn("choose a stored date field", journey.error_message)
        self.assertTrue(self.entered(self.birthdays), "the other journeys still ran")


@tagged("post_install", "-at_install")
class TestTriggerDatesConcurrency(ConcurrentCase):
    """Two engine workers scanning the same birthdays at once enrol once."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            journey = env["smb.journey"].create({
                "name": "Concurrent birthdays", "trigger": "customer_date", "date_hour": 0.0, "reentry": "always",
                "step_ids": [(0, 0, {"name": "Wait", "step_type": "wait", "wait_amount": 1, "wait_unit": "days"})],
            })
            journey.action_start()
            today = fields.Date.today()
            partners = env["res.partner"].create([{
                "name": f"Birthday {i}", "email": f"birthday{i}@example.com", "tz": "UTC",
                "smb_birthday": today.replace(year=1992)} for i in range(10)])
            self.journey_id, self.partner_ids = journey.id, partners.ids
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            self._drop_journeys(env, [self.journey_id])
            self._drop_records(env, "res.partner", self.partner_ids)

    def test_two_scans_at_once_enrol_each_birthday_once(self):
        def scan(env):
            journey = env["smb.journey"].browse(self.journey_id)
            before = env["smb.journey.enrollment"].search_count([("journey_id", "=", journey.id)])
            journey._scan_customer_date()
            return env["smb.journey.enrollment"].search_count([("journey_id", "=", journey.id)]) - before

        self._in_threads(scan)
        enrollments = self._count("smb.journey.enrollment", [("journey_id", "=", self.journey_id)])
        self.assertEqual(enrollments, 10, "each customer entered exactly once")


@tagged("post_install", "-at_install")
class TestBirthdayPortal(HttpCase):
    """Customers set their birthday in their account on the website."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(cls.env, "birthday_portal", groups="base.group_portal", name="Zoe Portal",
                                 email="zoe@example.com")
        cls.partner = cls.user.partner_id
        cls.partner.write({"street": "Rue Haute 1", "city": "Brussels", "zip": "1000",
                           "country_id": cls.env.ref("base.be").id})

    def submit(self, birthday):
        self.authenticate("birthday_portal", "birthday_portal")
        response = self.url_open("/my/address/submit", data={
            "partner_id": self.partner.id, "name": "Zoe Portal", "email": "zoe@example.com",
            "phone": "+32 2 555 12 12", "street": "Rue Haute 1", "city": "Brussels", "zip": "1000",
            "country_id": self.env.ref("base.be").id, "address_type": "billing",
            "use_delivery_as_billing": "true", "smb_birthday": birthday,
            "csrf_token": http.Request.csrf_token(self),
        })
        self.env.invalidate_all()
        return json.loads(response.text)

    def test_account_page_shows_the_birthday(self):
        self.authenticate("birthday_portal", "birthday_portal")
        self.assertIn('name="smb_birthday"', self.url_open("/my/account").text)

    def test_customer_sets_their_birthday(self):
        result = self.submit("1990-06-15")
        self.assertNotIn("invalid_fields", result)
        self.assertEqual(self.partner.smb_birthday, date(1990, 6, 15))

    def test_a_wrong_date_is_refused(self):
        for wrong in ("1990-02-31", "next week", "2999-01-01"):
            result = self.submit(wrong)
            self.assertIn("smb_birthday", result.get("invalid_fields", []), wrong)
        self.assertFalse(self.partner.smb_birthday)
