"""Text a student controls (printed output, error messages, names) made inert for each medium.

Every writer passes such text through one of these: a terminal must not obey an
escape sequence, a log line must stay one line, a spreadsheet must not run a
formula. HTML escaping lives with the HTML writer (html.escape).
"""

from __future__ import annotations

import re

# C0 and C1 controls (escape sequences start with one), and the invisible characters that
# reorder or hide text (bidirectional overrides, zero-width characters).
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_CONTROL = re.compile(f"[{_UNSAFE}]")
_CONTROL_OR_LINE = re.compile(f"[{_UNSAFE}\n\t]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return "\\n" if code == 10 else "\\t" if code == 9 else f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """Lines and tabs kept; every other control or invisible character written as an escape."""
    return _CONTROL.sub(_escape, str(text))


def one_line(text: str) -> str:
    """As printable, with line breaks and tabs escaped too: for a log line or a table cell."""
    return _CONTROL_OR_LINE.sub(_escape, str(text))


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
