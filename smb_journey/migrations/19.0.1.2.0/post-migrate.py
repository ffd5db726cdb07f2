"""From 19.0.1.1.0: the shipped post-purchase journey is an order follow-up,
not marketing (its data file is noupdate, so an upgrade would leave the new
Marketing flag on and a sunset customer would not get their thank-you)."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    journey = env.ref("smb_journey.journey_post_purchase", raise_if_not_found=False)
    if journey:
        journey.marketing = False
