from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import JourneyCase

SHIPPED = (
    "journey_welcome", "journey_abandoned_cart", "journey_post_purchase", "journey_vip_welcome", "journey_win_back",
    "journey_browse_abandonment", "journey_birthday", "journey_lead_nurture", "journey_reengagement",
    "journey_replenishment",
)


def tree(journey):
    """The journey's steps as (name, type, parent's name, outlet, sequence), sorted."""
    return sorted(
        (step.name, step.step_type, step.parent_id.name or "", step.parent_id and step.branch or "", step.sequence)
        for step in journey.step_ids
    )


@tagged("post_install", "-at_install")
class TestJourneyTemplates(JourneyCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Template = cls.env["smb.journey.template"]
        cls.branching = cls.env["smb.journey"].create({
            "name": "Branching", "trigger": "manual", "goal": "order_confirmed", "holdout_percent": 20,
        })
        Step = cls.env["smb.journey.step"]

        def step(name, step_type="email", parent=None, branch=None, sequence=10, **vals):
            if step_type == "email":
                vals.setdefault("subject", f"{name} {{{{ customer.first_name }}}}")
                vals.setdefault("body_html", f"<p>{name}</p>")
            return Step.create(dict(vals, journey_id=cls.branching.id, name=name, step_type=step_type,
                                    parent_id=parent and parent.id, branch=branch, sequence=sequence))

        cls.condition = step("Bought before?", "condition", sequence=10, condition_type="opened")
        cls.yes_email = step("Yes email", parent=cls.condition, branch="yes", sequence=10)
        cls.wait_click = step("Clicked?", "wait_event", parent=cls.condition, branch="yes", sequence=20,
                              event_type="clicked")
        step("Happened email", parent=cls.wait_click, branch="happened")
        step("Timed out email", parent=cls.wait_click, branch="timeout")
        step("No email", parent=cls.condition, branch="no")
        cls.last = step("Last email", sequence=20)

    def use(self, template):
        action = template.action_use()
        self.assertEqual(action["res_model"], "smb.journey")
        return self.env["smb.journey"].browse(action["res_id"])

    def test_gallery_has_every_shipped_journey_and_the_classics(self):
        templates = self.Template.search([])
        for xmlid in SHIPPED:
            self.assertIn(self.env.ref(f"smb_journey.{xmlid}"), templates.source_journey_id, xmlid)
        self.assertEqual(
            set(templates.filtered("builder").mapped("builder")),
            {"first_order_anniversary", "win_back_nudge", "best_time_tips", "ab_welcome_offer"})
        for template in templates:
            self.assertTrue(template.description and template.benefit and template.trigger_label, template.name)
            self.assertGreater(template.step_count, 0, template.name)

    def test_copy_is_a_draft_with_its_own_steps_and_emails(self):
        source = self.env.ref("smb_journey.journey_abandoned_cart")
        source.action_start()
        template = self.env.ref("smb_journey.journey_template_abandoned_cart")
        copy = self.use(template)
        self.assertRecordValues(copy, [{
            "name": template.name, "state": "draft", "trigger": source.trigger, "goal": source.goal,
            "goal_scope": source.goal_scope, "priority": source.priority, "active": True,
        }])
        self.assertFalse(copy.date_start)
        self.assertEqual(tree(copy), tree(source))
        self.assertFalse(copy.step_ids & source.step_ids)
        emails = copy.step_ids.filtered(lambda s: s.step_type == "email")
        originals = source.step_ids.filtered(lambda s: s.step_type == "email")
        self.assertEqual(len(emails.mailing_id), len(emails), "each email step has its own tracking mailing")
        self.assertFalse(emails.mailing_id & originals.mailing_id)
        self.assertEqual(emails.mapped("body_html"), originals.mapped("body_html"))
        self.assertEqual(emails.coupon_program_id, originals.coupon_program_id, "the shop's coupon program is shared")
        # editing the copy leaves the original alone
        subject = originals[0].subject
        emails[0].subject = "Edited in the copy"
        self.assertEqual(originals[0].subject, subject)
        self.assertEqual(originals[0].mailing_id.name, f"[{source.name}] {originals[0].name}")
        self.assertIn("Created from the template", copy.message_ids[:1].body)

    def test_copy_keeps_the_branch_structure(self):
        copy = self.branching._copy_journey({"name": "Branching copy"})
        self.assertEqual(tree(copy), tree(self.branching))
        for step in copy.step_ids.filtered("parent_id"):
            self.assertEqual(step.parent_id.journey_id, copy, step.name)
        happened = copy.step_ids.filtered(lambda s: s.name == "Happened email")
        self.assertEqual((happened.parent_id.name, happened.parent_id.parent_id.name), ("Clicked?", "Bought before?"))
        self.assertEqual(copy.holdout_percent, 20)
        self.assertTrue(copy.holdout_since, "the copy's holdout counts from its own start")
        copy.action_start()
        self.assertEqual(copy.state, "running", "the copy runs as it is")

    def test_duplicate_copies_the_tree_too(self):
        copy = self.branching.copy()
        self.assertEqual(copy.name, "Branching (copy)")
        self.assertEqual(tree(copy), tree(self.branching))
        self.assertEqual(self.branching.step_ids.journey_id, self.branching, "the original keeps its steps")

    def test_copy_takes_every_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.last.update_field_translations("subject", {"fr_FR": "Dernier {{ customer.first_name }}"})
        copy = self.branching._copy_journey()
        last = copy.step_ids.filtered(lambda s: s.name == "Last email")
        self.assertEqual(last.with_context(lang="fr_FR").subject, "Dernier {{ customer.first_name }}")
        self.assertEqual(last.with_context(lang="en_US").subject, "Last email {{ customer.first_name }}")

    def test_builders_make_runnable_drafts(self):
        for template in self.Template.search([("builder", "!=", False)]):
            journey = self.use(template)
            self.assertEqual(journey.state, "draft", template.name)
            self.assertEqual(len(journey.step_ids), template.step_count, template.name)
            self.assertEqual(journey.company_id, self.env.company)
            journey.action_start()
            self.assertEqual(journey.state, "running", template.name)
        split = self.env["smb.journey.step"].search([("step_type", "=", "split")], order="id desc", limit=1)
        self.assertEqual(sorted(split.child_ids.mapped("branch")), ["a", "b"])
        nudge = self.use(self.env.ref("smb_journey.journey_template_win_back_nudge"))
        gift = nudge.step_ids.filtered(lambda s: s.parent_id.step_type == "wait_event" and s.branch == "timeout")
        self.assertEqual(gift.coupon_program_id, self.env.ref("smb_journey.loyalty_program_win_back"))

    def test_a_shop_without_sender_is_told_what_to_set(self):
        (self.company.partner_id | self.env.user.partner_id).email = False
        self.env.invalidate_all()
        self.assertFalse(self.company.email_formatted or self.env.user.email_formatted)
        with self.assertRefused("need a sender", UserError):
            self.env.ref("smb_journey.journey_template_welcome").action_use()

    def test_save_as_template(self):
        action = self.branching.action_save_as_template()
        template = self.Template.browse(action["res_id"])
        self.assertEqual((template.source_journey_id, template.category, template.step_count),
                         (self.branching, "custom", 7))
        self.assertEqual(tree(self.use(template)), tree(self.branching))

    def test_journey_users_read_the_gallery_but_only_managers_use_it(self):
        user = new_test_user(self.env, "template_reader", groups="smb_journey.group_journey_user")
        template = self.env.ref("smb_journey.journey_template_welcome").with_user(user)
        self.assertTrue(template.name)
        with self.assertRaises(AccessError):
            template.action_use()
        manager = new_test_user(self.env, "template_manager", groups="smb_journey.group_journey_manager")
        journey = self.use(template.with_user(manager))
        self.assertEqual(journey.user_id, manager)

    def test_templates_follow_their_journey_company(self):
        other = self.env["res.company"].create({"name": "Other Shop"})
        manager = new_test_user(self.env, "other_manager", groups="smb_journey.group_journey_manager",
                                company_id=other.id)
        visible = self.Template.with_user(manager).search([])
        self.assertFalse(visible.source_journey_id, "the main company's journeys are not offered elsewhere")
        self.assertEqual(len(visible), 4, "the built classics are offered to every company")
        journey = self.use(visible.filtered(lambda t: t.builder == "win_back_nudge"))
        self.assertEqual(journey.company_id, other)
        self.assertFalse(journey.step_ids.coupon_program_id, "the main company's coupon program stays there")


@tagged("post_install", "-at_install")
class TestJourneyTemplatesUi(HttpCase):

    def test_admin_starts_a_journey_from_a_template(self):
        self.env.ref("base.main_company").email = "shop@example.com"
        self.start_tour("/odoo/action-smb_journey.smb_journey_action", "smb_journey_template_tour", login="admin")
        copy = self.env["smb.journey"].search([("name", "=", "Happy Birthday")], order="id desc", limit=1)
        self.assertNotEqual(copy, self.env.ref("smb_journey.journey_birthday"))
        self.assertEqual(copy.state, "draft")
        self.assertEqual(tree(copy), tree(self.env.ref("smb_journey.journey_birthday")))
