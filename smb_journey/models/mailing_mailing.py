from odoo import fields, models
from odoo.exceptions import UserError


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

    smb_journey_step_id = fields.Many2one(
        "smb.journey.step", "Journey Step", readonly=True, index="btree_not_null", ondelete="cascade",
        help="This mailing only collects the statistics of a journey email; the journey sends it.",
    )

    def _check_not_journey(self):
        if self.filtered("smb_journey_step_id"):
            raise UserError(self.env._(
                "This mailing belongs to a customer journey, which sends it to each customer "
                "at the right moment. Edit and run it from the journey."))

    def action_put_in_queue(self):
        self._check_not_journey()
        return super().action_put_in_queue()

    def action_launch(self):
        self._check_not_journey()
        return super().action_launch()

    def action_schedule(self):
        self._check_not_journey()
        return super().action_schedule()
