import re

from odoo.tests import tagged
from odoo.tools import file_open
from odoo.tools.translate import PoFileReader

from .common import JourneyCase

MODULES = ("smb_journey", "smb_journey_stock", "smb_journey_sms")
LANGS = {"fr_FR": "fr", "de_DE": "de"}


@tagged("post_install", "-at_install")
class TestTranslations(JourneyCase):
    """The shipped journeys write to each customer in their language (French, German), with every
    email term translated: a term whose translation Odoo could not take (broken markup) would
    silently stay English."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for lang in LANGS:
            cls.env["res.lang"]._activate_lang(lang)
        installed = cls.env["ir.module.module"].search([("name", "in", MODULES), ("state", "=", "installed")])
        cls.modules = installed.mapped("name")
        cls.env["ir.module.module"]._load_module_terms(cls.modules, list(LANGS), overwrite=True)
        cls.env.invalidate_all()
        cls.welcome = cls.env.ref("smb_journey.journey_welcome")
        cls.welcome.volume_limit = 0

    def _identical_terms(self, code):
        """The terms a language writes as the source (a bare placeholder, 'Total'...)."""
        same = set()
        for module in self.modules:
            with file_open(f"{module}/i18n/{code}.po", "rb") as po:
                same |= {entry["src"] for entry in PoFileReader(po) if entry["src"] == entry["value"]}
        return same

    @staticmethod
    def _has_words(term):
        """A term with words to translate (not a bare placeholder or a check mark)."""
        return bool(re.search(r"[^\W\d_]", re.sub(r"\{\{.*?\}\}|<[^>]*>", "", term)))

    def test_customers_get_the_welcome_email_in_their_language(self):
        self.welcome.action_start()
        ann = self.env["res.partner"].create({"name": "Ann Lee", "email": "ann.lee@example.com", "lang": "en_US"})
        camille = self.env["res.partner"].create({
            "name": "Camille Martin", "email": "camille.martin@example.fr", "lang": "fr_FR"})
        jonas = self.env["res.partner"].create({
            "name": "Jonas Müller", "email": "jonas.mueller@example.de", "lang": "de_DE"})
        self.process_events()
        self.assertEqual(self.welcome.enrollment_ids.partner_id, ann | camille | jonas)
        self.run_engine()
        first = self.welcome.step_ids.filtered(lambda s: s.step_type == "email").sorted("sequence")[:1]
        mails = {mail.res_id: mail for mail in self.mails(first)}
        company = self.env.company.name
        expected = {
            ann: (f"Welcome to {company}, Ann!", ["Hi Ann,", "Start shopping", "Unsubscribe"]),
            # French puts a no-break space before "!"
            camille: (f"Bienvenue chez {company}, Camille\u00a0!",
                      ["Bonjour Camille,", "Commencer mes achats", "Se désabonner", "Pas de spam, promis."]),
            jonas: (f"Willkommen bei {company}, Jonas!",
                    ["Hallo Jonas,", "Jetzt einkaufen", "Abmelden", "Kein Spam, versprochen."]),
        }
        for partner, (subject, phrases) in expected.items():
            mail = mails[partner.id]
            self.assertEqual(mail.subject, subject)
            for phrase in phrases:
                self.assertIn(phrase, mail.body_html, f"{partner.lang}: {phrase!r}")
            self.assertNotIn("{{", mail.body_html, "every placeholder is filled")
        for partner in (camille, jonas):
            body = mails[partner.id].body_html
            self.assertNotIn("Start shopping", body)
            self.assertNotIn("Welcome to", body)
            self.assertIn("/unsubscribe_from_list", body, "the unsubscribe link survives the translation")

    def test_every_shipped_email_is_translated_and_renders(self):
        xmlids = self.env["ir.model.data"].search([
            ("model", "=", "smb.journey.step"), ("module", "in", self.modules)])
        steps = self.env["smb.journey.step"].browse(xmlids.mapped("res_id")).filtered(
            lambda s: s.step_type == "email")
        self.assertGreaterEqual(len(steps), 20)
        # compiles and renders with sample values in every installed language, as saving it checks
        steps._check_template()
        body_field = steps._fields["body_html"]
        for lang, code in LANGS.items():
            same = self._identical_terms(code)
            for step in steps:
                translated = step.with_context(lang=lang)
                for name in ("subject", "preview_text"):
                    if step[name] and step[name] not in same:
                        self.assertNotEqual(translated[name], step[name], f"{lang} {step.name}: {name}")
                english = set(body_field.get_trans_terms(step.body_html))
                left = {term for term in set(body_field.get_trans_terms(translated.body_html)) & english - same
                        if self._has_words(term)}
                self.assertFalse(left, f"{lang} {step.name}: terms left in English")
                self.assertEqual(
                    sorted(re.findall(r"\{\{.*?\}\}", translated.body_html)),
                    sorted(re.findall(r"\{\{.*?\}\}", step.body_html)),
                    f"{lang} {step.name}: the same placeholders")

    def test_screens_speak_the_users_language(self):
        wait = self.step_wait
        event_wait = self.env["smb.journey.step"].create({
            "journey_id": self.journey.id, "name": "Opened?", "sequence": 4, "step_type": "wait_event",
            "event_type": "opened", "event_timeout_amount": 2, "event_timeout_unit": "days"})
        self.assertEqual(wait._describe_wait(), "For 1 day")
        self.assertEqual(event_wait._describe_wait_event(), "Until the customer opens an email, at most 2 days")
        self.assertEqual(wait.with_context(lang="fr_FR")._describe_wait(), "Pendant 1 jour")
        self.assertEqual(event_wait.with_context(lang="fr_FR")._describe_wait_event(),
                         "Jusqu'à ce que le client ouvre un e-mail, au plus 2 jours")
        # German keeps its nouns' capitals inside a sentence
        self.assertEqual(wait.with_context(lang="de_DE")._describe_wait(), "Für 1 Tag")
        self.assertEqual(event_wait.with_context(lang="de_DE")._describe_wait_event(),
                         "Bis zum Öffnen einer E-Mail, höchstens 2 Tage")
        reasons = self.env["smb.journey.log"].with_context(lang="de_DE").fields_get(["reason"])["reason"]
        self.assertIn(["quiet_hours", "Ruhezeiten"], [list(r) for r in reasons["selection"]])
        template = self.env.ref("smb_journey.mail_template_consent_request")
        self.assertTrue(template.with_context(lang="fr_FR").subject.startswith("Veuillez confirmer"))
        self.assertIn("Mein Abonnement bestätigen", template.with_context(lang="de_DE").body_html)

    def test_the_email_editor_shows_and_keeps_each_language(self):
        """A manager edits a shipped email in their language, and saving it in one language keeps the
        others: the French customer still gets the French greeting after an English save."""
        step = self.welcome.step_ids.filtered(lambda s: s.step_type == "email").sorted("sequence")[:1]
        first_name = 'data-smb-out="customer.first_name">Ann</span>'
        french = step.with_context(lang="fr_FR")
        self.assertIn("Bonjour <span", french.body_arch)
        self.assertIn(first_name, french.body_arch)
        self.assertNotIn("Start shopping", french.body_arch)
        self.assertIn("Jetzt einkaufen", step.with_context(lang="de_DE").body_arch)
        self.assertIn("Start shopping", step.body_arch)

        # what the editor saves: the arch and its inline copy (here the same)
        edited = step.body_arch.replace("Start shopping", "Shop now")
        step.write({"body_arch": edited, "body_html": edited})
        self.assertIn("Shop now", step.body_html)
        self.assertIn("Hi <span", step.body_html)
        for lang, phrases in (("fr_FR", ["Bonjour <span", "Pas de spam, promis."]),
                              ("de_DE", ["Hallo <span", "Kein Spam, versprochen."])):
            body = step.with_context(lang=lang).body_html
            for phrase in phrases:
                self.assertIn(phrase, body, f"{lang}: {phrase!r} kept")
            self.assertNotIn("Hi <span", body)

        edited = french.body_arch.replace("Pas de spam, promis.", "Jamais de spam.")
        french.write({"body_arch": edited, "body_html": edited})
        self.assertIn("Jamais de spam.", french.body_html)
        self.assertIn("Jamais de spam.", french.body_arch)
        self.assertIn("Shop now", step.body_html)
        self.assertIn("Hi <span", step.body_html)
        self.assertNotIn("Jamais de spam.", step.body_html)
        self.assertIn("Kein Spam, versprochen.", step.with_context(lang="de_DE").body_html)
