import json
import secrets
import time
import uuid

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.smb_journey.lib import webhook


class SmbJourneyWebhook(models.Model):
    """A URL that webhook steps POST to: signed with its own secret, called
    by the delivery cron from the outbox (smb.journey.webhook.delivery),
    never from the engine's transaction."""

    _name = "smb.journey.webhook"
    _description = "Journey Webhook Endpoint"
    _order = "name, id"
    _check_company_auto = True

    _check_timeout = models.Constraint(
        "CHECK(timeout BETWEEN 1 AND 30)", "A webhook's timeout is between 1 and 30 seconds.")
    _check_max_tries = models.Constraint(
        "CHECK(max_tries BETWEEN 1 AND 20)", "A webhook is tried between 1 and 20 times.")

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    # a URL may carry a token of the receiving system: Journey Managers only, like the secret
    url = fields.Char("URL", required=True, groups="smb_journey.group_journey_manager",
                      help="Where the JSON payload is POSTed (http or https).")
    # the key of every signature: only Journey Managers read it, and it is
    # never written to a log, a message or a payload
    secret = fields.Char(
        groups="smb_journey.group_journey_manager", copy=False, readonly=True,
        default=lambda self: self._new_secret(),
        help="Signs every call (X-Smb-Signature header): the receiver checks the signature with it.")
    allowed_hosts = fields.Char(
        "Allowed Private Hosts",
        help="Host names (comma-separated) that may resolve to a private, loopback or link-local address, "
        "e.g. an ERP on your own network. Other hosts must resolve to public addresses only.")
    timeout = fields.Integer("Timeout (seconds)", default=10, required=True)
    max_tries = fields.Integer(
        "Tries", default=10, required=True,
        help="Failed calls are retried after 1, 2, 4, 8... minutes (at most 6 hours apart); "
        "after this many tries the call is given up (Dead).")
    delivery_ids = fields.One2many("smb.journey.webhook.delivery", "webhook_id", "Calls")
    step_ids = fields.One2many("smb.journey.step", "webhook_id", "Steps")
    done_count = fields.Integer("Delivered", compute="_compute_delivery_counts")
    pending_count = fields.Integer("Pending", compute="_compute_delivery_counts")
    dead_count = fields.Integer("Dead", compute="_compute_delivery_counts")

    @api.model
    def _new_secret(self):
        return secrets.token_urlsafe(32)

    def _compute_delivery_counts(self):
        counts = {
            (endpoint.id, state): count
            for endpoint, state, count in self.env["smb.journey.webhook.delivery"]._read_group(
                [("webhook_id", "in", self.ids)], ["webhook_id", "state"], ["__count"])
        }
        for endpoint in self:
            endpoint.done_count = counts.get((endpoint.id, "done"), 0)
            endpoint.pending_count = counts.get((endpoint.id, "pending"), 0)
            endpoint.dead_count = counts.get((endpoint.id, "dead"), 0)

    @api.constrains("url")
    def _check_url(self):
        for endpoint in self:
            try:
                webhook.check_url(endpoint.url)
            except webhook.TargetRefused as e:
                raise ValidationError(self.env._("Webhook %(name)s: %(error)s", name=endpoint.name, error=e)) from None

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_regenerate_secret(self):
        """A new secret: calls signed from now on need the receiver to know it."""
        for endpoint in self:
            endpoint.secret = self._new_secret()
        return self._notify(self.env._("New secret generated: give it to the receiver."), "warning")

    def action_send_test(self):
        """POST a sample payload now and show the answer (nothing is recorded).

        Only who may change the webhook may make the server send a signed
        call to it: the button is hidden from Journey Users, and an RPC call
        of theirs is refused here."""
        self.ensure_one()
        self.check_access("write")
        payload = self._sample_payload()
        try:
            response = self._call(payload, payload["id"])
        except webhook.TargetRefused as e:
            return self._notify(self.env._("Refused: %s", e), "danger")
        if response.ok:
            text = self.env._("HTTP %(code)s: %(excerpt)s", code=response.status_code, excerpt=response.excerpt or "")
        elif response.status_code:
            text = self.env._("Failed, HTTP %(code)s: %(excerpt)s", code=response.status_code,
                              excerpt=response.excerpt or "")
        else:
            text = self.env._("Failed: %s", response.error)
        return self._notify(text, "success" if response.ok else "danger")

    def action_view_deliveries(self):
        """The webhook's calls, filtered on the state of the button clicked
        (context ``smb_webhook_filter``: done, pending, dead)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("smb_journey.smb_journey_webhook_delivery_action")
        action["domain"] = [("webhook_id", "=", self.id)]
        state = self.env.context.get("smb_webhook_filter")
        action["context"] = {f"search_default_filter_{state}": 1} if state in ("done", "pending", "dead") else {}
        return action

    # ------------------------------------------------------------
    # PRIVATE
    # ------------------------------------------------------------

    def _call(self, payload, idempotency_key):
        """Sign and POST ``payload`` to this endpoint now; returns the
        webhook.Response, raises webhook.TargetRefused for a target this
        server may not call."""
        self.ensure_one()
        # the timeout bounds the whole call: resolving the host, then the POST
        deadline = time.monotonic() + self.timeout
        try:
            target = webhook.check_target(self.url, webhook.parse_hosts(self.allowed_hosts),
                                          resolve=webhook.resolve_within(self.timeout))
        except webhook.ResolveTimeout:
            return webhook.Response(0, "", self.env._("Timed out after %s s (DNS)", self.timeout))
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        # sudo: the secret is read to sign, by whoever makes the call (the
        # cron's user, a manager's test); it goes into the signature only
        secret = self.sudo().secret
        headers = webhook.headers_for(secret, body, timestamp=time.time(), idempotency_key=idempotency_key)
        return webhook.post(target, body, headers, timeout=self.timeout, deadline=deadline)

    def _sample_payload(self):
        company = self.company_id
        return {
            "event": "test",
            "id": str(uuid.uuid4()),
            "created_at": fields.Datetime.now().isoformat() + "Z",
            "journey": {"id": 0, "name": "Sample journey"},
            "step": {"id": 0, "name": "Sample step"},
            "enrollment_id": 0,
            "customer": {"id": 0, "name": "Ann Smith", "email": "ann@example.com", "phone": "+32 470 12 34 56"},
            "record": None,
            "company": {"id": company.id, "name": company.name},
        }

    def _notify(self, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"title": self.display_name, "message": message, "type": kind, "sticky": kind == "danger"},
        }

    @api.ondelete(at_uninstall=False)
    def _unlink_except_used(self):
        if self.step_ids:
            raise UserError(self.env._("This webhook is used by journey steps: archive it instead."))
