from odoo import api, models

from odoo.addons.smb_journey.models.smb_journey_step_context import _money, _product_context
from odoo.addons.smb_journey.tools.registry import Provider


class SmbJourneyStep(models.Model):
    _inherit = "smb.journey.step"

    @api.model
    def _context_providers(self):
        _ = self.env._
        return super()._context_providers() | {
            "product": Provider(_("The product back in stock"), fields=("name", "price", "url", "image_url"), labels={
                "name": _("Product"), "price": _("Price"), "url": _("Product link"), "image_url": _("Product image")}),
        }

    def _context_product(self, enrollments, envs):
        base_url = self._base_url()
        with_product = enrollments.filtered(lambda e: e.res_model == "product.product" and e.res_id)
        # sudo: the product's name and price, for the customer's own email
        products = self.env["product.product"].sudo().browse(set(with_product.mapped("res_id"))).exists()
        return {
            e.id: _product_context(envs[e.id], products.browse(e.res_id), base_url)
            for e in with_product if e.res_id in products.ids
        }

    def _sample_product(self):
        base_url = self._base_url()
        return {
            "name": self.env._("Moka Pot, 6 cups"),
            "price": _money(self.env, 35.0, self.journey_id.company_id.currency_id),
            "url": f"{base_url}/shop", "image_url": f"{base_url}/web/static/img/placeholder.png",
        }
