import re
from html import unescape

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Command
from odoo.tools.mail import TEXT_URL_REGEX

from odoo.addons.smb_journey.lib import sandbox
from odoo.addons.smb_journey.models.smb_journey_step import StepResult
from odoo.addons.smb_journey.tools.registry import StepType

# a URL as a whole word of a text: not the start of a longer one (link_tracker's rule)
_URL_END = r"(?![\w@:%.+&~#=/-])"


class SmbJourneyStep(models.Model):
    """The SMS step: a personalised text per customer, queued in Odoo's SMS
    queue and tracked by the step's technical SMS mailing, as SMS Marketing
    sends a mailing (traces, shortened links, opt-out link)."""

    _inherit = "smb.journey.step"

    sms_body = fields.Text(
        "SMS Text", translate=True,
        help="Plain text with the email's placeholders, e.g. {{ customer.first_name }}. Links are shortened "
        "and tracked; an opt-out link is added at the end unless the text has {{ unsubscribe_url }}.")

    @api.model
    def _step_types(self):
        _ = self.env._
        return super()._step_types() | {
            "sms": StepType(
                _("Send SMS"), icon="fa-mobile", mailing_type="sms",
                reasons=(
                    ("phone_missing", _("No phone number")),
                    ("phone_invalid", _("Invalid phone number")),
                    ("phone_blacklisted", _("Phone number blacklisted")),
                ),
                help=_("A personalised text message through the SMS queue (IAP), tracked like an SMS mailing.")),
        }

    @api.constrains("sms_body", "step_type", "coupon_program_id")
    def _check_sms_template(self):
        """Refuse, when it is saved, an SMS text that does not compile or
        cannot render in this journey, in any language (as an email's)."""
        for step in self.filtered(lambda s: s.step_type == "sms"):
            sample = step._sample_context()
            for lang, __ in self.env["res.lang"].get_installed():
                try:
                    sandbox.check(step.with_context(lang=lang).sms_body or "", sample, text=True)
                except sandbox.TemplateError as e:
                    raise ValidationError(self.env._(
                        "Step %(step)s (%(lang)s): %(error)s", step=step.name, lang=lang, error=e)) from e

    def _sample_context(self):
        sample = super()._sample_context()
        if self.step_type == "sms":
            # the email in a browser: an SMS has none
            sample.pop("view_url", None)
        return sample

    def _template_sources(self):
        if self.step_type != "sms":
            return super()._template_sources()
        return [self.sms_body or ""]

    def _check_sms(self):
        if not (self.sms_body or "").strip():
            raise UserError(self.env._("SMS step %s needs a text.", self.name))

    def _describe_sms(self):
        return (self.sms_body or "").strip().split("\n")[0][:80]

    @api.model
    def _diagram_depends(self):
        return super()._diagram_depends() + ["sms_body"]

    def _mailing_fields(self):
        return super()._mailing_fields() + ["sms_body"]

    def _run_sms(self, enrollments):
        """Queue one personalised SMS per enrollment in Odoo's SMS queue.

        As SMS Marketing sends a mailing: each SMS has a ``mailing.trace``
        of this step's tracking mailing (with the code of its opt-out link
        and an ``sms.tracker`` for IAP's delivery reports), its links
        shortened with the mailing's UTM values and tagged with the SMS's id
        so a click is counted on its trace, and a "STOP SMS" link that
        blacklists the number. Nothing is sent here: Odoo's SMS cron sends
        the queue (creating the SMS schedules it)."""
        results = []
        sendable = enrollments.browse()
        for enrollment, reason in self._skip_reasons_sms(enrollments).items():
            if reason:
                results.append(StepResult(enrollment, "skipped", reason))
            else:
                sendable |= enrollment
        if not sendable:
            return results
        # kept in sync by the step's and journey's write; only a deleted one is remade here
        mailing = self.mailing_id or self._sync_mailing()
        Composer = self.env["sms.composer"]
        Trace = self.env["mailing.trace"]
        contexts = self._prepare_render_contexts(sendable)
        langs = sendable._render_langs()
        pending = []  # (enrollment, body, trace code)
        for lang, group in sendable.grouped(lambda e: langs[e.id]).items():
            step = self.with_context(lang=lang)
            source = step.sms_body or ""
            try:
                template = sandbox.compile_text(source)
                # the author placed the opt-out link, else it ends the text as SMS Marketing adds it
                own_stop = "unsubscribe_url" in sandbox.referenced_names(source)
            except sandbox.TemplateError as e:
                results += [StepResult(en, "error", "template", message=str(e), end_state="error") for en in group]
                continue
            composer = Composer.with_context(lang=lang)
            for enrollment in group:
                code = Trace._get_random_code()
                stop_url = composer._get_unsubscribe_url(mailing.id, code)
                context = {key: sandbox.freeze(value) for key, value in contexts[enrollment.id].items()}
                context["unsubscribe_url"] = stop_url
                try:
                    body = sandbox.render(template, context).strip()
                except sandbox.TemplateError as e:
                    results.append(StepResult(enrollment, "error", "template", message=str(e), end_state="error"))
                    continue
                if not own_stop:
                    body = f"{body}\n{composer._get_unsubscribe_info(stop_url)}"
                pending.append((enrollment, body, code))
        if not pending:
            return results
        # a title spares link_tracker fetching every (per-cart) URL over HTTP to name it
        link_vals = dict(mailing._get_link_tracker_values(), title=mailing.name)
        bodies = self._shorten_links_text_batch([body for __, body, __ in pending], link_vals)
        # sudo: the engine runs as the cron user; SMS, traces and trackers are technical records
        sms_records = self.env["sms.sms"].sudo().create([{
            "body": body,
            "number": enrollment.partner_id.phone_sanitized,
            "partner_id": enrollment.partner_id.id,
            "mailing_id": mailing.id,
            "state": "outgoing",
        } for (enrollment, __, __), body in zip(pending, bodies)])
        traces = Trace.sudo().create([{
            "trace_type": "sms",
            "mass_mailing_id": mailing.id,
            "model": "res.partner",
            "res_id": enrollment.partner_id.id,
            "sms_id_int": sms.id,
            "sms_number": sms.number,
            "sms_code": code,
            "sms_tracker_ids": [Command.create({"sms_uuid": sms.uuid})],
        } for (enrollment, __, code), sms in zip(pending, sms_records)])
        # the short links name the SMS, so a click is counted on its trace
        bodies = sms_records._update_body_short_links()
        for sms in sms_records:
            sms.body = bodies[sms.id]
        for (enrollment, __, __), trace in zip(pending, traces):
            results.append(StepResult(enrollment, "sent", False, log_vals={"mailing_trace_id": trace.id}))
        return results

    def _skip_reasons_sms(self, enrollments):
        """Why each enrollment's SMS cannot be sent (False: it can)."""
        partners = enrollments.partner_id
        number_fields = partners._phone_get_number_fields()
        # sudo: the blacklist is read for the engine, whoever runs it
        blacklisted = set(self.env["phone.blacklist"].sudo().search([
            ("number", "in", [n for n in partners.mapped("phone_sanitized") if n]),
        ]).mapped("number"))
        reasons = {}
        for enrollment in enrollments:
            partner = enrollment.partner_id
            if not any(partner[fname] for fname in number_fields):
                reasons[enrollment] = "phone_missing"
            elif not partner.phone_sanitized:
                reasons[enrollment] = "phone_invalid"
            elif partner.phone_sanitized in blacklisted:
                reasons[enrollment] = "phone_blacklisted"
            elif partner.smb_journey_optout:
                reasons[enrollment] = "opted_out"
            elif partner.smb_sunset_date and self.journey_id.marketing:
                reasons[enrollment] = "sunset"
            else:
                reasons[enrollment] = False
        return reasons

    # ------------------------------------------------------------
    # SMS HELPERS
    # ------------------------------------------------------------

    def _shorten_links_text_batch(self, bodies, link_vals):
        """``mail.render.mixin._shorten_links_text`` for a whole batch: one
        link-tracker lookup for every distinct URL of every text, instead of
        one per URL per SMS. Short links and opt-out links are left as they are."""
        base_url = self.env["sms.sms"].get_base_url()
        skip = (base_url + "/r/", base_url + "/sms/")
        found = [sorted(set(re.findall(TEXT_URL_REGEX, body))) for body in bodies]
        urls = list(dict.fromkeys(url for body_urls in found for url in body_urls if not url.startswith(skip)))
        if not urls:
            return bodies
        trackers = self.env["link.tracker"].search_or_create([dict(link_vals, url=unescape(url)) for url in urls])
        short_urls = {url: tracker.short_url for url, tracker in zip(urls, trackers)}
        result = []
        for body, body_urls in zip(bodies, found):
            for url in body_urls:
                if short_urls.get(url):
                    body = re.sub(re.escape(url) + _URL_END, short_urls[url], body)
            result.append(body)
        return result

    def _mailing_vals_sms(self):
        """What the SMS step's tracking mailing shows (see ``_sync_mailing``),
        with SMS Marketing's opt-out link allowed."""
        return {
            "subject": f"[{self.journey_id.name}] {self.name}",
            "body_plaintext": self.sms_body or "",
            "sms_allow_unsubscribe": True,
        }
