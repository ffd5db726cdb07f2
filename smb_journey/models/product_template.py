from odoo import fields, models


class ProductTemplate(models.Model):
    _inherit = "product.template"

    smb_affinity_ids = fields.One2many(
        "smb.product.affinity", "product_tmpl_id", "Customers Also Buy", readonly=True,
        help="What customers who bought this product bought with it or in a later order, learnt every "
             "night from the confirmed orders; journey emails recommend these after the accessories "
             "and alternatives.")
