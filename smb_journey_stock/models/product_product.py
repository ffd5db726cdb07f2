from odoo import models


class ProductProduct(models.Model):
    _inherit = "product.product"

    def _send_availability_email(self):
        """Odoo's "back in stock" email goes to the subscribers no running
        back-in-stock journey takes: the journeys scan first and take their
        customers off the notification lists, so nobody gets both emails,
        whichever of the two crons runs first."""
        # sudo: the journeys' own bookkeeping, as in their engine cron
        journeys = self.env["smb.journey"].sudo().search([
            ("trigger", "=", "back_in_stock"), ("state", "=", "running"), ("company_id.active", "=", True)])
        for journey in journeys:
            with journey._isolated() as ok:
                journey._scan_back_in_stock()
            if ok:
                journey._scanned()
        return super()._send_availability_email()
