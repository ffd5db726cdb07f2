"""The email editor's version of a journey email (``body_arch``).

Journey emails are edited in Email Marketing's drag-and-drop editor. The
editor works on an *arch* where placeholders show sample values instead of
template code (``<span data-smb-out="customer.first_name">Ann</span>``, an
image whose ``src`` is a sample and whose ``data-smb-src`` holds the
expression); sandbox.to_jinja turns them back into ``{{ }}`` when the email
is rendered. This module turns an email written before the editor (plain
``{{ }}`` in text, ``src``/``href`` attributes) into such an arch, rendering
the same, so it opens in the editor without raw template code or broken images.
"""

import re
from collections.abc import Mapping
from urllib.parse import unquote

from lxml import html as lxml_html

if __package__:
    from .sandbox import ATTR_FOR, ATTR_HREF, ATTR_OUT, ATTR_SRC
else:  # imported as a plain module by the ORM-free tests
    from sandbox import ATTR_FOR, ATTR_HREF, ATTR_OUT, ATTR_SRC

SAMPLE_IMAGE = "/web/static/img/placeholder.png"
PLACEHOLDER_CLASS = "o_smb_placeholder o-contenteditable-false"
# a value the editor can show as a sample: a dotted path, nothing computed
_PATH = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_TEXT_TAG_RE = re.compile(r"\{\{\s*(" + _PATH + r")\s*\}\}")
_WHOLE_TAG_RE = re.compile(r"\s*\{\{\s*(" + _PATH + r")\s*\}\}\s*")
_LOOP_RE = re.compile(r"^\s*([A-Za-z_]\w*)\s+in\s+(" + _PATH + r")\s*$")
_SKIPPED_TAGS = {"style", "script", "title", "head"}


def resolve(path, scope):
    """The sample value at ``path`` (``cart.lines``) in ``scope``, or None."""
    value = scope
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def sample_text(value):
    if value is None or isinstance(value, (Mapping, list, tuple)):
        return ""
    return str(value)


def is_editor_arch(body):
    return "o_layout" in (body or "")


def wrap_layout(content):
    """Content inside the layout the editor expects (the journey theme's), where
    blocks can be dropped around it."""
    return (
        '<div data-name="Mailing" class="o_layout oe_unremovable oe_unmovable o_journey_theme">'
        '<div class="container o_mail_wrapper o_mail_regular oe_unremovable"><div class="row mw-100 mx-0">'
        f'<div class="col o_mail_no_options o_mail_wrapper_td bg-white oe_structure">{content}</div>'
        '</div></div></div>'
    )


def editor_arch(body, sample):
    """The editor arch of ``body`` (an email's HTML with ``{{ }}``), showing
    values of ``sample`` (a render context of sample values). An arch is
    returned as it is."""
    if not body or is_editor_arch(body):
        return body
    wrapper = lxml_html.fragment_fromstring(body, create_parent="div")
    _convert(wrapper, dict(sample or {}))
    content = (wrapper.text or "") + "".join(
        lxml_html.tostring(child, encoding="unicode") for child in wrapper)
    return wrap_layout(content)


def _convert(element, scope):
    if not isinstance(element.tag, str) or element.tag in _SKIPPED_TAGS:
        return
    loop = _LOOP_RE.match(element.get(ATTR_FOR) or "")
    if loop:
        items = resolve(loop.group(2), scope)
        scope = {**scope, loop.group(1): items[0] if isinstance(items, (list, tuple)) and items else None}
    for attribute, target, shown in (("src", ATTR_SRC, SAMPLE_IMAGE), ("href", ATTR_HREF, None)):
        whole = _WHOLE_TAG_RE.fullmatch(unquote(element.get(attribute) or ""))
        if whole and target not in element.attrib:
            element.set(target, whole.group(1))
            element.set(attribute, shown or sample_text(resolve(whole.group(1), scope)) or "#")
    if element.text:
        element.text = _split(element.text, scope, lambda node: element.insert(0, node))
    for child in list(element):
        _convert(child, scope)
        if child.tail:
            child.tail = _split(child.tail, scope, child.addnext)


def _split(text, scope, place):
    """Put a placeholder span for each ``{{ path }}`` of ``text`` with
    ``place`` (which inserts a node at the text's position); returns the text
    before the first one (the rest goes into the spans' tails)."""
    parts = _TEXT_TAG_RE.split(text)
    if len(parts) == 1:
        return text
    spans = []
    for index in range(1, len(parts), 2):
        span = lxml_html.Element("span", {"class": PLACEHOLDER_CLASS, ATTR_OUT: parts[index]})
        span.text = sample_text(resolve(parts[index], scope)) or parts[index]
        span.tail = parts[index + 1] or None
        spans.append(span)
    # placed in reverse at the same position keeps their order
    for span in reversed(spans):
        place(span)
    return parts[0]
