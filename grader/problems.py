"""Submission-level problems: what stops a whole submission, or a whole file of it, before its
answers can be judged. Each is told once, at the top of a report; the items it stopped point to it
(grader.results.stopped_output).

Nothing here reads student source: a syntax error or a failed import is learnt from what the
child reported when it imported the module (grader.boundary.session.Outcome), as data."""

from __future__ import annotations

import difflib

from grader.boundary import Outcome
from grader.results import problem
from grader.rubric import Item
from grader.text import printable

MAX_NAMED = 5  # other .py files named in a "no_code" problem


def item_files(item: Item) -> list[str]:
    """The files without which the item cannot be graded, in the order its check looks for them.
    (A training settings file is not one: without it the rubric's defaults are used.)"""
    return [name for name in (item.target.file, item.checkpoint, item.loss.get("file", "")) if name]


def needed_files(items: list[Item]) -> list[str]:
    needed = []
    for item in items:
        needed += [name for name in item_files(item) if name not in needed]
    return needed


def file_problems(items: list[Item], files) -> list[dict]:
    """"no_code" when none of the Python files the items need was submitted, else one "missing" per absent file."""
    needed = needed_files(items)
    code = [name for name in needed if name.endswith(".py")]
    if code and not any(name in files for name in code):
        others = sorted(name for name in files if name.endswith(".py"))
        named = ", ".join(printable(name) for name in others[:MAX_NAMED]) + (", ..." if len(others) > MAX_NAMED else "")
        found = f" It holds {len(others)} other .py file(s): {named}; the grader reads the names above exactly." \
            if others else " It holds no .py file at all."
        found += "".join(near_name(name, files) for name in code)  # which file to rename, as a missing file says
        return [problem("no_code", None, f"None of the Python files this assignment grades was submitted "
                                         f"({', '.join(code)}).{found}")]
    return [problem("missing", name, f"{name} was not submitted.") for name in needed if name not in files]


def near_name(wanted: str, files) -> str:
    """A sentence naming the submitted file that was probably meant (`Model.py`, `model (1).py`, `model.py.txt`)."""
    stem = wanted.rsplit(".", 1)[0].lower()
    names = sorted(name for name in files if "/" not in name)
    near = [name for name in names if name.lower() == wanted.lower() or name.lower().startswith(stem + " ")
            or name.lower().startswith(wanted.lower() + ".")] or difflib.get_close_matches(wanted, names, n=1, cutoff=0.8)
    return f" There is {near[0]!r}: the grader reads {wanted!r} exactly, so rename it." if near else ""


def stopping_key(item: Item, files, problems: dict) -> tuple | None:
    """The (kind, file) of the file problem that stops `item`: its first absent file, or None."""
    absent = next((name for name in item_files(item) if name not in files), None)
    if absent is None:
        return None
    return ("no_code", None) if ("no_code", None) in problems else ("missing", absent)


def import_problem(module_file: str, outcome: Outcome, reported: str, files) -> dict:
    """What importing `module_file` raised: "syntax" (the child sent where) or "import"; `reported` is the
    item-level text the checks gave (the exception, the traceback's tail, what the code printed).
    The child's file is named only when it is one of the submission's `files`: the child is not trusted."""
    if outcome.syntax_at is not None:
        file, line, what = outcome.syntax_at
        file = file if file in files else module_file
        tail = "\n".join(outcome.traceback.strip().splitlines()[-4:])  # the line, and where in it
        return problem("syntax", printable(file), printable(f"{file} has a syntax error at line {line}: {what}\n{tail}"))
    return problem("import", module_file, printable(reported))


def unreadable(reason: str) -> dict:
    return problem("unreadable", None, printable(f"The submission could not be opened: {reason}"))
