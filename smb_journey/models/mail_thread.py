from email.message import Message

from odoo import api, models

from odoo.addons.smb_journey.lib import bounce as bounce_lib


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    @api.model
    def _routing_handle_bounce(self, email_message, message_dict):
        """Email Marketing marks the bounced traces (``super()``, see
        ``mailing.trace.set_bounced``) with the bounce's text only; the
        delivery report's status, action and diagnostic go along in the
        context, so a journey email's bounce is told hard or soft."""
        report = bounce_lib.read_dsn(email_message) if isinstance(email_message, Message) else {}
        return super(MailThread, self.with_context(smb_journey_bounce_report=report))._routing_handle_bounce(
            email_message, message_dict)
