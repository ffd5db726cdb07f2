from contextlib import contextmanager

from odoo import api, fields, models, tools
from odoo.fields import Domain
from odoo.http import request

from odoo.addons.smb_journey.tools import contained

CONSENT_SCOPE = "smb_journey-consent"


class MailingSubscription(models.Model):
    _inherit = "mailing.subscription"

    # the consent fields are copied with their subscription: a duplicated list
    # keeps its subscribers' consent and asks nobody again
    smb_consent_state = fields.Selection(
        [("pending", "Waiting for Confirmation"), ("confirmed", "Confirmed")], "Consent",
        readonly=True, index="btree_not_null",
        help="Double opt-in: waiting until the contact clicks the link emailed to them, then confirmed. "
        "Empty on lists without double opt-in and for subscribers from before the list required it.")
    smb_consent_source = fields.Selection(
        [("website", "Website"), ("import", "Import"), ("manual", "By hand")], "Subscribed Through",
        readonly=True,
        help="How the contact joined the list: the website's subscription form (or the newsletter box at "
        "checkout), an import, or a user adding them.")
    smb_confirmation_sent = fields.Datetime(
        "Confirmation Email Sent", readonly=True,
        help="When the email asking to confirm was queued; it is sent once per subscription.")
    smb_consent_date = fields.Datetime("Consent Given On", readonly=True)
    smb_consent_ip = fields.Char(
        "Consent Given From", readonly=True,
        help="IP address of the browser that opened the confirmation link.")
    smb_confirmation_url = fields.Char("Confirmation Link", compute="_compute_smb_confirmation_url")

    def _compute_smb_confirmation_url(self):
        for subscription in self:
            subscription.smb_confirmation_url = subscription.id and (
                f"{subscription.get_base_url()}/smb_journey/confirm/{subscription.id}/"
                f"{subscription._smb_consent_token()}")

    @api.model_create_multi
    def create(self, vals_list):
        subscriptions = super().create(vals_list)
        self._smb_ask_consent([("id", "in", subscriptions.ids)])
        return subscriptions

    # ------------------------------------------------------------
    # CRON
    # ------------------------------------------------------------

    @api.model
    def _cron_send_consent_requests(self, batch_size=200):
        """Queue the confirmation email of the subscriptions waiting for one:
        a batch at a time, each subscription once (it leaves the domain with
        the email, in the same transaction)."""
        domain = [
            ("smb_consent_state", "=", "pending"),
            ("smb_confirmation_sent", "=", False),
            ("opt_out", "=", False),
            ("list_id.smb_double_optin", "=", True),
            ("contact_id.email_normalized", "!=", False),
            ("contact_id.is_blacklisted", "=", False),
        ]
        batch = self.search(domain, limit=batch_size, order="id").try_lock_for_update()
        if batch:
            self.env.ref("smb_journey.mail_template_consent_request").send_mail_batch(batch.ids)
            batch.smb_confirmation_sent = fields.Datetime.now()
            self.env.ref("mail.ir_cron_mail_scheduler_action")._trigger()
        remaining = self.search_count(domain) if len(batch) == batch_size else 0
        self.env["ir.cron"]._commit_progress(len(batch), remaining=remaining)

    # ------------------------------------------------------------
    # PRIVATE
    # ------------------------------------------------------------

    def _smb_consent_token(self):
        self.ensure_one()
        # sudo: the database secret signs the link, whoever asks for it
        return tools.hmac(self.env(su=True), CONSENT_SCOPE, self.id)

    def _smb_confirm_consent(self, ip):
        """The contact opened the link: consent given now, from ``ip``. Opening
        it again keeps the first record."""
        self.filtered(lambda s: s.smb_consent_state != "confirmed").write({
            "smb_consent_state": "confirmed",
            "smb_consent_date": fields.Datetime.now(),
            "smb_consent_ip": ip,
        })

    @api.model
    def _smb_ask_consent(self, domain):
        """The subscriptions in ``domain`` to a double opt-in list not asked
        yet wait for their confirmation, with how they were made; the cron
        queues their emails. Never breaks the subscription itself (a website
        form, a checkout with the newsletter box ticked, an import)."""
        if not self.env["mailing.list"]._smb_has_double_optin():
            return
        with contained(self.env, "Asking consent of new subscriptions"):
            # sudo: consent bookkeeping, whoever subscribed (a website visitor, an import)
            new = self.sudo().search(Domain.AND([domain, [
                ("smb_consent_state", "=", False), ("opt_out", "=", False), ("list_id.smb_double_optin", "=", True),
            ]]))
            if new:
                new.write({"smb_consent_state": "pending", "smb_consent_source": self._smb_subscription_source()})
                self.env.ref("smb_journey.ir_cron_consent_requests")._trigger()

    @contextmanager
    def _smb_asking_consent(self, fname, ids):
        """Ask consent for the subscriptions that the block adds to the contacts
        or lists ``ids`` (``fname``: contact_id or list_id)."""
        # sudo: the ids only, to tell the subscriptions the block adds
        before = self.sudo().search([(fname, "in", ids)]).ids
        yield
        self._smb_ask_consent([(fname, "in", ids), ("id", "not in", before)])

    @api.model
    def _smb_subscription_source(self):
        context = self.env.context
        if context.get("smb_consent_source"):
            return context["smb_consent_source"]
        if context.get("import_file"):
            return "import"
        if request and getattr(request, "is_frontend", False):
            return "website"
        return "manual"
