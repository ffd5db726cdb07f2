from odoo import models

from odoo.addons.smb_journey.lib import sandbox


class SmbJourneyStep(models.Model):
    """The SMS step in a test run (smb_journey's smb_journey_test_run.py):
    the text as it would be sent, with its opt-out line; nothing queued."""

    _inherit = "smb.journey.step"

    def _simulate_sms(self, sim):
        reason = self._skip_reasons_sms(sim.enrollment)[sim.enrollment]
        return self._simulate_message(sim, reason, self._test_run_render_sms)

    def _test_run_render_sms(self, enrollment):
        """(False, text) of this SMS for ``enrollment``, in the customer's language."""
        step = self.with_context(smb_journey_preview=True)
        context = step._prepare_render_contexts(enrollment)[enrollment.id]
        lang = enrollment._render_langs()[enrollment.id]
        source = step.with_context(lang=lang).sms_body or ""
        composer = self.env["sms.composer"].with_context(lang=lang)
        stop_url = composer._get_unsubscribe_url(self.mailing_id.id, "TEST")
        context["unsubscribe_url"] = stop_url
        body = sandbox.render(sandbox.compile_text(source), context).strip()
        if "unsubscribe_url" not in sandbox.referenced_names(source):
            body = f"{body}\n{composer._get_unsubscribe_info(stop_url)}"
        return False, body
