#!/usr/bin/env python3
"""Check the translations (.po) of smb_journey and its bridges against their templates (.pot).

For every ``<module>/i18n/<lang>.po`` beside a ``<module>/i18n/<module>.pot``:

- the file parses (and ``msgfmt --check`` accepts it, when gettext is installed);
- every entry of the template is present and translated: no empty ``msgstr``, no ``fuzzy`` flag,
  and no entry that the template no longer has (a stale translation);
- the translation of a formatted string keeps its Python placeholders (``%s``, ``%(name)s``, ``%d``,
  ``%%``) and has no other "%";
- it keeps its Jinja fragments (``{{ ... }}``, ``{% ... %}``) character for character, its leading and
  trailing whitespace, and its markup: the same tags with the same attributes (only the
  human-readable ``alt``, ``title``, ``placeholder`` and ``aria-label`` may change), balanced.

Odoo drops a translated email term whose markup does not parse, and a placeholder that differs breaks
the message at run time, so each of these is a problem a customer would see.

Usage: scripts/check_po.py [PATH ...]   (files or directories; default: every module of the repository)
Prints one line per problem, then a summary; exits 1 when there is any problem.
"""

import ast
import collections
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

try:
    import polib
except ImportError:  # the built-in parser below reads what Odoo writes
    polib = None

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))

PYTHON_FORMAT = re.compile(r"%(?:\([^)\s]+\))?[-#0+]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
VOID_TAGS = frozenset(("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"))
FREE_ATTRIBUTES = frozenset(("alt", "title", "placeholder", "aria-label"))
TAG_LIKE = re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>]*)?/?>")

Entry = collections.namedtuple("Entry", "msgctxt msgid msgid_plural msgstr msgstr_plural flags obsolete line")


# ---------------------------------------------------------------------------
# Parsing


class PoSyntaxError(Exception):
    pass


def _unquote(text, path, line):
    text = text.strip()
    if not (len(text) >= 2 and text[0] == '"' and text[-1] == '"'):
        raise PoSyntaxError(f"{path}:{line}: expected a quoted string, got {text!r}")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError) as exc:
        raise PoSyntaxError(f"{path}:{line}: bad string {text!r}: {exc}") from None


def _parse_builtin(path):
    """A small .po reader: msgctxt, msgid, msgid_plural, msgstr, msgstr[n], flags, obsolete entries."""
    entries = []
    current = None
    field = None

    def finish():
        nonlocal current
        if current is not None:
            if "msgid" not in current:
                raise PoSyntaxError(f"{path}:{current['line']}: entry without msgid")
            entries.append(Entry(
                current.get("msgctxt"), current["msgid"], current.get("msgid_plural"),
                current.get("msgstr", ""), current.get("msgstr_plural", {}),
                current.get("flags", []), current.get("obsolete", False), current["line"],
            ))
        current = None

    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.rstrip("\n")
            obsolete = line.startswith("#~")
            if obsolete:
                line = line[2:].lstrip()
            if not line.strip():
                finish()
                field = None
                continue
            if line.startswith("#"):
                if current is not None and "msgid" in current:
                    finish()
                if line.startswith("#,"):
                    current = current or {"line": number}
                    current.setdefault("flags", []).extend(f.strip() for f in line[2:].split(",") if f.strip())
                continue
            keyword, _, rest = line.partition(" ")
            if keyword.startswith('"'):
                if current is None or field is None:
                    raise PoSyntaxError(f"{path}:{number}: continuation line outside an entry")
                value = _unquote(line, path, number)
                if isinstance(field, tuple):
                    current["msgstr_plural"][field[1]] += value
                else:
                    current[field] += value
                continue
            if keyword in ("msgctxt", "msgid") and current is not None and "msgid" in current:
                finish()
            if current is None:
                current = {"line": number}
            if obsolete:
                current["obsolete"] = True
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if match:
                field = ("msgstr_plural", int(match.group(1)))
                current.setdefault("msgstr_plural", {})[field[1]] = _unquote(rest, path, number)
            elif keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr"):
                if keyword in current:
                    raise PoSyntaxError(f"{path}:{number}: {keyword} twice in one entry")
                field = keyword
                current[keyword] = _unquote(rest, path, number)
            else:
                raise PoSyntaxError(f"{path}:{number}: unknown keyword {keyword!r}")
    finish()
    return entries


def _parse_polib(path):
    try:
        catalog = polib.pofile(path, encoding="utf-8", check_for_duplicates=True)
    except (OSError, ValueError) as exc:
        raise PoSyntaxError(f"{path}: {exc}") from None
    entries = [Entry(
        entry.msgctxt, entry.msgid, entry.msgid_plural or None, entry.msgstr,
        dict(entry.msgstr_plural), list(entry.flags), entry.obsolete, entry.linenum,
    ) for entry in catalog]
    # polib keeps the header apart; the checks below read it as the entry with an empty msgid
    header = "".join(f"{key}: {value}\n" for key, value in catalog.metadata.items())
    return [Entry(None, "", None, header, {}, [], False, 1), *entries]


def parse(path):
    """The entries of a .po/.pot file (the header is the entry whose msgid is empty)."""
    return _parse_polib(path) if polib else _parse_builtin(path)


# ---------------------------------------------------------------------------
# What a translation must keep


def python_placeholders(text):
    return collections.Counter(PYTHON_FORMAT.findall(text))


def jinja_fragments(text):
    return collections.Counter(JINJA.findall(text))


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = collections.Counter()
        self.stack = []
        self.errors = []

    def _key(self, tag, attrs):
        kept = tuple(sorted((name, value) for name, value in attrs if name not in FREE_ATTRIBUTES))
        return (tag, kept)

    def handle_starttag(self, tag, attrs):
        self.tags[self._key(tag, attrs)] += 1
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[self._key(tag, attrs)] += 1

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {('<' + self.stack[-1] + '>') if self.stack else 'nothing'}")
            if tag in self.stack:
                del self.stack[len(self.stack) - 1 - self.stack[::-1].index(tag):]
            return
        self.stack.pop()


def markup(text):
    """(Counter of (tag, attributes), list of balance errors) of a term's markup."""
    # Jinja fragments may sit in attribute values; they are compared on their own
    parser = _Markup()
    parser.feed(text)
    parser.close()
    errors = list(parser.errors) + [f"<{tag}> is never closed" for tag in parser.stack]
    return parser.tags, errors


def _describe(counter):
    return ", ".join(sorted(f"{item!r}" + (f" x{count}" if count > 1 else "") for item, count in counter.items()))


def _edges(text):
    return text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]


def compare(source, translation):
    """Problems of one translated string against its source, as sentences."""
    problems = []
    # a string without placeholders is not %-formatted (a label, a help): a "%" in it is text
    if python_placeholders(source) and python_placeholders(source) != python_placeholders(translation):
        missing = python_placeholders(source) - python_placeholders(translation)
        extra = python_placeholders(translation) - python_placeholders(source)
        problems.append("placeholders differ" + (f"; missing {_describe(missing)}" if missing else "")
                        + (f"; unexpected {_describe(extra)}" if extra else ""))
    if python_placeholders(source) and "%" in PYTHON_FORMAT.sub("", translation):
        problems.append('a "%" that is no placeholder in a formatted string (write "%%")')
    if jinja_fragments(source) != jinja_fragments(translation):
        missing = jinja_fragments(source) - jinja_fragments(translation)
        extra = jinja_fragments(translation) - jinja_fragments(source)
        problems.append("Jinja fragments differ" + (f"; missing {_describe(missing)}" if missing else "")
                        + (f"; unexpected {_describe(extra)}" if extra else ""))
    if TAG_LIKE.search(source) or TAG_LIKE.search(translation):
        source_tags, source_errors = markup(source)
        tags, errors = markup(translation)
        if errors and not source_errors:
            problems.append("unbalanced markup: " + "; ".join(errors))
        if source_tags != tags:
            missing = source_tags - tags
            extra = tags - source_tags
            problems.append("markup differs" + (f"; missing {_describe(missing)}" if missing else "")
                            + (f"; unexpected {_describe(extra)}" if extra else ""))
    if _edges(source) != _edges(translation):
        problems.append(f"leading/trailing whitespace differs: source {_edges(source)!r}, translation {_edges(translation)!r}")
    return problems


# ---------------------------------------------------------------------------
# Files


def check_file(po_path, pot_path):
    """Problems of one .po against its .pot, as 'path:line: message' strings."""
    try:
        template = parse(pot_path)
    except PoSyntaxError as exc:
        return [f"{pot_path}: does not parse: {exc}"]
    try:
        entries = parse(po_path)
    except PoSyntaxError as exc:
        return [f"{po_path}: does not parse: {exc}"]

    problems = []
    header = next((entry for entry in entries if entry.msgid == "" and not entry.msgctxt), None)
    if header is None:
        problems.append(f"{po_path}:1: no header entry")
    else:
        if "charset=UTF-8" not in header.msgstr:
            problems.append(f"{po_path}:{header.line}: the header does not declare charset=UTF-8")
        if "Plural-Forms: nplurals=" not in header.msgstr:
            problems.append(f"{po_path}:{header.line}: the header has no Plural-Forms")

    wanted = {(e.msgctxt, e.msgid): e for e in template if e.msgid and not e.obsolete}
    seen = collections.Counter()
    for entry in entries:
        if not entry.msgid or entry.obsolete:
            continue
        key = (entry.msgctxt, entry.msgid)
        seen[key] += 1
        where = f"{po_path}:{entry.line}"
        label = entry.msgid if len(entry.msgid) <= 60 else entry.msgid[:57] + "..."
        if seen[key] == 2:
            problems.append(f"{where}: duplicate entry {label!r}")
        if key not in wanted:
            problems.append(f"{where}: not in the template (stale): {label!r}")
            continue
        if "fuzzy" in entry.flags:
            problems.append(f"{where}: fuzzy: {label!r}")
        if entry.msgid_plural:
            translations = [entry.msgstr_plural.get(index, "") for index in range(max(len(entry.msgstr_plural), 1))]
            if not all(translations):
                problems.append(f"{where}: untranslated plural form: {label!r}")
            for index, text in enumerate(translations):
                source = entry.msgid if index == 0 else entry.msgid_plural
                problems.extend(f"{where}: {message}: {label!r}" for message in compare(source, text) if text)
            continue
        if not entry.msgstr:
            problems.append(f"{where}: untranslated: {label!r}")
            continue
        problems.extend(f"{where}: {message}: {label!r}" for message in compare(entry.msgid, entry.msgstr))
    for key, entry in wanted.items():
        if not seen[key]:
            label = entry.msgid if len(entry.msgid) <= 60 else entry.msgid[:57] + "..."
            problems.append(f"{po_path}: missing {label!r} ({pot_path}:{entry.line})")

    msgfmt = shutil.which("msgfmt")
    if msgfmt:
        result = subprocess.run([msgfmt, "--check", "-o", os.devnull, po_path], capture_output=True, text=True, check=False)
        if result.returncode:
            problems.extend(f"msgfmt: {line}" for line in result.stderr.strip().splitlines())
    return problems


def template_of(po_path):
    folder = os.path.dirname(os.path.abspath(po_path))
    module = os.path.basename(os.path.dirname(folder))
    return os.path.join(folder, module + ".pot")


def find_po_files(paths=None):
    """The .po files under the given files/directories (default: every module of the repository)."""
    found = []
    for path in paths or [REPO_ROOT]:
        if os.path.isfile(path):
            found.append(path)
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("node_modules", "__pycache__"))
            if os.path.basename(root) == "i18n":
                found.extend(os.path.join(root, name) for name in sorted(files) if name.endswith(".po"))
    return found


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if any(arg in ("-h", "--help") for arg in argv):
        print(__doc__)
        return 0
    files = find_po_files(argv)
    problems = []
    for po_path in files:
        pot_path = template_of(po_path)
        if not os.path.isfile(pot_path):
            problems.append(f"{po_path}: no template {pot_path}")
            continue
        problems.extend(check_file(po_path, pot_path))
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s) in {len(files)} translation file(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
