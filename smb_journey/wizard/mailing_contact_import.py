from odoo import models


class MailingContactImport(models.TransientModel):
    _inherit = "mailing.contact.import"

    def action_import(self):
        """Contacts pasted in Email Marketing's import joined their lists by import."""
        return super(MailingContactImport, self.with_context(smb_consent_source="import")).action_import()
