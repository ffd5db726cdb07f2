import json
import logging
import time
import uuid
from datetime import timedelta

from odoo import api, fields, models

from odoo.addons.smb_journey.lib import webhook
from odoo.addons.smb_journey.tools import locking

_logger = logging.getLogger(__name__)

# a batch stops taking new calls after this many seconds (the rest wait for
# the next call of the cron, within the same job): a batch of slow
# receivers does not hold the cron worker for batch x timeout
BATCH_BUDGET = 60


class SmbJourneyWebhookDelivery(models.Model):
    """The webhook outbox: one call of an endpoint for one customer at one
    step. Webhook steps only create these rows; the delivery cron POSTs them
    in its own transactions, so no network call is made while the engine
    holds enrollment rows."""

    _name = "smb.journey.webhook.delivery"
    _description = "Journey Webhook Call"
    _order = "id desc"
    _check_company_auto = True

    # the cron's due query: pending rows by due time
    _due_idx = models.Index("(next_try_at, id) WHERE state = 'pending'")
    _unique_key = models.UniqueIndex("(idempotency_key)", "A webhook call has its own key.")

    webhook_id = fields.Many2one(
        "smb.journey.webhook", "Webhook", required=True, index=True, ondelete="cascade", check_company=True)
    company_id = fields.Many2one("res.company", required=True, index=True)
    journey_id = fields.Many2one("smb.journey", index=True, ondelete="cascade", check_company=True)
    step_id = fields.Many2one("smb.journey.step", index=True, ondelete="cascade", check_company=True)
    enrollment_id = fields.Many2one("smb.journey.enrollment", index="btree_not_null", ondelete="set null")
    partner_id = fields.Many2one("res.partner", "Customer", index="btree_not_null", ondelete="set null")
    payload = fields.Json("Payload Data", readonly=True, help="The JSON body, as the receiver gets it.")
    payload_text = fields.Text("Payload", compute="_compute_payload_text")
    idempotency_key = fields.Char(
        "Key", required=True, readonly=True, copy=False, default=lambda self: str(uuid.uuid4()),
        help="Sent as the Idempotency-Key header, the same on every try: the receiver ignores a retry "
        "of a call it already took.")
    state = fields.Selection(
        [("pending", "Pending"), ("done", "Delivered"), ("dead", "Dead"), ("cancelled", "Cancelled")],
        default="pending", required=True, readonly=True)
    tries = fields.Integer(readonly=True)
    next_try_at = fields.Datetime("Next Try", default=fields.Datetime.now, readonly=True)
    last_try_at = fields.Datetime("Last Try", readonly=True)
    last_status_code = fields.Integer("Last HTTP Status", readonly=True, help="0: no answer.")
    last_response = fields.Text("Last Response", readonly=True, help="The start of the receiver's answer.")
    last_error = fields.Char(readonly=True)
    date_done = fields.Datetime("Delivered On", readonly=True)

    @api.depends("webhook_id.name", "partner_id.name")
    def _compute_display_name(self):
        for delivery in self:
            delivery.display_name = " - ".join(filter(None, [delivery.webhook_id.name, delivery.partner_id.name]))

    @api.depends("payload")
    def _compute_payload_text(self):
        for delivery in self:
            delivery.payload_text = json.dumps(delivery.payload, indent=2, ensure_ascii=False) \
                if delivery.payload else ""

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_retry(self):
        """Try a dead or cancelled call again, from its first try, now."""
        self.filtered(lambda d: d.state in ("dead", "cancelled")).write({
            "state": "pending", "tries": 0, "next_try_at": fields.Datetime.now(), "date_done": False,
        })
        self._wake_cron()

    def action_cancel(self):
        self.filtered(lambda d: d.state == "pending").state = "cancelled"

    # ------------------------------------------------------------
    # CRON
    # ------------------------------------------------------------

    @api.model
    def _cron_deliver(self):
        """Delivery cron: POST the due calls, each in transactions of its
        own (``sms.sms._process_queue`` style, committed by the progress API)."""
        __, remaining = self._deliver_batch()
        self.env["ir.cron"]._commit_progress(remaining=remaining)

    @api.model
    def _due_domain(self):
        return [
            ("state", "=", "pending"),
            ("next_try_at", "<=", fields.Datetime.now()),
            # an archived endpoint's calls wait for it to come back
            ("webhook_id.active", "=", True),
        ]

    @api.model
    def _deliver_batch(self, batch_size=None):
        """POST up to ``batch_size`` due calls; returns (processed, remaining).

        The outbox discipline: each call is taken alone, its row locked FOR
        UPDATE SKIP LOCKED (a second worker takes another row, never this
        one), and its try is counted and its next try scheduled, then
        COMMITTED, before the POST: the row is then no longer due, so no
        worker POSTs it again before its backoff, and a worker killed
        during the call (time limit, out of memory, restart) or a database
        error after it leaves a failed try behind, which counts towards
        the webhook's Tries. The answer is written and committed right
        after the POST. One lock query and two commits per call: next to
        the network call, they cost nothing, and no answer waits for the
        rest of a batch to be recorded."""
        batch_size = batch_size or int(
            self.env["ir.config_parameter"].sudo().get_param("smb_journey.webhook_batch_size", 20))
        domain = self._due_domain()
        cron = self.env["ir.cron"]
        deadline = time.monotonic() + BATCH_BUDGET
        processed, retry_at, conflicts = 0, [], 0
        while processed < batch_size and time.monotonic() < deadline:
            delivery = self._lock_due(domain, 1)
            if delivery is None:
                # a row changed since our snapshot: a fresh transaction sees it as it is
                conflicts += 1
                if conflicts > 3:
                    break
                cron._commit_progress()
                continue
            if not delivery:
                break
            claimed = delivery._claim()
            # from here on the try counts, and the row waits for its backoff
            cron._commit_progress()
            if claimed:
                delivery._deliver()
            if delivery.state == "pending":
                retry_at.append(delivery.next_try_at)
            processed += 1
            cron._commit_progress(1)
        if retry_at:
            # the cron runs again when the first retry is due, not at its next interval
            self.env.ref("smb_journey.ir_cron_webhook_delivery")._trigger(min(retry_at))
        remaining = self.search_count(domain) if processed == batch_size or conflicts \
            or time.monotonic() >= deadline else 0
        return processed, remaining

    @api.model
    def _lock_due(self, domain, limit):
        """The next ``limit`` due calls that no other worker holds, locked;
        None when one changed since this transaction's snapshot (tools/locking.py)."""
        return locking.lock_next(self, domain, "next_try_at, id", limit)

    def _claim(self):
        """Count this try before it is made, and schedule the next one as if
        it failed: committed before the POST, this is what remains when the
        worker dies before recording the answer. False when the call may not
        be tried again: its last try was interrupted too (it is dead now)."""
        self.ensure_one()
        now = fields.Datetime.now()
        interrupted = self.env._(
            "Interrupted: the answer of this try was not recorded (the call may have been made).")
        if self.tries >= self.webhook_id.max_tries:
            self.write({"state": "dead", "last_error": interrupted})
            _logger.info("Webhook call %s to endpoint %s dead: its last try was interrupted",
                         self.id, self.webhook_id.id)
            return False
        tries = self.tries + 1
        self.write({
            "tries": tries,
            "last_try_at": now,
            "next_try_at": now + timedelta(seconds=webhook.backoff(tries)),
            "last_status_code": 0,
            "last_response": False,
            "last_error": interrupted,
        })
        return True

    def _deliver(self):
        """One try of one claimed call: POST, then record what came back."""
        self.ensure_one()
        endpoint = self.webhook_id
        try:
            response = endpoint._call(self.payload, self.idempotency_key)
        except webhook.TargetRefused as e:
            # a refused target stays refused: dead at once, not retried
            self._record_answer(None, refused=str(e))
            _logger.info("Webhook call %s to endpoint %s refused: %s", self.id, endpoint.id, e)
            return
        except Exception as e:  # noqa: BLE001 - one odd call must not fail the batch, nor block the queue
            _logger.warning("Webhook call %s to endpoint %s failed", self.id, endpoint.id, exc_info=True)
            response = webhook.Response(0, "", self.env._("Unexpected error: %s", type(e).__name__))
        self._record_answer(response)
        _logger.info("Webhook call %s to endpoint %s, try %s: %s", self.id, endpoint.id, self.tries,
                     response.status_code or response.error)

    def _record_answer(self, response, refused=None):
        """Write the outcome of the try ``_claim`` counted: delivered, dead
        (refused target, or out of tries), or pending until the next try
        it scheduled."""
        self.ensure_one()
        if refused is not None:
            self.write({"state": "dead", "last_status_code": 0, "last_response": False, "last_error": refused})
            return
        vals = {
            "last_status_code": response.status_code,
            "last_response": response.excerpt or False,
            "last_error": response.error or (
                False if response.ok else self.env._("HTTP %s", response.status_code)),
        }
        if response.ok:
            vals.update(state="done", date_done=fields.Datetime.now())
        elif self.tries >= self.webhook_id.max_tries:
            vals["state"] = "dead"
        self.write(vals)

    def _wake_cron(self):
        self.env.ref("smb_journey.ir_cron_webhook_delivery")._trigger()
