"""From 19.0.1.2.0: the timing rules' flags of the shipped journeys (their
data files are noupdate, so an upgrade would leave them unset): the first
cart reminder and the order's thank-you go even during quiet hours, and the
cart reminders have priority under the frequency cap. Quiet hours and the
cap stay off until the admin turns them on."""

from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    for xmlid in ("smb_journey.journey_abandoned_cart_step_email_1", "smb_journey.journey_post_purchase_step_email_1"):
        step = env.ref(xmlid, raise_if_not_found=False)
        if step:
            step.ignore_quiet_hours = True
    journey = env.ref("smb_journey.journey_abandoned_cart", raise_if_not_found=False)
    if journey and journey.priority == "0":
        journey.priority = "2"
