from datetime import datetime, timedelta

from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tests import Form, HttpCase, freeze_time, tagged

from odoo.addons.smb_journey.models.smb_journey_step_wait_event import RECHECK

from .common import JourneyCase

T0 = datetime(2026, 3, 2, 9, 0)
READER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko)"


class MoreStepsCase(JourneyCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.env["res.partner"].create([
            {"name": f"Customer {i}", "email": f"customer{i}@example.com", "lang": "en_US"} for i in range(3)])
        cls.Step = cls.env["smb.journey.step"]

    def make_journey(self, steps):
        return self.env["smb.journey"].create({
            "name": "More steps", "trigger": "manual",
            "step_ids": [(0, 0, dict(vals, sequence=i)) for i, vals in enumerate(steps, 1)],
        })

    def step_logs(self, step):
        return self.env["smb.journey.log"].search([("step_id", "=", step.id)])


@tagged("post_install", "-at_install")
class TestTagStep(MoreStepsCase):

    def test_tags_are_added_and_removed_for_the_whole_batch(self):
        engaged, cold = self.env["res.partner.category"].create([{"name": "Engaged"}, {"name": "Cold"}])
        self.customers.category_id = cold
        journey = self.make_journey([
            {"name": "Tag engaged", "step_type": "tag", "tag_action": "add", "tag_ids": [(6, 0, engaged.ids)]},
            {"name": "Untag cold", "step_type": "tag", "tag_action": "remove", "tag_ids": [(6, 0, cold.ids)]},
        ])
        add, remove = journey.step_ids.sorted("sequence")
        self.assertEqual(add.diagram_info["summary"], "Add Engaged")
        self.assertEqual(remove.diagram_info["summary"], "Remove Cold")
        with freeze_time(T0):
            journey.action_start()
            journey.enroll(self.customers)
            self.run_engine()
        for customer in self.customers:
            self.assertEqual(customer.category_id, engaged)
        self.assertEqual(set(self.step_logs(add).mapped("reason")), {"tagged"})
        self.assertEqual(set(self.step_logs(remove).mapped("reason")), {"untagged"})
        self.assertEqual(set(self.step_logs(add).mapped("message")), {"Engaged"})
        self.assertEqual(set(journey.enrollment_ids.mapped("state")), {"completed"})

    def test_one_write_for_a_batch(self):
        tag = self.env["res.partner.category"].create({"name": "Engaged"})
        journey = self.make_journey([{"name": "Tag", "step_type": "tag", "tag_ids": [(6, 0, tag.ids)]}])
        step = journey.step_ids
        few = self.customers[:1]
        many = self.env["res.partner"].create([{"name": f"P{i}", "email": f"p{i}@example.com"} for i in range(20)])
        counts = []
        for partners in (few, many):
            journey.action_start()
            enrollments = journey.enroll(partners)
            self.env.invalidate_all()
            enrollments.partner_id.mapped("name")  # prefetched, as the engine's batch is
            with self.count_queries() as counter:
                step._run_tag(enrollments)
                self.env.flush_all()
            counts.append(counter["n"])
        self.assertEqual(counts[0], counts[1], "the same queries for 1 or 20 customers")
        self.assertIn(tag, many[7].category_id)

    def test_a_tag_step_without_tags_cannot_start(self):
        journey = self.make_journey([{"name": "Tag", "step_type": "tag"}])
        with self.assertRaisesRegex(UserError, "needs the tags"):
            journey.action_start()


@tagged("post_install", "-at_install")
class TestCouponStep(MoreStepsCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.program = cls.env["loyalty.program"].create({
            "name": "Come back", "program_type": "coupons", "company_id": cls.company.id,
            "trigger": "with_code",
            "reward_ids": [(0, 0, {"reward_type": "discount", "discount": 10, "discount_mode": "percent"})],
        })

    def test_coupon_issued_once_and_shown_by_a_later_email(self):
        journey = self.make_journey([
            {"name": "Coupon", "step_type": "coupon", "coupon_program_id": self.program.id},
            {"name": "Wait", "step_type": "wait", "wait_amount": 1, "wait_unit": "days"},
        ])
        coupon_step, wait = journey.step_ids.sorted("sequence")
        # an email after the coupon step may show it; one before it may not
        email = self.Step.create({
            "journey_id": journey.id, "name": "Your coupon", "sequence": 10, "step_type": "email",
            "subject": "A gift", "body_html": "<p>Your code: {{ coupon.code }}</p>"})
        self.assertEqual(email.coupon_source_program_id, self.program)
        with self.assertRefused("coupon"):
            self.Step.create({
                "journey_id": journey.id, "name": "Too early", "sequence": 0, "step_type": "email",
                "subject": "A gift", "body_html": "<p>Your code: {{ coupon.code }}</p>"})
        self.assertEqual(coupon_step.diagram_info["summary"], "Come back")
        with Form(self.Step.with_context(default_journey_id=journey.id)) as form:
            form.name = "Another one"
            form.sequence = 11
            form.subject = "Remember"
            form.body_arch = "<p>{{ coupon.code }}</p>"  # the email editor (it writes body_html too)
            self.assertEqual(form.coupon_source_program_id, self.program, "shown while the email is written")

        with freeze_time(T0):
            journey.action_start()
            enrollments = journey.enroll(self.customers)
            self.run_engine()
        cards = self.env["loyalty.card"].search([("program_id", "=", self.program.id)])
        self.assertEqual(len(cards), 3, "one coupon per customer")
        self.assertEqual(cards.partner_id, self.customers, "each coupon is the customer's own")
        logs = self.step_logs(coupon_step)
        self.assertEqual(sorted(logs.mapped("message")), sorted(cards.mapped("code")), "the log shows the code")
        self.assertEqual(set(logs.mapped("reason")), {"coupon_issued"})
        self.assertEqual(logs.loyalty_card_id, cards)

        with freeze_time(T0 + timedelta(days=1, minutes=1)):
            self.run_engine()
        for enrollment in enrollments:
            card = cards.filtered(lambda c, e=enrollment: c.partner_id == e.partner_id)
            mail = self.mails(email).filtered(lambda m, e=enrollment: m.res_id == e.partner_id.id)
            self.assertIn(card.code, str(mail.body_html), "the later email shows the customer's own coupon")

        # put back on the coupon step by hand: no second coupon
        enrollment = enrollments[0]
        enrollment.write({"state": "running", "step_id": coupon_step.id, "due_at": T0})
        with freeze_time(T0 + timedelta(days=2)):
            self.run_engine()
        self.assertEqual(self.env["loyalty.card"].search_count([("program_id", "=", self.program.id)]), 3)
        self.assertEqual(len(self.step_logs(coupon_step)), 3)
        self.assertTrue(wait)

    def test_a_control_group_gets_no_coupon(self):
        """A coupon is treatment: a holdout's control group does without."""
        journey = self.make_journey([
            {"name": "Coupon", "step_type": "coupon", "coupon_program_id": self.program.id},
        ])
        journey.holdout_percent = 50
        with freeze_time(T0):
            journey.action_start()
            enrollments = journey.enroll(self.customers)
            held = enrollments.filtered("held_out")
            enrollments[:1].held_out = True  # at least one, whatever the draw
            held |= enrollments[:1]
            self.run_engine()
        cards = self.env["loyalty.card"].search([("program_id", "=", self.program.id)])
        self.assertEqual(cards.partner_id, (enrollments - held).partner_id)
        self.assertEqual(set(self.step_logs(journey.step_ids).filtered(
            lambda log: log.enrollment_id in held).mapped("reason")), {"held_out"})

    def test_an_email_showing_a_removed_coupon_step_cannot_start(self):
        journey = self.make_journey([
            {"name": "Coupon", "step_type": "coupon", "coupon_program_id": self.program.id},
            {"name": "Your coupon", "step_type": "email", "subject": "A gift",
             "body_html": "<p>Your code: {{ coupon.code }}</p>"},
        ])
        journey.step_ids.filtered(lambda s: s.step_type == "coupon").unlink()
        with self.assertRefused("coupon"):
            journey.action_start()

    def test_a_coupon_step_without_program_cannot_start(self):
        journey = self.make_journey([{"name": "Coupon", "step_type": "coupon"}])
        with self.assertRaisesRegex(UserError, "^'Coupon' needs a coupon program.$"):
            journey.action_start()


@tagged("post_install", "-at_install")
class TestWaitEventStep(MoreStepsCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.engaged = cls.env["res.partner.category"].create({"name": "Engaged"})

    def make_waiting_journey(self, event_type):
        journey = self.make_journey([
            {"name": "Hello", "step_type": "email", "subject": "Hello", "body_html": "<p>Hi</p>"},
            {"name": "Wait for it", "step_type": "wait_event", "event_type": event_type,
             "event_timeout_amount": 2, "event_timeout_unit": "days"},
        ])
        hello, waiting = journey.step_ids.sorted("sequence")
        happened = self.Step.create({
            "journey_id": journey.id, "name": "Tag engaged", "parent_id": waiting.id, "branch": "happened",
            "step_type": "tag", "tag_ids": [(6, 0, self.engaged.ids)]})
        timeout = self.Step.create({
            "journey_id": journey.id, "name": "Reminder", "parent_id": waiting.id, "branch": "timeout",
            "step_type": "email", "subject": "Still there?", "body_html": "<p>Again</p>"})
        return journey, hello, waiting, happened, timeout

    def trace_of(self, step, partner):
        return self.mails(step).filtered(lambda m: m.res_id == partner.id).mailing_trace_ids

    def assert_waiting(self, enrollments, step, due):
        for enrollment in enrollments:
            self.assertEqual((enrollment.step_id, enrollment.hold_reason, enrollment.due_at),
                             (step, "awaiting_event", due))

    def test_opened_goes_down_happened_else_timeout(self):
        journey, hello, waiting, happened, timeout = self.make_waiting_journey("opened")
        self.assertEqual(waiting.diagram_info["summary"], "Until the customer opens an email, at most 2 days")
        self.assertEqual([o["key"] for o in waiting.diagram_info["outlets"]], ["happened", "timeout"])
        opener, clicker, idle = self.customers
        with freeze_time(T0):
            journey.action_start()
            journey.enroll(self.customers)
            self.run_engine()
        by_partner = {e.partner_id: e for e in journey.enrollment_ids}
        self.assert_waiting(journey.enrollment_ids, waiting, T0 + RECHECK)
        self.assertFalse(self.step_logs(waiting), "nothing logged while waiting")

        # a re-check with nothing new: still waiting, still unlogged
        with freeze_time(T0 + RECHECK + timedelta(minutes=5)):
            self.run_engine()
        self.assert_waiting(journey.enrollment_ids, waiting, T0 + 2 * RECHECK + timedelta(minutes=5))

        # the opener reads the email: woken at the engine's next pass, not at the re-check
        with freeze_time(T0 + RECHECK + timedelta(minutes=10)):
            self.trace_of(hello, opener).set_opened()
            self.trace_of(hello, clicker).set_opened()
            self.trace_of(hello, clicker).set_clicked()
            self.assertEqual(by_partner[opener].due_at, T0 + RECHECK + timedelta(minutes=10), "woken by the open")
        with freeze_time(T0 + RECHECK + timedelta(minutes=11)):
            self.run_engine()
        for partner in (opener, clicker):
            self.assertEqual(by_partner[partner].state, "completed")
            self.assertIn(self.engaged, partner.category_id)
        self.assert_waiting(by_partner[idle], waiting, T0 + 2 * RECHECK + timedelta(minutes=5))

        with freeze_time(T0 + timedelta(days=1, hours=23, minutes=50)):
            self.run_engine()
        self.assertEqual(by_partner[idle].step_id, waiting, "the timeout is not reached yet")
        self.assertEqual(by_partner[idle].due_at, T0 + timedelta(days=2), "the last re-check is the timeout")
        with freeze_time(T0 + timedelta(days=2)):
            self.run_engine()
        self.assertEqual(by_partner[idle].state, "completed")
        self.assertNotIn(self.engaged, idle.category_id)
        self.assertEqual(self.mails(timeout).res_id, idle.id, "only the idle customer gets the reminder")

        logs = self.step_logs(waiting)
        self.assertEqual(len(logs), 3, "one log per customer, when the wait ended")
        self.assertEqual({log.partner_id: log.reason for log in logs},
                         {opener: "event_happened", clicker: "event_happened", idle: "event_timeout"})

    def test_a_step_placed_after_it_takes_its_first_outlet(self):
        journey, hello, waiting, happened, timeout = self.make_waiting_journey("opened")
        with Form(self.Step.with_context(default_journey_id=journey.id)) as form:
            form.name = "Thanks"
            form.step_type = "exit"
            form.parent_id = waiting
            self.assertEqual(form.branch, "happened", "not a condition's yes")

    def test_clicked_waits_for_a_click(self):
        journey, hello, waiting, happened, timeout = self.make_waiting_journey("clicked")
        opener, clicker, idle = self.customers
        with freeze_time(T0):
            journey.action_start()
            journey.enroll(opener | clicker)
            self.run_engine()
        with freeze_time(T0 + timedelta(hours=1)):
            self.trace_of(hello, opener).set_opened()
            trace = self.trace_of(hello, clicker)
            trace.set_opened()
            trace.set_clicked()
            self.run_engine()
        by_partner = {e.partner_id: e for e in journey.enrollment_ids}
        self.assertEqual(by_partner[clicker].state, "completed")
        self.assertEqual(by_partner[opener].step_id, waiting, "an open is no click")
        with freeze_time(T0 + timedelta(days=2, minutes=1)):
            self.run_engine()
        self.assertEqual(self.mails(timeout).res_id, opener.id)

    def test_an_email_sent_while_waiting_counts(self):
        """A message of the journey sent after the customer arrived (another
        branch, a parallel reminder) counts as well as the previous one."""
        journey, hello, waiting, happened, timeout = self.make_waiting_journey("opened")
        with freeze_time(T0):
            journey.action_start()
            enrollment = journey.enroll(self.customer)
            self.run_engine()
        arrivals = waiting._arrivals(enrollment)
        self.assertEqual(arrivals[enrollment.id], T0)
        self.assertFalse(waiting._event_opened(enrollment, arrivals))
        self.trace_of(hello, self.customer).set_opened()
        self.assertEqual(waiting._event_opened(enrollment, arrivals), {enrollment.id})

    def test_ordered_goes_down_happened(self):
        journey, hello, waiting, happened, timeout = self.make_waiting_journey("ordered")
        buyer, __, idle = self.customers
        earlier = self.make_order(buyer)
        with freeze_time(T0 - timedelta(days=1)):
            earlier.action_confirm()
        self.process_events()
        with freeze_time(T0):
            journey.action_start()
            journey.enroll(buyer | idle)
            self.run_engine()
        by_partner = {e.partner_id: e for e in journey.enrollment_ids}
        self.assert_waiting(journey.enrollment_ids, waiting, T0 + RECHECK)
        with freeze_time(T0 + timedelta(minutes=5)):
            self.make_order(buyer).action_confirm()
            self.process_events()
            self.assertEqual(by_partner[buyer].due_at, T0 + timedelta(minutes=5), "woken by the order")
            self.run_engine()
        self.assertEqual(by_partner[buyer].state, "completed")
        self.assertIn(self.engaged, buyer.category_id)
        self.assert_waiting(by_partner[idle], waiting, T0 + RECHECK)

    def test_arrival_is_when_the_previous_wait_ended(self):
        journey = self.make_journey([
            {"name": "Wait", "step_type": "wait", "wait_amount": 1, "wait_unit": "days"},
            {"name": "Order?", "step_type": "wait_event", "event_type": "ordered",
             "event_timeout_amount": 1, "event_timeout_unit": "hours"},
        ])
        waiting = journey.step_ids.sorted("sequence")[1]
        with freeze_time(T0):
            journey.action_start()
            enrollment = journey.enroll(self.customer)
            self.run_engine()
        with freeze_time(T0 + timedelta(days=1, minutes=30)):
            self.run_engine()
            self.assertEqual(waiting._arrivals(enrollment)[enrollment.id], T0 + timedelta(days=1))
            self.assertEqual(enrollment.due_at, T0 + timedelta(days=1, hours=1),
                             "an hour after the previous wait ended, not after this pass")
        with freeze_time(T0 + timedelta(days=1, hours=1)):
            self.run_engine()
        self.assertEqual(enrollment.state, "completed")
        self.assertEqual(enrollment.log_ids.filtered(lambda log: log.step_id == waiting).reason, "event_timeout")

    def test_rechecks_cost_the_same_for_any_batch(self):
        journey, hello, waiting, happened, timeout = self.make_waiting_journey("opened")
        with freeze_time(T0):
            journey.action_start()
            journey.enroll(self.customers)
            self.run_engine()
        many = journey.enrollment_ids
        for event_type in ("opened", "clicked", "ordered"):
            waiting.event_type = event_type
            counts = []
            for enrollments in (many[:1], many):
                self.env.invalidate_all()
                enrollments.mapped("date_start")
                enrollments.partner_id.mapped("name")
                with self.count_queries() as counter:
                    waiting._run_wait_event(enrollments)
                counts.append(counter["n"])
            self.assertEqual(counts[0], counts[1], f"{event_type}: the same queries for 1 or 3 customers")
            self.assertLessEqual(counts[1], 5, event_type)


@tagged("post_install", "-at_install")
class TestMachineOpens(MoreStepsCase):

    def setup_sent(self):
        """Hello sent (delivered) at T0 to three customers."""
        journey = self.make_journey([
            {"name": "Hello", "step_type": "email", "subject": "Hello", "body_html": "<p>Hi</p>"},
            {"name": "Opened?", "step_type": "condition", "condition_type": "opened"},
        ])
        hello, condition = journey.step_ids.sorted("sequence")
        with freeze_time(T0):
            journey.action_start()
            journey.enroll(self.customers)
            self.run_engine()
            self.deliver(self.mails(hello))
        traces = self.env["mailing.trace"].search([("mass_mailing_id", "=", hello.mailing_id.id)])
        by_partner = {self.env["res.partner"].browse(t.res_id): t for t in traces}
        return journey, hello, condition, [by_partner[c] for c in self.customers]

    def test_fast_and_proxy_opens_are_machine_opens(self):
        journey, hello, condition, (scanned, proxied, read) = self.setup_sent()
        self.assertEqual(scanned.sent_datetime, T0)
        with freeze_time(T0 + timedelta(seconds=1)):
            scanned.set_opened()
        with freeze_time(T0 + timedelta(hours=1)):
            proxied.with_context(smb_tracking_user_agent="Mozilla/5.0").set_opened()
            read.with_context(smb_tracking_user_agent=READER).set_opened()
        self.assertEqual((scanned.smb_machine_open, proxied.smb_machine_open, read.smb_machine_open),
                         (True, True, False))
        Trace = self.env["mailing.trace"]
        self.assertEqual(Trace.search(Trace._smb_human_open_domain() & Domain("id", "in", (scanned | proxied | read).ids)),
                         read)

        # kept out of the opened condition and of the open rate, shown apart
        enrollments = journey.enrollment_ids
        self.assertEqual(condition._condition_opened(enrollments),
                         set(enrollments.filtered(lambda e: e.partner_id == self.customers[2]).ids))
        self.assertEqual(
            (hello.delivered_count, hello.opened_count, hello.machine_opened_count, round(hello.open_rate)),
            (3, 1, 2, 33))
        self.assertEqual((journey.opened_count, journey.machine_opened_count), (1, 2))
        log = enrollments.log_ids.filtered(lambda log: log.mailing_trace_id == proxied)
        self.assertFalse(log.opened)

        # the reader opens later, the scanned one clicks: both become real opens
        with freeze_time(T0 + timedelta(hours=2)):
            proxied.with_context(smb_tracking_user_agent=READER).set_opened()
            scanned.set_opened()  # a click opens then clicks (link_tracker)
            scanned.set_clicked()
        self.assertFalse(proxied.smb_machine_open)
        self.assertEqual(proxied.open_datetime, T0 + timedelta(hours=2), "the reader's time")
        self.assertFalse(scanned.smb_machine_open)
        hello.invalidate_recordset()
        self.assertEqual((hello.opened_count, hello.machine_opened_count), (3, 0))


@tagged("post_install", "-at_install")
class TestMachineOpenPixel(MoreStepsCase, HttpCase):

    def run_engine(self):
        # the HTTP server's test mode: the cron runs on this test's cursor
        self.env.ref("smb_journey.ir_cron_journey_engine").method_direct_trigger()
        self.env.invalidate_all()

    def test_the_tracking_pixel_tells_a_proxy_from_a_reader(self):
        journey = self.make_journey([
            {"name": "Hello", "step_type": "email", "subject": "Hello", "body_html": "<p>Hi</p>"}])
        journey.action_start()
        journey.enroll(self.customers[:2])
        self.run_engine()
        hello = journey.step_ids
        self.deliver(self.mails(hello))
        proxied, read = self.env["mailing.trace"].search([("mass_mailing_id", "=", hello.mailing_id.id)])
        # sent a minute ago: not a fast open
        (proxied | read).sent_datetime = datetime.now() - timedelta(minutes=1)
        for trace, agent in ((proxied, "Mozilla/5.0"), (read, READER)):
            token = self.env["mail.mail"]._generate_mail_recipient_token(trace.mail_mail_id_int)
            response = self.url_open(f"/mail/track/{trace.mail_mail_id_int}/{token}/blank.gif",
                                     headers={"User-Agent": agent})
            self.assertEqual(response.status_code, 200)
        self.env.invalidate_all()
        self.assertEqual((proxied.trace_status, proxied.smb_machine_open), ("open", True))
        self.assertEqual((read.trace_status, read.smb_machine_open), ("open", False))

    def test_a_link_scanner_click_is_not_the_customers(self):
        """Safe Links follows every link of the email as it is delivered: the
        link tracker counts the click, but the trace gets neither a person's
        open nor a click; the reader's own click, later, is both."""
        journey = self.make_journey([
            {"name": "Hello", "step_type": "email", "subject": "Hello",
             "body_html": '<p>Hi <a href="https://shop.example.com/new">new</a></p>'},
            {"name": "Clicked?", "step_type": "wait_event", "event_type": "clicked",
             "event_timeout_amount": 2, "event_timeout_unit": "days"}])
        journey.action_start()
        journey.enroll(self.customers[:2])
        self.run_engine()
        hello = journey.step_ids.sorted("sequence")[0]
        self.deliver(self.mails(hello))
        scanned, fast = self.env["mailing.trace"].search([("mass_mailing_id", "=", hello.mailing_id.id)])
        code = self.env["link.tracker"].search([("mass_mailing_id", "=", hello.mailing_id.id)]).code
        self.assertTrue(code)
        scanned.sent_datetime = datetime.now() - timedelta(minutes=1)
        fast.sent_datetime = datetime.now()  # a click within two seconds of sending: a scanner's, whoever it says
        for trace, agent in ((scanned, "Mozilla/5.0 (compatible; Microsoft SafeLinks)"), (fast, READER)):
            response = self.url_open(f"/r/{code}/m/{trace.id}", headers={"User-Agent": agent}, allow_redirects=False)
            self.assertEqual(response.status_code, 301)
        self.env.invalidate_all()
        clicks = self.env["link.tracker.click"].search([("mailing_trace_id", "in", (scanned | fast).ids)])
        self.assertEqual(len(clicks), 2, "Odoo's link statistics keep every click")
        for trace in (scanned, fast):
            self.assertEqual((trace.trace_status, trace.smb_machine_open, trace.links_click_datetime),
                             ("open", True, False))
        self.assertEqual((hello.clicked_count, hello.opened_count, hello.machine_opened_count), (0, 0, 2))
        waiting = journey.enrollment_ids
        self.assertEqual(waiting.mapped("hold_reason"), ["awaiting_event"] * 2)
        self.assertTrue(all(e.due_at > datetime.now() + timedelta(minutes=5) for e in waiting), "nobody woken")

        # the reader follows the link a minute later
        fast.sent_datetime = datetime.now() - timedelta(minutes=1)
        self.url_open(f"/r/{code}/m/{fast.id}", headers={"User-Agent": READER}, allow_redirects=False)
        self.env.invalidate_all()
        self.assertEqual((fast.smb_machine_open, bool(fast.links_click_datetime)), (False, True))
        self.assertEqual((hello.clicked_count, hello.opened_count, hello.machine_opened_count), (1, 1, 1))
        woken = waiting.filtered(lambda e: e.partner_id.id == fast.res_id)
        self.assertLessEqual(woken.due_at, datetime.now())
