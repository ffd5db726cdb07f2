from odoo import models


class ProductProduct(models.Model):
    _inherit = "product.product"

    def _send_availability_email(self):
        """Odoo's "back in stock" email goes to the subscribers no running
        back-in-stock journey takes: the journeys scan first and take their
        customers off the notification lists, so nobody gets both emails,
        whichever of the two crons runs first."""
        self.env["smb.journey"]._run_scanners(triggers=["back_in_stock"])
        return super()._send_availability_email()
