from odoo import fields, models


class WebsiteTrack(models.Model):
    """Product views are the triggering records of browse abandonment."""

    _inherit = "website.track"

    # the browse abandonment scan reads the product views of a time range
    _smb_product_views_idx = models.Index("(visit_datetime, visitor_id) WHERE product_id IS NOT NULL")

    # who viewed: journeys enrol a triggering record's partner_id (journey.enroll(views))
    partner_id = fields.Many2one(related="visitor_id.partner_id", string="Contact")
