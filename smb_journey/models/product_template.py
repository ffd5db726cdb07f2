from odoo import api, fields, models


class ProductTemplate(models.Model):
    _inherit = "product.template"

    smb_affinity_ids = fields.One2many(
        "smb.product.affinity", "product_tmpl_id", "Customers Also Buy", readonly=True,
        help="What customers who bought this product bought with it or in a later order, learnt every "
             "night from the confirmed orders; journey emails recommend these after the accessories "
             "and alternatives.")
    smb_affinity_learnt = fields.Boolean(
        "Affinities Learnt", compute="_compute_smb_affinity_learnt", groups="smb_journey.group_journey_user",
        help="The nightly job has learnt the current company's affinities: an empty list then means that "
             "this product's customers have bought nothing else, not that nothing was read yet.")

    @api.depends_context("company")
    def _compute_smb_affinity_learnt(self):
        # a learnt company has its best sellers at least (the rows without a bought product)
        learnt = bool(self.env["smb.product.affinity"].search_count(
            [("company_id", "=", self.env.company.id)], limit=1))
        self.smb_affinity_learnt = learnt
