from odoo import api, models


class SmbJourney(models.Model):
    _inherit = "smb.journey"

    @api.constrains("trigger")
    def _check_sms_step_templates(self):
        """What an SMS may use depends on the trigger, as for an email: changing it checks the texts again."""
        self.step_ids._check_sms_template()
