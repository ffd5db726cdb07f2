from odoo import api, models


class MailingContact(models.Model):
    _inherit = "mailing.contact"

    @api.model_create_multi
    def create(self, vals_list):
        contacts = super().create(vals_list)
        self.env["mailing.subscription"]._smb_ask_consent([("contact_id", "in", contacts.ids)])
        return contacts

    def write(self, vals):
        if not {"list_ids", "subscription_ids"} & set(vals):
            return super().write(vals)
        # lists added through list_ids are inserted in SQL, without mailing.subscription.create
        with self.env["mailing.subscription"]._smb_asking_consent("contact_id", self.ids):
            return super().write(vals)

    def load(self, fields, data):
        """Contacts loaded (Odoo's import, an import script) joined their lists by import."""
        return super(MailingContact, self.with_context(smb_consent_source="import")).load(fields, data)
