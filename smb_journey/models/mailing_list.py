from odoo import api, fields, models


class MailingList(models.Model):
    _inherit = "mailing.list"

    smb_double_optin = fields.Boolean(
        "Double Opt-in",
        help="Who joins this list (website form, import, by hand) gets an email with a link to confirm, and "
        "no mailing until they do; journeys that require consent take only the contacts who confirmed. "
        "Subscribers from before this was ticked are not asked.")

    @api.model_create_multi
    def create(self, vals_list):
        lists = super().create(vals_list)
        self.env["mailing.subscription"]._smb_ask_consent([("list_id", "in", lists.ids)])
        return lists

    def write(self, vals):
        if not {"contact_ids", "subscription_ids"} & set(vals):
            return super().write(vals)
        # contacts added through contact_ids are inserted in SQL, without mailing.subscription.create
        with self.env["mailing.subscription"]._smb_asking_consent("list_id", self.ids):
            return super().write(vals)

    def _mailing_get_opt_out_list(self, mailing):
        """Mass mailings skip the addresses still waiting to confirm a double
        opt-in, unless subscribed without one to another list of the mailing."""
        opt_out = super()._mailing_get_opt_out_list(mailing)
        subscriptions = self.subscription_ids if self else mailing.contact_list_ids.subscription_ids
        waiting = subscriptions.filtered(lambda s: s.smb_consent_state == "pending")
        mailed = (subscriptions - waiting).filtered(lambda s: not s.opt_out).contact_id.mapped("email_normalized")
        return set(opt_out) | (set(waiting.contact_id.mapped("email_normalized")) - set(mailed))
