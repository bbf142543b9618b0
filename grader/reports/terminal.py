"""What `grader check` prints for a student: a summary table, then one section per item not
passed, laid out as pytest lays out a failure (the call, each input, expected and got, the
message, the hint once), then what the self-check did not run. And the table `grader grade`
prints for the instructor: one row per submission.

Everything in a result was shaped by student code (what it printed, returned or raised), so
every piece of it is printed as a rich Text made by grader.text.printable: never as markup,
never as an escape sequence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from grader.reports.audience import problem_heading
from grader.results import STOPPING_KINDS, ItemResult, SubmissionResult, shown_status, stopped_items
from grader.text import one_line, printable, sentence

_STATUS_STYLE = {"passed": "green", "partial": "yellow", "failed": "red", "error": "red", "timeout": "red",
                 "missing": "yellow"}
# The line a check writes when it names a mistake; its hint is moved to the section's end, shown once.
_KNOWN_MISTAKE = re.compile(r"^This looks like a known mistake \((?P<id>[^)]+)\)(?P<share>[^:]*)(?::\s*(?P<hint>.*))?$")
_FAILED_ON = re.compile(r"^Failed on this input( \(the smallest found\))?:$")
_CASE = re.compile(r"^Case (?P<number>\d+) of (?P<count>\d+): ")
_TRAINING_RESULT = re.compile(r"^(Your loss's run reaches|Test accuracy|Balanced accuracy)")
LABEL_WIDTH = 10  # "expected" and two spaces


def print_check(console, result: SubmissionResult, calls: dict[str, str], *, title: str,
                unseen: list[tuple[str, int, float]] = (), notes: list[str] = ()) -> None:
    """Print a self-check's result: `calls` maps an item id to the call expression the grader made,
    `unseen` lists (what, count, points) of the items the self-check did not run ("hidden item",
    "written answer"), `notes` are printed once first."""
    console.print(Text(printable(title), style="bold"), highlight=False)
    for note in notes:
        console.print(Text.assemble(("Note: ", "yellow"), printable(note)), highlight=False)
    print_problems(console, result.problems)
    console.print(summary_table(result, console.width), highlight=False)
    stopped = stopped_items(result)  # their problem, printed above, says why
    for item in result.items:
        if shown_status(item) != "passed" and item.visibility != "hidden" and item.id not in stopped:
            print_item(console, item, calls.get(item.id))
    unseen = [(what, count, points) for what, count, points in unseen if count]
    if unseen:
        console.print()
        for what, count, points in unseen:
            console.print(Text(f"Not run here: {count} {printable(what)}{'s' if count != 1 else ''}, graded only in final grading, "
                               f"worth {points:g} point{'s' if points != 1 else ''}.", style="yellow"), highlight=False)
        console.print(Text("Passing every visible check does not mean they pass.", style="yellow"), highlight=False)
    lost = [item for item in result.items if item.status != "passed"]
    verdict = " - every visible check passes." if not lost else \
        f" - {len(lost)} item{'s' if len(lost) != 1 else ''} not passed."
    console.print()
    console.print(Text(f"Visible checks: {result.score:g} of {result.max_score:g} points{verdict}",
                       style="bold green" if not lost else "bold red"), highlight=False)


def print_problems(console, problems: list[dict]) -> None:
    """Each problem once: its heading, then its message as it is (a traceback's tail keeps its columns)."""
    for found in problems:
        console.print(Text.assemble(("Problem: ", "bold red"), (one_line(problem_heading(found)), "bold")), highlight=False)
        for line in printable(found["message"]).splitlines():
            console.print(Text("  " + line), soft_wrap=True, highlight=False)
    if problems:
        console.print()


# ---- a batch, for the instructor ------------------------------------------------------


def batch_table(results: list[SubmissionResult], title: str) -> Table:
    """One row per submission: its score, its problems (each once, with how many items it stopped),
    and the other items it did not pass."""
    table = Table(title=Text(printable(title)))
    table.add_column("student")
    table.add_column("score", justify="right")
    if any(result.problems for result in results):
        table.add_column("problem")
    table.add_column("not passed")
    for result in results:
        stopped = stopped_items(result)
        lost = [f"{i.id} ({i.status}{', ' + i.diagnosis if i.diagnosis else ''})" for i in result.items
                if i.status != "passed" and i.id not in stopped]
        row = [Text(printable(result.student)), Text(f"{result.score:g} / {result.max_score:g}")]
        if len(table.columns) == 4:
            lines = []
            for found in result.problems:
                count = sum(1 for other in stopped.values() if other is found)
                # One whose items another problem stopped first still needs fixing: it says so, as feedback.md does.
                note = f" ({count} item{'s' if count != 1 else ''} not graded)" if count else \
                    " (no item on its own)" if found.get("kind") in STOPPING_KINDS else ""
                lines.append(one_line(problem_heading(found)) + note)
            row.append(Text("\n".join(lines) or "-", style="yellow" if lines else ""))
        row.append(Text("\n".join(one_line(line) for line in lost) or "-"))
        table.add_row(*row)
    return table


# ---- the summary ---------------------------------------------------------------------


def summary_table(result: SubmissionResult, width: int) -> Table:
    """One row per item: its id, points, status and one line, the line cut to fit `width`."""
    rows = [(Text(one_line(item.id)), Text(f"{item.score:g} / {item.max_score:g}"),
             Text(shown_status(item), style=_STATUS_STYLE.get(shown_status(item), "")), Text(summary_line(item)))
            for item in result.items]
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), header_style="bold")
    widths = []
    for column, (heading, justify) in enumerate((("item", "left"), ("points", "right"), ("status", "left"))):
        widths.append(max([len(heading)] + [row[column].cell_len for row in rows]))
        table.add_column(heading, justify=justify, no_wrap=True, min_width=widths[-1])
    # The first three columns keep their width; the line gives way, ending in an ellipsis.
    room = max(10, width - sum(widths) - 2 * len(widths))
    table.add_column("", no_wrap=True, max_width=room)
    for row in rows:
        row[3].truncate(room, overflow="ellipsis")
        table.add_row(*row)
    return table


def summary_line(item: ItemResult) -> str:
    """One line that says how the item went: the first line of its output that says something."""
    parts = _parts(item)
    if parts:
        lost = [part.id for part in parts if part.status != "passed"]
        if not lost:
            return f"All {len(parts)} parts passed."
        return one_line(f"{len(lost)} of {len(parts)} parts lost: {', '.join(lost)}.")
    lines = [line.strip() for line in item.output.splitlines() if line.strip()]
    if item.details and "runs" in item.details:  # a training item: its result, not the recipe
        lines = [line for line in lines if _TRAINING_RESULT.match(line)] + lines
        lines = [re.sub(r"^Balanced accuracy \([^)]*\)", "Balanced accuracy", line) for line in lines]
    for line in lines:
        if not _FAILED_ON.match(line):
            return one_line(line)
    return ""


# ---- one item's section ---------------------------------------------------------------


@dataclass
class _Part:
    id: str
    name: str
    points: float
    status: str
    header: str  # its first line in the output
    body: list[str] = field(default_factory=list)
    counterexample: dict | None = None


def print_item(console, item: ItemResult, call: str | None) -> None:
    status = shown_status(item)
    console.print()
    heading = one_line(f"{item.id}: {item.name}")
    if len(heading) + 10 <= console.width:
        console.rule(Text(heading), style=_STATUS_STYLE.get(status, ""))
    else:  # a rule would cut the name short: it goes on the line below, whole
        console.rule(Text(one_line(item.id)), style=_STATUS_STYLE.get(status, ""))
        console.print(Text(one_line(item.name), style="bold"), highlight=False)
    known = _diagnoses(item)
    hints: dict[tuple[str, str], None] = {}
    parts = _parts(item)
    if not parts:
        lines, where = _opening(item.output.splitlines())
        console.print(Text.assemble((f"{status}, {item.score:g} / {item.max_score:g} points", _STATUS_STYLE.get(status, "")),
                                    where), highlight=False)
        _print_counterexample(console, call, item.counterexample, indent=0)
        _print_message(console, _without_hints(lines, known, hints), indent=0)
    else:
        lost = [part for part in parts if part.status != "passed"]
        console.print(Text.assemble((f"{status}, {item.score:g} / {item.max_score:g} points", _STATUS_STYLE.get(status, "")),
                                    f", {len(lost)} of {len(parts)} parts lost"), highlight=False)
        seen: set[str] = set()
        for part in parts:
            _print_part(console, item, part, call, part is (lost[0] if lost else None), known, hints, seen)
        _print_message(console, _without_hints(_trailing(item, parts), known, hints), indent=0)
    for mistake_id, hint in hints:
        console.print()
        console.print(Text.assemble((f"Hint ({one_line(mistake_id)}): ", "bold cyan"), printable(hint)), highlight=False)


def _print_part(console, item, part: _Part, call, first_lost: bool, known, hints, seen: set[str]) -> None:
    head = (one_line(f"Part '{part.id}', {part.name} ({part.points:g} of {item.max_score:g} points): "), "bold")
    console.print()
    if part.status == "passed":
        rest = part.header.rsplit("points): ", 1)[-1]
        console.print(Text.assemble(head, (printable(rest), "green")), highlight=False)
        return
    console.print(Text.assemble(head, ("lost", _STATUS_STYLE.get(part.status, "red"))), highlight=False)
    lines, where = _opening(part.body)
    if where:
        console.print(Padding(Text(where.lstrip(", ").capitalize() + "."), (0, 0, 0, 2), expand=False))
    # The first lost part's counterexample is the item's; the others' are written into the output.
    counterexample = part.counterexample or (item.counterexample if first_lost else None)
    _print_counterexample(console, call, counterexample, indent=2)
    lines = _without_hints(lines, known, hints)
    # The item's own hints are written into every part that is lost: each is shown once, where it first appears.
    kept = [line for line in lines if line not in seen or not _shared_hint(line)]
    seen.update(lines)
    _print_message(console, kept, indent=2)


def _shared_hint(line: str) -> bool:
    return (line.endswith(".") and line == line.lstrip() and "raise" not in line
            and not line.startswith(("Failed on", "This looks like a known mistake")))


def _opening(lines: list[str]) -> tuple[list[str], str]:
    """The message without the line that only says which input follows, and what that line said."""
    lines = list(lines)
    while lines and not lines[0].strip():
        lines.pop(0)
    where = ""
    case = _CASE.match(lines[0]) if lines else None
    if case:
        where = f", case {case['number']} of {case['count']}"
        lines[0] = lines[0][case.end():]
        lines[0] = sentence(lines[0])
    # A part that raised opens with what raised, then the same announcement.
    announced = next((index for index, line in enumerate(lines[:2]) if _FAILED_ON.match(line.strip())), None)
    if announced is not None:
        where += ", on the smallest failing input found" if "smallest" in lines[announced] else ", on this input"
        lines.pop(announced)
    return lines, where


def _diagnoses(item: ItemResult) -> set[str]:
    """The mistakes the grader named for this item: only their lines are read as hints."""
    found = {item.diagnosis} if isinstance(item.diagnosis, str) else set()
    parts = item.details.get("parts") if isinstance(item.details, dict) else None
    for part in parts if isinstance(parts, list) else []:
        if isinstance(part, dict) and isinstance(part.get("diagnosis"), str):
            found.add(part["diagnosis"])
    return found


def _without_hints(lines: list[str], known: set[str], hints: dict) -> list[str]:
    """The lines, with each named mistake's hint taken out into `hints` (kept in order, once each)."""
    kept = []
    for line in lines:
        match = _KNOWN_MISTAKE.match(line.strip())
        if match and match["id"] in known:
            if match["hint"]:
                hints[(match["id"], match["hint"].strip())] = None
            kept.append(f"This looks like a known mistake ({match['id']}){match['share']}"
                        + (": see the hint below." if match["hint"] else "."))
        else:
            kept.append(line)
    return kept


def _print_message(console, lines: list[str], indent: int) -> None:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if not lines:
        return
    console.print()
    for line in lines:
        if line.strip() and line == line.lstrip() and len(line) > 40 and "  " not in line:
            # Prose: wrapped at the terminal's width.
            console.print(Padding(Text(printable(line)), (0, 0, 0, indent), expand=False), highlight=False)
        else:
            # Tables, tracebacks and what the code printed keep their columns: the terminal wraps them.
            console.print(Text(" " * indent + printable(line)), soft_wrap=True, highlight=False)


def _print_counterexample(console, call: str | None, counterexample, indent: int) -> None:
    if not isinstance(counterexample, dict) or not counterexample:
        return
    inputs = counterexample.get("input")
    console.print()
    if isinstance(inputs, dict) and call:
        console.print(_labelled("call", printable(call), indent), soft_wrap=True, highlight=False)
    if isinstance(inputs, dict) and inputs:
        width = max(len(printable(name)) for name in inputs)
        for number, (name, value) in enumerate(inputs.items()):
            text = f"{printable(name).ljust(width)} = "
            console.print(_labelled("where" if number == 0 else "", value_text(value, len(text)), indent, text),
                          soft_wrap=True, highlight=False)
    elif inputs is not None:
        console.print(_labelled("input", value_text(inputs), indent), soft_wrap=True, highlight=False)
    for key in ("expected", "got"):
        if key in counterexample:
            console.print(_labelled(key, value_text(counterexample[key]), indent), soft_wrap=True, highlight=False)


def _labelled(label: str, value: str, indent: int, lead: str = "") -> Text:
    """`label`, then `value` with each of its lines indented under the first."""
    margin = " " * (indent + LABEL_WIDTH)
    first, *rest = value.split("\n")
    text = Text.assemble(" " * indent, (label.ljust(LABEL_WIDTH), "bold cyan"), lead + first)
    for line in rest:
        text.append("\n" + margin + line)
    return text


def value_text(value, lead: int = 0) -> str:
    """A value as grader.judge.show wrote it, over as many lines as it has, printable.

    A continuation line of an array is indented so that its rows stand under the first row;
    a matrix written as a list of lists gets one row per line. `lead` is what precedes it on its
    first line, which the continuation lines must clear too.
    """
    text = printable(value if isinstance(value, str) else str(value))
    rows = _matrix_rows(text)
    if rows:
        text = "[" + ",\n ".join(rows) + "]"
    elif "\n" in text and text[:1] + text[-1:] in ("()", "[]", "{}"):
        text = _container_text(text) or text
    prefix = re.match(r"(array\([^)\n]*\) |tensor\()", text)
    shift = " " * (lead + (len(prefix.group(0)) if prefix else 0))
    first, *rest = text.split("\n")
    return "\n".join([first] + [shift + line for line in rest])


def _container_text(text: str) -> str | None:
    """A tuple, list or dict of arrays with each element from a line of its own, its rows under its
    first; None when it does not split into elements."""
    elements = _split_top(text[1:-1])
    if not elements or len(elements) < 2 or not all(elements):
        return None
    shown = []
    for element in elements:
        key = re.match(r"('[^']*'|\"[^\"]*\"): ", element) if text[0] == "{" else None
        head = key.group(0) if key else ""
        shown.append(head + value_text(element[len(head):], 1 + len(head)))
    return text[0] + ",\n ".join(shown) + text[-1]


def _matrix_rows(text: str) -> list[str] | None:
    """The rows of a list of lists written on one line, their columns aligned; None for anything else."""
    if "\n" in text or not (text.startswith("[[") and text.endswith("]]")):
        return None
    rows = _split_top(text[1:-1])
    if rows is None or len(rows) < 2 or not all(row.startswith("[") and row.endswith("]") for row in rows):
        return None
    cells = [_split_top(row[1:-1]) for row in rows]
    if any(row is None for row in cells):
        return None
    if len({len(row) for row in cells}) != 1:
        return rows
    widths = [max(len(row[column]) for row in cells) for column in range(len(cells[0]))]
    return ["[" + ", ".join(cell.rjust(width) for cell, width in zip(row, widths)) + "]" for row in cells]


def _split_top(text: str) -> list[str] | None:
    """`text` split at the commas outside any bracket or quote; None when its brackets do not balance."""
    pieces, depth, quote, start = [], 0, "", 0
    for position, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif char == "," and depth == 0:
            pieces.append(text[start:position].strip())
            start = position + 1
    if depth or quote:
        return None
    pieces.append(text[start:].strip())
    return pieces


# ---- an item split into parts -------------------------------------------------------------


def _parts(item: ItemResult) -> list[_Part]:
    """The parts of a part-scored item with their lines of the output; [] for an item without parts.

    Each part's output starts at its line "Part '<id>', <name> (...", its other lines indented by
    two; a lost part after the first also ends with its counterexample, which the details hold too.
    """
    data = item.details.get("parts") if isinstance(item.details, dict) else None
    if not isinstance(data, list) or not data or not all(isinstance(part, dict) for part in data):
        return []
    lines = item.output.splitlines()
    parts, starts = [], []
    for entry in data:
        part = _Part(str(entry.get("id", "")), str(entry.get("name", "")), _number(entry.get("points")),
                     str(entry.get("status", "failed")), "")
        head = f"Part '{part.id}', {part.name} ("
        after = starts[-1] + 1 if starts else 0
        found = next((index for index in range(after, len(lines)) if lines[index].startswith(head)), None)
        if found is None:
            return []
        part.header = lines[found]
        starts.append(found)
        if isinstance(entry.get("counterexample"), dict):
            part.counterexample = entry["counterexample"]
        parts.append(part)
    for number, part in enumerate(parts):
        end = starts[number + 1] if number + 1 < len(parts) else _end_of_parts(lines, starts[-1])
        body = [line[2:] if line.startswith("  ") else line for line in lines[starts[number] + 1:end]]
        part.body = _split_counterexample(body, part.counterexample)
    return parts


def _end_of_parts(lines: list[str], last: int) -> int:
    """Where the last part's lines end: at the first line after it that is not indented (a note on the item)."""
    for index in range(last + 1, len(lines)):
        if lines[index].strip() and not lines[index].startswith(" "):
            return index
    return len(lines)


def _trailing(item: ItemResult, parts: list[_Part]) -> list[str]:
    lines = item.output.splitlines()
    last = next(index for index, line in enumerate(lines) if line == parts[-1].header)
    return lines[_end_of_parts(lines, last):]


def _split_counterexample(body: list[str], counterexample: dict | None) -> list[str]:
    """A lost part's lines without the counterexample written at their end, when `counterexample`
    (from the result's details) shows it: "input:", one "name = value" line each, "expected:", "got:"."""
    start = next((index for index in range(len(body) - 1, -1, -1) if body[index] == "input:"), None)
    return body if start is None or not counterexample else body[:start]


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0
