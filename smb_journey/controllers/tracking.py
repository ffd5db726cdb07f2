from odoo import http
from odoo.http import request

from odoo.addons.mass_mailing.controllers.main import MassMailController


def pass_user_agent():
    """Tell ``mailing.trace.set_opened`` / ``set_clicked`` who fetched the
    pixel or followed the link, so a scanner's or a privacy proxy's open or
    click is told apart from a reader's (``lib/machine_opens.py``)."""
    request.update_context(smb_tracking_user_agent=request.httprequest.headers.get("User-Agent", ""))


class SmbJourneyMassMailController(MassMailController):

    @http.route()
    def track_mail_open(self, mail_id, token, **post):
        pass_user_agent()
        return super().track_mail_open(mail_id, token, **post)

    @http.route()
    def full_url_redirect(self, code, mailing_trace_id, **post):
        pass_user_agent()
        return super().full_url_redirect(code, mailing_trace_id, **post)
