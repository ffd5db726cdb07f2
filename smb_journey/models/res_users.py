from odoo import api, models


class ResUsers(models.Model):
    _inherit = "res.users"

    @api.model_create_multi
    def create(self, vals_list):
        """A user's contact is created before the user, when nobody knows yet
        whether it is staff: hold the new-contact trigger back, then fire it
        for customers only (portal sign-ups), never for internal users."""
        users = super(ResUsers, self.with_context(smb_journey_defer_partner_trigger=True)).create(vals_list)
        users = users.with_env(self.env)
        self.env["smb.journey.event"]._enqueue(
            "partner_created", users.filtered("share").partner_id.filtered("email"),
            imported=self.env.context.get("import_file") or self.env.context.get("smb_journey_import"))
        return users
