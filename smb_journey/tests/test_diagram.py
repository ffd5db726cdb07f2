from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import JourneyCase


@tagged("post_install", "-at_install")
class TestDiagramEditing(JourneyCase):
    """A journey built on its diagram: a step goes where the "+" was
    clicked, moves where it is dropped, leaves with its branches or hands
    them its place, and waits, splits and conditions name themselves."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Step = cls.env["smb.journey.step"]

    def insert(self, step_type, journey=None, **where):
        result = self.Step.diagram_insert((journey or self.journey).id, step_type, **where)
        return self.Step.browse(result["step_id"])

    def path(self, parent=None, outlet=None, journey=None):
        """The names on a path, in run order."""
        steps = (journey or self.journey).step_ids.filtered(
            lambda s: s.parent_id == (parent or self.Step) and (not parent or s.branch == outlet))
        return steps.sorted(lambda s: (s.sequence, s.id)).mapped("name")

    def test_insert_at_the_top_between_steps_and_at_the_end(self):
        first = self.insert("wait")
        self.assertEqual(self.path()[0], first.name)
        between = self.insert("exit", after_id=self.step_hello.id)
        end = self.insert("activity", after_id=self.step_again.id)
        self.assertEqual(self.path(), [first.name, "Hello", between.name, "Wait a day", "Again", end.name])
        # the engine reads the same order
        self.assertEqual(self.step_hello._next_step(), between)
        self.assertEqual(self.step_again._next_step(), end)
        self.assertFalse(end._next_step())

    def test_insert_on_each_outlet_of_branching_steps(self):
        condition = self.insert("condition", after_id=self.step_hello.id)
        self.assertTrue(condition.has_outlets)
        self.assertEqual(condition.condition_type, "opened", "after an email, the question is whether it was opened")
        yes = self.insert("email", parent_id=condition.id, outlet="yes")
        no = self.insert("email", parent_id=condition.id, outlet="no")
        self.assertEqual((yes.parent_id, yes.branch), (condition, "yes"))
        self.assertEqual((no.parent_id, no.branch), (condition, "no"))
        second = self.insert("wait", after_id=yes.id)
        self.assertEqual(self.path(condition, "yes"), [yes.name, second.name])
        first = self.insert("tag", parent_id=condition.id, outlet="yes")
        self.assertEqual(self.path(condition, "yes")[0], first.name)
        # after the condition itself: where both outlets join again
        after = self.insert("exit", after_id=condition.id)
        self.assertFalse(after.parent_id)
        self.assertEqual(second._next_step(), after)
        split = self.insert("split", after_id=self.step_again.id)
        for outlet in ("a", "b"):
            step = self.insert("email", parent_id=split.id, outlet=outlet)
            self.assertEqual(step.branch, outlet)
        event = self.insert("wait_event", after_id=split.id)
        for outlet in ("happened", "timeout"):
            self.assertEqual(self.insert("exit", parent_id=event.id, outlet=outlet).branch, outlet)
        with self.assertRaises(UserError):
            self.insert("email", parent_id=split.id, outlet="happened")
        with self.assertRaises(UserError):
            self.insert("email", parent_id=self.step_hello.id, outlet="yes")

    def test_new_steps_can_run_as_they_are(self):
        email = self.insert("email", after_id=self.step_again.id)
        self.assertTrue(email.subject)
        self.assertIn("customer.first_name", email.body_html)
        email._check_runnable()
        self.assertFalse(email.diagram_info["problem"])
        tag = self.insert("tag", after_id=email.id)
        self.assertIn("tags", tag.diagram_info["problem"], "the diagram says what a step still needs")
        second = self.insert("email", after_id=tag.id)
        self.assertNotEqual(second.name, email.name, "two new emails are told apart")
        self.assertEqual(second.name, f"{email.name} 2")

    def test_a_condition_without_a_rule_says_where_everyone_goes(self):
        condition = self.insert("condition")  # first step: nothing sent before it, a filter on the customer
        self.assertEqual(condition.condition_type, "partner_domain")
        self.assertEqual(condition.diagram_info["summary"], "No rule yet: every customer goes to 'If yes'")
        condition.condition_domain = "[('email', 'ilike', 'example.com')]"
        self.assertNotIn("No rule yet", condition.diagram_info["summary"])
        condition.condition_domain = "[('country_id', '!=', False)]"
        self.assertEqual(condition.diagram_info["summary"], "Customer's country is set")
        condition.condition_domain = "[('country_id', '=', False)]"
        self.assertEqual(condition.diagram_info["summary"], "Customer's country is not set")
        condition.condition_domain = "[('phone', '!=', False)]"
        self.assertEqual(condition.diagram_info["summary"], "Customer's phone is set")

    def test_automatic_names_follow_the_settings_until_typed(self):
        wait = self.insert("wait", after_id=self.step_hello.id)
        self.assertTrue(wait.name_auto)
        self.assertEqual(wait.name, "Wait 1 day")
        wait.wait_amount = 3
        self.assertEqual(wait.name, "Wait 3 days")
        wait.write({"wait_mode": "until", "wait_weekday": "0", "wait_hour": 10.0})
        self.assertEqual(wait.name, "Wait until Monday 10:00")
        split = self.insert("split", after_id=wait.id)
        self.assertEqual(split.name, "A/B split 50/50")
        split.write({"split_count": 3, "split_weight_a": 40, "split_weight_b": 30, "split_weight_c": 30})
        self.assertEqual(split.name, "A/B/C split 40/30/30")
        condition = self.insert("condition", after_id=self.step_hello.id)
        self.assertEqual(condition.name, "If opened the previous message")
        self.assertEqual(condition.diagram_info["summary"], "Opened 'Hello'")
        belgium = self.env.ref("base.be")
        condition.write({"condition_type": "partner_domain", "condition_domain": f"[('country_id', '=', {belgium.id})]"})
        self.assertEqual(condition.diagram_info["summary"], "Customer's country is Belgium")
        self.assertEqual(condition.name, "If customer's country is Belgium")
        event = self.insert("wait_event", after_id=self.step_hello.id)
        self.assertEqual(event.name, "Wait until the customer opens an email (3 days at most)")
        # typed by hand: kept, and no longer follows the settings
        wait.name = "A short pause"
        self.assertFalse(wait.name_auto)
        wait.wait_amount = 5
        self.assertEqual(wait.name, "A short pause")
        # steps named by hand before never change
        self.step_wait.wait_amount = 2
        self.assertEqual(self.step_wait.name, "Wait a day")
        # the settings' name written with them (the form does so) keeps it automatic
        split.write({"split_count": 2, "split_weight_a": 70, "split_weight_b": 30, "split_weight_c": 0,
                     "name": "A/B split 70/30"})
        self.assertTrue(split.name_auto)

    def test_move_between_paths_and_outlets(self):
        condition = self.insert("condition", after_id=self.step_hello.id)
        self.step_again.diagram_move(parent_id=condition.id, outlet="no")
        self.assertEqual((self.step_again.parent_id, self.step_again.branch), (condition, "no"))
        self.step_wait.diagram_move(after_id=self.step_again.id)
        self.assertEqual(self.path(condition, "no"), ["Again", "Wait a day"])
        self.step_wait.diagram_move(parent_id=condition.id, outlet="yes")
        self.assertEqual(self.path(condition, "yes"), ["Wait a day"])
        condition.diagram_move()
        self.assertEqual(self.path(), [condition.name, "Hello"])
        with self.assertRaises(UserError):
            condition.diagram_move(after_id=self.step_again.id)
        # a branching step moves with the steps on its outlets
        self.assertEqual(self.step_again.parent_id, condition)

    def test_move_up_and_down_with_the_keyboard(self):
        self.step_again.diagram_move_step("up")
        self.assertEqual(self.path(), ["Hello", "Again", "Wait a day"])
        self.step_hello.diagram_move_step("down")
        self.assertEqual(self.path(), ["Again", "Hello", "Wait a day"])
        self.step_again.diagram_move_step("up")  # already first: stays
        self.assertEqual(self.path(), ["Again", "Hello", "Wait a day"])
        condition = self.insert("condition", after_id=self.step_hello.id)
        self.step_wait.diagram_move(parent_id=condition.id, outlet="yes")
        # past the last step of an outlet, it leaves it, after the condition
        self.step_wait.diagram_move_step("down")
        self.assertEqual(self.path(), ["Again", "Hello", condition.name, "Wait a day"])
        self.step_wait.diagram_move(parent_id=condition.id, outlet="yes")
        self.step_wait.diagram_move_step("up")
        self.assertEqual(self.path(), ["Again", "Hello", "Wait a day", condition.name])

    def test_delete_with_or_without_its_branches(self):
        condition = self.insert("condition", after_id=self.step_hello.id)
        yes = self.insert("email", parent_id=condition.id, outlet="yes")
        nested = self.insert("split", after_id=yes.id)
        deep = self.insert("exit", parent_id=nested.id, outlet="a")
        no = self.insert("activity", parent_id=condition.id, outlet="no")
        condition.diagram_delete(keep_outlet="yes")
        self.assertFalse(condition.exists() or no.exists())
        self.assertEqual(self.path(), ["Hello", yes.name, nested.name, "Wait a day", "Again"])
        self.assertEqual(deep.parent_id, nested, "a kept step keeps its own branches")
        nested.diagram_delete()
        self.assertFalse(nested.exists() or deep.exists())
        self.assertEqual(self.path(), ["Hello", yes.name, "Wait a day", "Again"])

    def test_deleting_a_step_customers_wait_on_makes_a_version_they_finish(self):
        condition = self.insert("condition", after_id=self.step_again.id)
        waiting_on = self.insert("wait", parent_id=condition.id, outlet="yes")
        self.journey.action_start()
        enrollment = self.journey.enroll(self.customer)
        enrollment.step_id = waiting_on
        v1 = self.journey.version_id
        result = condition.diagram_delete(keep_outlet="no")
        self.assertEqual(self.journey.version_id.number, 2, "the deletion made version 2")
        self.assertEqual(self.path(), ["Hello", "Wait a day", "Again"])
        self.assertEqual((enrollment.version_id, enrollment.step_id), (v1, waiting_on),
                         "the customer finishes version 1, where the step still is")
        self.assertTrue(condition.exists() and waiting_on.parent_id == condition)
        self.assertEqual(result["journey_id"], self.journey.id)

    def test_the_diagram_edits_the_current_version_with_ids_loaded_before_a_fork(self):
        self.journey.action_start()
        self.journey.enroll(self.customer)
        hello, again = self.step_hello, self.step_again
        self.Step.diagram_insert(self.journey.id, "wait", after_id=hello.id)  # forks: version 2
        self.assertEqual(self.journey.version_id.number, 2)
        self.assertFalse(hello.active, "the diagram still holds version 1's ids")
        new = self.Step.browse(self.Step.diagram_insert(self.journey.id, "email", after_id=again.id)["step_id"])
        self.assertEqual(new.version_id, self.journey.version_id)
        self.assertEqual(self.path()[-1], new.name, "added after the current version's copy of 'Again'")
        again.diagram_move(after_id=hello.id)
        self.assertEqual(self.path()[:2], ["Hello", "Again"])
        self.assertEqual(self.journey.version_id.number, 2, "one version for the whole editing")

    def test_journey_users_read_the_diagram_but_cannot_edit_it(self):
        user = new_test_user(self.env, "diagram_reader", groups="sales_team.group_sale_salesman,smb_journey.group_journey_user")
        Step = self.Step.with_user(user)
        self.assertTrue(Step.diagram_step_types())
        self.assertTrue(self.journey.with_user(user).step_ids.mapped("diagram_info"))
        with self.assertRaises(AccessError):
            Step.diagram_insert(self.journey.id, "wait", after_id=self.step_hello.id)
        with self.assertRaises(AccessError):
            self.step_wait.with_user(user).diagram_move(after_id=self.step_again.id)
        with self.assertRaises(AccessError):
            self.step_wait.with_user(user).diagram_move_step("up")
        with self.assertRaises(AccessError):
            self.step_wait.with_user(user).diagram_delete()
        self.assertEqual(self.path(), ["Hello", "Wait a day", "Again"])
        manager = new_test_user(self.env, "diagram_editor", groups="smb_journey.group_journey_manager")
        self.Step.with_user(manager).diagram_insert(self.journey.id, "wait", after_id=self.step_hello.id)
        self.assertEqual(len(self.path()), 4)


@tagged("post_install", "-at_install")
class TestDiagramUi(HttpCase):

    def test_admin_builds_a_journey_on_the_diagram(self):
        self.env.company.email = "shop@example.com"  # the emails' sender
        journey = self.env["smb.journey"].create({"name": "Diagram Tour Journey", "trigger": "manual"})
        self.start_tour(f"/odoo/action-smb_journey.smb_journey_action/{journey.id}", "smb_journey_diagram_build",
                        login="admin")
        steps = journey.step_ids
        self.assertEqual(journey.trigger, "partner_created")
        main = steps.filtered(lambda s: not s.parent_id).sorted(lambda s: (s.sequence, s.id))
        self.assertEqual(main.mapped("step_type"), ["wait", "condition", "split"])
        condition = main[1]
        self.assertEqual(sorted(condition.child_ids.mapped("branch")), ["no", "yes"])
        self.assertEqual(set(condition.child_ids.mapped("step_type")), {"email"})
        self.assertEqual(main[0].name, "Wait 2 days")

    def test_journey_user_reads_the_diagram(self):
        self.env = self.env(context=dict(self.env.context, tracking_disable=True))
        reader = new_test_user(self.env, "diagram_tour_reader",
                               groups="sales_team.group_sale_salesman,smb_journey.group_journey_user")
        journey = self.env["smb.journey"].create({
            "name": "Diagram Read Journey", "trigger": "manual",
            "step_ids": [(0, 0, {"name": "Hello diagram", "step_type": "email", "subject": "Hi",
                                 "body_html": "<p>Hi</p>"})],
        })
        journey.action_start()
        journey.enroll(self.env["res.partner"].create(
            {"name": "Diagram Reader Customer", "email": "reader@example.com", "user_id": reader.id}))
        self.env["smb.journey.enrollment"].run_engine()
        self.start_tour(f"/odoo/action-smb_journey.smb_journey_action/{journey.id}", "smb_journey_diagram_read_only",
                        login=reader.login)
