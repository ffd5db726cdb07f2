from odoo import http
from odoo.http import request

from odoo.addons.mass_mailing_sms.controllers.main import MailingSMSController
from odoo.addons.smb_journey.controllers.tracking import pass_user_agent


class JourneySMSController(MailingSMSController):

    @http.route()
    def sms_short_link_redirect(self, code, sms_id_int, **post):
        pass_user_agent()
        return super().sms_short_link_redirect(code, sms_id_int, **post)

    def _check_trace(self, mailing_id, trace_code):
        """A journey SMS's opt-out link names the step's tracking mailing,
        which is archived (SMS Marketing's lists show only real campaigns):
        it is found all the same, with the same checks."""
        result = super()._check_trace(mailing_id, trace_code)
        if result.get("error") != "mailing_error":
            return result
        # sudo: a public page, as SMS Marketing's own check
        mailing = request.env["mailing.mailing"].sudo().with_context(active_test=False).search(
            [("id", "=", mailing_id), ("smb_journey_step_id", "!=", False)])
        if not mailing:
            return result
        trace = request.env["mailing.trace"].sudo().search([
            ("trace_type", "=", "sms"), ("sms_code", "=", trace_code), ("mass_mailing_id", "=", mailing.id),
        ])
        return {"trace": trace} if trace else {"error": "trace_error"}
