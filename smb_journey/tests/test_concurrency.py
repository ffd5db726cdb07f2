import threading
import time
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.orm.environments import Transaction
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, get_db_name, tagged
from odoo.fields import Domain
from odoo.tools import SQL

from odoo.addons.smb_journey.models.smb_journey_enrollment import SmbJourneyEnrollment
from odoo.addons.smb_journey.models.smb_loyalty_tier import SmbLoyaltyTier

from .common import JourneyCase

N = 20


class ConcurrentCase(BaseCase):
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

    def _race_with_a_stale_snapshot(self, table, job):
        """B takes its snapshot (reads ``table``), A runs ``job(env)`` and
        commits, then B runs ``job(env)`` from its stale view. Returns
        {"a": A's result, "b": B's result}; "b" is missing if B raised."""
        a_committed, b_has_snapshot = threading.Event(), threading.Event()
        results = {}

        def run_b():
            with self.registry.cursor() as cr:
                env = self._env(cr)
                env.cr.execute(SQL("SELECT 1 FROM %s LIMIT 1", SQL.identifier(table)))  # snapshot taken here
                b_has_snapshot.set()
                a_committed.wait(timeout=20)
                results["b"] = job(env)

        thread = threading.Thread(target=run_b)
        thread.start()
        b_has_snapshot.wait(timeout=20)
        with self.registry.cursor() as cr:
            results["a"] = job(self._env(cr))
        a_committed.set()
        thread.join(timeout=30)
        return results

    def _drop_journeys(self, env, journey_ids):
        """Remove committed journeys with what they made: their emails and
        traces, enrollments, tracking mailings and UTM campaign."""
        journeys = env["smb.journey"].browse(journey_ids).exists()
        mailings, campaigns = journeys.step_ids.mailing_id, journeys.utm_campaign_id
        env["mail.mail"].search([("mailing_id", "in", mailings.ids)]).unlink()
        env["mailing.trace"].search([("mass_mailing_id", "in", mailings.ids)]).unlink()
        env["link.tracker"].search([("mass_mailing_id", "in", mailings.ids)]).unlink()
        journeys.action_stop()
        env["smb.journey.enrollment"].search([("journey_id", "in", journeys.ids)]).unlink()
        journeys.unlink()
        mailings.exists().unlink()
        campaigns.exists().unlink()

    def _drop_records(self, env, model, ids):
        """Remove committed records and the shop events they wrote."""
        env["smb.journey.event"].search([("res_id", "in", list(ids))]).unlink()
        env[model].with_context(active_test=False).browse(ids).exists().unlink()

    def _count(self, model, domain):
        with self.registry.cursor() as cr:
            return self._env(cr)[model].search_count(domain)


@tagged("post_install", "-at_install")
class TestConcurrentWorkers(ConcurrentCase):

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
            self._drop_journeys(env, [self.journey_id])
            self._drop_records(env, "res.partner", self.partner_ids)

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

    def test_two_engine_jobs_share_the_due_set(self):
        """Two cron workers, each running its own engine job (the shipped one
        and its parallel copy) on the same due set, in batches of 5: each
        takes batches the other does not hold, every email goes once."""
        with self.registry.cursor() as cr:
            env = self._env(cr)
            env["smb.journey"].browse(self.journey_id).enroll(env["res.partner"].browse(self.partner_ids))
            Param = env["ir.config_parameter"]
            batch_size = Param.get_param("smb_journey.batch_size")
            Param.set_param("smb_journey.batch_size", "5")
        self.addCleanup(self._set_batch_size, batch_size)
        original = SmbJourneyEnrollment._process

        def slow_process(records):
            time.sleep(0.2)  # hold the row locks while the other worker searches
            return original(records)

        def drain(env):
            """What the cron runner does with ``_cron_process``: a batch, a commit, again."""
            done = []
            for __ in range(20):
                processed, remaining = env["smb.journey.enrollment"]._process_due_batch()
                env.cr.commit()
                done.append(processed)
                if not processed and not remaining:
                    break
            return done

        with patch.object(SmbJourneyEnrollment, "_process", slow_process):
            done = self._in_threads(drain)
        self.assertTrue(all(sum(worker) for worker in done), f"both workers took batches: {done}")
        self.assertEqual(sum(map(sum, done)), N)
        self.assertEqual(self._count("mail.mail", [("mailing_id", "=", self.mailing_id)]), N)
        with self.registry.cursor() as cr:
            env = self._env(cr)
            per_partner = env["mail.mail"]._read_group(
                [("mailing_id", "=", self.mailing_id)], ["res_id"], ["__count"])
            self.assertEqual(sorted(res_id for res_id, __ in per_partner), sorted(self.partner_ids))
            self.assertEqual({count for __, count in per_partner}, {1}, "one email per customer")
            Enrollment = env["smb.journey.enrollment"]
            self.assertFalse(Enrollment.search_count(Enrollment._due_domain() & Domain(
                "journey_id", "=", self.journey_id)), "nothing left due")
        self.assertEqual(self._count("smb.journey.log", [("step_id.journey_id", "=", self.journey_id)]), N)

    def _set_batch_size(self, value):
        with self.registry.cursor() as cr:
            self._env(cr)["ir.config_parameter"].set_param("smb_journey.batch_size", value or False)

    def test_worker_with_a_stale_snapshot_sends_nothing(self):
        """Worker B took its snapshot before worker A committed the batch: B
        must neither run the rows again nor fail."""
        with self.registry.cursor() as cr:
            env = self._env(cr)
            env["smb.journey"].browse(self.journey_id).enroll(env["res.partner"].browse(self.partner_ids))
        results = self._race_with_a_stale_snapshot(
            "smb_journey_enrollment", lambda env: env["smb.journey.enrollment"]._process_due_batch())
        self.assertEqual(results["a"][0], N)
        self.assertEqual(results["b"][0], 0, "B ran nothing from its stale view")
        self.assertEqual(self._count("mail.mail", [("mailing_id", "=", self.mailing_id)]), N)


@tagged("post_install", "-at_install")
class TestConcurrentTierRecompute(ConcurrentCase):
    """The nightly recompute and a manual one ("Recompute now", a server
    action) at once: the upgrade is recorded, and its reward issued, once."""

    def setUp(self):
        super().setUp()
        no_hook = patch.object(SmbLoyaltyTier, "_on_orders_changed", lambda *args: None)
        self.startPatcher(no_hook)
        with self.registry.cursor() as cr:
            env = self._env(cr)
            self.company = env.ref("base.main_company")
            self.computed_at = self.company.smb_tiers_computed_at
            self.company.smb_tiers_computed_at = "2020-01-01 00:00:00"  # not the first computation
            gold = env.ref("smb_journey.smb_loyalty_tier_gold")
            # a service: no delivery to clean up when Inventory is installed
            product = env["product.product"].create({"name": "Parallel teapot", "type": "service"})
            partner = env["res.partner"].create({"name": "Parallel Gold", "email": "gold@example.com"})
            orders = env["sale.order"].create([{
                "partner_id": partner.id, "company_id": self.company.id,
                "order_line": [(0, 0, {"product_id": product.id, "product_uom_qty": 1,
                                       "price_unit": gold.min_spend, "tax_ids": [(5,)]})],
            } for __ in range(gold.min_orders)])
            orders.action_confirm()  # confirmed without the incremental recompute (patched out)
            self.gold_id, self.program_id = gold.id, gold.reward_program_id.id
            self.partner_id, self.order_ids, self.product_id = partner.id, orders.ids, product.id
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            env["loyalty.card"].search([("partner_id", "=", self.partner_id)]).unlink()
            orders = env["sale.order"].browse(self.order_ids)
            orders._action_cancel()
            orders.unlink()
            env["res.partner"].browse(self.partner_id).unlink()
            env["product.product"].browse(self.product_id).unlink()
            env.ref("base.main_company").smb_tiers_computed_at = self.computed_at
            # the shop events these orders wrote are not other tests' business
            env["smb.journey.event"].search(
                [("res_id", "in", [*self.order_ids, self.partner_id])]).unlink()

    def test_two_recomputes_reward_the_upgrade_once(self):
        original = SmbLoyaltyTier._lock_partners

        def slow_lock(records, ids, skip_locked):
            locked = original(records, ids, skip_locked)
            time.sleep(0.3)  # hold the locks while the other recompute tries
            return locked

        with patch.object(SmbLoyaltyTier, "_lock_partners", slow_lock):
            self._in_threads(lambda env: env["smb.loyalty.tier"].recompute_tiers(companies=env.company))
        self.assertEqual(self._count("smb.loyalty.tier.history", [("partner_id", "=", self.partner_id)]), 1)
        self.assertEqual(self._count("loyalty.card", [
            ("partner_id", "=", self.partner_id), ("program_id", "=", self.program_id)]), 1)
        with self.registry.cursor() as cr:
            partner = self._env(cr)["res.partner"].browse(self.partner_id)
            self.assertEqual(partner.smb_tier_id.id, self.gold_id)

    def test_recompute_from_a_stale_snapshot_writes_nothing(self):
        """B read the spends before A committed the upgrade: B must not issue
        a second reward from its stale view, nor fail."""
        results = self._race_with_a_stale_snapshot(
            "res_partner", lambda env: env["smb.loyalty.tier"].recompute_tiers(companies=env.company))
        self.assertGreaterEqual(results["a"], 1)
        self.assertIn("b", results, "B finished without raising")
        self.assertEqual(self._count("loyalty.card", [
            ("partner_id", "=", self.partner_id), ("program_id", "=", self.program_id)]), 1)


@tagged("post_install", "-at_install")
class TestConcurrentChurnScoring(ConcurrentCase):
    """The nightly scoring and Score Now on the same company at once."""

    def test_second_scoring_of_a_company_is_skipped_with_a_reason(self):
        from odoo.addons.smb_journey.models.smb_churn_run import SCORING_LOCK  # noqa: PLC0415

        with self.registry.cursor() as busy_cr, self.registry.cursor() as cr:
            busy = self._env(busy_cr)
            company = busy.ref("base.main_company")
            busy_cr.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SCORING_LOCK, company.id])  # a run in progress
            run = self._env(cr)["smb.churn.run"].score_customers(self._env(cr).company)
            self.assertEqual(run.state, "skipped")
            self.assertIn("Another scoring", run.message)
            cr.rollback()
            busy_cr.rollback()


@tagged("post_install", "-at_install")
class TestParallelEngineJobs(JourneyCase):
    """The shipped parallel engine job, for a second cron worker."""

    def test_engine_job_wakes_the_parallel_job_when_more_than_a_batch_is_due(self):
        parallel = self.env.ref("smb_journey.ir_cron_journey_engine_parallel")
        main = self.env.ref("smb_journey.ir_cron_journey_engine")
        self.assertFalse(parallel.active, "shipped inactive: one cron worker is the default")
        self.assertEqual((parallel.code, parallel.model_id), (main.code, main.model_id))
        parallel.active = True
        self.env["ir.config_parameter"].set_param("smb_journey.batch_size", "5")
        customers = self.env["res.partner"].create([
            {"name": f"Batch {i}", "email": f"batch{i}@example.com"} for i in range(12)])
        self.journey.action_start()
        self.journey.enroll(customers)
        self.env["ir.cron.trigger"].search([("cron_id", "=", parallel.id)]).unlink()
        self.run_engine()
        self.assertTrue(self.env["ir.cron.trigger"].search_count([("cron_id", "=", parallel.id)]),
                        "the parallel job is woken to take its share")
        self.assertEqual(len(self.mails(self.step_hello)), 12, "every due customer got the first email once")
