from odoo import http
from odoo.http import request

from odoo.addons.mass_mailing.controllers.main import MassMailController


class SmbJourneyMassMailController(MassMailController):
    """The tracking pixel tells ``mailing.trace.set_opened`` who fetched it,
    so an open by a scanner or a privacy proxy is told apart from a reader's
    (``lib/machine_opens.py``)."""

    @http.route()
    def track_mail_open(self, mail_id, token, **post):
        request.update_context(smb_open_user_agent=request.httprequest.headers.get("User-Agent", ""))
        return super().track_mail_open(mail_id, token, **post)
