from odoo import fields, models

PRIORITIES = [("0", "Normal"), ("1", "Important"), ("2", "Very Important"), ("3", "Most Important")]


class SmbJourney(models.Model):
    """The timing rules as each journey follows them: quiet hours and the
    frequency cap (the company's settings), and the journey's priority."""

    _inherit = "smb.journey"

    respect_quiet_hours = fields.Boolean(
        "Respect Quiet Hours", default=True,
        help="Emails due during the company's quiet hours (in the customer's timezone) wait until they "
        "end. Untick for emails a customer expects at once, whatever the hour (an order's thank-you). "
        "A single step can also opt out (the first cart reminder).")
    priority = fields.Selection(
        PRIORITIES, default="0",
        help="When emails of several marketing journeys are due for a customer at the same time, the "
        "journey with more stars goes first and takes the room the frequency cap leaves; the others "
        "wait or are skipped, as their own setting says.")
    cap_policy = fields.Selection(
        [("delay", "Wait until the cap allows it"), ("skip", "Skip the email")],
        "When Capped", default="delay", required=True,
        help="What happens to an email of this journey that the frequency cap holds back: it waits "
        "until the customer's window has room (the journey goes on afterwards), or it is skipped "
        "with the reason logged (the journey goes on at once). Only marketing journeys are capped.")
