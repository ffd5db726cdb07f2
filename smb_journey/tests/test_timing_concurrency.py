import threading
import time
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo.tests import freeze_time, tagged

from odoo.addons.smb_journey.models.smb_journey_step_frequency_cap import SmbJourneyStep as CapStep

from .test_concurrency import ConcurrentCase

N = 10


@tagged("post_install", "-at_install")
class TestConcurrentFrequencyCap(ConcurrentCase):
    """Two engine workers send two marketing journeys' emails to the same
    customers at once, under a cap of one email per 16 hours: each customer
    gets exactly one, the other waits with the cap as its reason."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            company = env.ref("base.main_company")
            self.company_flags = {"smb_frequency_cap": company.smb_frequency_cap,
                                  "smb_quiet_hours": company.smb_quiet_hours}
            company.write({"smb_frequency_cap": True, "smb_quiet_hours": False})
            Rule = env["smb.journey.frequency.rule"].with_context(active_test=False)
            self.rules = {rule.id: rule.active for rule in Rule.search([])}
            Rule.search([]).active = False
            self.rule_id = Rule.create({"company_id": False, "max_messages": 1, "window_hours": 16}).id
            journeys = env["smb.journey"].create([{
                "name": f"Cap test {name}", "trigger": "manual", "reentry": "once", "volume_limit": 0,
                "step_ids": [(0, 0, {"name": f"{name} email", "step_type": "email", "subject": name,
                                     "body_html": "<p>Hello</p>"})],
            } for name in ("A", "B")])
            journeys.action_start()
            partners = env["res.partner"].create([
                {"name": f"Capped {i}", "email": f"capped{i}@example.com"} for i in range(N)])
            for journey in journeys:
                journey.enroll(partners)
            self.journey_ids, self.partner_ids = journeys.ids, partners.ids
            self.mailing_ids = journeys.step_ids.mailing_id.ids
            Param = env["ir.config_parameter"]
            self.batch_size = Param.get_param("smb_journey.batch_size")
            Param.set_param("smb_journey.batch_size", str(N))  # one worker takes A's, the other B's
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            self._drop_journeys(env, self.journey_ids)
            self._drop_records(env, "res.partner", self.partner_ids)  # their ledger rows go with them
            env.ref("base.main_company").write(self.company_flags)
            Rule = env["smb.journey.frequency.rule"].with_context(active_test=False)
            Rule.browse(self.rule_id).unlink()
            for rule in Rule.browse(list(self.rules)).exists():
                rule.active = self.rules[rule.id]
            env["ir.config_parameter"].set_param("smb_journey.batch_size", self.batch_size or False)

    def _emails_per_customer(self):
        with self.registry.cursor() as cr:
            per_partner = dict(self._env(cr)["mail.mail"]._read_group(
                [("mailing_id", "in", self.mailing_ids)], ["res_id"], ["__count"]))
        return {partner_id: per_partner.get(partner_id, 0) for partner_id in self.partner_ids}

    def _held(self):
        with self.registry.cursor() as cr:
            enrollments = self._env(cr)["smb.journey.enrollment"].search([("journey_id", "in", self.journey_ids)])
            self.assertFalse(enrollments.filtered(lambda e: e.state == "error"), "no worker failed")
            return [(e.hold_reason, e.due_at) for e in enrollments if e.state == "running"]

    def test_two_workers_send_each_customer_one_email(self):
        original = CapStep._lock_ledger
        busy, calls = [], []

        def slow_lock(records, partner_ids):
            locked = original(records, partner_ids)
            busy.append(len(locked[1]))
            calls.append((len(locked[1]), time.monotonic()))
            time.sleep(1)  # hold the customers' rows while the other worker wants them
            return locked

        start = datetime.now()
        with patch.object(CapStep, "_lock_ledger", slow_lock):
            processed = self._in_threads(lambda env: env["smb.journey.enrollment"]._process_due_batch()[0])
        self.assertEqual(sum(processed), 2 * N, f"each worker took a journey: {processed}")
        self.assertEqual(sorted(busy), [0, N], "the second worker met the customers the first one held")
        (__, held_at), (__, met_at) = sorted(calls)
        self.assertLess(met_at - held_at, 1, "it did not wait for the first worker's batch to end")
        self.assertEqual(set(self._emails_per_customer().values()), {1}, "exactly one email per customer")
        # the next passes, from fresh snapshots: the cap holds, the held ones wait 16 hours
        with freeze_time(datetime.now() + timedelta(minutes=2)):
            for __ in range(3):
                with self.registry.cursor() as cr:
                    self._env(cr)["smb.journey.enrollment"]._process_due_batch()
        self.assertEqual(set(self._emails_per_customer().values()), {1})
        held = self._held()
        self.assertEqual(len(held), N)
        self.assertEqual({reason for reason, __ in held}, {"frequency_cap"})
        self.assertTrue(all(due >= start + timedelta(hours=16) - timedelta(seconds=1) for __, due in held))

    def test_worker_with_a_stale_snapshot_waits_a_minute(self):
        """Worker B took its snapshot before A sent to the same customers and
        committed: B cannot lock their ledger rows (REPEATABLE READ), sends
        nothing, and tries again a minute later from a fresh snapshot."""
        journey_a, journey_b = self.journey_ids

        def job(env):
            journey = journey_a if threading.current_thread() is threading.main_thread() else journey_b
            enrollments = env["smb.journey.enrollment"].search([("journey_id", "=", journey)])
            enrollments._process()
            return len(enrollments)

        start = datetime.now()
        results = self._race_with_a_stale_snapshot("smb_journey_send_ledger", job)
        self.assertEqual(results, {"a": N, "b": N}, "B finished without raising")
        self.assertEqual(set(self._emails_per_customer().values()), {1}, "B sent nothing")
        held = self._held()
        self.assertEqual({reason for reason, __ in held}, {"frequency_cap"})
        self.assertTrue(all(start < due <= datetime.now() + timedelta(minutes=1) for __, due in held),
                        "B's customers are judged again a minute later")
