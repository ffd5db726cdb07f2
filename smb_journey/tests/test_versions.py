import time
from datetime import datetime, timedelta
from unittest.mock import patch

from psycopg2.errors import SerializationFailure

from odoo.exceptions import UserError
from odoo.tests import Form, HttpCase, freeze_time, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.smb_journey.models.smb_journey_versions import SmbJourney as VersionsJourney

from .common import JourneyCase
from .test_concurrency import ConcurrentCase
from .test_experiments import add_variant_emails, split_journey_vals

T0 = datetime(2026, 3, 2, 9, 0)


@tagged("post_install", "-at_install")
class TestJourneyVersions(JourneyCase):
    """Editing a running journey: customers inside finish the version they
    entered, new entrants take the new one, an admin may move them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bob, cls.carol = cls.env["res.partner"].create([
            {"name": "Bob Jones", "email": "bob@example.com", "lang": "en_US"},
            {"name": "Carol White", "email": "carol@example.com", "lang": "en_US"},
        ])
        cls.product.write({"invoice_policy": "order", "taxes_id": [(5,)]})
        cls.env["smb.journey.event"].process_pending()

    def enter(self, *partners):
        """Enrol at T0 and run the engine: the first email is queued, the customers wait a day."""
        with freeze_time(T0):
            if self.journey.state != "running":
                self.journey.action_start()
            enrollments = self.journey.enroll(self.env["res.partner"].union(*partners))
            self.run_engine()
        return enrollments

    def live(self, step):
        return step._live_counterpart()

    # ------------------------------------------------------------
    # forking
    # ------------------------------------------------------------

    def test_a_journey_has_version_1_with_its_steps(self):
        version = self.journey.version_id
        self.assertEqual((version.number, version.state), (1, "current"))
        self.assertEqual(version.step_ids, self.journey.step_ids)
        self.assertEqual(self.enter(self.customer).version_id, version)

    def test_editing_a_step_while_customers_are_inside_makes_version_2(self):
        ann = self.enter(self.customer)
        self.assertEqual(ann.step_id, self.step_again, "Ann waits a day for the second email")
        v1 = self.journey.version_id

        self.step_again.subject = "A new second email"

        v2 = self.journey.version_id
        self.assertEqual((v2.number, v2.state, v1.state), (2, "current", "retired"))
        self.assertTrue(v1.date_end)
        self.assertEqual(len(self.journey.step_ids), 3, "the journey shows the new version's steps")
        self.assertEqual(self.journey.step_ids.version_id, v2)
        self.assertEqual(self.journey.step_ids.origin_id, self.step_hello | self.step_wait | self.step_again)
        self.assertFalse((self.step_hello | self.step_wait | self.step_again).filtered("active"),
                         "the old steps are archived, kept for Ann")
        self.assertEqual(self.step_again.subject, "Still there, {{ customer.first_name }}?",
                         "the old email keeps its content")
        again_v2 = self.live(self.step_again)
        self.assertEqual(again_v2.subject, "A new second email")
        self.assertEqual(again_v2.origin_id, self.step_again)
        self.assertNotEqual(again_v2.mailing_id, self.step_again.mailing_id, "each version's emails are tracked apart")
        self.assertEqual((ann.version_id, ann.step_id), (v1, self.step_again), "Ann stays on version 1")
        self.assertEqual((v1.running_count, v2.running_count), (1, 0))
        self.assertIn("Version 2", self.journey.message_ids[0].body)
        self.assertIn("The customer inside version 1 finishes it", self.journey.message_ids[0].body)

    def test_placement_and_branches_are_remapped_in_the_copy(self):
        condition = self.env["smb.journey.step"].create({
            "journey_id": self.journey.id, "name": "Opened?", "sequence": 2, "step_type": "condition",
            "condition_type": "opened"})
        call = self.env["smb.journey.step"].create({
            "journey_id": self.journey.id, "name": "Call", "step_type": "activity", "parent_id": condition.id,
            "branch": "no"})
        self.enter(self.customer)
        self.step_hello.name = "Hello!"  # a name changes nothing customers go through
        self.assertEqual(self.journey.version_id.number, 1)
        self.step_hello.wait_amount = self.step_hello.wait_amount  # nor does a value equal to what the step has
        self.step_again.write({"subject": self.step_again.subject, "sequence": self.step_again.sequence})
        self.assertEqual(self.journey.version_id.number, 1)

        call.activity_summary = "Call them today"

        self.assertEqual(self.journey.version_id.number, 2)
        condition_v2, call_v2 = self.live(condition), self.live(call)
        self.assertEqual(call_v2.parent_id, condition_v2)
        self.assertEqual((call_v2.branch, call_v2.activity_summary), ("no", "Call them today"))
        self.assertEqual(condition_v2.child_ids, call_v2)
        self.assertEqual(condition.child_ids, call, "the old condition keeps its old branch")
        self.assertEqual(self.live(self.step_hello).name, "Hello!")

    def test_no_version_in_draft_or_with_nobody_inside(self):
        self.step_again.subject = "Draft edit"
        self.assertEqual(self.journey.version_id.number, 1)
        self.assertTrue(self.step_again.active)
        self.journey.action_start()
        self.step_again.subject = "Running, nobody inside"
        self.env["smb.journey.step"].create({"journey_id": self.journey.id, "name": "Bye", "step_type": "exit",
                                             "sequence": 9})
        self.assertEqual((self.journey.version_id.number, self.journey.version_count), (1, 1))
        ann = self.enter(self.customer)
        self.journey.action_stop()
        self.assertEqual(ann.state, "exited")
        self.step_again.subject = "Stopped: everybody left"
        self.assertEqual(self.journey.version_id.number, 1)

    def test_adding_and_deleting_steps_make_a_version_too(self):
        self.enter(self.customer)
        new = self.env["smb.journey.step"].create({
            "journey_id": self.journey.id, "name": "Last words", "step_type": "email", "sequence": 4,
            "subject": "Bye", "body_html": "<p>Bye</p>"})
        self.assertEqual((self.journey.version_id.number, new.version_id), (2, self.journey.version_id))
        self.assertEqual(len(self.journey.step_ids), 4)
        self.assertEqual(len(self.journey.version_ids.filtered(lambda v: v.number == 1).step_ids), 3)
        # nobody inside version 2 yet: deleting there changes it in place
        self.live(self.step_wait).unlink()
        self.assertEqual(self.journey.version_id.number, 2)
        self.assertEqual(self.journey.step_ids.mapped("name"), ["Hello", "Again", "Last words"])
        self.assertTrue(self.step_wait.exists(), "version 1 keeps its wait for Ann")

    def test_a_form_opened_before_the_change_saves_into_the_new_version(self):
        self.enter(self.customer)
        with Form(self.journey) as stale:  # opened while the journey still was version 1
            self.step_again.subject = "Saved by someone else"  # version 2
            with stale.step_ids.edit(0) as hello:
                hello.subject = "Hello again {{ customer.first_name }}"
        self.assertEqual(self.journey.version_id.number, 2, "one version for both edits")
        self.assertEqual(self.live(self.step_hello).subject, "Hello again {{ customer.first_name }}")
        self.assertEqual(self.live(self.step_again).subject, "Saved by someone else")
        self.assertEqual(self.step_hello.subject, "Hello {{ customer.first_name }}")

    def test_steps_are_archived_by_versions_only(self):
        with self.assertRefused("archived by the journey's versions", UserError):
            self.step_again.active = False
        with self.assertRefused("archived by the journey's versions", UserError):
            self.env["smb.journey.step"].create({"journey_id": self.journey.id, "name": "x", "step_type": "exit",
                                                 "active": False})

    def test_a_step_deleted_in_the_current_version_cannot_be_edited_from_an_old_id(self):
        self.enter(self.customer)
        self.step_wait.unlink()  # version 2 without the wait
        self.assertTrue(self.step_wait.exists())
        with self.assertRefused("no longer in the current version", UserError):
            self.step_wait.wait_amount = 5

    def test_a_translation_makes_a_version_like_the_source(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.enter(self.customer)
        self.step_again._update_field_translations("subject", {"fr_FR": "Toujours là ?"})
        self.assertEqual(self.journey.version_id.number, 2)
        self.assertEqual(self.live(self.step_again).with_context(lang="fr_FR").subject, "Toujours là ?")
        self.assertNotEqual(self.step_again.with_context(lang="fr_FR").subject, "Toujours là ?")

    # ------------------------------------------------------------
    # the engine on both versions
    # ------------------------------------------------------------

    def test_customers_inside_finish_version_1_and_new_entrants_take_version_2(self):
        ann = self.enter(self.customer)
        self.step_again.subject = "The new second email"
        again_v2 = self.live(self.step_again)
        with freeze_time(T0 + timedelta(hours=2)):
            bob = self.journey.enroll(self.bob)
            self.assertEqual((bob.version_id, bob.step_id), (self.journey.version_id, self.live(self.step_hello)))
            self.run_engine()
        self.assertEqual(len(self.mails(self.live(self.step_hello))), 1, "Bob's first email, version 2's")
        self.assertEqual(len(self.mails(self.step_hello)), 1, "Ann's first email only")

        with freeze_time(T0 + timedelta(days=1, hours=3)):
            self.run_engine()
        self.assertEqual(self.mails(self.step_again).mapped("subject"), ["Still there, Ann?"],
                         "Ann finishes version 1 as she entered it")
        self.assertEqual(self.mails(again_v2).mapped("subject"), ["The new second email"])
        self.assertEqual((ann.state, bob.state), ("completed", "completed"))
        self.assertEqual(ann.log_ids.step_id, self.step_hello | self.step_wait | self.step_again)
        self.assertEqual(bob.log_ids.step_id.version_id, self.journey.version_id)

    def test_a_split_keeps_its_winner_in_the_new_version(self):
        ab = self.env["smb.journey"].create(split_journey_vals("A/B versions"))
        split, emails = add_variant_emails(ab)
        people = self.env["res.partner"].create([{"name": f"AB {i}", "email": f"abv{i}@example.com"} for i in range(4)])
        with freeze_time(T0):
            ab.action_start()
            split.with_context(split_variant="b").action_split_promote()
            ab.enroll(people[:2])
            # they wait on nothing: put them before the split for the test
            ab.enrollment_ids.write({"due_at": T0 + timedelta(days=1)})
        emails["a"].subject = "Version A, reworded"
        split_v2 = split._live_counterpart()
        self.assertEqual(ab.version_id.number, 2)
        self.assertEqual((split_v2.split_winner, split_v2.split_promoted_at), ("b", T0))
        self.assertEqual(split_v2.child_ids.mapped("branch"), ["a", "b"])
        self.assertEqual(split_v2.child_ids.origin_id, emails["a"] | emails["b"])
        self.assertIn("Split (version 1)", ab.experiments_html, "the retired version's test stays readable")
        with freeze_time(T0 + timedelta(hours=1)):
            newcomers = ab.enroll(people[2:])
            self.env["smb.journey.enrollment"].run_engine()
        took = self.env["smb.journey.log"].search([("step_id", "=", split_v2.id)]).mapped("reason")
        self.assertEqual(took, ["split_winner"] * 2, "the new version's customers all take the winner")
        self.assertEqual(newcomers.log_ids.filtered(lambda log: log.outcome == "sent").step_id,
                         split_v2.child_ids.filtered(lambda s: s.branch == "b"))

    # ------------------------------------------------------------
    # moving customers
    # ------------------------------------------------------------

    def test_move_wizard_previews_and_moves_customers(self):
        ann, bob, carol = self.enter(self.customer, self.bob, self.carol).sorted(
            lambda e: [self.customer, self.bob, self.carol].index(e.partner_id))
        # Bob is back on the wait (a manager put him there), Carol on the last step
        bob.write({"step_id": self.step_wait.id})
        self.step_wait.unlink()  # version 2 has no wait
        v1, v2 = self.journey.version_ids.sorted("number")
        self.assertEqual(self.journey.version_older_inside_count, 3)
        action = self.journey.action_open_version_move()
        self.assertEqual(action["context"]["default_source_version_id"], v1.id)
        wizard = Form(self.env["smb.journey.version.move"].with_context(action["context"]))
        self.assertEqual(wizard.target_version_id, v2)
        again_v2 = self.live(self.step_again)
        wizard = wizard.save()
        preview = {line.partner_id: (line.from_step_id, line.to_step_id, line.destination) for line in wizard.line_ids}
        self.assertEqual(preview, {
            self.customer: (self.step_again, again_v2, "same"),
            self.bob: (self.step_wait, again_v2, "following"),
            self.carol: (self.step_again, again_v2, "same"),
        })
        self.assertEqual(wizard.summary, "3 customers move to version 2: 2 continue at the copy of their step; 1 at "
                                         "the nearest following step (their step was deleted in version 2).")
        wizard.line_ids.filtered(lambda line: line.partner_id == self.carol).move = False
        self.assertIn("2 customers move to version 2: 1 continues", wizard.summary)
        self.assertIn("1 stays on version 1.", wizard.summary)

        wizard.action_move()

        self.assertEqual((ann.version_id, ann.step_id), (v2, again_v2))
        self.assertEqual((bob.version_id, bob.step_id), (v2, again_v2))
        self.assertEqual((carol.version_id, carol.step_id), (v1, self.step_again), "Carol was left on version 1")
        self.assertEqual(ann.due_at, T0 + timedelta(days=1), "a wait keeps its time")
        moved_log = ann.log_ids.filtered(lambda log: log.reason == "version_moved")
        self.assertEqual((moved_log.step_id, moved_log.outcome), (self.step_again, "exited"))
        self.assertIn("version 1 to version 2", moved_log.message)
        self.assertEqual((v1.running_count, v2.running_count), (1, 2))
        with freeze_time(T0 + timedelta(days=1, hours=1)):
            self.run_engine()
        self.assertEqual(sorted(self.mails(again_v2).mapped("email_to")),
                         sorted([self.customer.email_formatted, self.bob.email_formatted]))
        self.assertEqual(self.mails(self.step_again).mapped("email_to"), [self.carol.email_formatted])

    def test_customers_whose_steps_are_all_gone_leave_at_the_end(self):
        ann = self.enter(self.customer)
        self.step_again.unlink()  # version 2: hello, wait
        wizard = self.env["smb.journey.version.move"].create({
            "journey_id": self.journey.id, "source_version_id": ann.version_id.id})
        self.assertEqual(wizard.line_ids.mapped("destination"), ["end"])
        self.assertFalse(wizard.line_ids.to_step_id)
        wizard.action_move()
        self.assertEqual((ann.state, ann.exit_reason), ("completed", "end"))
        self.assertIn("end of the journey", ann.log_ids.filtered(lambda log: log.reason == "version_moved").message)

    def test_an_enrollment_runs_the_steps_of_its_own_version(self):
        ann = self.enter(self.customer)
        self.step_again.subject = "New"
        with self.assertRefused("goes through version 1"):
            ann.step_id = self.live(self.step_again)

    # ------------------------------------------------------------
    # statistics
    # ------------------------------------------------------------

    def test_statistics_per_version_and_for_the_whole_journey(self):
        self.enter(self.customer)
        with freeze_time(T0):
            self.deliver(self.mails(self.step_hello))
        self.step_again.subject = "New"
        v1, v2 = self.journey.version_ids.sorted("number")
        with freeze_time(T0 + timedelta(hours=1)):
            self.journey.enroll(self.bob | self.carol)
            self.run_engine()
            self.deliver(self.mails(self.live(self.step_hello)))
        with freeze_time(T0 + timedelta(hours=5)):
            order = self.make_order(self.bob, qty=5, website=False)
            order.action_confirm()
            self.process_events()
        self.env.invalidate_all()
        self.assertEqual((v1.enrollment_count, v1.running_count, v1.sent_count), (1, 1, 1))
        self.assertEqual((v2.enrollment_count, v2.running_count, v2.sent_count), (2, 2, 2))
        self.assertEqual((v1.converted_count, v1.revenue), (0, 0.0))
        self.assertEqual(v2.converted_count, 1)
        self.assertAlmostEqual(v2.revenue, order.amount_untaxed)
        self.assertEqual((self.journey.enrollment_count, self.journey.sent_count), (3, 3), "the sum of its versions")
        self.assertEqual(self.journey.converted_count, 1)
        self.assertAlmostEqual(self.journey.revenue, order.amount_untaxed)
        self.assertEqual(self.step_hello.sent_count, 1, "per step: each version's own")
        self.assertEqual(self.live(self.step_hello).sent_count, 2)
        self.assertEqual((self.journey.version_inside_count, self.journey.version_older_inside_count), (2, 1))

    def test_the_banner_about_the_next_version_is_for_those_who_change_steps(self):
        seller = new_test_user(self.env, "banner_seller",
                               groups="sales_team.group_sale_salesman,smb_journey.group_journey_user")
        manager = new_test_user(self.env, "banner_boss", groups="smb_journey.group_journey_manager")
        Journey = self.env["smb.journey"]
        self.assertNotIn("o_smb_journey_version_banner", Journey.with_user(seller).get_views([(False, "form")])[
            "views"]["form"]["arch"])
        self.assertIn("o_smb_journey_version_banner", Journey.with_user(manager).get_views([(False, "form")])[
            "views"]["form"]["arch"])

    def test_a_duplicated_journey_copies_the_current_version(self):
        self.enter(self.customer)
        self.step_again.subject = "New"
        copy = self.journey.copy()
        self.assertEqual(copy.version_id.number, 1)
        self.assertEqual(copy.with_context(active_test=False).step_ids.mapped("subject"),
                         self.journey.step_ids.mapped("subject"))


@tagged("post_install", "-at_install")
class TestJourneyVersionsConcurrency(ConcurrentCase):
    """Two Journey Managers save a change to the same running journey at once."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            journey = env["smb.journey"].create({
                "name": "Concurrent versions", "trigger": "manual",
                "step_ids": [
                    (0, 0, {"name": "First", "sequence": 1, "step_type": "email", "subject": "One",
                            "body_html": "<p>One</p>"}),
                    (0, 0, {"name": "Wait", "sequence": 2, "step_type": "wait", "wait_amount": 2}),
                    (0, 0, {"name": "Second", "sequence": 3, "step_type": "email", "subject": "Two",
                            "body_html": "<p>Two</p>"}),
                ],
            })
            journey.action_start()
            partner = env["res.partner"].create({"name": "Inside", "email": "inside.versions@example.com"})
            journey.enroll(partner)
            self.journey_id, self.partner_id = journey.id, partner.id
            self.first_id, __, self.second_id = journey.step_ids.sorted("sequence").ids
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            # the retired version's mailings too
            mailings = env["smb.journey.step"].with_context(active_test=False).search(
                [("journey_id", "=", self.journey_id)]).mailing_id
            self._drop_journeys(env, [self.journey_id])
            mailings.exists().unlink()
            self._drop_records(env, "res.partner", [self.partner_id])

    def test_two_saves_at_once_make_one_version(self):
        def save(step_id, subject):
            def job(env):
                # what Odoo does with a request that meets a serialization failure: run it again
                for attempt in range(5):
                    try:
                        env["smb.journey.step"].browse(step_id).subject = subject
                        env.flush_all()
                        env.cr.commit()
                        return attempt
                    except SerializationFailure:
                        env.cr.rollback()
                        env.invalidate_all()
                raise AssertionError("never saved")
            return job

        original = VersionsJourney._fork_version

        def slow_fork(journey, summary):
            mapping = original(journey, summary)
            time.sleep(0.5)  # the other save meanwhile reaches the journey's lock
            return mapping

        jobs = [save(self.first_id, "One, reworded"), save(self.second_id, "Two, reworded")]
        # the save that meets the other's version logs its serialization failure as a bad query
        with patch.object(VersionsJourney, "_fork_version", slow_fork), mute_logger("odoo.sql_db"):
            retries = self._in_threads(lambda env: jobs.pop()(env))
        self.assertEqual(sorted(retries), [0, 1], "the second save ran again after the first one's version")
        with self.registry.cursor() as cr:
            journey = self._env(cr)["smb.journey"].browse(self.journey_id)
            self.assertEqual(journey.version_ids.mapped("number"), [2, 1], "one new version")
            self.assertEqual(journey.step_ids.mapped("subject"), ["One, reworded", False, "Two, reworded"],
                             "both changes are in it")
            self.assertEqual(journey.enrollment_ids.version_id.number, 1)


@tagged("post_install", "-at_install")
class TestJourneyVersionsUi(HttpCase):

    def test_admin_edits_a_running_journey_and_reads_its_versions(self):
        self.env = self.env(context=dict(self.env.context, tracking_disable=True))
        self.env.company.email = "shop@example.com"  # the sender of the new version's emails
        journey = self.env["smb.journey"].create({
            "name": "Versions tour journey", "trigger": "manual",
            "step_ids": [
                (0, 0, {"name": "Welcome", "sequence": 1, "step_type": "email", "subject": "Welcome",
                        "body_html": "<p>Welcome</p>"}),
                (0, 0, {"name": "Pause", "sequence": 2, "step_type": "wait", "wait_amount": 2}),
                (0, 0, {"name": "Follow-up", "sequence": 3, "step_type": "email", "subject": "Follow-up",
                        "body_html": "<p>Follow-up</p>"}),
            ],
        })
        journey.action_start()
        customer = self.env["res.partner"].create({"name": "Tour Versions", "email": "tour.versions@example.com"})
        journey.enroll(customer)
        self.env["smb.journey.enrollment"].run_engine()
        self.start_tour(f"/odoo/action-smb_journey.smb_journey_action/{journey.id}", "smb_journey_versions_tour",
                        login="admin")
        self.assertEqual(journey.version_id.number, 2)
        self.assertEqual(journey.step_ids.filtered(lambda s: s.name == "Follow-up").subject, "Follow-up, reworded")
        self.assertEqual(journey.enrollment_ids.version_id, journey.version_id, "moved from the Versions tab")
