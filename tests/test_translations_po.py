"""The shipped translations are complete and keep every placeholder, Jinja fragment and tag (scripts/check_po.py)."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "scripts"))
import check_po  # noqa: E402

MODULES = ("smb_journey", "smb_journey_stock", "smb_journey_sms")
PO_FILES = check_po.find_po_files()


def _languages(module):
    folder = os.path.join(check_po.REPO_ROOT, module, "i18n")
    return {name[:-3] for name in os.listdir(folder) if name.endswith(".po")}


def test_every_module_is_translated_into_the_same_languages():
    languages = set().union(*(_languages(module) for module in MODULES))
    assert {"fr", "de"} <= languages
    for module in MODULES:
        assert _languages(module) == languages, f"{module} lacks {sorted(languages - _languages(module))}"


@pytest.mark.parametrize("po_path", PO_FILES, ids=[os.path.relpath(p, check_po.REPO_ROOT) for p in PO_FILES])
def test_translation_is_complete_and_faithful(po_path):
    assert check_po.check_file(po_path, check_po.template_of(po_path)) == []


POT = r'''msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"

#: code:addons/m/models/m.py:0
msgid "Sent %(count)s emails to %s"
msgstr ""

#: model_terms:smb.journey.step,body_html:m.step
msgid "Hi {{ customer.first_name }}, see <a href=\"{{ shop_url }}\" style=\"color:#111;\">the shop</a>.<br/>"
msgstr ""

#: model:smb.journey.step,name:m.step
msgid " and "
msgstr ""

#: model:smb.journey.step,subject:m.step
msgid "{% if coupon %}Your code {{ coupon.code }}{% endif %}"
msgstr ""
'''

GOOD = {
    "Sent %(count)s emails to %s": "%(count)s e-mails envoyés à %s",
    'Hi {{ customer.first_name }}, see <a href=\\"{{ shop_url }}\\" style=\\"color:#111;\\">the shop</a>.<br/>':
        'Bonjour {{ customer.first_name }}, voyez <a href=\\"{{ shop_url }}\\" style=\\"color:#111;\\">la boutique</a>.<br/>',
    " and ": " et ",
    "{% if coupon %}Your code {{ coupon.code }}{% endif %}": "{% if coupon %}Votre code {{ coupon.code }}{% endif %}",
}


def _write(tmp_path, translations, header='"Content-Type: text/plain; charset=UTF-8\\n"\n"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n', extra=""):
    folder = tmp_path / "m" / "i18n"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "m.pot").write_text(POT, encoding="utf-8")
    body = f'msgid ""\nmsgstr ""\n{header}\n'
    for source, text in translations.items():
        body += f'msgid "{source}"\nmsgstr "{text}"\n\n'
    (folder / "fr.po").write_text(body + extra, encoding="utf-8")
    return str(folder / "fr.po")


def _problems(tmp_path, **changes):
    translations = dict(GOOD)
    extra = changes.pop("extra", "")
    for source, text in changes.get("replace", {}).items():
        translations[source] = text
    for source in changes.get("drop", ()):
        del translations[source]
    path = _write(tmp_path, translations, extra=extra)
    return check_po.check_file(path, check_po.template_of(path))


def test_checker_accepts_a_faithful_translation(tmp_path):
    assert _problems(tmp_path) == []


def test_checker_reports_missing_and_empty_entries(tmp_path):
    problems = _problems(tmp_path, drop=[" and "], replace={"Sent %(count)s emails to %s": ""})
    assert any("missing ' and '" in p for p in problems)
    assert any("untranslated" in p and "Sent %(count)s" in p for p in problems)


def test_checker_reports_changed_placeholders(tmp_path):
    problems = _problems(tmp_path, replace={"Sent %(count)s emails to %s": "%(nombre)s e-mails envoyés à %s"})
    assert len(problems) == 1 and "placeholders differ" in problems[0] and "%(count)s" in problems[0]


def test_checker_reports_a_stray_percent_in_a_formatted_string(tmp_path):
    problems = _problems(tmp_path, replace={"Sent %(count)s emails to %s": "%(count)s e-mails envoyés à 100 % à %s"})
    assert len(problems) == 1 and "no placeholder" in problems[0]
    # a label is not formatted: its "%" is text
    assert _problems(tmp_path, replace={" and ": " et 100 % "}) == []


def test_checker_reports_changed_jinja(tmp_path):
    problems = _problems(tmp_path, replace={
        "{% if coupon %}Your code {{ coupon.code }}{% endif %}": "{% if coupon %}Votre code {{ coupon.name }}{% endif %}",
    })
    assert len(problems) == 1 and "Jinja fragments differ" in problems[0]


def test_checker_reports_broken_markup(tmp_path):
    source = 'Hi {{ customer.first_name }}, see <a href=\\"{{ shop_url }}\\" style=\\"color:#111;\\">the shop</a>.<br/>'
    unbalanced = _problems(tmp_path, replace={
        source: 'Bonjour {{ customer.first_name }}, voyez <a href=\\"{{ shop_url }}\\" style=\\"color:#111;\\">la boutique.<br/>',
    })
    assert any("unbalanced markup" in p for p in unbalanced)
    changed_url = _problems(tmp_path, replace={
        source: 'Bonjour {{ customer.first_name }}, voyez <a href=\\"https://example.com\\" style=\\"color:#111;\\">la boutique</a>.<br/>',
    })
    assert any("markup differs" in p for p in changed_url)


def test_checker_reports_fuzzy_stale_and_whitespace(tmp_path):
    problems = _problems(
        tmp_path, replace={" and ": "et"},
        extra='#, fuzzy\nmsgid "Old term"\nmsgstr "Ancien terme"\n',
    )
    assert any("whitespace differs" in p for p in problems)
    assert any("stale" in p and "Old term" in p for p in problems)


def test_checker_reads_files_without_polib(tmp_path, monkeypatch):
    monkeypatch.setattr(check_po, "polib", None)
    assert _problems(tmp_path) == []
    problems = _problems(tmp_path, replace={" and ": ""})
    assert any("untranslated" in p for p in problems)
    assert check_po.parse(check_po.template_of(_write(tmp_path, GOOD)))[1].msgid == "Sent %(count)s emails to %s"
