from odoo import api, models


class PhoneBlacklist(models.Model):
    _inherit = "phone.blacklist"

    @api.model_create_multi
    def create(self, vals_list):
        # returns the numbers created and those already listed (a listed one
        # made active again goes through write)
        records = super().create(vals_list)
        self.env["smb.journey.enrollment"]._exit_for_phones(records.filtered("active").mapped("number"), "blacklisted")
        return records

    def write(self, vals):
        res = super().write(vals)
        if vals.get("active"):
            self.env["smb.journey.enrollment"]._exit_for_phones(self.mapped("number"), "blacklisted")
        return res
