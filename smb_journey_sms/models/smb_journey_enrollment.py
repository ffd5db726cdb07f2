from odoo import api, models


class SmbJourneyEnrollment(models.Model):
    _inherit = "smb.journey.enrollment"

    @api.model
    def _exit_for_phones(self, numbers, reason):
        """End, at once, every running enrollment of customers with these
        sanitized phone numbers (a number blacklisted, through an SMS's
        opt-out link or by hand), as ``_exit_for_emails`` does for emails.
        Searched from the running enrollments (no index on the contacts'
        numbers: it would cost every contact creation, for a rare opt-out)."""
        numbers = [n for n in numbers if n]
        if not numbers:
            return self
        enrollments = self.sudo().search([
            ("state", "in", ("running", "error")),
            ("partner_id.phone_sanitized", "in", numbers),
        ])
        enrollments._exit(reason)
        return enrollments
