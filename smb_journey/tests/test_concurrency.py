import threading
import time
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.orm.environments import Transaction
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, get_db_name, tagged

from odoo.addons.smb_journey.models.smb_journey_enrollment import SmbJourneyEnrollment

N = 20


@tagged("post_install", "-at_install")
class TestConcurrentWorkers(BaseCase):
    """Real transactions in two threads, each with its own cursor, as two cron
    workers (or a worker and a server action) would run. The data is committed
    for real, so each test removes what it made."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())

    def _env(self, cr):
        # the test runner holds the registry lock: give the cursor its
        # transaction directly instead of looking the registry up again
        cr.transaction = Transaction(self.registry)
        return api.Environment(cr, SUPERUSER_ID, {})

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            journey = env["smb.journey"].create({
                "name": "Concurrency test",
                "trigger": "manual",
                "reentry": "once",
                "step_ids": [(0, 0, {"name": "Only email", "step_type": "email",
                                     "subject": "Hi {{ customer.first_name }}", "body_html": "<p>Hello</p>"})],
            })
            journey.action_start()
            partners = env["res.partner"].create([
                {"name": f"Parallel {i}", "email": f"parallel{i}@example.com"} for i in range(N)])
            self.journey_id, self.partner_ids = journey.id, partners.ids
            self.mailing_id = journey.step_ids.mailing_id.id
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            journey = env["smb.journey"].browse(self.journey_id)
            campaign = journey.utm_campaign_id
            env["mail.mail"].search([("mailing_id", "=", self.mailing_id)]).unlink()
            env["mailing.trace"].search([("mass_mailing_id", "=", self.mailing_id)]).unlink()
            env["link.tracker"].search([("mass_mailing_id", "=", self.mailing_id)]).unlink()
            journey.unlink()
            env["mailing.mailing"].browse(self.mailing_id).exists().unlink()
            campaign.unlink()
            env["res.partner"].browse(self.partner_ids).unlink()

    def _in_threads(self, job, count=2):
        """Run ``job(env)`` in ``count`` threads started together; return their results."""
        barrier = threading.Barrier(count)
        results, errors = [None] * count, []

        def run(index):
            try:
                with self.registry.cursor() as cr:
                    env = self._env(cr)
                    barrier.wait(timeout=10)
                    results[index] = job(env)
            except Exception as e:  # noqa: BLE001 - reported by the assertion below
                errors.append(e)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertFalse(errors, errors)
        return results

    def _count(self, model, domain):
        with self.registry.cursor() as cr:
            return self._env(cr)[model].search_count(domain)

    def test_two_processes_enrol_the_same_customers_once(self):
        def enrol(env):
            journey = env["smb.journey"].browse(self.journey_id)
            return len(journey.enroll(env["res.partner"].browse(self.partner_ids)))

        created = self._in_threads(enrol)
        self.assertEqual(sum(created), N, "each customer enrolled by exactly one of the two")
        self.assertEqual(self._count("smb.journey.enrollment", [("journey_id", "=", self.journey_id)]), N)

    def test_two_workers_send_each_email_once(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            env["smb.journey"].browse(self.journey_id).enroll(env["res.partner"].browse(self.partner_ids))
        original = SmbJourneyEnrollment._process

        def slow_process(records):
            time.sleep(0.3)  # hold the row locks while the other worker tries its batch
            return original(records)

        with patch.object(SmbJourneyEnrollment, "_process", slow_process):
            processed = self._in_threads(lambda env: env["smb.journey.enrollment"]._process_due_batch()[0])
        self.assertEqual(sum(processed), N, f"the workers split the rows: {processed}")
        self.assertEqual(self._count("mail.mail", [("mailing_id", "=", self.mailing_id)]), N)
        self.assertEqual(self._count("smb.journey.log", [("step_id.journey_id", "=", self.journey_id)]), N)

    def test_worker_with_a_stale_snapshot_sends_nothing(self):
        """Worker B took its snapshot before worker A committed the batch: B
        must neither run the rows again nor fail."""
        with self.registry.cursor() as cr:
            env = self._env(cr)
            env["smb.journey"].browse(self.journey_id).enroll(env["res.partner"].browse(self.partner_ids))
        a_committed = threading.Event()
        b_has_snapshot = threading.Event()
        results = {}

        def worker_b():
            with self.registry.cursor() as cr:
                env = self._env(cr)
                env.cr.execute("SELECT 1 FROM smb_journey_enrollment LIMIT 1")  # snapshot taken here
                b_has_snapshot.set()
                a_committed.wait(timeout=20)
                results["b"] = env["smb.journey.enrollment"]._process_due_batch()

        thread = threading.Thread(target=worker_b)
        thread.start()
        b_has_snapshot.wait(timeout=20)
        with self.registry.cursor() as cr:
            results["a"] = self._env(cr)["smb.journey.enrollment"]._process_due_batch()
        a_committed.set()
        thread.join(timeout=30)
        self.assertEqual(results["a"][0], N)
        self.assertEqual(results["b"][0], 0, "B ran nothing from its stale view")
        self.assertEqual(self._count("mail.mail", [("mailing_id", "=", self.mailing_id)]), N)
