from odoo import http
from odoo.http import request
from odoo.tools import consteq


class ConsentController(http.Controller):

    @http.route("/smb_journey/confirm/<int:subscription_id>/<string:token>", type="http", auth="public",
                methods=["GET", "POST"], website=True, sitemap=False)
    def confirm_subscription(self, subscription_id, token, **kwargs):
        """The link of the double opt-in email: signed with the database
        secret, so only the subscription it was sent for is confirmed.

        Opening it shows a Confirm button; only the button (a POST with the
        form's CSRF token) records the consent: mail security scanners open
        the links of incoming emails, and must not subscribe people (nor
        leave their own IP address as the proof)."""
        # sudo: the visitor is anonymous; the signed token is their proof
        subscription = request.env["mailing.subscription"].sudo().browse(subscription_id)
        if not consteq(subscription._smb_consent_token(), token) or not subscription.exists():
            return request.render("smb_journey.consent_link_invalid", status=403)
        if request.httprequest.method == "POST" or subscription.smb_consent_state == "confirmed":
            subscription._smb_confirm_consent(request.httprequest.remote_addr)
            return request.render("smb_journey.consent_confirmed", {"subscription": subscription})
        return request.render("smb_journey.consent_confirm", {"subscription": subscription, "token": token})
