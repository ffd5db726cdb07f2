import logging

import psycopg2.errors

from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.smb_journey.tools import contained

_logger = logging.getLogger(__name__)

# a failing event is tried in this many batches before it is set aside
MAX_ATTEMPTS = 3

# What a business flow tells the journeys, and which record it names. The
# handlers read the records' state when they run, not when the event was
# written: an order confirmed then cancelled before the cron ran is a
# cancelled order, whatever order the two events are processed in.
EVENT_KINDS = {
    "order_confirmed": ("Order confirmed", "sale.order", "_handle_orders_confirmed"),
    "order_cancelled": ("Order cancelled", "sale.order", "_handle_orders_cancelled"),
    "credit_note": ("Credit note posted or reset", "account.move", "_handle_credit_notes"),
    "partner_created": ("Contact created", "res.partner", "_handle_partners_created"),
    "lead_created": ("Lead created or converted", "crm.lead", "_handle_leads_created"),
    "lead_moved": ("Lead moved to a stage", "crm.lead", "_handle_leads_moved"),
    "lead_closed": ("Lead lost", "crm.lead", "_handle_leads_closed"),
}


class SmbJourneyEvent(models.Model):
    """A shop event waiting for the journeys: the durable queue between the
    shop's hot path and the journeys' work.

    Confirming an order, cancelling it, posting a credit note or creating a
    contact writes one row here (one INSERT for a whole batch) in the business
    transaction, and nothing else: conversions, goals, journey entry and tier
    moves run in the events cron, seconds later, in batches. The row commits
    or rolls back with the business transaction, and is deleted in the
    transaction that did its work: a server stopped in between loses nothing
    and does nothing twice.
    """

    _name = "smb.journey.event"
    _description = "Journey Shop Event"
    _order = "id"

    _pending_idx = models.Index("(id) WHERE state = 'pending'")

    kind = fields.Selection(selection="_kind_selection", required=True, readonly=True)
    res_id = fields.Many2oneReference("Record ID", model_field="res_model", required=True, readonly=True)
    res_model = fields.Char("Model", compute="_compute_res_model")
    company_id = fields.Many2one(
        "res.company", readonly=True,
        help="The company the user was working in: a contact shared by every company enters the journeys "
        "of this one.")
    imported = fields.Boolean(readonly=True, help="The contact came from an import.")
    state = fields.Selection(
        [("pending", "Pending"), ("error", "Failed")], default="pending", required=True, readonly=True)
    error_message = fields.Text("Problem", readonly=True)
    attempts = fields.Integer(readonly=True)

    @api.model
    def _event_kinds(self):
        """{kind: (label, model, handler)}: EVENT_KINDS, extended with super()
        by the modules that add a kind (the Inventory bridge's deliveries)."""
        return dict(EVENT_KINDS)

    @api.model
    def _kind_selection(self):
        return [(kind, label) for kind, (label, __, __) in self._event_kinds().items()]

    @api.depends("kind")
    def _compute_res_model(self):
        kinds = self._event_kinds()
        for event in self:
            event.res_model = kinds[event.kind][1] if event.kind in kinds else False

    def _compute_display_name(self):
        labels = dict(self._fields["kind"]._description_selection(self.env))
        for event in self:
            event.display_name = f"{labels.get(event.kind, '')} #{event.res_id}"

    # ------------------------------------------------------------
    # HOT PATH
    # ------------------------------------------------------------

    @api.model
    def _enqueue(self, kind, records, imported=False):
        """Record that ``kind`` happened to ``records``: one statement that also
        wakes the events cron when nothing is already waking it.

        Raw SQL on purpose: this runs inside every checkout, confirmation and
        sign-up, where the ORM's create (defaults, access, caches, a trigger
        row and a NOTIFY per call) would cost the shop more than the work it
        defers. The trigger row is written only when the cron has none
        pending, so a burst of confirmations writes one.
        """
        if not records.ids:
            return
        now = fields.Datetime.now()
        # the cron is looked up in the statement itself: its id would cost a
        # query after every cache reset (a user created clears the caches)
        planted = self.env.execute_query(SQL(
            """
            WITH cron AS (
                SELECT res_id AS id FROM ir_model_data
                 WHERE module = 'smb_journey' AND name = 'ir_cron_journey_events'
            ), events AS (
                INSERT INTO smb_journey_event (kind, res_id, company_id, imported, state, attempts,
                                               create_uid, create_date, write_uid, write_date)
                SELECT %(kind)s, unnest(%(ids)s::int[]), %(company)s, %(imported)s, 'pending', 0,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
            )
            INSERT INTO ir_cron_trigger (cron_id, call_at)
            SELECT cron.id, %(now)s FROM cron
             WHERE NOT EXISTS (SELECT 1 FROM ir_cron_trigger t WHERE t.cron_id = cron.id)
            RETURNING cron_id
            """,
            kind=kind, ids=records.ids, company=self.env.company.id, imported=bool(imported),
            uid=self.env.uid, now=now,
        ))
        if planted:
            # wake the cron workers once this transaction commits (what ir.cron._trigger does)
            self.env.cr.postcommit.add(self.env["ir.cron"].sudo().browse(planted[0][0])._notifydb)

    # ------------------------------------------------------------
    # CRON
    # ------------------------------------------------------------

    @api.model
    def _cron_process(self):
        """Events cron: do the journeys' part of what the shop did, batch by
        batch (``sms.sms._process_queue`` style, committed by the progress API)."""
        processed, remaining = self._process_batch()
        self.env["ir.cron"]._commit_progress(processed, remaining=remaining)
        if not remaining and self.env.execute_query(SQL(
                "SELECT 1 FROM smb_journey_event WHERE state = 'pending' LIMIT 1")):
            # committed while this job ran, by a transaction that saw the job's
            # own trigger (deleted only when the job ends) and planted none:
            # a trigger planted now outlives the job, which runs again at once
            self.env.ref("smb_journey.ir_cron_journey_events")._trigger()

    @api.model
    def process_pending(self):
        """Process every pending event now, in this transaction (no commit):
        for server actions, scripts and tests. Returns the number processed."""
        total = 0
        while True:
            processed, remaining = self._process_batch()
            total += processed
            if not processed or not remaining:
                return total

    @api.model
    def _process_batch(self):
        """Lock and process one batch of pending events; returns (processed, remaining).

        SKIP LOCKED: a second worker takes the next rows. A row processed by
        another worker since our snapshot cannot be locked under REPEATABLE
        READ: the runner calls again with a fresh snapshot. ``remaining``
        counts what this snapshot sees arrive meanwhile; ``_cron_process``
        looks again after its commit."""
        batch_size = int(self.env["ir.config_parameter"].sudo().get_param("smb_journey.event_batch_size", 1000))
        self.flush_model()
        cr = self.env.cr
        try:
            with cr.savepoint(flush=False):
                cr.execute(SQL(
                    """SELECT id FROM smb_journey_event WHERE state = 'pending'
                        ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED""", batch_size), log_exceptions=False)
                batch = self.browse([row[0] for row in cr.fetchall()])
        except psycopg2.errors.SerializationFailure:
            return 0, 1
        if batch:
            batch._process()
        # events of this batch that failed and wait for another try count too
        remaining = self.search_count([("state", "=", "pending")])
        return len(batch), remaining

    def _process(self):
        """Run the handlers on the whole batch; if it fails, event by event, so
        one bad event is set aside with its reason and the others go through."""
        with contained(self.env, "Journey events") as ok:
            self._run_handlers()
        if ok:
            self._done()
            return
        for event in self:
            with contained(self.env, f"Journey event {event.id}") as ok:
                event._run_handlers()
            if ok:
                event._done()
            else:
                event._failed(ok.error)

    def _run_handlers(self):
        # sudo: the journeys' own bookkeeping, whoever's action queued the event
        kinds = self._event_kinds()
        for (kind, company, imported), events in self.sudo().grouped(
                lambda e: (e.kind, e.company_id, e.imported)).items():
            if kind not in kinds:
                # its module was uninstalled: nothing handles it any more
                events.write({"state": "error", "attempts": MAX_ATTEMPTS, "error_message": self.env._(
                    "No module handles the events of kind %s any more.", kind)})
                continue
            __, model, handler = kinds[kind]
            records = self.env[model].sudo().browse(set(events.mapped("res_id"))).exists()
            if records:
                events = events.with_company(company) if company else events
                getattr(events, handler)(records.with_env(events.env), imported=imported)
        self.env.flush_all()

    def _done(self):
        self.env.cr.execute(SQL("DELETE FROM smb_journey_event WHERE id = ANY(%s)", self.ids))
        self.invalidate_recordset()

    def _failed(self, error):
        """Try again in the next batches (a lock, a passing glitch); after
        MAX_ATTEMPTS, set the event aside with its reason for the admin."""
        message = (str(error) or repr(error))[:2000]
        attempts = self.attempts + 1
        self.sudo().write({"state": "error" if attempts >= MAX_ATTEMPTS else "pending",
                           "error_message": message, "attempts": attempts})

    def action_retry(self):
        """Process the failed events again (after fixing the cause)."""
        # sudo: managers read the events of their companies (record rule);
        # only this action, not a write, puts them back in the queue
        self.filtered(lambda e: e.state == "error").sudo().write(
            {"state": "pending", "error_message": False, "attempts": 0})
        self.env.ref("smb_journey.ir_cron_journey_events")._trigger()

    def _happened(self):
        """{record id: its latest event}: a journey started after that event does not take it."""
        happened = {}
        for event in self:
            happened[event.res_id] = max(happened.get(event.res_id, 0), event.id)
        return happened

    @api.model
    def _last_id(self):
        """The id of the last event written so far (ids only grow): what a
        journey started now must not take in."""
        last, called = self.env.execute_query(SQL("SELECT last_value, is_called FROM smb_journey_event_id_seq"))[0]
        return last if called else 0

    # ------------------------------------------------------------
    # HANDLERS: ``records`` exist; read their state now. They run as
    # superuser (see _run_handlers): the journeys' own bookkeeping.
    # ------------------------------------------------------------

    def _handle_orders_confirmed(self, orders, imported=False):
        orders = orders.filtered(lambda o: o.state == "sale")
        if not orders:
            return
        self.env["smb.journey.conversion"]._credit_orders(orders)
        self.env["smb.journey.enrollment"]._on_orders_confirmed(orders)
        self.env["smb.journey.step"]._wake_waiting_for_orders(orders)
        self.env["smb.journey"]._fire_trigger(  # contained per journey
            "order_confirmed", orders, happened=self._happened())
        self.env["smb.loyalty.tier"]._on_orders_changed(orders, "order")

    def _handle_orders_cancelled(self, orders, imported=False):
        orders = orders.filtered(lambda o: o.state == "cancel")
        if not orders:
            return
        self.env["smb.journey.enrollment"]._on_orders_cancelled(orders)
        self.env["smb.journey.conversion"]._on_orders_cancelled(orders)
        self.env["smb.loyalty.tier"]._on_orders_changed(orders, "cancel")

    def _handle_credit_notes(self, moves, imported=False):
        """A credit note posted lowers the customer's spend and the revenue
        journeys brought; taken back to draft, it no longer does."""
        orders = moves.filtered(lambda m: m.move_type == "out_refund").line_ids.sale_line_ids.order_id
        if not orders:
            return
        self.env["smb.journey.conversion"]._on_orders_refunded(orders)
        self.env["smb.loyalty.tier"]._on_orders_changed(orders, "cancel")

    def _handle_partners_created(self, partners, imported=False):
        """Contacts share their company's tier; customers with an email enter
        the welcome journeys of the company they were created in (imported
        ones only those that take imports)."""
        partners.filtered("parent_id")._smb_copy_commercial_tier()
        customers = partners.filtered(lambda p: p.email and p.active and not p.user_ids.filtered(
            lambda u: not u.share))
        if customers:
            self.env["smb.journey"]._fire_trigger(
                "partner_created", customers, imported=imported, happened=self._happened())

    def _handle_leads_created(self, leads, imported=False):
        """A lead or opportunity created, or a lead converted into an
        opportunity: the journeys of new leads, and of the stage it starts in."""
        Journey = self.env["smb.journey"]
        Journey._on_leads_changed(leads)
        Journey._fire_trigger("lead_created", leads, happened=self._happened())
        Journey._fire_trigger("lead_stage_reached", leads, happened=self._happened())

    def _handle_leads_moved(self, leads, imported=False):
        """Moved to a stage: a won stage ends its journeys, any stage may start some."""
        self.env["smb.journey"]._on_leads_changed(leads)
        self.env["smb.journey"]._fire_trigger("lead_stage_reached", leads, happened=self._happened())

    def _handle_leads_closed(self, leads, imported=False):
        """Marked as lost: its journeys end now, not at their next step."""
        self.env["smb.journey"]._on_leads_changed(leads)
