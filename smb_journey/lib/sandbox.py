"""Render user-written email templates in a Jinja2 sandbox.

Marketing users edit journey emails in Odoo's HTML editor. The dynamic parts
are Jinja2 (``{{ customer.first_name }}``), rendered from a curated context of
plain values: no ORM record, no callable reaches the template, so an editor
cannot read or write anything the engine did not choose to show.

An HTML editor rewrites markup: text such as ``{% for %}`` placed between two
``<tr>`` is moved out of the table when the browser parses it. Loops and
conditions are therefore also written as attributes, which survive editing::

    <tr data-smb-for="line in cart.lines"> <td>{{ line.name }}</td> </tr>
    <p data-smb-if="coupon">Your code: {{ coupon.code }}</p>

:func:`to_jinja` turns those attributes into Jinja blocks around the element
before compilation.
"""

import html
import re
from collections.abc import Mapping
from urllib.parse import unquote

import jinja2
import jinja2.meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from lxml import etree
from lxml import html as lxml_html

ATTR_FOR = "data-smb-for"
ATTR_IF = "data-smb-if"
_FOR_RE = re.compile(r"^\s*[A-Za-z_]\w*(\s*,\s*[A-Za-z_]\w*)*\s+in\s+\S.*$", re.S)
_MARK_RE = re.compile(r"<!--SMBJ(FOR|IF|END)(?: (.*?))?-->", re.S)
_JINJA_RE = re.compile(r"({{.*?}}|{%.*?%})", re.S)
# URLs get percent-encoded (by Odoo's sanitizer: href="{{%20x%20}}", by others: %7B%7B...)
_QUOTED_JINJA_RE = re.compile(r"%7B(%7B|%25)(.*?)(%7D|%25)%7D", re.S | re.I)
MAX_OUTPUT = 2_000_000  # characters: a runaway loop must not fill the mail queue


class TemplateError(Exception):
    """A template that cannot be compiled or rendered; its message is shown to the admin."""


def _escape_comment(text):
    return text.replace("--", "- -")


def to_jinja(source):
    """Return the Jinja source of an editor-safe template.

    ``data-smb-for`` / ``data-smb-if`` attributes become ``{% for %}`` /
    ``{% if %}`` blocks wrapping their element; entities the editor put inside
    ``{{ }}`` (``&quot;``, ``&gt;``) are decoded back.
    """
    if not source:
        return ""
    source = _QUOTED_JINJA_RE.sub(
        lambda m: "{" + unquote(m.group(1)) + unquote(m.group(2)) + unquote(m.group(3)) + "}", source)
    if ATTR_FOR in source or ATTR_IF in source:
        source = _expand_directives(source)
    # the editor (and lxml) escape quotes and '>' inside text and attributes
    return _JINJA_RE.sub(lambda m: html.unescape(unquote(m.group(1))), source)


def _expand_directives(source):
    wrapper = lxml_html.fragment_fromstring(source, create_parent="div")
    for node in wrapper.xpath(f"//*[@{ATTR_FOR} or @{ATTR_IF}]"):
        loop = node.attrib.pop(ATTR_FOR, None)
        cond = node.attrib.pop(ATTR_IF, None)
        opening, closing = [], []
        if loop is not None:
            if not _FOR_RE.match(loop):
                raise TemplateError(f"Invalid loop '{loop}': write it as 'item in list'.")
            opening.append(etree.Comment(" ".join(["SMBJFOR", _escape_comment(loop)])))
            closing.append(etree.Comment("SMBJEND"))
        if cond is not None:
            opening.append(etree.Comment(" ".join(["SMBJIF", _escape_comment(cond)])))
            closing.append(etree.Comment("SMBJEND"))
        # comments keep their place inside <table>/<tbody>, unlike text
        for mark in opening:
            node.addprevious(mark)
        anchor = node
        for mark in reversed(closing):
            # addnext moves the element's tail after the mark: keep it on the element
            tail, anchor.tail = anchor.tail, None
            anchor.addnext(mark)
            mark.tail = tail
    out = (wrapper.text or "") + "".join(
        lxml_html.tostring(child, encoding="unicode") for child in wrapper
    )
    stack = []

    def _replace(match):
        kind, expr = match.group(1), html.unescape(match.group(2) or "")
        if kind == "END":
            return "{% endfor %}" if stack.pop() == "FOR" else "{% endif %}"
        stack.append(kind)
        return "{%% for %s %%}" % expr if kind == "FOR" else "{%% if %s %%}" % expr

    return _MARK_RE.sub(_replace, out)


class _Environment(ImmutableSandboxedEnvironment):
    """Sandbox that also refuses anything callable but the safe builtins."""

    def is_safe_callable(self, obj):
        return obj in _SAFE_CALLABLES

    def is_safe_attribute(self, obj, attr, value):
        if attr.startswith("_"):
            return False
        # only data: plain mappings and sequences, no methods
        if callable(value) and value not in _SAFE_CALLABLES:
            return False
        return super().is_safe_attribute(obj, attr, value)


_SAFE_CALLABLES = set()
_ENV = _Environment(
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.loopcontrols"],
)
# range() is the only global; everything else comes from the curated context
_ENV.globals = {"range": range}
_SAFE_CALLABLES.update({range})
# subjects are plain text: escaping them would show "&amp;" in the inbox
_TEXT_ENV = _ENV.overlay(autoescape=False)


def compile_template(source):
    """Compile ``source`` (editor-safe HTML with Jinja) or raise :class:`TemplateError`."""
    try:
        return _ENV.from_string(to_jinja(source))
    except TemplateError:
        raise
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"Template syntax error line {e.lineno}: {e.message}") from e
    except (etree.ParserError, ValueError) as e:
        raise TemplateError(f"Template is not valid HTML: {e}") from e


def compile_text(source):
    """Compile a plain-text template (an email subject): same sandbox, no HTML escaping."""
    try:
        return _TEXT_ENV.from_string(source or "")
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"Template syntax error line {e.lineno}: {e.message}") from e


def referenced_names(source):
    """The top-level context names ``source`` uses, so the engine computes
    only those (recommendations, coupons) instead of all of them."""
    try:
        return jinja2.meta.find_undeclared_variables(_ENV.parse(to_jinja(source)))
    except (jinja2.TemplateSyntaxError, etree.ParserError, ValueError) as e:
        raise TemplateError(f"Template syntax error: {e}") from e


class Value(Mapping):
    """Read-only mapping whose keys are also attributes (``{{ cart.url }}``)."""

    __slots__ = ("_data",)

    def __init__(self, data):
        object.__setattr__(self, "_data", dict(data))

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)

    def __getattr__(self, key):
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        raise TypeError("template values are read-only")

    def __repr__(self):
        return f"Value({self._data!r})"


def freeze(value):
    """Deep-copy ``value`` into immutable plain data; refuse anything else."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        return Value({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if hasattr(value, "__html__"):  # Markup built by the engine (already escaped)
        return value
    raise TypeError(f"{type(value).__name__} cannot be given to a template")


def render(template, context):
    """Render a compiled template (or its source) with a plain-data context.

    :raises TemplateError: with a message an admin can act on
    """
    if isinstance(template, str):
        template = compile_template(template)
    frozen = {key: freeze(val) for key, val in context.items()}
    try:
        out = template.render(frozen)
    except jinja2.UndefinedError as e:
        raise TemplateError(f"Unknown placeholder: {e.message}") from e
    except jinja2.exceptions.SecurityError as e:
        raise TemplateError(f"Not allowed in a template: {e}") from e
    except (TypeError, ValueError, ArithmeticError, LookupError) as e:
        raise TemplateError(f"Template error: {e}") from e
    if len(out) > MAX_OUTPUT:
        raise TemplateError("Template output is too large.")
    return out
