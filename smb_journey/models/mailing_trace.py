from odoo import models


class MailingTrace(models.Model):
    _inherit = "mailing.trace"

    def set_bounced(self, domain=None, bounce_message=False):
        """A bounced journey email ends the customer's pending journey steps."""
        traces = super().set_bounced(domain=domain, bounce_message=bounce_message)
        journey_traces = traces.filtered(lambda t: t.mass_mailing_id.smb_journey_step_id)
        if journey_traces:
            self.env["smb.journey.enrollment"]._exit_for_emails(journey_traces.mapped("email"), "bounced")
        return traces
