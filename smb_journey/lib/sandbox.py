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

Templates are also bounded: the engine renders them for thousands of customers
inside a cron, so one careless (or hostile) template must fail with a message
instead of using the worker's memory or time. Every operation that can build a
large value from a small one (``*``, ``**``, ``+``, ``%``, ``~``, filters,
slices, list literals) checks the size of its result *before* building it, all
of them together share a per-render allocation budget, loops share an
iteration budget, and a render stops at a wall-clock deadline. No construct
that repeats or recurses (macros, includes, recursive loops) is available.

:func:`check` is what a save calls: it also refuses placeholders the journey
cannot fill, naming each of them.
"""

import contextvars
import functools
import html
import itertools
import math
import re
import time
from collections.abc import Mapping
from urllib.parse import unquote

import jinja2
import jinja2.meta
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, optimizeconst
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.filters import FILTERS, make_attrgetter
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.tests import TESTS
from jinja2.utils import missing
from jinja2.visitor import NodeTransformer
from lxml import etree
from lxml import html as lxml_html
from markupsafe import Markup, escape, soft_str

ATTR_FOR = "data-smb-for"
ATTR_IF = "data-smb-if"
# placeholders the email editor inserts: the element shows a sample value (or a
# sample image, or a harmless link) while it is edited; a render writes the
# expression in its place, so the editor never sees nor rewrites template code
ATTR_OUT = "data-smb-out"  # <span data-smb-out="customer.first_name">Ann</span>
ATTR_SRC = "data-smb-src"  # <img src="/placeholder.png" data-smb-src="line.image_url"/>
ATTR_HREF = "data-smb-href"  # <a href="/shop" data-smb-href="cart.url">
ATTR_PREFIX = "data-smb-"
# editor-only marks of a placeholder, dropped from what is sent
_EDITOR_CLASSES = frozenset({"o_smb_placeholder", "o-contenteditable-false"})
_FOR_RE = re.compile(r"^\s*[A-Za-z_]\w*(\s*,\s*[A-Za-z_]\w*)*\s+in\s+\S.*$", re.DOTALL)
_MARK_RE = re.compile(r"<!--SMBJ(FOR|IF|END)(?: (.*?))?-->", re.DOTALL)
_TAG_OPEN_RE = re.compile(r"\{[{%]")
_TAG_CLOSE = {"{{": "}}", "{%": "%}"}
# URLs get percent-encoded (by Odoo's sanitizer: href="{{%20x%20}}", by others: %7B%7B...)
_QUOTED_OPEN_RE = re.compile(r"%7B(%7B|%25)", re.IGNORECASE)
_QUOTED_CLOSE_RE = re.compile(r"(%7D|%25)%7D", re.IGNORECASE)

MAX_SOURCE = 500_000  # characters of template source
MAX_TOKENS = 20_000  # lexer tokens (names, operators, text runs): compiling time grows with them, not with the HTML
MAX_OUTPUT = 2_000_000  # characters: a runaway loop must not fill the mail queue; also the size of any value built
MAX_ALLOCATED = 20_000_000  # characters (or list items) all the operations of one render may build together
MAX_RANGE = 1_000  # numbers in a range()
MAX_ITERATIONS = 20_000  # iterations of all the loops of one render, nested ones included
MAX_SECONDS = 2.0  # wall-clock time of one render
MAX_DIGITS = 3_000  # digits of a number computed by a template
_MAX_BITS = MAX_DIGITS * 10 // 3


class TemplateError(Exception):
    """A template that cannot be compiled or rendered; its message is shown to the admin."""


# ------------------------------------------------------------
# data-smb-for / data-smb-if
# ------------------------------------------------------------


def _escape_comment(text):
    return text.replace("--", "- -")


def to_jinja(source):
    """Return the Jinja source of an editor-safe template.

    ``data-smb-for`` / ``data-smb-if`` attributes become ``{% for %}`` /
    ``{% if %}`` blocks wrapping their element; ``data-smb-out`` replaces the
    element's sample content by ``{{ expr }}``, ``data-smb-src`` /
    ``data-smb-href`` its ``src`` / ``href``; entities the editor put inside
    ``{{ }}`` (``&quot;``, ``&gt;``) are decoded back.
    """
    if not source:
        return ""
    source = _decode_quoted_tags(source)
    if ATTR_PREFIX in source:
        source = _expand_directives(source)
    # the editor (and lxml) escape quotes and '>' inside text and attributes
    return _sub_tags(source, lambda tag: html.unescape(_unquote(tag)))


# The two scanners below replace lazy regexes (``{{.*?}}``) that rescanned the
# rest of the source from every unclosed ``{{``: 100 kB of "{{" took a minute.


def _decode_quoted_tags(source):
    """``%7B%7B x %7D%7D`` -> ``{{ x }}``, in one pass."""
    out, pos = [], 0
    while (opening := _QUOTED_OPEN_RE.search(source, pos)) and (
            closing := _QUOTED_CLOSE_RE.search(source, opening.end())):
        inner = source[opening.end():closing.start()]
        out += (source[pos:opening.start()], "{", unquote(opening.group(1)), unquote(inner),
                unquote(closing.group(1)), "}")
        pos = closing.end()
    out.append(source[pos:])
    return "".join(out)


def _sub_tags(source, replace):
    """Replace each ``{{ }}`` and ``{% %}`` tag by ``replace(tag)``, in one pass:
    once a kind of tag has no closing mark left, its openings are skipped."""
    out, pos, start_from, closable = [], 0, 0, {"{{": True, "{%": True}
    while opening := _TAG_OPEN_RE.search(source, start_from):
        start, kind = opening.start(), opening.group()
        end = source.find(_TAG_CLOSE[kind], start + 2) if closable[kind] else -1
        if end == -1:
            closable[kind] = False
            start_from = start + 1
            continue
        end += 2
        out += (source[pos:start], replace(source[start:end]))
        pos = start_from = end
    out.append(source[pos:])
    return "".join(out)


def _unquote(expr):
    """Decode an expression percent-encoded in a URL (``{{%20x%20}}``), which has
    no space left; one written by hand keeps its '%' (``'%05d' % n``)."""
    return expr if " " in expr else unquote(expr)


def _placeholder_expression(expr, attribute):
    expr = (expr or "").strip()
    if not expr or "}}" in expr or "{%" in expr or "%}" in expr:
        raise TemplateError(f"Invalid placeholder {attribute}=\"{expr}\": write a value such as customer.first_name.")
    return "{{ %s }}" % expr


def _expand_placeholders(wrapper):
    """Editor placeholders -> ``{{ }}`` in place (see ATTR_OUT, ATTR_SRC, ATTR_HREF)."""
    for node in wrapper.xpath(f"//*[@{ATTR_SRC} or @{ATTR_HREF}]"):
        for attribute, target in ((ATTR_SRC, "src"), (ATTR_HREF, "href")):
            expr = node.attrib.pop(attribute, None)
            if expr is not None:
                node.set(target, _placeholder_expression(expr, attribute))
    # innermost first: a placeholder inside another one goes with it
    for node in reversed(wrapper.xpath(f"//*[@{ATTR_OUT}]")):
        expr = _placeholder_expression(node.attrib.pop(ATTR_OUT), ATTR_OUT)
        for child in list(node):
            node.remove(child)
        node.text = expr
        node.attrib.pop("contenteditable", None)
        classes = [c for c in (node.get("class") or "").split() if c not in _EDITOR_CLASSES]
        if classes:
            node.set("class", " ".join(classes))
        else:
            node.attrib.pop("class", None)
        if node.tag == "span" and not node.attrib:
            node.drop_tag()


def _expand_directives(source):
    wrapper = lxml_html.fragment_fromstring(source, create_parent="div")
    _expand_placeholders(wrapper)
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
        return f"{{% for {expr} %}}" if kind == "FOR" else f"{{% if {expr} %}}"

    return _MARK_RE.sub(_replace, out)


# ------------------------------------------------------------
# Per-render budget
# ------------------------------------------------------------


class _Budget:
    """What one render may still spend. It lives in a ContextVar rather than in
    the render context so that the helpers compiled into a template find it
    without a lookup the template could shadow, and without a thread per render."""

    __slots__ = ("allocated", "deadline", "iterations")

    def __init__(self):
        self.iterations = MAX_ITERATIONS
        self.allocated = MAX_ALLOCATED
        self.deadline = time.monotonic() + MAX_SECONDS


_BUDGET = contextvars.ContextVar("smb_journey_template_budget", default=None)


def _too_slow():
    return TemplateError(f"Template takes too long to render (over {MAX_SECONDS:g} seconds): loop over less data.")


def _tick():
    """Stop a render past its deadline; a no-op while compiling (no budget)."""
    budget = _BUDGET.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise _too_slow()


def _charge(size):
    """Count ``size`` characters (or list items) against the render's allocation budget.

    Raising without a budget is deliberate: Jinja's optimizer runs filters on
    constant arguments while compiling, and a failure there just leaves the
    work (and the size checks) to the render.
    """
    budget = _BUDGET.get()
    if budget is None:
        raise TemplateError("Templates are rendered with sandbox.render().")
    budget.allocated -= size
    if budget.allocated < 0:
        raise TemplateError(
            f"Template builds too much text (over {MAX_ALLOCATED:,} characters in one email): simplify it.")
    if time.monotonic() > budget.deadline:
        raise _too_slow()


def _check_size(size, what):
    if size > MAX_OUTPUT:
        raise TemplateError(
            f"Value too large: {what} would make {size:,} characters (a template value holds at most {MAX_OUTPUT:,}).")


_TEXT_TYPES = frozenset({str, Markup})
_INT_TYPES = frozenset({int, bool})


def _weight(value, limit=MAX_OUTPUT):
    """About how many characters ``str(value)`` makes, counting a shared item
    each time it is referenced (``[text] * 1000`` weighs 1,000 texts); stops
    counting past ``limit``. Keeping every value a template builds under the
    limit is what bounds printing, comparing or hashing it."""
    memo = {}  # id -> weight: a list repeated inside another is weighed once

    def weigh(item):
        if isinstance(item, str):
            return len(item) + 4
        if isinstance(item, int):
            return item.bit_length() // 3 + 1
        mapping = type(item) is Value or isinstance(item, Mapping)
        if not mapping and not isinstance(item, (tuple, list)):
            return 24
        known = memo.get(id(item))
        if known is not None:
            return known
        parts = [*item.keys(), *item.values()] if mapping else item
        total = len(parts) + 2
        kinds = set(map(type, parts))
        if kinds <= _TEXT_TYPES:  # the usual cases, summed without a Python loop
            total += sum(map(len, parts)) + 4 * len(parts)
        elif kinds <= _INT_TYPES:
            total += sum(map(int.bit_length, parts)) // 3 + len(parts)
        else:
            for part in parts:
                total += weigh(part)
                if total > limit:
                    break
        memo[id(item)] = total
        return total

    return weigh(value)


# ------------------------------------------------------------
# Bounded operators
# ------------------------------------------------------------


def _check_bits(bits, operator):
    if bits > _MAX_BITS:
        digits = f"about {int(bits * 0.30103):,}" if bits < math.inf else "countless"
        raise TemplateError(
            f"Number too large: '{operator}' would make a number of {digits} digits (at most {MAX_DIGITS:,}).")


def _repeat(sequence, times):
    times = max(times, 0)
    unit = len(sequence) if isinstance(sequence, str) else _weight(sequence, MAX_OUTPUT // max(times, 1) + 1)
    _check_size(unit * times, "'*'")
    _charge(len(sequence) * times)


def _mul(left, right):
    if isinstance(right, int) and isinstance(left, (str, tuple, list)):
        _repeat(left, right)
    elif isinstance(left, int) and isinstance(right, (str, tuple, list)):
        _repeat(right, left)
    elif isinstance(left, int) and isinstance(right, int):
        _check_bits(left.bit_length() + right.bit_length(), "*")
    return left * right


def _pow(left, right):
    # the size of an integer power is known from the bit lengths, before computing it
    if isinstance(left, int) and isinstance(right, int) and right > 1 and abs(left) > 1:
        _check_bits(right * math.log2(abs(left)) if right < 10**300 else math.inf, "**")
    return left**right


def _add(left, right):
    if isinstance(left, str) and isinstance(right, str):
        size = len(left) + len(right)
        _check_size(size, "'+'")
        _charge(size)
    elif isinstance(left, (tuple, list)) and isinstance(right, (tuple, list)):
        _check_size(_weight(left) + _weight(right), "'+'")
        _charge(len(left) + len(right))
    return left + right


_PERCENT_RE = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?(.?)", re.DOTALL)


def _percent(text, args):
    """``text % args`` (printf-style formatting), refused before formatting when
    the widths and values it would print exceed the size limit."""
    values = args if isinstance(args, tuple) else (args,)
    size, position = len(text), 0
    for key, width, precision, kind in _PERCENT_RE.findall(text):
        if kind == "%":
            continue
        if "*" in (width, precision):
            raise TemplateError("'%*d' formatting is not available in templates: write the width in the format.")
        if key:
            value = args.get(key) if isinstance(args, Mapping) else None
        elif position < len(values):
            value, position = values[position], position + 1
        else:
            value = None
        size += sum(int(n) if len(n) < 10 else 10**10 for n in (width, precision) if n) + _weight(value)
    _check_size(size, "'%' formatting")
    result = text % args
    _charge(len(result))
    return result


def _mod(left, right):
    if isinstance(left, str):
        return _percent(left, right)
    return left % right


_BINOPS = {"*": _mul, "**": _pow, "+": _add, "%": _mod}


def _range(*args):
    """``range()`` of at most MAX_RANGE numbers (Jinja's safe_range allows 100,000)."""
    numbers = range(*args)
    try:
        size = len(numbers)
    except OverflowError:
        size = math.inf
    if size > MAX_RANGE:
        raise TemplateError(f"range() is too large: a template range has at most {MAX_RANGE:,} numbers.")
    return numbers


# ------------------------------------------------------------
# Filters and tests
# ------------------------------------------------------------

# Jinja's filters that return a part of their input, a number or a lazy iterator: only the deadline is checked
_TICKED_FILTERS = (
    "abs", "attr", "count", "d", "default", "filesizeformat", "first", "float", "int", "items", "last", "length",
    "map", "max", "min", "reject", "rejectattr", "select", "selectattr", "unique", "wordcount",
)
# those that build a new value at most a few times the size of their input: counted once done
_CHARGED_FILTERS = (
    "capitalize", "dictsort", "e", "escape", "forceescape", "groupby", "list", "lower", "reverse", "safe", "sort",
    "string", "title", "tojson", "trim", "truncate", "upper", "urlencode", "xmlattr",
)
# center, format, indent, join, replace, batch, round and sum are wrapped below, sized before they run.
# Left out: pprint, random, slice, striptags (quadratic in markupsafe 2.1), urlize, wordwrap.


def _charged(func):
    @functools.wraps(func)  # keeps Jinja's pass_eval_context/pass_environment marks
    def charged(*args, **kwargs):
        result = func(*args, **kwargs)
        _charge(len(result) if isinstance(result, (str, list, tuple)) else 0)
        return result
    return charged


def _ticked(func):
    @functools.wraps(func)
    def ticked(*args, **kwargs):
        result = func(*args, **kwargs)
        _tick()
        return result
    return ticked


def _center(value, width=80):
    text = soft_str(value)
    if isinstance(width, int):
        _check_size(width, "the center filter")
        _charge(max(width, len(text)))
    return text.center(width)


def _indent(value, width=4, first=False, blank=False):
    text = soft_str(value)
    pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    size = len(text) + (text.count("\n") + 1) * max(pad, 0)
    _check_size(size, "the indent filter")
    _charge(size)
    return FILTERS["indent"](value, width, first, blank)


def _format(value, *args, **kwargs):
    if args and kwargs:
        raise TemplateError("The format filter takes positional or named arguments, not both.")
    return _percent(soft_str(value), kwargs or args)


@jinja2.pass_eval_context
def _replace(eval_ctx, value, old, new, count=None):
    text, old_text, new_text = str(value), str(old), str(new)
    hits = text.count(old_text)
    if isinstance(count, int) and 0 <= count < hits:
        hits = count
    new_size = len(escape(new)) if eval_ctx.autoescape else len(new_text)
    size = len(text) + hits * max(new_size - len(old_text), 0)
    _check_size(size, "the replace filter")
    result = FILTERS["replace"](eval_ctx, value, old, new, count)
    _charge(len(result))
    return result


@jinja2.pass_eval_context
def _join(eval_ctx, value, d="", attribute=None):
    if attribute is not None:
        value = map(make_attrgetter(eval_ctx.environment, attribute), value)
    items = [item if isinstance(item, str) else str(item) for item in value]
    size = sum(map(len, items)) + len(str(d)) * max(len(items) - 1, 0)
    _check_size(size, "the join filter")
    _charge(size)
    return FILTERS["join"](eval_ctx, items, d)


def _batch(value, linecount, fill_with=None):
    if fill_with is not None and isinstance(linecount, int):
        _check_size(max(linecount, 0) * _weight(fill_with), "the batch filter")
    return FILTERS["batch"](value, linecount, fill_with)


def _round(value, precision=0, method="common"):
    # round(5, -10**9) computes 10**(10**9)
    if isinstance(precision, int) and abs(precision) > 100:
        raise TemplateError("The round filter takes a precision between -100 and 100.")
    return FILTERS["round"](value, precision, method)


@jinja2.pass_environment
def _sum(environment, iterable, attribute=None, start=0):
    # sum() of lists is quadratic; numbers are all an email needs
    if not isinstance(start, (int, float)):
        raise TemplateError("The sum filter adds numbers only.")
    return FILTERS["sum"](environment, iterable, attribute, start)


# Filters the rewritten template calls (see _Hardener); a template cannot write these names.
_LOOP = "smbj:loop"
_CONCAT = "smbj:concat"
_WEIGH = "smbj:weigh"
_SLICE = "smbj:slice"
_CAPTURED = "smbj:captured"
_TICK = "smbj:tick"


@jinja2.pass_environment
def _loop(environment, iterable, expr=None):
    """The iterable of every ``{% for %}``, counted against the render's iteration budget."""
    if iterable is None:
        if not expr:
            raise TemplateError("A loop goes over an empty value: guard it with a condition.")
        raise TemplateError(f"{expr} cannot be looped over here: {expr} is empty in this journey "
                            f"(guard it with {environment.undefined.guard.format(expr)})")
    budget = _BUDGET.get()
    if budget is None:
        raise TemplateError("Templates are rendered with sandbox.render().")
    return _counted(iter(iterable), budget)


def _counted(iterator, budget):
    for item in iterator:
        budget.iterations -= 1
        if budget.iterations & 63 == 0 or budget.iterations < 0:
            if budget.iterations < 0:
                raise TemplateError(
                    f"Template loops run more than {MAX_ITERATIONS:,} times in total: loop over less data.")
            if time.monotonic() > budget.deadline:
                raise _too_slow()
        yield item


@jinja2.pass_eval_context
def _concat(eval_ctx, parts):
    """``a ~ b``: like Jinja's markup_join/str_join, sized before joining."""
    texts = [part if isinstance(part, str) else str(part) for part in parts]
    if eval_ctx.autoescape and any(hasattr(text, "__html__") for text in texts):
        texts = [escape(text) for text in texts]
        join = Markup("").join
    else:
        join = "".join
    size = sum(map(len, texts))
    _check_size(size, "'~'")
    _charge(size)
    return join(texts)


def _weighed(value):
    """A list, tuple or dict literal: ``[text, text, ...]`` references cost
    nothing to build but printing or comparing them does."""
    size = _weight(value)
    if size > MAX_OUTPUT:
        raise TemplateError(f"Value too large: this list would hold over {MAX_OUTPUT:,} characters.")
    _tick()
    return value


def _sliced(value):
    _charge(len(value) if isinstance(value, (str, list, tuple)) else 0)
    return value


@jinja2.pass_eval_context
def _captured(eval_ctx, value, raw=False):
    """One piece of output captured by ``{% set %}…{% endset %}`` or ``{% filter %}``:
    Jinja buffers it instead of yielding it, so it is counted here."""
    if raw:
        text = Markup(value) if eval_ctx.autoescape else value
    else:
        text = escape(value) if eval_ctx.autoescape else str(value)
    _charge(len(text))
    return text


def _tick_value(value):
    _tick()
    return value


_FILTERS = {name: _ticked(FILTERS[name]) for name in _TICKED_FILTERS}
_FILTERS.update({name: _charged(FILTERS[name]) for name in _CHARGED_FILTERS})
_FILTERS.update({
    "batch": _batch, "center": _center, "format": _format, "indent": _indent, "join": _join,
    "replace": _replace, "round": _round, "sum": _sum,
    _LOOP: _loop, _CONCAT: _concat, _WEIGH: _weighed, _SLICE: _sliced, _CAPTURED: _captured, _TICK: _tick_value,
})
_TESTS = {name: _ticked(test) for name, test in TESTS.items()}


# ------------------------------------------------------------
# Undefined values: messages an admin can act on
# ------------------------------------------------------------


def _expr_text(node):
    """The template text of a placeholder (``order.lines[0]``), or None."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        base = _expr_text(node.node)
        return base and _path(base, node.attr)
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        base = _expr_text(node.node)
        return base and _path(base, node.arg.value)
    return None


def _path(base, name):
    if base is None:
        return str(name)
    return f"{base}.{name}" if isinstance(name, str) and name.isidentifier() else f"{base}[{name!r}]"


def _placeholder_message(obj, name, base, guard):
    if obj is missing:
        return f"Unknown placeholder: {name}"
    path = _path(base, name)
    if obj is None:
        if base is None:
            return f"{path} cannot be filled here: the value it is read from is empty"
        return f"{path} cannot be filled here: {base} is empty in this journey (guard it with {guard.format(base)})"
    if isinstance(obj, Mapping):
        fields = ", ".join(sorted(map(str, obj))) or "no fields"
        return f"Unknown placeholder: {path} ({base or 'the value'} has: {fields})"
    if isinstance(obj, (tuple, list)):
        if isinstance(name, int):
            return f"Unknown placeholder: {path} ({base or 'the list'} has {len(obj)} items)"
        return f"Unknown placeholder: {path} ({base or 'the value'} is a list: loop over it)"
    return f"Unknown placeholder: {path}"


class _Undefined(jinja2.StrictUndefined):
    """StrictUndefined that knows the template text of the value it was read
    from (``base``), to say ``order.name cannot be filled here: order is empty``
    rather than ``'None' has no attribute 'name'``."""

    __slots__ = ("_base",)
    guard = 'data-smb-if="{}"'

    def __init__(self, hint=None, obj=missing, name=None, exc=UndefinedError, base=None):
        super().__init__(hint, obj, name, exc)
        self._base = base

    @property
    def _undefined_message(self):
        if self._undefined_hint:
            return self._undefined_hint
        return _placeholder_message(self._undefined_obj, self._undefined_name, self._base, self.guard)


class _TextUndefined(_Undefined):
    """Subjects have no elements to put data-smb-if on."""

    __slots__ = ()
    guard = "{{% if {} %}}"


# ------------------------------------------------------------
# Environment
# ------------------------------------------------------------


class _CodeGenerator(CodeGenerator):
    """Passes the template text of the value an attribute is read from
    (``order`` in ``order.name``) to the environment, for the messages of
    :class:`_Undefined`; it costs nothing at render time."""

    @optimizeconst
    def visit_Getattr(self, node, frame):
        self.write("environment.getattr(")
        self.visit(node.node, frame)
        self.write(f", {node.attr!r}, {_expr_text(node.node)!r})")

    @optimizeconst
    def visit_Getitem(self, node, frame):
        if isinstance(node.arg, nodes.Slice):
            return super().visit_Getitem(node, frame)
        self.write("environment.getitem(")
        self.visit(node.node, frame)
        self.write(", ")
        self.visit(node.arg, frame)
        self.write(f", {_expr_text(node.node)!r})")


class _Template(jinja2.Template):
    def render(self, *args, **kwargs):
        """Only through the bounded :func:`render`."""
        return render(self, dict(*args, **kwargs))


class _Environment(ImmutableSandboxedEnvironment):
    """Sandbox that also refuses anything callable but the safe builtins, and
    bounds the operators that can build large values."""

    code_generator_class = _CodeGenerator
    template_class = _Template
    # also keeps Jinja's optimizer from computing them while compiling
    intercepted_binops = frozenset(_BINOPS)

    def is_safe_callable(self, obj):
        return obj in _SAFE_CALLABLES

    def is_safe_attribute(self, obj, attr, value):
        if attr.startswith("_"):
            return False
        # only data: plain mappings and sequences, no methods
        if callable(value) and value not in _SAFE_CALLABLES:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def call_binop(self, context, operator, left, right):
        return _BINOPS[operator](left, right)

    def getattr(self, obj, attribute, base=None):
        # frozen data first: its keys are all it has (and a key named "items" is not the method)
        if type(obj) is Value:
            try:
                return obj._data[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute, base=base)
        if obj is None:
            return self.undefined(obj=obj, name=attribute, base=base)
        value = super().getattr(obj, attribute)
        if base is not None and isinstance(value, _Undefined) and value._undefined_obj is obj:
            value._base = base
        return value

    def getitem(self, obj, argument, base=None):
        if type(obj) is Value:
            try:
                return obj._data[argument]
            except (KeyError, TypeError):
                return self.undefined(obj=obj, name=argument, base=base)
        value = super().getitem(obj, argument)
        if base is not None and isinstance(value, _Undefined) and value._undefined_obj is obj:
            value._base = base
        return value


_SAFE_CALLABLES = {_range}
_ENV = _Environment(
    autoescape=True,
    undefined=_Undefined,
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.loopcontrols"],
)
# range() is the only global; everything else comes from the curated context
_ENV.globals = {"range": _range}
_ENV.filters = _FILTERS
_ENV.tests = _TESTS
# subjects are plain text: escaping them would show "&amp;" in the inbox
_TEXT_ENV = _ENV.overlay(autoescape=False, undefined=_TextUndefined)


# ------------------------------------------------------------
# Compilation
# ------------------------------------------------------------

_REFUSED = {
    nodes.Macro: "{% macro %} is not available in email templates: write the content where it is used.",
    nodes.CallBlock: "{% call %} is not available in email templates: write the content where it is used.",
    nodes.Import: "{% import %} is not available: an email template cannot use another template.",
    nodes.FromImport: "{% from %} is not available: an email template cannot use another template.",
    nodes.Include: "{% include %} is not available: an email template cannot use another template.",
    nodes.Extends: "{% extends %} is not available: an email template cannot use another template.",
}


def _filter(node, name, *args):
    return nodes.Filter(node, name, [nodes.Const(arg) for arg in args], [], None, None, lineno=node.lineno)


class _Hardener(NodeTransformer):
    """Rewrites a parsed template so that what Jinja does not bound goes through
    the sized helpers: loops, ``~``, literals, slices, comparisons and the output
    that ``{% set %}``/``{% filter %}`` blocks capture; refuses what repeats
    without bound (macros, includes, recursive loops) and unknown filters."""

    def __init__(self, environment):
        self.environment = environment

    def visit(self, node, *args, **kwargs):
        refusal = _REFUSED.get(type(node))
        if refusal:
            raise TemplateError(f"Line {node.lineno}: {refusal}")
        return super().visit(node, *args, **kwargs)

    def visit_For(self, node):
        if node.recursive:
            raise TemplateError(f"Line {node.lineno}: recursive loops are not available in email templates.")
        self.generic_visit(node)
        node.iter = _filter(node.iter, _LOOP, _expr_text(node.iter))
        return node

    def visit_Concat(self, node):
        self.generic_visit(node)
        return _filter(nodes.Tuple(node.nodes, "load", lineno=node.lineno), _CONCAT)

    def _weigh(self, node):
        self.generic_visit(node)
        return _filter(node, _WEIGH)

    visit_List = visit_Dict = _weigh

    def visit_Tuple(self, node):
        return self._weigh(node) if node.ctx == "load" else self.generic_visit(node)

    def visit_Getitem(self, node):
        self.generic_visit(node)
        return _filter(node, _SLICE) if isinstance(node.arg, nodes.Slice) else node

    def visit_Compare(self, node):
        # "in" and "==" on long values cost time without allocating anything
        self.generic_visit(node)
        return _filter(node, _TICK)

    def _capture(self, node):
        self.generic_visit(node)
        for output in node.find_all(nodes.Output):
            output.nodes = [
                child if isinstance(child, nodes.Filter) and child.name == _CAPTURED
                else _filter(child, _CAPTURED, isinstance(child, nodes.TemplateData))
                for child in output.nodes
            ]
        return node

    visit_AssignBlock = visit_FilterBlock = _capture

    def _known(self, node, kind, names):
        if node.name not in names:
            available = ", ".join(sorted(name for name in names if ":" not in name))
            raise TemplateError(
                f"Line {node.lineno}: the {kind} '{node.name}' is not available in email templates "
                f"(available: {available}).")
        return self.generic_visit(node)

    def visit_Filter(self, node):
        return self._known(node, "filter", self.environment.filters)

    def visit_Test(self, node):
        return self._known(node, "test", self.environment.tests)


def _parse(source, environment):
    source = source or ""
    if len(source) > MAX_SOURCE:
        raise TemplateError(f"Template is too long: {len(source):,} characters (at most {MAX_SOURCE:,}).")
    if environment.autoescape:  # HTML bodies may carry data-smb-* directives
        try:
            source = to_jinja(source)
        except TemplateError:
            raise
        except Exception as e:
            raise TemplateError(f"Template is not valid HTML: {e}") from e
    try:
        # lexing stops at the limit: parsing and compiling cost about 0.5 ms per 20 tokens
        if sum(1 for _ in itertools.islice(environment.lex(source), MAX_TOKENS + 1)) > MAX_TOKENS:
            raise TemplateError(
                f"Template has too much template code (over {MAX_TOKENS:,} words and signs inside {{{{ }}}} "
                "and {% %}): simplify it.")
        return environment.parse(source)
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"Template syntax error line {e.lineno}: {e.message}") from e
    except RecursionError as e:
        raise TemplateError("Template is nested too deeply.") from e


def _compile(source, environment):
    tree = _parse(source, environment)
    try:
        _Hardener(environment).visit(tree)
        tree.set_environment(environment)
        return environment.from_string(tree)
    except TemplateError:
        raise
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"Template syntax error line {e.lineno}: {e.message}") from e
    except RecursionError as e:
        raise TemplateError("Template is nested too deeply.") from e
    except Exception as e:
        raise TemplateError(f"Template cannot be compiled: {e}") from e


def compile_template(source):
    """Compile ``source`` (editor-safe HTML with Jinja) or raise :class:`TemplateError`."""
    return _compile(source, _ENV)


def compile_text(source):
    """Compile a plain-text template (an email subject): same sandbox, no HTML escaping."""
    return _compile(source, _TEXT_ENV)


def _undeclared(tree):
    try:
        return jinja2.meta.find_undeclared_variables(tree) - tree.environment.globals.keys()
    except (jinja2.TemplateSyntaxError, RecursionError) as e:
        raise TemplateError(f"Template syntax error: {e}") from e


def referenced_names(source):
    """The top-level context names ``source`` uses, so the engine computes
    only those (recommendations, coupons) instead of all of them."""
    return _undeclared(_parse(source, _ENV))


# ------------------------------------------------------------
# Plain data
# ------------------------------------------------------------


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


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None), Markup})


def freeze(value):
    """Deep-copy ``value`` into immutable plain data; refuse anything else."""
    kind = type(value)
    if kind in _PLAIN_TYPES or kind is Value:
        return value
    if kind is dict or isinstance(value, Mapping):
        frozen = Value.__new__(Value)
        object.__setattr__(frozen, "_data", {str(k): freeze(v) for k, v in value.items()})
        return frozen
    if isinstance(value, (list, tuple)):
        return tuple([freeze(v) for v in value])
    if isinstance(value, (str, int, float)) or hasattr(value, "__html__"):  # Markup built by the engine
        return value
    raise TypeError(f"{type(value).__name__} cannot be given to a template")


# ------------------------------------------------------------
# Rendering and checking
# ------------------------------------------------------------


def render(template, context):
    """Render a compiled template (or its source) with a plain-data context.

    :raises TemplateError: with a message an admin can act on
    """
    if isinstance(template, str):
        template = compile_template(template)
    return _render(template, {key: freeze(val) for key, val in context.items()})


def _render(template, frozen):
    # generate() rather than render(): a runaway template stops at the output limit, not after it
    token = _BUDGET.set(_Budget())
    stream = template.generate(frozen)
    parts, size = [], 0
    append = parts.append
    try:
        for part in stream:
            size += len(part)
            if size > MAX_OUTPUT:
                raise TemplateError(f"Template output is too large (over {MAX_OUTPUT:,} characters).")
            append(part)
    except TemplateError:
        raise
    except SecurityError as e:
        raise TemplateError(f"Not allowed in a template: {e}") from e
    except UndefinedError as e:
        raise TemplateError(e.message) from e
    except RecursionError as e:
        raise TemplateError("Template is nested too deeply.") from e
    except MemoryError as e:
        raise TemplateError("Template needs too much memory.") from e
    except Exception as e:
        raise TemplateError(f"Template error: {e}") from e
    finally:
        stream.close()
        _BUDGET.reset(token)
    return "".join(parts)


def check(source, sample_context, text=False):
    """Refuse, when a step is saved, a template that cannot be rendered for this journey.

    ``sample_context`` has the keys of a real render; a key the journey cannot
    fill is present with the value None (``order`` in a welcome journey).
    Unknown names and unknown attributes of the sample values are listed all
    at once, in branches the sample does not take too; then the template is
    rendered with the sample, which reports an unguarded read of an empty
    value (``{{ order.name }}`` without ``data-smb-if="order"``).

    :param text: ``source`` is a subject (plain text, no data-smb-* directives)
    :return: the sample rendering
    :raises TemplateError: naming the placeholders to fix
    """
    environment = _TEXT_ENV if text else _ENV
    template = _compile(source, environment)
    frozen = {key: freeze(val) for key, val in sample_context.items()}
    tree = _parse(source, environment)
    problems = []
    unknown = sorted(_undeclared(tree) - frozen.keys())
    if unknown:
        problems.append(
            f"Unknown placeholder{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} "
            f"(available: {', '.join(sorted(frozen))})")
    problems += _unknown_attributes(tree, frozen, environment.undefined.guard)
    if problems:
        raise TemplateError("\n".join(problems))
    return _render(template, frozen)


def _unknown_attributes(tree, context, guard):
    """Messages for ``name.attr`` reads that the sample values do not have,
    following a loop variable into the first item of its list. Names the
    template assigns itself are skipped rather than guessed."""
    assigned = {node.name for node in tree.find_all(nodes.Name) if node.ctx != "load"}
    # a loop variable that a {% set %} or {% with %} also assigns is not followed
    set_names = set().union(*(
        _target_names(target)
        for node in tree.find_all((nodes.Assign, nodes.AssignBlock, nodes.With))
        for target in (node.targets if isinstance(node, nodes.With) else [node.target])
    ))
    found = {}

    def resolve(node, scope):
        """The sample value of a placeholder, or ``missing`` when it is not known statically."""
        if isinstance(node, nodes.Name):
            return scope.get(node.name, missing)
        if isinstance(node, nodes.Getattr):
            key = node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            key = node.arg.value
        else:
            return missing
        base = resolve(node.node, scope)
        if type(base) is not Value:  # empty values and lists are judged by the sample rendering
            return missing
        if key in base:
            return base[key]
        message = _placeholder_message(base, key, _expr_text(node.node), guard)
        found.setdefault(message, message)
        return missing

    def walk(node, scope):
        if isinstance(node, nodes.For):
            walk(node.iter, scope)
            items = resolve(node.iter, scope)
            inner = {key: val for key, val in scope.items() if key not in _target_names(node.target)}
            if isinstance(node.target, nodes.Name) and node.target.name not in set_names \
                    and isinstance(items, tuple) and items:
                inner[node.target.name] = items[0]
            for child in [*node.body, *([node.test] if node.test else [])]:
                walk(child, inner)
            for child in node.else_:
                walk(child, scope)
            return
        if isinstance(node, (nodes.Getattr, nodes.Getitem)):
            resolve(node, scope)
        for child in node.iter_child_nodes():
            walk(child, scope)

    walk(tree, {key: val for key, val in context.items() if key not in assigned})
    return list(found.values())


def _target_names(target):
    return {target.name} if isinstance(target, nodes.Name) else {name.name for name in target.find_all(nodes.Name)}
