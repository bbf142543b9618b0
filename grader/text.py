"""Text a student controls (printed output, error messages, names) made inert for each medium.

Every writer passes such text through one of these: a terminal must not obey an
escape sequence, a log line must stay one line, a spreadsheet must not run a
formula. HTML escaping lives with the HTML writer (html.escape).
"""

from __future__ import annotations

KEPT = "\n\t"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def _escape(char: str) -> str:
    code = ord(char)
    return "\\n" if code == 10 else "\\t" if code == 9 else f"\\x{code:02x}" if code < 0x100 else \
        f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _escaped(text: str, kept: str) -> str:
    # Python's own idea of printable excludes every control and format character (escape
    # sequences, bidirectional overrides, zero-width and tag characters), separators but the
    # space, and unassigned code points.
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in kept else _escape(c) for c in text)


def printable(text: str) -> str:
    """Lines and tabs kept; every other character that is not printable written as an escape."""
    return _escaped(str(text), KEPT)


def one_line(text: str) -> str:
    """As printable, with line breaks and tabs escaped too: for a log line or a table cell."""
    return _escaped(str(text), "")


def csv_cell(value) -> str:
    """A cell a spreadsheet shows as text: one that starts a formula gets a leading apostrophe."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def terminal(text: str):
    """A rich Text that prints the characters as they are: no markup, no escape sequence."""
    from rich.text import Text

    return Text(printable(text))


def printable_data(value):
    """printable() applied to every string in plain data (dicts, lists, strings), keys included."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable_data(key): printable_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable_data(item) for item in value]
    return value


def sentence(text: str) -> str:
    """`text` with a capital first letter when it starts with a plain word: a name from code
    (`my_function(...)`, `x0`) keeps its spelling."""
    first = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if first.isalpha() and first.islower() else text
