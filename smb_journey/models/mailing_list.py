from odoo import api, fields, models, tools


class MailingList(models.Model):
    _inherit = "mailing.list"

    smb_double_optin = fields.Boolean(
        "Double Opt-in",
        help="Who joins this list (website form, import, by hand) gets an email with a link to confirm, and "
        "no mailing until they do; journeys that require consent take only the contacts who confirmed. "
        "Subscribers from before this was ticked are not asked.")

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("smb_double_optin") for vals in vals_list):
            self.env.registry.clear_cache()  # _smb_has_double_optin
        lists = super().create(vals_list)
        self.env["mailing.subscription"]._smb_ask_consent([("list_id", "in", lists.ids)])
        return lists

    def write(self, vals):
        if "smb_double_optin" in vals or "active" in vals:
            self.env.registry.clear_cache()  # _smb_has_double_optin
        if not {"contact_ids", "subscription_ids"} & set(vals):
            return super().write(vals)
        # contacts added through contact_ids are inserted in SQL, without mailing.subscription.create
        with self.env["mailing.subscription"]._smb_asking_consent("list_id", self.ids):
            return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _smb_clear_double_optin_cache(self):
        self.env.registry.clear_cache()  # _smb_has_double_optin

    @api.model
    @tools.ormcache()
    def _smb_has_double_optin(self):
        """Whether a list asks for a double opt-in: a newsletter sign-up in a
        shop that uses none pays no query for it (cleared when a list changes)."""
        # sudo: a fact about the lists, for whoever subscribes (a website visitor)
        return bool(self.sudo().with_context(active_test=False).search_count(
            [("smb_double_optin", "=", True)], limit=1))

    def _mailing_get_opt_out_list(self, mailing):
        """Mass mailings skip the addresses still waiting to confirm a double
        opt-in, unless subscribed without one to another list of the mailing."""
        opt_out = super()._mailing_get_opt_out_list(mailing)
        subscriptions = self.subscription_ids if self else mailing.contact_list_ids.subscription_ids
        waiting = subscriptions.filtered(lambda s: s.smb_consent_state == "pending")
        mailed = (subscriptions - waiting).filtered(lambda s: not s.opt_out).contact_id.mapped("email_normalized")
        return set(opt_out) | (set(waiting.contact_id.mapped("email_normalized")) - set(mailed))
