from odoo import fields, models


class SmbJourneySegmentMember(models.Model):
    """Who matched a segment journey's filter at its last pass.

    The segment trigger enters a customer when they *start* matching and
    exits them when they stop: comparing a pass with this table is what
    tells a customer who joined the segment from one who was already in it
    and merely edited their phone number. Written in SQL by the scanner
    (``smb.journey._scan_segment``), one statement per pass and direction.
    """

    _name = "smb.journey.segment.member"
    _description = "Customer in a Journey's Segment"
    _log_access = False

    _journey_partner_uniq = models.UniqueIndex("(journey_id, partner_id)")

    journey_id = fields.Many2one("smb.journey", required=True, ondelete="cascade")  # led by the unique index
    partner_id = fields.Many2one("res.partner", required=True, index=True, ondelete="cascade")
    since = fields.Datetime("Matching Since", required=True)
