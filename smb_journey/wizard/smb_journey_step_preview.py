from markupsafe import Markup

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError

from odoo.addons.smb_journey.lib import sandbox


class SmbJourneyStepPreview(models.TransientModel):
    """Render a journey email for a sample customer, and send it as a test.

    Nothing is recorded: no enrollment, no coupon (a sample code shows where
    it goes), no trace, so the journey's statistics never count a test."""

    _name = "smb.journey.step.preview"
    _description = "Journey Email Preview"

    step_id = fields.Many2one("smb.journey.step", required=True, ondelete="cascade")
    partner_id = fields.Many2one(
        "res.partner", "Sample Customer",
        compute="_compute_partner_id", store=True, readonly=False,
        help="Render as this customer; their latest triggering record (an order, a cart, a lead) fills the "
        "placeholders (sample values when they have none). By default a recent customer having one.",
    )
    email_to = fields.Char(
        "Send a Test To", default=lambda self: self.env.user.email_formatted,
        help="One or more addresses, separated by commas.")
    subject = fields.Char(compute="_compute_preview")
    body_html = fields.Html(compute="_compute_preview", sanitize=False)
    error = fields.Text(compute="_compute_preview")

    @api.depends("step_id")
    def _compute_partner_id(self):
        for preview in self:
            if not preview.partner_id and preview.step_id:
                preview.partner_id = preview.step_id._preview_default_partner()

    @api.depends("step_id", "partner_id")
    def _compute_preview(self):
        for preview in self:
            preview.subject = preview.body_html = preview.error = False
            try:
                preview.subject, preview.body_html = preview._render()
            except (sandbox.TemplateError, AccessError) as e:
                preview.error = str(e)

    def _render(self):
        """(subject, body) of the step for the sample customer, as the engine renders it."""
        self.ensure_one()
        return self.step_id._render_preview(self.partner_id or self.env.user.partner_id)

    def action_send_test(self):
        """Send the rendered email to the test addresses now, as Email
        Marketing's test does: marked [TEST], not tracked, not counted."""
        self.ensure_one()
        emails = [email for email in tools.email_split(self.email_to or "") if email]
        if not emails:
            raise UserError(self.env._("Enter the address to send the test to."))
        try:
            subject, body = self._render()
        except (sandbox.TemplateError, AccessError) as e:
            raise UserError(self.env._("The email cannot be rendered: %s", e)) from e
        step = self.step_id
        # sudo: a test mail is a technical record, deleted once sent
        mails = self.env["mail.mail"].sudo().create([{
            "subject": self.env._("[TEST] %(subject)s", subject=subject),
            "body_html": body,
            "email_from": step._email_from(),
            "reply_to": step.reply_to or step._email_from(),
            "email_to": email,
            "is_notification": True,
            "auto_delete": False,
            "mailing_id": step.mailing_id.id,
            "model": "res.users",
            "res_id": self.env.user.id,
        } for email in emails])
        mails.with_context(mailing_test_mail=True).send()
        sent = mails.filtered(lambda m: m.state == "sent")
        failed = mails - sent
        lines = [self.env._("Test of %(step)s sent to %(email)s.", step=step.name, email=m.email_to) for m in sent]
        failure_types = dict(mails._fields["failure_type"]._description_selection(self.env))
        for mail in failed:
            reason = failure_types.get(mail.failure_type) or self.env._("the mail server refused it")
            detail = (mail.failure_reason or "").lower()
            if mail.failure_type == "mail_smtp" or "connect" in detail or "refused" in detail:
                reason = self.env._(
                    "no outgoing mail server could be reached (Settings, Technical, Outgoing Mail Servers)")
            lines.append(self.env._(
                "Test of %(step)s could not be sent to %(email)s: %(reason)s (%(detail)s).", step=step.name,
                email=mail.email_to, reason=reason, detail=(mail.failure_reason or mail.state).strip()))
        mails.unlink()
        step.journey_id._message_log(body=Markup("<br/>").join(lines))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": "\n".join(lines),
                "type": "warning" if failed else "success",
                "sticky": bool(failed),
            },
        }
