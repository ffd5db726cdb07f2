import psycopg2.errors

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL, format_amount, format_date

from odoo.addons.smb_journey.tools.registry import Trigger

LEAD_TRIGGERS = ("lead_created", "lead_stage_reached")
# the shop event that fires a trigger again (see smb_journey_event.py)
LEAD_EVENT = {"lead_created": "lead_created", "lead_stage_reached": "lead_moved"}


class SmbJourney(models.Model):
    """CRM lead nurturing: a new lead or opportunity, or one moved to a
    stage, makes its customer enter; winning or losing it ends the journey.

    The shop events queue carries the lead's changes (crm_lead.py hooks its
    create and write); the customer is the lead's, or, for a lead that has
    only an email address, the contact crm would make for it when converting
    it, found or created in the events cron, never in the lead's own
    transaction."""

    _inherit = "smb.journey"

    lead_type = fields.Selection(
        [("lead", "Leads"), ("opportunity", "Opportunities"), ("both", "Leads and opportunities")],
        "Lead Type", default="opportunity", required=True,
        help="Opportunities: new opportunities, and leads when they are converted into one. Leads: leads "
        "still to qualify. A lead or opportunity enters once, whatever it becomes later.")
    lead_stage_id = fields.Many2one(
        "crm.stage", "Stage", ondelete="restrict",
        help="The lead enters when it is moved to this stage, or created in it; once per lead and stage, "
        "even if it goes back and forth. Any stage when empty.")
    lead_team_id = fields.Many2one(
        "crm.team", "Sales Team", check_company=True, ondelete="set null",
        help="Leads of this sales team only; every team of the company when empty.")

    @api.model
    def _trigger_types(self):
        _ = self.env._
        reasons = (("lead_won", _("Lead won")), ("lead_lost", _("Lead lost")))
        return super()._trigger_types() | {
            "lead_created": Trigger(
                _("Lead or opportunity created"), model="crm.lead", params=("lead_type", "lead_team_id"),
                context=("lead",), reasons=reasons, icon="fa-handshake-o", entry=_("once per lead"),
                help=_("A lead or opportunity is created, or a lead is converted into an opportunity; "
                       "it ends when the lead is won or lost.")),
            "lead_stage_reached": Trigger(
                _("Lead reached a stage"), model="crm.lead", params=("lead_type", "lead_stage_id", "lead_team_id"),
                context=("lead",), reasons=reasons, icon="fa-filter", entry=_("once per lead and stage"),
                help=_("A lead or opportunity is moved to the stage (or created in it); it ends when the lead "
                       "is won or lost.")),
        }

    # ------------------------------------------------------------
    # WHO ENTERS
    # ------------------------------------------------------------

    def _lead_domain(self, won_counts=False):
        """Open leads of the journey's type and team (closed ones never enter)."""
        domain = Domain("won_status", "in", ("pending", "won") if won_counts else ("pending",))
        if self.lead_type != "both":
            domain &= Domain("type", "=", self.lead_type)
        if self.lead_team_id:
            domain &= Domain("team_id", "=", self.lead_team_id.id)
        return domain & Domain("active", "=", True)

    def _trigger_domain_lead_created(self):
        return self._lead_domain()

    def _trigger_domain_lead_stage_reached(self):
        if not self.lead_stage_id:
            return self._lead_domain()
        # a journey on a won stage (after-sale onboarding) takes the leads won
        return self._lead_domain(won_counts=self.lead_stage_id.is_won) & Domain(
            "stage_id", "=", self.lead_stage_id.id)

    def _enroll_pairs(self, pairs, lead=None, manual=False):
        """Leads enter as their customer, or as the contact made for a lead
        that has only an email address; "stage reached" enters once per lead
        and stage (moved back and forth, it does not enter again)."""
        if self.trigger not in LEAD_TRIGGERS or not pairs:
            return super()._enroll_pairs(pairs, lead=lead, manual=manual)
        leads = self.env["crm.lead"].union(*(pair[1] for pair in pairs if pair[1] and pair[1]._name == "crm.lead"))
        customers = self._lead_customers(leads)
        per_stage = self.trigger == "lead_stage_reached"
        resolved = []
        for partner, record, *key in pairs:
            if record and record._name == "crm.lead":
                partner = customers.get(record.id, partner)
                if per_stage and not key:
                    key = [f"crm.lead,{record.id}:stage:{record.stage_id.id}"]
            resolved.append((partner, record, *key))
        return super()._enroll_pairs(resolved, lead=lead, manual=manual)

    def _lead_customers(self, leads):
        """{lead id: customer}: the lead's customer; for a lead with only an
        email address, the contact of that address, else a contact created
        from the lead the way crm converts a lead (a company from its company
        name, the contact under it). Either becomes the lead's customer, as
        on conversion, so the next event of the lead finds it.

        Runs in the events cron (the handlers), never in the transaction
        that creates the lead. Two workers taking two events of one lead
        make one contact: the leads are locked first; a lead that a
        concurrent transaction linked meanwhile is left to a new shop event,
        which the next pass reads with that contact."""
        # sudo: the journeys' bookkeeping links the lead to its contact, whoever created it
        leads = leads.sudo()
        orphans = leads.filtered(lambda lead: not lead.partner_id and lead.email_normalized)
        busy = self._lock_leads(orphans)
        if busy:
            orphans -= busy
            leads -= busy
            self.env["smb.journey.event"]._enqueue(LEAD_EVENT.get(self.trigger, "lead_created"), busy)
        if orphans:
            Partner = self.env["res.partner"].sudo()
            known = {}
            for partner in Partner.search(
                    [("email_normalized", "in", orphans.mapped("email_normalized")),
                     ("company_id", "in", [False, *orphans.company_id.ids])], order="id"):
                known.setdefault((partner.email_normalized, partner.company_id.id), partner)
            for partner, group in orphans.grouped(lambda lead: known.get(
                    (lead.email_normalized, lead.company_id.id)) or known.get((lead.email_normalized, False))).items():
                if partner:
                    group.partner_id = partner
            # crm's own conversion: a contact (and its company) from the lead's details
            orphans.filtered(lambda lead: not lead.partner_id)._handle_partner_assignment(create_missing=True)
        return {lead.id: lead.partner_id for lead in leads if lead.partner_id}

    @api.model
    def _lock_leads(self, leads):
        """Lock ``leads`` (waiting for a transaction that holds them); return
        those a concurrent transaction changed after this one's snapshot,
        which cannot be locked under REPEATABLE READ. Row by row only then."""
        cr = self.env.cr

        def lock(ids):
            with cr.savepoint(flush=False):
                cr.execute(SQL("SELECT id FROM crm_lead WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE", ids),
                           log_exceptions=False)

        if not leads:
            return leads
        try:
            lock(leads.ids)
            return leads.browse()
        except psycopg2.errors.SerializationFailure:
            busy = leads.browse()
            for lead in leads:
                try:
                    lock([lead.id])
                except psycopg2.errors.SerializationFailure:
                    busy |= lead
            return busy

    # ------------------------------------------------------------
    # WHO LEAVES: won or lost, asked before every step and at once
    # when the lead changes (smb.journey.event)
    # ------------------------------------------------------------

    def _exit_reasons_lead_created(self, enrollments):
        """Won completes, lost exits (as crm says: archived with probability 0,
        or archived with a lost reason). A journey on a won stage is about
        after the sale: winning does not end it."""
        ends = {}
        won_ends = not (self.trigger == "lead_stage_reached" and self.lead_stage_id.is_won)
        # sudo: the lead's outcome decides, whoever may read the lead
        for enrollment in enrollments.sudo().filtered("lead_id"):
            lead = enrollment.lead_id
            if lead.won_status == "won" and won_ends:
                ends[enrollment] = ("completed", "lead_won")
            elif lead.won_status == "lost" or (not lead.active and lead.lost_reason_id):
                ends[enrollment] = ("exited", "lead_lost")
        return {enrollments.browse(e.id): end for e, end in ends.items()}

    _exit_reasons_lead_stage_reached = _exit_reasons_lead_created

    @api.model
    def _on_leads_changed(self, leads):
        """End at once the enrollments of leads won or lost (the engine would
        before their next step)."""
        self.env["smb.journey.enrollment"].sudo().search([
            ("lead_id", "in", leads.ids), ("state", "=", "running"), ("journey_id.trigger", "in", LEAD_TRIGGERS),
        ])._end_as_records_say()

    # ------------------------------------------------------------
    # WHY, for the salesperson's activity
    # ------------------------------------------------------------

    def _entry_reason_lead_created(self, enrollment, record):
        env = self.env
        values = {"lead": record.name, "amount": format_amount(env, record.expected_revenue, record.company_currency),
                  "date": format_date(env, enrollment.date_start)}
        # one sentence per kind: a translation agrees with its noun (gender, article)
        if record.type == "opportunity":
            return env._("the opportunity %(lead)s (expected revenue %(amount)s) came in on %(date)s.", **values)
        return env._("the lead %(lead)s (expected revenue %(amount)s) came in on %(date)s.", **values)

    def _entry_reason_lead_stage_reached(self, enrollment, record):
        env = self.env
        return env._(
            "the lead %(lead)s reached the stage %(stage)s on %(date)s.", lead=record.name,
            stage=record.stage_id.name, date=format_date(env, record.date_last_stage_update or enrollment.date_start))
