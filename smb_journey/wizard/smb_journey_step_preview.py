from odoo import api, fields, models

from odoo.addons.smb_journey.lib import sandbox


class SmbJourneyStepPreview(models.TransientModel):
    _name = "smb.journey.step.preview"
    _description = "Journey Email Preview"

    step_id = fields.Many2one("smb.journey.step", required=True, ondelete="cascade")
    partner_id = fields.Many2one(
        "res.partner", "Sample Customer",
        help="Render as this customer; a sample order of theirs fills the order placeholders.",
    )
    subject = fields.Char(compute="_compute_preview")
    body_html = fields.Html(compute="_compute_preview", sanitize=False)
    error = fields.Text(compute="_compute_preview")

    @api.depends("step_id", "partner_id")
    def _compute_preview(self):
        for preview in self:
            preview.subject = preview.body_html = preview.error = False
            step = preview.step_id
            partner = preview.partner_id or self.env.user.partner_id
            # an unsaved enrollment carries the sample: nothing is written
            order = self.env["sale.order"].search([("partner_id", "=", partner.id)], limit=1, order="id desc")
            enrollment = self.env["smb.journey.enrollment"].new({
                "journey_id": step.journey_id.id, "partner_id": partner.id,
                "company_id": step.journey_id.company_id.id, "order_id": order.id, "entry_key": "preview",
            })
            try:
                context = step.with_context(smb_journey_preview=True)._prepare_render_contexts(enrollment)
                context = next(iter(context.values()))
                step_lang = step.with_context(lang=partner.lang or "en_US")
                preview.subject = sandbox.render(sandbox.compile_text(step_lang.subject or ""), context)
                preview.body_html = sandbox.render(step_lang._body_with_preview(), context)
            except sandbox.TemplateError as e:
                preview.error = str(e)
