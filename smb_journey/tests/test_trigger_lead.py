from unittest.mock import patch

from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tests import freeze_time, tagged

from .common import JourneyCase
from .test_concurrency import ConcurrentCase

BODY = (
    "<p>Hi {{ customer.first_name }}, about {{ lead.name }} ({{ lead.stage }}, {{ lead.expected_revenue }}, "
    "team {{ lead.team }}): {{ lead.salesperson.name }} {{ lead.salesperson.phone }} "
    "{{ lead.salesperson.email }}</p>"
)


@tagged("post_install", "-at_install")
class TestLeadTrigger(JourneyCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesperson = cls.env["res.users"].create({
            "name": "Sam Seller", "login": "sam.seller", "email": "sam@shop.example.com", "phone": "+32 2 555 01 01",
            "group_ids": [(6, 0, cls.env.ref("sales_team.group_sale_salesman").ids)]})
        cls.team = cls.env["crm.team"].create({"name": "Nurture Team", "company_id": cls.company.id})
        Stage = cls.env["crm.stage"]
        cls.stage_new = Stage.create({"name": "Nurture New", "sequence": 0})
        cls.stage_proposal = Stage.create({"name": "Nurture Proposal", "sequence": 1})
        cls.lost_reason = cls.env["crm.lost.reason"].create({"name": "Too expensive"})
        cls.nurture = cls.env["smb.journey"].create({
            "name": "New opportunities",
            "trigger": "lead_created",
            "lead_type": "opportunity",
            "reentry": "always",
            "step_ids": [
                (0, 0, {"name": "Thanks", "sequence": 1, "step_type": "email",
                        "subject": "Thanks {{ customer.first_name }}", "body_html": BODY}),
                (0, 0, {"name": "Wait", "sequence": 2, "step_type": "wait", "wait_amount": 2, "wait_unit": "days"}),
                (0, 0, {"name": "Call them", "sequence": 3, "step_type": "activity",
                        "activity_type_id": cls.env.ref("mail.mail_activity_data_call").id,
                        "activity_summary": "Call about the opportunity"}),
            ],
        })
        cls.nurture_email = cls.nurture.step_ids.filtered(lambda s: s.step_type == "email")
        cls.staged = cls.env["smb.journey"].create({
            "name": "Proposal sent",
            "trigger": "lead_stage_reached",
            "lead_type": "both",
            "lead_stage_id": cls.stage_proposal.id,
            "reentry": "always",
            "step_ids": [(0, 0, {"name": "Proposal", "step_type": "email",
                                 "subject": "Your proposal", "body_html": BODY})],
        })
        cls.env["smb.journey.event"].process_pending()

    def make_lead(self, **vals):
        return self.env["crm.lead"].create(dict({
            "name": "Chairs for 12 desks", "type": "opportunity", "partner_id": self.customer.id,
            "user_id": self.salesperson.id, "team_id": self.team.id, "stage_id": self.stage_new.id,
            "expected_revenue": 4800, "company_id": self.company.id,
        }, **vals))

    def engine(self):
        """What the crons do: events, scanners, due steps (in this transaction)."""
        self.env["smb.journey.enrollment"].run_engine()
        self.env.invalidate_all()

    @freeze_time("2026-03-02 09:00:00")
    def test_new_opportunity_enters_once_and_the_salesperson_calls(self):
        self.nurture.action_start()
        opportunity = self.make_lead()
        lead = self.make_lead(name="Just a lead", type="lead")
        self.assertFalse(self.nurture.enrollment_ids, "nothing happens in the lead's own transaction")
        opportunity.write({"stage_id": self.stage_proposal.id})  # a second event of the same lead
        self.process_events()
        enrollment = self.nurture.enrollment_ids
        self.assertEqual(len(enrollment), 1, "two events of one lead: one entry; the lead (not opportunity) stays out")
        self.assertEqual(enrollment.lead_id, opportunity)
        self.assertEqual(enrollment.partner_id, self.customer)
        self.engine()
        mail = self.mails(self.nurture_email)
        self.assertEqual(len(mail), 1)
        for text in ("Chairs for 12 desks", "Nurture Proposal", "4,800.00", "Nurture Team", "Sam Seller",
                     "+32 2 555 01 01", "sam@shop.example.com"):
            self.assertIn(text, mail.body_html)
        # the customer's own salesperson is someone else: the call goes to the lead's
        self.customer.user_id = self.env.ref("base.user_admin")
        with freeze_time("2026-03-04 09:30:00"):
            self.engine()
        activity = self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "=", self.customer.id),
             ("summary", "=", "Call about the opportunity")])
        self.assertEqual(activity.user_id, self.salesperson)
        self.assertIn("Chairs for 12 desks", activity.note)
        self.assertIn("came in on", activity.note)
        # converted later, the lead enters as a new opportunity; once
        lead.convert_opportunity(self.customer)
        self.process_events()
        self.process_events()
        self.assertEqual(self.nurture.enrollment_ids.lead_id, opportunity | lead)

    def test_lead_with_only_an_email_gets_a_contact_in_the_cron(self):
        self.nurture.lead_type = "both"
        self.nurture.action_start()
        lead = self.make_lead(partner_id=False, email_from="Zoe Field <zoe@example.com>", contact_name="Zoe Field",
                              partner_name=False, type="lead")
        self.assertFalse(lead.partner_id, "no contact created while the lead is saved")
        existing = self.env["res.partner"].create({"name": "Max Known", "email": "max@example.com"})
        known = self.make_lead(partner_id=False, email_from="max@example.com", contact_name="Max")
        no_email = self.make_lead(partner_id=False, email_from=False, contact_name="Nobody")
        self.process_events()
        self.assertTrue(lead.partner_id, "a contact is made for the lead")
        self.assertEqual((lead.partner_id.name, lead.partner_id.email), ("Zoe Field", "zoe@example.com"))
        self.assertEqual(known.partner_id, existing, "the contact of the address is reused")
        self.assertFalse(no_email.partner_id)
        by_lead = {e.lead_id: e.partner_id for e in self.nurture.enrollment_ids}
        self.assertEqual(by_lead, {lead: lead.partner_id, known: existing})
        self.env["smb.journey"]._fire_trigger("lead_created", lead | known)  # fired again
        self.assertEqual(len(self.nurture.enrollment_ids), 2)
        self.assertEqual(self.env["res.partner"].search_count([("email", "=", "zoe@example.com")]), 1)

    def test_stage_reached_once_per_lead_and_stage(self):
        self.staged.action_start()
        lead = self.make_lead(type="lead", partner_id=False, email_from="kim@example.com", contact_name="Kim")
        self.process_events()
        self.assertFalse(self.staged.enrollment_ids, "created in another stage")
        lead.stage_id = self.stage_proposal
        self.process_events()
        enrollment = self.staged.enrollment_ids
        self.assertEqual(enrollment.entry_key, f"crm.lead,{lead.id}:stage:{self.stage_proposal.id}")
        self.assertEqual(enrollment.partner_id, lead.partner_id)
        self.assertIn("reached the stage Nurture Proposal", enrollment._entry_reasons()[enrollment.id])
        lead.stage_id = self.stage_new
        lead.stage_id = self.stage_proposal
        self.process_events()
        self.assertEqual(len(self.staged.enrollment_ids), 1, "back and forth: once per lead and stage")
        # created right in the stage counts as reaching it; another team's lead too (no team set)
        other = self.make_lead(stage_id=self.stage_proposal.id, team_id=False)
        self.process_events()
        self.assertIn(other, self.staged.enrollment_ids.lead_id)
        # the journey of a team takes its leads only
        self.staged.lead_team_id = self.team
        third = self.make_lead(name="Third", stage_id=self.stage_proposal.id, team_id=False)
        self.process_events()
        self.assertNotIn(third, self.staged.enrollment_ids.lead_id)

    def test_won_completes_and_lost_exits(self):
        self.nurture.action_start()
        won, lost = self.make_lead(name="Won deal"), self.make_lead(name="Lost deal")
        self.process_events()
        self.assertEqual(len(self.nurture.enrollment_ids), 2)
        won.action_set_won()
        lost.action_set_lost(lost_reason_id=self.lost_reason.id)
        self.process_events()  # at once, not at the next step
        by_lead = {e.lead_id: e for e in self.nurture.enrollment_ids.with_context(active_test=False)}
        self.assertEqual((by_lead[won].state, by_lead[won].exit_reason), ("completed", "lead_won"))
        self.assertEqual((by_lead[lost].state, by_lead[lost].exit_reason), ("exited", "lead_lost"))
        self.assertEqual(by_lead[lost].log_ids.mapped("reason"), ["lead_lost"], "the reason is in the step log")
        self.engine()
        self.assertFalse(self.mails(self.nurture_email), "no email to a closed lead")
        # a lead won before the events cron runs never enters
        quick = self.make_lead(name="Quick win")
        quick.action_set_won()
        self.process_events()
        self.assertNotIn(quick, self.nurture.enrollment_ids.lead_id)

    def test_engine_ends_a_lost_lead_before_the_next_step(self):
        self.nurture.action_start()
        lead = self.make_lead()
        self.process_events()
        lead.with_context(active_test=False).write({"active": False, "lost_reason_id": self.lost_reason.id})
        self.env["smb.journey.event"].search([]).unlink()  # the event was lost: the engine still checks
        self.engine()
        self.assertEqual(self.nurture.enrollment_ids.exit_reason, "lead_lost")
        self.assertFalse(self.mails(self.nurture_email))

    def test_lead_of_another_company_does_not_enter(self):
        self.nurture.action_start()
        other_company = self.env["res.company"].create({"name": "Other Shop"})
        self.make_lead(company_id=other_company.id, team_id=False, user_id=False)
        ours = self.make_lead(name="Ours")
        self.process_events()
        self.assertEqual(self.nurture.enrollment_ids.lead_id, ours)

    def test_moving_a_lead_costs_one_statement(self):
        """The salesperson's kanban drag pays one INSERT, nothing else."""
        self.nurture.action_start()
        quiet, heard = self.make_lead(name="Quiet"), self.make_lead(name="Heard")
        self.process_events()

        def move(lead):
            self.env.flush_all()
            self.env.invalidate_all()
            with self.count_queries() as counter:
                lead.stage_id = self.stage_proposal
                self.env.flush_all()
            return counter["n"]

        Event = type(self.env["smb.journey.event"])
        with patch.object(Event, "_enqueue", lambda *args, **kwargs: None):
            without = move(quiet)
        self.assertEqual(move(heard), without + 1)
        self.assertEqual(self.env["smb.journey.event"].search([]).mapped("kind"), ["lead_moved"])

    def test_shipped_journey(self):
        journey = self.env.ref("smb_journey.journey_lead_nurture")
        self.assertEqual(journey.state, "draft")
        self.assertEqual((journey.trigger, journey.lead_type), ("lead_created", "opportunity"))
        self.assertIn(",lead_type,", journey.trigger_params)
        journey.action_start()
        opportunity = self.make_lead()
        self.engine()
        first = journey.step_ids.filtered(lambda s: s.step_type == "email").sorted("sequence")[:1]
        mail = self.mails(first)
        self.assertEqual(len(mail), 1)
        self.assertIn(opportunity.name, mail.body_html)
        self.assertIn("Sam Seller", mail.body_html, "signed by the salesperson")


@tagged("post_install", "-at_install")
class TestLeadTriggerConcurrency(ConcurrentCase):
    """Two event workers take two events of the same lead at once."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            stage = env["crm.stage"].create({"name": "Parallel stage"})
            journey = env["smb.journey"].create({
                "name": "Parallel leads", "trigger": "lead_stage_reached", "lead_type": "both",
                "lead_stage_id": stage.id, "reentry": "always",
                "step_ids": [(0, 0, {"name": "Only email", "step_type": "email", "subject": "Hi",
                                     "body_html": "<p>Hello {{ lead.name }}</p>"})],
            })
            journey.action_start()
            partner = env["res.partner"].create({"name": "Parallel Lead", "email": "plead@example.com"})
            leads = env["crm.lead"].create([
                {"name": "With customer", "partner_id": partner.id, "stage_id": stage.id},
                {"name": "Email only", "email_from": "ponly@example.com", "contact_name": "Only Email",
                 "stage_id": stage.id},
            ])
            self.made = {"stage": stage.id, "journey": journey.id, "partner": partner.id, "leads": leads.ids}
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            self._drop_journeys(env, [self.made["journey"]])
            leads = env["crm.lead"].with_context(active_test=False).browse(self.made["leads"])
            partners = leads.partner_id | env["res.partner"].browse(self.made["partner"])
            self._drop_records(env, "crm.lead", self.made["leads"])
            self._drop_records(env, "res.partner", partners.ids)
            env["crm.stage"].browse(self.made["stage"]).unlink()

    def test_two_workers_enrol_a_lead_once(self):
        def fire(env):
            """A worker's handler: a lost race must neither fail nor make a second contact."""
            try:
                return len(env["smb.journey"]._fire_trigger(
                    "lead_stage_reached", env["crm.lead"].browse(self.made["leads"])))
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                env.cr.rollback()
                return None

        created = self._in_threads(fire)
        self.assertNotIn(None, created, "no worker failed")
        with self.registry.cursor() as cr:
            # the events cron's next pass: a lead left to it by the worker that lost the race enters now
            self._env(cr)["smb.journey.event"].process_pending()
        enrollments = [("journey_id", "=", self.made["journey"])]
        self.assertEqual(self._count("smb.journey.enrollment", enrollments), 2, "each lead entered once")
        for lead_id in self.made["leads"]:
            self.assertEqual(self._count("smb.journey.enrollment", enrollments + [("lead_id", "=", lead_id)]), 1)
        self.assertEqual(self._count("res.partner", [("email", "=", "ponly@example.com")]), 1,
                         "one contact made for the lead with only an email")
