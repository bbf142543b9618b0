"""Written answers: a value read from the student's YAML file, compared with the reference's.

The file is parsed inside the student's child (a hostile YAML file is student
input like any other); only plain data comes back. The rubric's reader turns
the student's spelling into the reference's form, or explains how to fix it.
"""

from __future__ import annotations

import numpy as np

from grader import judge
from grader.checks.common import Context, Verdict
from grader.rubric import Item, resolve

_MISSING = object()


def _lookup(document, dotted: str):
    for part in dotted.split("."):
        if not isinstance(document, dict) or part not in document:
            return _MISSING
        document = document[part]
    return document


def _matches(got, expected, item: Item) -> bool:
    if item.compare == "exact":
        return got == expected
    if item.compare == "shape":
        try:
            return np.shape(np.asarray(got, dtype=object)) == np.shape(np.asarray(expected, dtype=object))
        except ValueError:  # ragged rows have no shape
            return False
    return judge.compare(judge.plain(got), judge.plain(expected), item.rtol, item.atol) is None


def run(ctx: Context, item: Item) -> Verdict:
    document = ctx.document(item, item.target.file)
    if isinstance(document, Verdict):
        return document
    raw = _lookup(document, item.answer)
    if raw is _MISSING:
        return Verdict("missing", f"{item.target.file} has no answer at '{item.answer}'.")
    try:
        got = resolve(item.reader)(raw, **item.args)
    except Exception as error:  # the reader explains what it could not read
        return Verdict("failed", f"Your answer at '{item.answer}' could not be read: {error}")
    expected = resolve(item.reference)(**item.args)
    if _matches(got, expected, item):
        return Verdict("passed", "Correct.")
    diagnosis = None
    for mistake_id, replacement in item.mistakes.items():
        try:
            if _matches(got, resolve(replacement)(**item.args), item):
                diagnosis = mistake_id
                break
        except Exception:
            continue
    what = {"shape": "does not have the expected size", "exact": "is not right", "close": "is not right"}[item.compare]
    lines = [f"Your answer at '{item.answer}' {what}."]
    if diagnosis:
        lines.append(f"This looks like a known mistake ({diagnosis}): {ctx.rubric.mistake_hints.get(diagnosis, '')}".rstrip(": "))
    lines += list(item.hints)
    counterexample = {"expected": judge.show(expected), "got": judge.show(got)}
    return Verdict("failed", "\n".join(lines), diagnosis, counterexample)
