import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import Form, freeze_time, new_test_user, tagged
from odoo.tools import format_amount

from odoo.addons.smb_journey.lib import experiments
from odoo.addons.smb_journey.models.smb_journey_enrollment import SmbJourneyEnrollment
from odoo.addons.smb_journey.models.smb_journey_step_split import SmbJourneyStep as SplitStep

from .common import JourneyCase
from .test_concurrency import ConcurrentCase

T0 = datetime(2026, 3, 2, 9, 0)


def split_journey_vals(name, **split):
    """A journey whose first step is an A/B split with one email per variant."""
    return {
        "name": name,
        "trigger": "manual",
        "reentry": "always",
        "volume_limit": 0,  # hundreds of customers enter at once here
        "step_ids": [(0, 0, dict({"name": "Split", "sequence": 1, "step_type": "split"}, **split))],
    }


def add_variant_emails(journey):
    split = journey.step_ids
    journey.write({"step_ids": [
        (0, 0, {"name": f"Email {key.upper()}", "sequence": 2, "step_type": "email", "parent_id": split.id,
                "branch": key, "subject": f"Version {key.upper()}", "body_html": f"<p>Version {key.upper()}</p>"})
        for key, __ in split._split_weights()]})
    return split, {step.branch: step for step in journey.step_ids - split}


@tagged("post_install", "-at_install")
class TestSplit(JourneyCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product.write({"invoice_policy": "order", "taxes_id": [(5,)]})
        cls.ab = cls.env["smb.journey"].create(split_journey_vals(
            "A/B journey", split_weight_a=30, split_weight_b=70, split_metric="open"))
        cls.split, cls.variant_emails = add_variant_emails(cls.ab)
        cls.people = cls.env["res.partner"].create([
            {"name": f"Customer {i}", "email": f"ab{i}@example.com"} for i in range(300)])
        cls.env["smb.journey.event"].process_pending()

    def drawn(self, variant):
        """The customers whom the split's draw sends to ``variant`` (30/70)."""
        return self.people.filtered(
            lambda p: experiments.assign([("a", 30), ("b", 70)], "split", self.split.id, p.id) == variant)

    def took(self, partners):
        """{partner id: variant} as the split's log says."""
        logs = self.env["smb.journey.log"].search([("step_id", "=", self.split.id), ("partner_id", "in", partners.ids)])
        return {log.partner_id.id: log.reason for log in logs}

    @contextmanager
    def reports_built(self):
        """The splits whose full report is built meanwhile, one list per report."""
        calls = []
        original = SplitStep._split_reports

        def counting(steps):
            calls.append(steps.ids)
            return original(steps)

        with patch.object(SplitStep, "_split_reports", counting):
            yield calls

    def test_assignment_is_stable_and_follows_the_weights(self):
        self.ab.action_start()
        self.ab.enroll(self.people)
        self.run_engine()
        took = self.took(self.people)
        expected = {p.id: "variant_" + experiments.assign([("a", 30), ("b", 70)], "split", self.split.id, p.id)
                    for p in self.people}
        self.assertEqual(took, expected, "the variant is the stable hash of (split, customer) against the weights")
        counts = Counter(took.values())
        # 300 customers at 30 %: 90 expected, binomial sd sqrt(300 * 0.3 * 0.7) = 7.9; 4 sd of slack
        self.assertLess(abs(counts["variant_a"] - 90), 32, counts)
        # each took its variant's email, and only it
        for key, step in self.variant_emails.items():
            self.assertEqual(sorted(self.mails(step).mapped("res_id")),
                             sorted(pid for pid, reason in took.items() if reason == f"variant_{key}"))
        # entering again (a later run, another process) lands in the same variant
        again = self.people[:40]
        self.ab.enroll(again)
        self.run_engine()
        logs = self.env["smb.journey.log"].search([("step_id", "=", self.split.id), ("partner_id", "in", again.ids)])
        self.assertEqual(len(logs), 80)
        self.assertEqual({(log.partner_id.id, log.reason) for log in logs},
                         {(pid, expected[pid]) for pid in again.ids})

    def test_the_form_proposes_equal_weights(self):
        with Form(self.split) as form:
            form.split_count = 3
            # 100 / 3: 33 each, the remainder to the first variant
            self.assertEqual((form.split_weight_a, form.split_weight_b, form.split_weight_c), (34, 33, 33))
            form.split_count = 4
            self.assertEqual((form.split_weight_a, form.split_weight_d), (25, 25))
        self.assertEqual(self.split._describe_split(), "A 25% / B 25% / C 25% / D 25%, on open rate")

    def test_weights_must_add_up_and_variants_must_exist(self):
        with self.assertRefused("add up to 100"):
            self.split.split_weight_a = 40
        self.split.write({"split_count": 3, "split_weight_a": 40, "split_weight_b": 30, "split_weight_c": 30})
        self.assertEqual(self.split.diagram_info["outlets"][2]["label"], "Variant C · 30%")
        self.split.write({"split_count": 2, "split_weight_a": 30, "split_weight_b": 70, "split_weight_c": 0})
        self.ab.write({"step_ids": [(0, 0, {"name": "Lost", "step_type": "wait", "parent_id": self.split.id,
                                            "branch": "c"})]})
        with self.assertRefused("does not have", exception=Exception):
            self.ab.action_start()

    def test_a_winner_by_hand_is_taken_by_every_later_customer(self):
        first, later = self.people[:50], self.people[50:100]
        self.assertEqual((self.split.journey_state, self.split.split_started_at), ("draft", False),
                         "a draft split with no result offers no winner to pick")
        with freeze_time(T0):
            self.ab.action_start()
            self.ab.enroll(first)
            self.run_engine()
            self.split.invalidate_recordset()
            # what shows the 'Make A the Winner' buttons: a running journey whose split has results
            self.assertEqual((self.split.journey_state, self.split.split_started_at), ("running", T0))
            self.split.with_context(split_variant="a").action_split_promote()
        self.assertEqual((self.split.split_winner, self.split.split_promoted_at), ("a", T0))
        self.assertIn("Variant A is the winner", self.ab.message_ids[:1].body)
        self.ab.enroll(later)
        self.run_engine()
        self.assertEqual(set(self.took(later).values()), {"split_winner"})
        self.assertEqual(set(self.mails(self.variant_emails["a"]).mapped("res_id")) >= set(later.ids), True)
        report = self.split._split_reports()[self.split.id]
        self.assertEqual(report["rows"][0]["winner_took"], 50)
        self.assertEqual(report["recipients"], 50, "the test counts only customers drawn at random")

    def test_promotion_after_n_recipients(self):
        """Promoted when the test reached its recipients, on the metric chosen,
        once; logged in the journey's chatter with the numbers."""
        self.split.write({"split_promotion": "recipients", "split_promote_recipients": 60})
        first = self.people[:60]
        with freeze_time(T0), self.reports_built() as built:
            self.ab.action_start()
            self.ab.enroll(first[:59])
            self.run_engine()
        self.assertFalse(self.split.split_winner, "59 recipients: the test goes on")
        self.assertEqual(built, [], "not due: the engine counted the recipients, it built no report")
        took = self.took(first[:59])
        # B's recipients open half of their emails, A's none: B leads on the open rate
        b_mails = self.mails(self.variant_emails["b"])
        opened_b = sorted(b_mails.mapped("res_id"))[::2]
        with freeze_time(T0 + timedelta(minutes=10)):
            self.deliver(self.mails(self.variant_emails["a"]) | b_mails)
        # read minutes after delivery: people, not a mail scanner's machine open
        with freeze_time(T0 + timedelta(minutes=30)):
            self.env["mailing.trace"].search([
                ("res_id", "in", opened_b), ("mass_mailing_id", "=", self.variant_emails["b"].mailing_id.id),
            ]).set_opened()
        with freeze_time(T0 + timedelta(hours=1)), self.reports_built() as built:
            self.ab.enroll(first[59:])
            self.run_engine()
            self.assertFalse(self.split.split_winner, "the 60th recipient is counted once their email is queued")
            self.assertEqual(built, [])
            self.ab.enroll(self.people[60:70])
            self.run_engine()
        self.assertEqual(self.split.split_winner, "b")
        self.assertEqual(built, [self.split.ids], "due: the report that picks the leader, once")
        self.assertEqual(self.split.split_promoted_at, T0 + timedelta(hours=1))
        self.assertEqual(set(self.took(self.people[60:70]).values()), {"split_winner"})
        messages = self.ab.message_ids.filtered(lambda m: "is the winner" in (m.body or ""))
        self.assertEqual(len(messages), 1)
        n_a = sum(1 for reason in took.values() if reason == "variant_a")
        n_b = 59 - n_a + (1 if self.took(first[59:])[first[59].id] == "variant_b" else 0)
        self.assertIn("automatically, after 60 recipients", messages.body)
        self.assertIn(f"Variant B: {100.0 * len(opened_b) / n_b:.1f} % ({n_b} recipients)", messages.body)

    def test_promotion_after_n_days(self):
        self.split.write({"split_promotion": "days", "split_promote_days": 7, "split_metric": "click"})
        first = self.drawn("a")[:6] | self.drawn("b")[:14]
        later = self.people - first
        with freeze_time(T0), self.reports_built() as built:
            self.ab.action_start()
            self.ab.enroll(first)
            self.run_engine()
        self.assertEqual(built, [])
        self.assertEqual(self.split.split_started_at, T0, "the first customer reached the split")
        with freeze_time(T0):
            self.deliver(self.mails(self.variant_emails["a"]) | self.mails(self.variant_emails["b"]))
        with freeze_time(T0 + timedelta(hours=1)):  # a reader's click, not a link scanner's at delivery
            self.env["mailing.trace"].search([("mass_mailing_id", "=", self.variant_emails["a"].mailing_id.id)],
                                             limit=1).set_clicked()
        with freeze_time(T0 + timedelta(days=6, hours=23)), self.reports_built() as built:
            self.ab.enroll(later[:2])
            self.run_engine()
            self.assertFalse(self.split.split_winner, "six days: the test goes on")
        self.assertEqual(built, [], "not due: no report built")
        with freeze_time(T0 + timedelta(days=7, minutes=1)), self.reports_built() as built:
            self.ab.enroll(later[2:5])
            self.run_engine()
        self.assertEqual(built, [self.split.ids], "due: the report that picks the leader, once")
        self.assertEqual(self.split.split_winner, "a", "A leads on clicks (1 against 0), significant or not")
        self.assertEqual(set(self.took(later[2:5]).values()), {"split_winner"})
        html = self.ab.experiments_html
        self.assertIn("Not enough data yet", html)
        self.assertIn("Winner: Variant A", html)

    def test_a_control_group_is_not_counted_in_the_variants(self):
        """Held-out customers walk through the split, but are nobody's test audience."""
        self.ab.holdout_percent = 50
        with freeze_time(T0):
            self.ab.action_start()
            enrollments = self.ab._enroll_pairs([(p, None) for p in self.people[:20]])
            self.run_engine()
        held = enrollments.filtered("held_out")
        self.assertTrue(held and held != enrollments)
        numbers = self.split._split_numbers()[0][self.split.id]
        self.assertEqual(sum(n["took"] for n in numbers.values()), len(enrollments - held))
        self.assertEqual(sum(n["recipients"] for n in numbers.values()), len(enrollments - held))

    def test_statistics_per_variant(self):
        """A hand-made case: the variants' recipients, opens, clicks, a conversion with its revenue."""
        people = self.drawn("a")[:3] | self.drawn("b")[:5]
        with freeze_time(T0):
            self.ab.action_start()
            self.ab.enroll(people)
            self.run_engine()
            self.deliver(self.mails(self.variant_emails["a"]) | self.mails(self.variant_emails["b"]))
        took = self.took(people)
        in_a = people.filtered(lambda p: took[p.id] == "variant_a")
        in_b = people - in_a
        self.assertEqual((len(in_a), len(in_b)), (3, 5))
        traces = self.env["mailing.trace"].search([("mass_mailing_id", "in", self.ab.step_ids.mailing_id.ids)])
        trace_of = {t.res_id: t for t in traces}
        trace_of[in_b[0].id].set_opened()
        trace_of[in_b[1].id].set_clicked()
        with freeze_time(T0 + timedelta(hours=3)):
            order = self.make_order(in_b[1], qty=3, website=False)  # 3 x 40.00, untaxed
            order.action_confirm()
            self.process_events()
        report = self.split._split_reports()[self.split.id]
        row_a, row_b = report["rows"]
        self.assertEqual((row_a["took"], row_a["recipients"], row_a["open_rate"]), (len(in_a), len(in_a), "0.0 %"))
        # B: one opened, one clicked (a click counts as an open): 2 of 5 opened (40.0 %), 1 of 5 clicked
        # (20.0 %), 1 bought for 3 x 40.00 = 120.00: revenue 120, sum of squares 120^2 = 14400
        self.assertEqual(row_b["recipients"], 5)
        self.assertEqual(row_b["open_rate"], "40.0 %")
        self.assertEqual(row_b["click_rate"], "20.0 %")
        self.assertEqual(row_b["conversion_rate"], "20.0 %")
        self.assertEqual(row_b["converted"], 1)
        numbers, __ = self.split._split_numbers()
        self.assertEqual(numbers[self.split.id]["b"]["revenue"], 120.0)
        self.assertEqual(numbers[self.split.id]["b"]["squares"], 14400.0)
        self.assertEqual(report["verdict"].leader, "b")
        self.assertEqual(report["verdict"].status, experiments.NOT_ENOUGH, "8 customers: not enough data yet")
        self.assertIn("Not enough data yet", self.split.split_results_html)
        # sales staff read the same numbers (their Sales rights see only their own customers' logs)
        seller = new_test_user(
            self.env, "ab_seller", groups="sales_team.group_sale_salesman,smb_journey.group_journey_user")
        self.assertEqual(self.ab.with_user(seller).experiments_html, self.ab.experiments_html)


@tagged("post_install", "-at_install")
class TestHoldout(JourneyCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product.write({"invoice_policy": "order", "taxes_id": [(5,)]})
        cls.journey.write({"step_ids": [(0, 0, {
            "name": "Call them", "sequence": 4, "step_type": "activity", "activity_summary": "Call"})]})
        cls.step_call = cls.journey.step_ids.filtered(lambda s: s.step_type == "activity")
        cls.people = cls.env["res.partner"].create([
            {"name": f"Customer {i}", "email": f"ho{i}@example.com"} for i in range(40)])
        cls.env["smb.journey.event"].process_pending()

    def enter(self, partners):
        """Customers entering by the journey's trigger (what a scanner or a
        shop event does), not enrolled by hand."""
        return self.journey._enroll_pairs([(partner, None) for partner in partners])

    def test_held_out_customers_walk_the_journey_receiving_nothing(self):
        self.journey.holdout_percent = 50
        with freeze_time(T0):
            self.journey.action_start()
            enrollments = self.enter(self.people)
            self.run_engine()
        held = enrollments.filtered("held_out")
        self.assertEqual(set(held.partner_id.ids),
                         {p.id for p in self.people if experiments.held_out(50, self.journey.id, p.id)})
        self.assertTrue(held and held != enrollments)
        with freeze_time(T0 + timedelta(days=1, minutes=1)):
            self.run_engine()
        mailed = set((self.mails(self.step_hello) | self.mails(self.step_again)).mapped("res_id"))
        self.assertFalse(mailed & set(held.partner_id.ids), "the control group gets no email")
        self.assertEqual(mailed, set((enrollments - held).partner_id.ids))
        activities = self.env["mail.activity"].search([("res_model", "=", "res.partner"), ("summary", "=", "Call")])
        self.assertEqual(set(activities.mapped("res_id")), set((enrollments - held).partner_id.ids),
                         "nor a salesperson's call")
        logs = self.env["smb.journey.log"].search([("enrollment_id", "in", held.ids)])
        self.assertEqual(Counter((log.step_id.step_type, log.outcome, log.reason) for log in logs), Counter({
            ("email", "skipped", "held_out"): 2 * len(held),
            ("wait", "done", "waiting"): len(held),
            ("activity", "skipped", "held_out"): len(held),
        }))
        self.assertEqual(set(held.mapped("state")), {"completed"}, "they go through to the end like the others")

    def test_holdout_percent_is_bounded(self):
        with self.assertRefused("0 to 50"):
            self.journey.holdout_percent = 60

    def test_report_on_a_hand_made_case(self):
        """Four customers, two held out; orders before, during and after the
        journey: only those after entering, up to the conversion window after
        leaving, count."""
        t1, t2, c1, c2 = self.people[:4]
        with freeze_time(T0):
            self.journey.write({"holdout_percent": 10, "conversion_window_days": 5})
            self.journey.action_start()
            self.make_order(t2, qty=9, website=False).action_confirm()  # before entering: not counted
        with freeze_time(T0 + timedelta(minutes=1)):
            enrollments = self.enter(t1 | t2 | c1 | c2)
            # the draw decides in production; here the groups are set by hand
            enrollments.sudo().write({"held_out": False})
            enrollments.filtered(lambda e: e.partner_id in (c1 | c2)).sudo().write({"held_out": True})
            self.run_engine()
        with freeze_time(T0 + timedelta(hours=2)):
            self.make_order(t1, qty=2, website=False).action_confirm()  # 80.00
            self.make_order(c1, qty=1, website=False).action_confirm()  # 40.00
        with freeze_time(T0 + timedelta(days=1, minutes=2)):
            self.run_engine()
        self.assertEqual(set(enrollments.mapped("state")), {"completed"})
        with freeze_time(T0 + timedelta(days=3)):
            self.make_order(t1, qty=1, website=False).action_confirm()  # 40.00, within 5 days after leaving
        with freeze_time(T0 + timedelta(days=7)):
            self.make_order(c2, qty=1, website=False).action_confirm()  # 6 days after leaving: not counted
            numbers = self.journey._holdout_numbers()[self.journey.id]
            # treatment: 2 entrants, t1 converted with 80 + 40 = 120; sum of squares 120^2 = 14400
            # control: 2 entrants, c1 converted with 40; 40^2 = 1600
            self.assertEqual(numbers[False], (2, 1, 120.0, 14400.0))
            self.assertEqual(numbers[True], (2, 1, 40.0, 1600.0))
            report = self.journey._holdout_reports()[self.journey.id]
            # rates 1/2 and 1/2: uplift +0.0 pts; revenue per entrant 60 against 20: +40
            self.assertEqual(report["conversion"]["difference"], "+0.0 pts")
            self.assertEqual(report["conversion"]["status"], experiments.NOT_ENOUGH)
            self.assertEqual([row["revenue_per_entrant"] for row in report["rows"]],
                             [self.fmt(60.0), self.fmt(20.0)])
            self.assertEqual(report["revenue"]["difference"], "+" + self.fmt(40.0))
            self.assertIn("Not enough data yet", self.journey.experiments_html)

    def test_cart_journey_counts_the_carts_bought(self):
        """The abandoned-cart journey measures the carts it is about: a cart
        bought after the customer entered counts, in both groups, as the
        journey's own conversions count only it; another order does not."""
        self.website.cart_abandoned_delay = 1.0
        journey = self.env.ref("smb_journey.journey_abandoned_cart")
        with freeze_time(T0 - timedelta(days=1)):
            journey.write({"holdout_percent": 50})
            journey.action_start()
        control = self.people.filtered(lambda p: experiments.held_out(50, journey.id, p.id))
        t1, t2 = (self.people - control)[:2]
        c1, c2 = control[:2]
        with freeze_time(T0):
            carts = {p: self.make_order(p, qty=qty, date_order=T0) for p, qty in ((t1, 2), (t2, 3), (c1, 1), (c2, 4))}
        with freeze_time(T0 + timedelta(hours=1, minutes=1)):
            self.run_engine()
        enrollments = journey.enrollment_ids
        self.assertEqual(enrollments.order_id, self.env["sale.order"].union(*carts.values()))
        self.assertEqual(enrollments.filtered("held_out").partner_id, c1 | c2)
        with freeze_time(T0 + timedelta(hours=5)):
            carts[t1].action_confirm()  # 2 x 40.00, bought after the first email
            carts[c1].action_confirm()  # 40.00, bought without any email
            self.make_order(t2, qty=1, website=False).action_confirm()  # a phone order, not the cart
            self.process_events()
        self.assertEqual(enrollments.filtered(lambda e: e.partner_id in (t1 | c1)).mapped("exit_reason"),
                         ["purchased", "purchased"])
        with freeze_time(T0 + timedelta(days=1)):
            numbers = journey._holdout_numbers()[journey.id]
        # treatment: t1 bought their cart (80.00), t2 did not; control: c1 bought theirs (40.00)
        self.assertEqual(numbers[False], (2, 1, 80.0, 6400.0))
        self.assertEqual(numbers[True], (2, 1, 40.0, 1600.0))

    def test_a_customer_entering_again_is_one_customer(self):
        """A customer who enters twice (each order starts the journey again)
        is one customer of the report: each order counted once, over the span
        from their first entry to their last exit plus the window; the order
        that made them enter first never counts. Two contacts of one company
        are one customer, in the group of the first entry."""
        t1 = self.people[0]
        acme = self.env["res.partner"].create({"name": "Acme", "is_company": True})
        ca, cb = self.people[1:3]
        (ca | cb).parent_id = acme
        with freeze_time(T0):
            self.journey.write({"holdout_percent": 10, "conversion_window_days": 5, "reentry": "always"})
            self.journey.action_start()
        with freeze_time(T0 + timedelta(minutes=1)):
            first = self.make_order(t1, qty=1, website=False)
            first.action_confirm()  # 40.00, made them enter: not counted
            entries = self.journey._enroll_pairs([(t1, first), (ca, None)])
            entries.sudo().write({"held_out": False})
            entries.filtered(lambda e: e.partner_id == ca).sudo().write({"held_out": True})
            self.run_engine()
        with freeze_time(T0 + timedelta(days=1, minutes=2)):
            self.run_engine()
        self.assertEqual(set(entries.mapped("state")), {"completed"})
        with freeze_time(T0 + timedelta(days=2)):
            second = self.make_order(t1, qty=2, website=False)
            second.action_confirm()  # 80.00, within the window of the first entry: counted, once
            again = self.journey._enroll_pairs([(t1, second), (cb, None)])
            again.sudo().write({"held_out": False})  # cb's draw differs from ca's: the account's first entry decides
            self.run_engine()
        with freeze_time(T0 + timedelta(days=2, hours=1)):
            self.make_order(t1, qty=1, website=False).action_confirm()  # 40.00, in both entries' windows
            self.make_order(cb, qty=3, website=False).action_confirm()  # 120.00, Acme's
        with freeze_time(T0 + timedelta(days=3)):
            numbers = self.journey._holdout_numbers()[self.journey.id]
        # treatment: t1 alone, 80 + 40 = 120, 120^2 = 14400; control: Acme (ca then cb), 120
        self.assertEqual(numbers[False], (1, 1, 120.0, 14400.0))
        self.assertEqual(numbers[True], (1, 1, 120.0, 14400.0))

    def test_the_contacts_of_one_company_are_in_one_group(self):
        company = self.env["res.partner"].create({"name": "Desk & Co", "is_company": True})
        contacts = self.env["res.partner"].create([
            {"name": f"Desk {i}", "email": f"desk{i}@example.com", "parent_id": company.id} for i in range(6)])
        self.journey.holdout_percent = 50
        self.journey.action_start()
        enrollments = self.journey._enroll_pairs([(p, None) for p in contacts])
        self.assertEqual(len(set(enrollments.mapped("held_out"))), 1, "the account is drawn, not each contact")
        self.assertEqual(enrollments[0].held_out, experiments.held_out(50, self.journey.id, company.id))

    def test_customers_enrolled_by_hand_are_never_held_out(self):
        """A salesperson who enrols a customer wants them to get the journey:
        no draw, and the report (a comparison of drawn groups) leaves them out."""
        drawn = self.people.filtered(lambda p: experiments.held_out(50, self.journey.id, p.id))
        self.assertTrue(drawn)
        with freeze_time(T0):
            self.journey.holdout_percent = 50
            self.journey.action_start()
        with freeze_time(T0 + timedelta(minutes=1)):
            by_hand = self.journey.enroll(self.people[:20])
            by_trigger = self.enter(self.people[20:])
            self.run_engine()
        self.assertFalse(by_hand.filtered("held_out"), "no control group among the customers enrolled by hand")
        self.assertEqual(set(self.mails(self.step_hello).mapped("res_id")) & set(by_hand.partner_id.ids),
                         set(by_hand.partner_id.ids), "each of them got the first email")
        self.assertEqual(by_trigger.filtered("held_out").partner_id, drawn & self.people[20:])
        with freeze_time(T0 + timedelta(hours=2)):
            self.make_order(self.people[0], qty=1, website=False).action_confirm()
            numbers = self.journey._holdout_numbers()[self.journey.id]
        held = len(drawn & self.people[20:])
        self.assertEqual(numbers[False][:2], (20 - held, 0), "only the customers the trigger brought in count")
        self.assertEqual(numbers[True][:2], (held, 0))

    def test_entries_without_a_group_are_treated_in_one_row(self):
        """Enrollments inserted before the group was written at entry have
        none (NULL in the database): they count with the journey's group, in
        the same row as those written False, not in a row of their own that
        would replace it."""
        t1, t2, c1 = self.people[:3]
        with freeze_time(T0):
            self.journey.write({"holdout_percent": 10})
            self.journey.action_start()
        with freeze_time(T0 + timedelta(minutes=1)):
            enrollments = self.enter(t1 | t2 | c1)
            enrollments.sudo().write({"held_out": False})
            enrollments.filtered(lambda e: e.partner_id == c1).sudo().write({"held_out": True})
            self.env.flush_all()
            self.env.cr.execute("UPDATE smb_journey_enrollment SET held_out = NULL WHERE id = %s",
                                [enrollments.filtered(lambda e: e.partner_id == t2).id])
            self.env.invalidate_all()
        with freeze_time(T0 + timedelta(hours=2)):
            self.make_order(t1, qty=1, website=False).action_confirm()  # 40.00
            self.make_order(t2, qty=2, website=False).action_confirm()  # 80.00
            numbers = self.journey._holdout_numbers()[self.journey.id]
        # treatment: t1 and t2, both bought: 40 + 80 = 120, squares 1600 + 6400 = 8000
        self.assertEqual(numbers[False], (2, 2, 120.0, 8000.0))
        self.assertEqual(numbers[True], (1, 0, 0.0, 0.0))

    def test_entries_are_inserted_with_their_group(self):
        self.journey.write({"holdout_percent": 50})
        self.journey.action_start()
        enrollments = self.enter(self.people)
        self.env.flush_all()
        self.env.cr.execute("SELECT COUNT(*) FROM smb_journey_enrollment WHERE id = ANY(%s) AND held_out IS NULL",
                            [enrollments.ids])
        self.assertEqual(self.env.cr.fetchone()[0], 0, "every entry says its group: TRUE or FALSE, never NULL")

    def test_experiments_tab_without_an_experiment_costs_no_query(self):
        """The tab is computed with every read of the journey's form: with no
        split and no holdout it reads nothing beyond the steps the form
        shows anyway."""
        self.assertIn("runs no experiment", self.journey.experiments_html)  # the template, once per process
        self.env.invalidate_all()
        with self.assertQueryCount(3):  # the journey, its steps' ids, the steps: the form reads them anyway
            self.assertIn("runs no experiment", self.journey.experiments_html)
        self.journey.step_ids.mapped("step_type")  # the form's step list
        self.journey.invalidate_recordset(["experiments_html"])
        with self.assertQueryCount(0):
            self.assertIn("runs no experiment", self.journey.experiments_html)

    def fmt(self, amount):
        return format_amount(self.env, amount, self.journey.currency_id)

    def test_a_new_percentage_starts_a_new_comparison(self):
        with freeze_time(T0):
            self.journey.holdout_percent = 20
        self.assertEqual(self.journey.holdout_since, T0)
        with freeze_time(T0 + timedelta(days=1)):
            self.journey.holdout_percent = 10
        self.assertEqual(self.journey.holdout_since, T0 + timedelta(days=1))
        self.journey.holdout_percent = 0
        self.assertFalse(self.journey.holdout_since)
        self.assertIn("runs no experiment", self.journey.experiments_html)


@tagged("post_install", "-at_install")
class TestConcurrentSplit(ConcurrentCase):
    """Two workers run the same split at once while its automatic promotion
    is due: each customer is logged once, the winner promoted once."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            journey = env["smb.journey"].create(split_journey_vals(
                "Concurrent split", split_promotion="recipients", split_promote_recipients=4, split_metric="open"))
            __, emails = add_variant_emails(journey)
            journey.action_start()
            partners = env["res.partner"].create([
                {"name": f"Split {i}", "email": f"split{i}@example.com"} for i in range(24)])
            self.journey_id, self.partner_ids = journey.id, partners.ids
            self.split_id = journey.step_ids.filtered(lambda s: s.step_type == "split").id
            # the test's first four recipients, one of B's opened: promotion is due, B leads
            journey.enroll(partners[:4])
            env["smb.journey.enrollment"]._process_due_batch()
            traces = env["mailing.trace"].search([("mass_mailing_id", "in", journey.step_ids.mailing_id.ids)])
            traces.set_sent()
            # delivered ten minutes ago: the open below is a person's, not a mail scanner's
            traces.sent_datetime = fields.Datetime.now() - timedelta(minutes=10)
            opened = env["mailing.trace"].search([("mass_mailing_id", "=", emails["b"].mailing_id.id)], limit=1)
            if not opened:  # all four drew A: make one of A's open and A leads
                opened = env["mailing.trace"].search([("mass_mailing_id", "=", emails["a"].mailing_id.id)], limit=1)
            opened.set_opened()
            self.leader = "b" if opened.mass_mailing_id == emails["b"].mailing_id else "a"
            journey.enroll(partners[4:])
            Param = env["ir.config_parameter"]
            self.batch_size = Param.get_param("smb_journey.batch_size")
            Param.set_param("smb_journey.batch_size", "10")
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            env["ir.config_parameter"].set_param("smb_journey.batch_size", self.batch_size or False)
            self._drop_journeys(env, [self.journey_id])
            self._drop_records(env, "res.partner", self.partner_ids)

    def test_two_workers_promote_once_and_log_each_customer_once(self):
        original = SmbJourneyEnrollment._process

        def slow_process(records):
            time.sleep(0.3)  # both workers hold their batch when they reach the split
            return original(records)

        with patch.object(SmbJourneyEnrollment, "_process", slow_process):
            processed = self._in_threads(lambda env: env["smb.journey.enrollment"]._process_due_batch()[0])
        self.assertEqual(sum(processed), 20, processed)
        with self.registry.cursor() as cr:
            env = self._env(cr)
            split = env["smb.journey.step"].browse(self.split_id)
            self.assertEqual(split.split_winner, self.leader)
            per_enrollment = env["smb.journey.log"]._read_group(
                [("step_id", "=", self.split_id), ("outcome", "=", "done")], ["enrollment_id"], ["__count"])
            states = env["smb.journey.enrollment"].search([("journey_id", "=", self.journey_id)]).mapped("state")
            self.assertEqual(set(states), {"completed"}, "no worker failed on the other's promotion")
            self.assertEqual(len(per_enrollment), 24)
            self.assertEqual({count for __, count in per_enrollment}, {1}, "each customer logged once")
            messages = env["mail.message"].search([
                ("model", "=", "smb.journey"), ("res_id", "=", self.journey_id), ("body", "ilike", "is the winner")])
            self.assertEqual(len(messages), 1, "promoted once")
            messages.unlink()
