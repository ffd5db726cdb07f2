from odoo import api, models


class MailMail(models.Model):
    _inherit = "mail.mail"

    @api.model
    def _smb_journey_known(self):
        known = super()._smb_journey_known()
        # SMS Marketing's mailing.trace.create gives SMS traces their opt-out
        # code; an email's trace has none: journey emails stay set-based
        known["mailing.trace"]["create"].add("odoo.addons.mass_mailing_sms.models.mailing_trace")
        return known
