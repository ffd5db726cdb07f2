from odoo import models


class AccountMove(models.Model):
    _inherit = "account.move"

    def _post(self, soft=True):
        posted = super()._post(soft=soft)
        # a credit note lowers the customer's loyalty spend and the revenue
        # journeys brought: done by the events cron (see smb.journey.event)
        self.env["smb.journey.event"]._enqueue("credit_note", posted.filtered(lambda m: m.move_type == "out_refund"))
        return posted

    def button_draft(self):
        """A credit note taken back to draft no longer lowers them."""
        refunds = self.filtered(lambda m: m.move_type == "out_refund" and m.state == "posted")
        res = super().button_draft()
        self.env["smb.journey.event"]._enqueue("credit_note", refunds)
        return res
