import re

import lxml.html
from markupsafe import Markup

from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

from odoo.addons.link_tracker.tools.html import find_links_with_urls_and_labels
from odoo.addons.smb_journey.lib import sandbox

from .smb_journey_step import StepResult

# an <a> element with a double-quoted href (group 1) and its content (group 2)
_ANCHOR_RE = re.compile(r'<a\b[^>]*?\shref="([^"]*)"[^>]*>(.*?)</a\s*>', re.IGNORECASE | re.DOTALL)
_ANCHOR_OPEN_RE = re.compile(r"<a[\s>]", re.IGNORECASE)


class SmbJourneyStep(models.Model):
    """The email step: a personalised email per customer, queued in Odoo's
    mail queue and tracked by the step's technical mailing."""

    _inherit = "smb.journey.step"

    subject = fields.Char(translate=True, help="Jinja placeholders allowed, e.g. {{ customer.first_name }}.")
    preview_text = fields.Char(translate=True, help="Shown by mail clients after the subject.")
    body_html = fields.Html(
        "Email Body", translate=True, sanitize_attributes=False, sanitize_form=False,
        help="Loops and conditions: data-smb-for=\"line in order.lines\" and "
        "data-smb-if=\"coupon\" attributes on any element; values: {{ customer.first_name }}.",
    )
    email_from = fields.Char(
        help="Sender; when empty, the company's Journey Emails From (Settings > Journeys), else its email.")
    reply_to = fields.Char()

    @api.constrains("subject", "preview_text", "body_html", "step_type", "coupon_program_id")
    def _check_template(self):
        """Refuse, when it is saved rather than when it is sent, an email that
        does not compile or cannot render in this journey, in any language:
        a placeholder the journey cannot fill (an order in a welcome email, a
        coupon without a coupon program) or a typo is named."""
        for step in self.filtered(lambda s: s.step_type == "email"):
            sample = step._sample_context()
            for lang, __ in self.env["res.lang"].get_installed():
                translated = step.with_context(lang=lang)
                for source, text in ((translated.subject or "", True), (translated._body_with_preview(), False)):
                    try:
                        sandbox.check(source, sample, text=text)
                    except sandbox.TemplateError as e:
                        raise ValidationError(self.env._(
                            "Step %(step)s (%(lang)s): %(error)s", step=step.name, lang=lang, error=e)) from e


    def _update_field_translations(self, field_name, translations, digest=None, source_lang=""):
        """A translation is checked like the source: the translation dialog
        writes it directly, past the constraints."""
        res = super()._update_field_translations(field_name, translations, digest=digest, source_lang=source_lang)
        self._validate_fields([field_name])
        return res


    def action_preview(self):
        """Render the email for a sample customer and show the result (or the error)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Email Preview: %s", self.name),
            "res_model": "smb.journey.step.preview",
            "view_mode": "form",
            "target": "new",
            "context": {"default_step_id": self.id},
        }

    def _template_sources(self):
        if self.step_type != "email":
            return super()._template_sources()
        # as sent: the unsubscribe footer added to a body without a link is a template too
        return [self.subject or "", self._body_with_unsubscribe()]

    def _check_email(self):
        if not self.subject or tools.is_html_empty(self.body_html):
            raise UserError(self.env._("Email step %s needs a subject and a body.", self.name))

    def _describe_email(self):
        return self.subject or ""

    @api.model
    def _diagram_depends(self):
        return super()._diagram_depends() + ["subject"]

    def _mailing_fields(self):
        return super()._mailing_fields() + ["subject", "email_from"]

    def _run_email(self, enrollments):
        """Queue one personalised email per enrollment in Odoo's mail queue.

        The mail is attached to this step's tracking mailing so mass_mailing
        adds the open pixel, per-recipient unsubscribe link and headers, click
        tracking, and keeps the trace that bounces and replies update.
        Nothing is sent here: Odoo's mail cron sends the queue.
        """
        results = []
        sendable = enrollments.browse()
        for enrollment, reason in self._skip_reasons_email(enrollments).items():
            if reason:
                results.append(StepResult(enrollment, "skipped", reason))
            else:
                sendable |= enrollment
        if not sendable:
            return results
        # kept in sync by the step's and journey's write; only a deleted one is remade here
        mailing = self.mailing_id or self._sync_mailing()
        contexts = self._prepare_render_contexts(sendable)
        email_from = self._email_from()
        # a title spares link_tracker fetching every (per-cart) URL over HTTP to name it
        link_vals = dict(mailing._get_link_tracker_values(), title=mailing.name)
        base_url = self.journey_id.get_base_url()
        mail_vals, trace_vals, pending = [], [], []
        chatter_prefix = self.env._(
            "Journey email queued (%(journey)s, %(step)s):", journey=self.journey_id.name, step=self.name)
        langs = sendable._render_langs()
        for lang, group in sendable.grouped(lambda e: langs[e.id]).items():
            step = self.with_context(lang=lang)
            try:
                subject_tpl = sandbox.compile_text(step.subject or "")
                body_tpl = sandbox.compile_template(step._body_with_unsubscribe())
            except sandbox.TemplateError as e:
                results += [StepResult(en, "error", "template", message=str(e), end_state="error") for en in group]
                continue
            for enrollment in group:
                partner = enrollment.partner_id
                # frozen once for both renders (render() leaves frozen values as they are)
                context = {key: sandbox.freeze(value) for key, value in contexts[enrollment.id].items()}
                try:
                    subject = sandbox.render(subject_tpl, context).strip()
                    body = sandbox.render(body_tpl, context)
                except sandbox.TemplateError as e:
                    results.append(StepResult(enrollment, "error", "template", message=str(e), end_state="error"))
                    continue
                message_id = tools.mail.generate_tracking_message_id(f"smbj-{enrollment.id}")
                mail_vals.append({
                    "subject": subject,
                    "body_html": body,
                    # what the customer's chatter shows while the email waits in the
                    # queue (it leaves with the sent mail, as mass mailings do): never
                    # an empty "removed" message; a line, not the whole email, which
                    # mail.message would sanitize again at 1.7 ms an email
                    "body": Markup("<p>%s <strong>%s</strong></p>") % (chatter_prefix, subject),
                    "email_from": email_from,
                    "reply_to": self.reply_to or email_from,
                    "email_to": partner.email_formatted,
                    "model": "res.partner",
                    "res_id": partner.id,
                    "message_id": message_id,
                    "message_type": "email_outgoing",
                    "mailing_id": mailing.id,
                    "auto_delete": True,
                    "is_notification": False,
                    "state": "outgoing",
                })
                trace_vals.append({
                    "trace_type": "mail",
                    "email": partner.email_normalized,
                    "mass_mailing_id": mailing.id,
                    "message_id": message_id,
                    "model": "res.partner",
                    "res_id": partner.id,
                })
                pending.append(enrollment)
        if mail_vals:
            bodies = self._shorten_links_batch([vals["body_html"] for vals in mail_vals], link_vals, base_url)
            for vals, body in zip(mail_vals, bodies):
                vals["body_html"] = Markup(body)
            # sudo: the engine runs as the cron user; mails and traces are technical records
            trace_ids = self.env["mail.mail"].sudo()._smb_journey_queue(mail_vals, trace_vals)
            for enrollment, trace_id in zip(pending, trace_ids):
                results.append(StepResult(enrollment, "sent", False, log_vals={"mailing_trace_id": trace_id}))
            self.env.ref("mail.ir_cron_mail_scheduler_action")._trigger()
        return results


    def _skip_reasons_email(self, enrollments):
        """Why each enrollment's email cannot be sent (False: it can)."""
        blacklisted = set(self.env["mail.blacklist"].sudo().search([
            ("email", "in", [e for e in enrollments.partner_id.mapped("email_normalized") if e]),
        ]).mapped("email"))
        reasons = {}
        for enrollment in enrollments:
            partner = enrollment.partner_id
            if not partner.email:
                reasons[enrollment] = "email_missing"
            elif not partner.email_normalized:
                reasons[enrollment] = "email_invalid"
            elif partner.email_normalized in blacklisted:
                reasons[enrollment] = "blacklisted"
            elif partner.smb_journey_optout:
                reasons[enrollment] = "opted_out"
            elif partner.smb_sunset_date and self.journey_id.marketing:
                reasons[enrollment] = "sunset"
            else:
                reasons[enrollment] = False
        return reasons

    # ------------------------------------------------------------
    # EMAIL HELPERS
    # ------------------------------------------------------------

    def _shorten_links_batch(self, bodies, link_vals, base_url):
        """``mail.render.mixin._shorten_links`` for a whole batch: one
        link-tracker lookup for every link of every body, instead of one per
        email (the most expensive part of queuing a mass mail).

        The emails of a step share most of their links: each distinct ``<a>``
        element is read once (with link_tracker's own
        ``find_links_with_urls_and_labels``, for the same URL and label) and
        its ``href`` replaced in place; only a body whose links a regular
        expression cannot delimit (an ``<a>`` without a double-quoted href,
        nested ones) is parsed and written back whole, as link_tracker does."""
        short_prefix = base_url + "/r/"
        find_options = dict(skip_regex=rf"^{tools.mail.URL_SKIP_PROTOCOL_REGEX}", skip_prefix=short_prefix,
                            skip_list=["/unsubscribe_from_list", "/view"])
        found = {}  # <a> element as written -> {'url', 'label'} to shorten, or None
        plans, urls_and_labels = [], []  # per body: ('split', [(start, end, anchor)]) / ('lxml', root, nodes)
        for body in bodies:
            if tools.is_html_empty(body):
                plans.append(None)
                continue
            anchors = list(_ANCHOR_RE.finditer(body))
            if len(anchors) == len(_ANCHOR_OPEN_RE.findall(body)) and not any(
                    _ANCHOR_OPEN_RE.search(anchor.group(2)) for anchor in anchors):
                spans = []
                for anchor in anchors:
                    element = anchor.group(0)
                    if element not in found:
                        __, link = find_links_with_urls_and_labels(
                            lxml.html.fragment_fromstring(element), base_url, **find_options)
                        found[element] = link[0] if link else None
                    if found[element]:
                        spans.append((anchor.start(1), anchor.end(1), found[element]))
                        urls_and_labels.append(found[element])
                plans.append(("split", spans) if spans else None)
                continue
            root = lxml.html.fromstring(body)
            nodes, urls = find_links_with_urls_and_labels(root, base_url, **find_options)
            plans.append(("lxml", root, nodes, urls) if nodes else None)
            urls_and_labels += urls
        if not urls_and_labels:
            return bodies
        keys = list(dict.fromkeys((link["url"], link["label"]) for link in urls_and_labels))
        trackers = self.env["link.tracker"].search_or_create(
            [dict(link_vals, url=url, label=label) for url, label in keys])
        short_urls = {key: tracker.short_url for key, tracker in zip(keys, trackers)}
        result = []
        for body, plan in zip(bodies, plans):
            if plan is None:
                result.append(body)
            elif plan[0] == "split":
                parts, last = [], 0
                for start, end, link in plan[1]:
                    parts += [body[last:start], short_urls[link["url"], link["label"]]]
                    last = end
                parts.append(body[last:])
                result.append("".join(parts))
            else:
                __, root, nodes, urls = plan
                for node, link in zip(nodes, urls):
                    node.set("href", short_urls[link["url"], link["label"]])
                result.append(lxml.html.tostring(root, encoding="unicode", method="xml"))
        return result

    def _email_from(self):
        company = self.journey_id.company_id
        return (self.email_from or company.smb_journey_email_from or company.email_formatted
                or self.env.user.email_formatted)

    def _body_with_preview(self):
        """The body, led by the preview text that mail clients show after the
        subject (hidden in the email itself), as mass_mailing does."""
        if not self.preview_text:
            return self.body_html or ""
        preview = Markup(
            '<div style="display:none;font-size:1px;color:#ffffff;line-height:1px;max-height:0;'
            'max-width:0;opacity:0;overflow:hidden;">%s</div>') % self.preview_text
        return preview + (self.body_html or "")

    def _body_with_unsubscribe(self):
        """The body (with its preview text), plus a small unsubscribe footer
        when the author left no unsubscribe link: every journey email can be
        refused in one click (mass_mailing turns the link into the customer's
        own unsubscribe URL, and adds the List-Unsubscribe headers)."""
        body = self._body_with_preview()
        if "unsubscribe_from_list" in body or "unsubscribe_url" in body:
            return body
        footer = Markup(
            '<p style="margin:16px 0;font-family:Arial,Helvetica,sans-serif;font-size:12px;line-height:18px;'
            'color:#6b7280;text-align:center;">{{ company.name }} &#183; '
            '<a href="{{ unsubscribe_url }}" style="color:#6b7280;">%s</a></p>') % self.env._("Unsubscribe")
        return Markup(body) + footer

    def _mailing_vals_mail(self):
        """What the email step's tracking mailing shows (see ``_sync_mailing``):
        its subject as read without template code, and its sender."""
        return {"subject": _readable_subject(self.subject) or self.name, "email_from": self._email_from()}


def _readable_subject(subject):
    """A template subject as people read it in lists: {{ customer.first_name }} -> [customer.first_name]."""
    return re.sub(r"{[{%]-?\s*(.*?)\s*-?[%}]}", r"[\1]", subject or "").strip()
