from odoo import api, models


class MailBlacklist(models.Model):
    _inherit = "mail.blacklist"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env["smb.journey.enrollment"]._exit_for_emails(records.filtered("active").mapped("email"), "blacklisted")
        return records

    def write(self, vals):
        res = super().write(vals)
        if vals.get("active"):
            self.env["smb.journey.enrollment"]._exit_for_emails(self.mapped("email"), "blacklisted")
        return res
