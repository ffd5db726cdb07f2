from markupsafe import Markup
from psycopg2.extras import Json

from odoo import api, fields, models, tools
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL
from odoo.tools.translate import html_translate

from odoo.addons.smb_journey.lib import email_arch, sandbox


class SmbJourneyStep(models.Model):
    """Journey emails in Email Marketing's drag-and-drop editor.

    As on ``mailing.mailing``, the editor edits ``body_arch`` and writes
    ``body_html``, the same email with its styles inlined, which is what is
    rendered and sent. Placeholders in the arch show sample values
    (``data-smb-out``, ``data-smb-src``, ``data-smb-href``: see lib/sandbox.py);
    the placeholder picker lists what this journey's trigger fills, from the
    providers' declarations (``_context_providers()``). An email written
    before the editor (``body_html`` only) gets an arch that renders the
    same (lib/email_arch.py)."""

    _inherit = "smb.journey.step"

    body_arch = fields.Html(
        "Email Body (Editor)", compute="_compute_body_arch", inverse="_inverse_body_arch",
        sanitize="email_outgoing", sanitize_output_method="html",
        help="The email as the editor edits it; the body sent is its inline-styled version.")
    # translated by terms like body_html: a manager edits the email in their
    # language, and the other languages keep their translation of each term
    # the save did not change; empty for an email written before the editor,
    # whose arch is made from its body in the reader's language
    body_arch_saved = fields.Html(
        "Saved Email Body (Editor)", translate=html_translate, copy=True,
        sanitize="email_outgoing", sanitize_output_method="html")
    email_preview_partner_id = fields.Many2one(
        "res.partner", "Previewed For", compute="_compute_email_preview",
        help="A recent customer having this journey's triggering record (an order, a cart, a lead...).")
    email_preview_subject = fields.Char("Previewed Subject", compute="_compute_email_preview")
    email_preview_html = fields.Html("Previewed Email", compute="_compute_email_preview", sanitize=False)
    email_preview_error = fields.Text("Preview Error", compute="_compute_email_preview")

    @api.depends("body_arch_saved", "body_html", "journey_id", "coupon_program_id", "recommendation_count")
    @api.depends_context("lang")
    def _compute_body_arch(self):
        for step in self:
            if step.body_arch_saved or tools.is_html_empty(step.body_html) or not step.journey_id:
                step.body_arch = step.body_arch_saved
            else:
                step.body_arch = email_arch.editor_arch(step.body_html, step._sample_context())

    def _inverse_body_arch(self):
        for step in self:
            step.body_arch_saved = step.body_arch

    def _save_editor_languages(self):
        """Before the editor's first save of an email written before it, keep
        the arch each language showed, and put the body in the same form (which
        renders the same).

        The editor saves the email in one language, and Odoo keeps the other
        languages' translation of each term it finds again, by its text. The
        arch saved is the one of the manager's language: without the others, it
        would become every language's. And a term of the body such as
        "Hi {{ customer.first_name }}," is not found again as "Hi Ann," (its
        sample): a French customer would get the English greeting once a
        manager saved the email in English.
        """
        html_field = self._fields["body_html"]
        for step in self.filtered(lambda s: s.journey_id and not s.body_arch_saved):
            stored = html_field._get_stored_translations(step)
            if not stored:
                continue
            archs = {
                # "_fr_FR": an unconfirmed French translation
                key: email_arch.editor_arch(value, step.with_context(lang=key.lstrip("_"))._sample_context())
                for key, value in stored.items()
            }
            self.env.execute_query(SQL(
                "UPDATE %s SET body_arch_saved = %s, body_html = %s WHERE id = %s",
                SQL.identifier(self._table), Json(archs), Json(archs), step.id))
            step.invalidate_recordset(["body_arch_saved", "body_html"])

    @api.depends("step_type", "subject", "preview_text", "body_html", "journey_id", "coupon_program_id",
                 "recommendation_count")
    def _compute_email_preview(self):
        for step in self:
            step.email_preview_partner_id = step.email_preview_subject = False
            step.email_preview_html = step.email_preview_error = False
            if step.step_type != "email" or not step.journey_id:
                continue
            partner = step._preview_default_partner()
            step.email_preview_partner_id = partner
            try:
                step.email_preview_subject, step.email_preview_html = step._render_preview(partner)
            except (sandbox.TemplateError, AccessError, UserError) as e:
                step.email_preview_error = str(e)

    @api.model
    def default_get(self, fields_list):
        """A new email step starts from the journey email template, not blank
        (only for a new record of the form: ``create`` of another type passes
        its type, which is then not asked for here)."""
        result = super().default_get(fields_list)
        if "step_type" in fields_list and "body_html" in fields_list and result.get("step_type") == "email" \
                and not result.get("body_html"):
            result.update(self._default_email_body())
        return result

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            # an arch alone (the inline body is written by the editor) still renders
            if vals.get("body_arch") and not vals.get("body_html"):
                vals["body_html"] = vals["body_arch"]
        return super().create(vals_list)

    def write(self, vals):
        if "body_arch" not in vals:
            return super().write(vals)
        self._save_editor_languages()
        result = super().write(vals)
        # the arch read in the other languages before (the one written is kept
        # in the cache, protected from its recomputation during the write)
        self.invalidate_recordset(["body_arch"])
        return result

    @api.onchange("step_type")
    def _onchange_step_type_email_body(self):
        if self.step_type == "email" and tools.is_html_empty(self.body_html) and tools.is_html_empty(self.body_arch):
            self.update(self._default_email_body())

    @api.model
    def _default_email_body(self):
        body = self.env["ir.qweb"]._render("smb_journey.email_default_body", {})
        return {"body_arch": body, "body_html": body}

    def action_email_preview_other(self):
        """The preview dialog, to render for another customer or send a test."""
        return self.action_preview()

    # ------------------------------------------------------------
    # PLACEHOLDER PICKER
    # ------------------------------------------------------------

    @api.model
    def get_email_placeholders(self, journey_id, coupon_program_id=False):
        """What the editor's placeholder picker lists for an email of this
        journey: the values its trigger and the step fill, with a sample each.

        :return: {"groups": [{name, label, items}], "loops": [{expr, var, label, items}]},
            each item {expr, label, sample, kind: text|url|image}; ``loops`` are
            the lists (cart lines, recommendations) whose items are read inside a
            ``data-smb-for`` element
        """
        journey = self.env["smb.journey"].browse(journey_id).exists()
        if not journey:
            return {"groups": [], "loops": []}
        journey.check_access("read")
        step = self.new({"journey_id": journey.id, "step_type": "email", "coupon_program_id": coupon_program_id})
        available = step._available_names()
        sample = step._sample_context()
        groups, loops = [], []
        for name, provider in self._context_providers().items():
            if name not in available:
                continue
            value = sample.get(name)
            if provider.many:
                loops.append(_loop(name, _item_var(name), provider.label, provider.fields, provider.labels, value))
                continue
            if not provider.fields:
                groups.append({"name": name, "label": provider.label, "items": [
                    _item(name, provider.label, value)]})
                continue
            items = []
            for key in provider.fields:
                item_value = email_arch.resolve(key, value) if value is not None else None
                labels = provider.labels.get(key)
                if isinstance(labels, dict) or isinstance(item_value, (list, tuple)):
                    loops.append(_loop(
                        f"{name}.{key}", _item_var(key), provider.label,
                        tuple(labels or ((item_value or [{}])[0]).keys()), labels or {}, item_value))
                    continue
                items.append(_item(f"{name}.{key}", labels or key.replace("_", " ").replace(".", " ").capitalize(),
                                   item_value))
            groups.append({"name": name, "label": provider.label, "items": items})
        return {"groups": groups, "loops": loops}

    # ------------------------------------------------------------
    # PREVIEW
    # ------------------------------------------------------------

    def _preview_default_partner(self):
        """A recent customer having this journey's triggering record (the
        latest order, cart, lead... the user can read), else the journey's
        latest enrolled customer, else the user."""
        self.ensure_one()
        if self._preview_model() is not None:
            Model = self._preview_model()
            domain = [("partner_id", "!=", False), ("partner_id.email", "!=", False)]
            if "company_id" in Model._fields and self.journey_id.company_id:
                domain.append(("company_id", "in", [self.journey_id.company_id.id, False]))
            record = Model.search(domain, order="id desc", limit=1)
            if record:
                return record.partner_id
        enrollment = self.env["smb.journey.enrollment"].search(
            [("journey_id", "=", self.journey_id._origin.id)], order="id desc", limit=1)
        return enrollment.partner_id or self.env.user.partner_id

    def _preview_model(self):
        """The triggering records' model, when it has customers the user may read."""
        model = self.journey_id._trigger().model
        if not model or model not in self.env or "partner_id" not in self.env[model]._fields:
            return None
        Model = self.env[model]
        return Model if Model.has_access("read") else None

    def _preview_record(self, partner):
        """The customer's latest triggering record of this journey's model
        that the user can read (searching applies their record rules)."""
        Model = self._preview_model()
        if Model is None:
            return None
        domain = [("partner_id", "=", partner.id)]
        if self.journey_id.trigger == "cart_abandoned" and "state" in Model._fields:
            domain.append(("state", "=", "draft"))
        return Model.search(domain, order="id desc", limit=1) or Model.search(
            [("partner_id", "=", partner.id)], order="id desc", limit=1)

    def _render_preview(self, partner):
        """(subject, body) of this email for ``partner`` as the engine renders
        it, with sample values for what they lack (an order, a coupon).
        Nothing is recorded (no enrollment, coupon or trace).

        :raises AccessError: the user cannot read this customer or their record
        :raises sandbox.TemplateError: the template cannot be rendered
        """
        self.ensure_one()
        partner = partner or self.env.user.partner_id
        try:
            partner.check_access("read")
        except AccessError as e:
            raise AccessError(self.env._(
                "You cannot preview this email for a customer you are not allowed to see.")) from e
        journey = self.journey_id._origin or self.journey_id
        record = self._preview_record(partner)
        vals = {"journey_id": journey.id, "partner_id": partner.id, "company_id": journey.company_id.id,
                "entry_key": "preview"}
        if record:
            record.check_access("read")
            vals.update(res_model=record._name, res_id=record.id)
            if record._name == "sale.order":
                vals["order_id"] = record.id
            elif record._name == "crm.lead":
                vals["lead_id"] = record.id
        # an unsaved enrollment carries the sample: nothing is written
        enrollment = self.env["smb.journey.enrollment"].new(vals)
        step = self.with_context(smb_journey_preview=True)
        context = next(iter(step._prepare_render_contexts(enrollment).values()))
        # what this customer lacks but the journey would have (an order, a coupon): sample values
        for key, value in step._sample_context().items():
            if context.get(key) is None and value is not None:
                context[key] = value
        lang = enrollment._render_langs()[enrollment.id]
        step_lang = step.with_context(lang=lang)
        subject = sandbox.render(sandbox.compile_text(step_lang.subject or ""), context).strip()
        body = sandbox.render(sandbox.compile_template(step_lang._body_with_unsubscribe()), context)
        return subject, Markup(body)


def _item_var(name):
    """The loop variable of a list's items: cart.lines -> line, recommendations -> product."""
    last = name.rsplit(".", 1)[-1]
    if last == "lines":
        return "line"
    if last.endswith("products") or last == "recommendations":
        return "product"
    return last[:-1] if last.endswith("s") and len(last) > 1 else "item"


def _kind(expr):
    last = expr.rsplit(".", 1)[-1]
    if last in ("image_url", "logo_url"):
        return "image"
    return "url" if last == "url" or last.endswith("_url") else "text"


def _item(expr, label, value):
    return {"expr": expr, "label": label, "sample": email_arch.sample_text(value), "kind": _kind(expr)}


def _loop(expr, var, label, keys, labels, value):
    first = value[0] if isinstance(value, (list, tuple)) and value else None
    return {
        "expr": expr, "var": var, "label": label,
        "items": [
            _item(f"{var}.{key}", labels.get(key) or key.replace("_", " ").capitalize(),
                  email_arch.resolve(key, first) if first is not None else None)
            for key in keys
        ],
    }
