"""Written answers: a value read from the student's YAML file, compared with the reference's.

The file is parsed inside the student's child (a hostile YAML file is student
input like any other); only plain data comes back. The rubric's reader turns
the student's spelling into the reference's form, or explains how to fix it.
"""

from __future__ import annotations

import numpy as np

from grader import judge
from grader.boundary.codec import Tensor
from grader.checks.common import Context, Verdict
from grader.rubric import Item, resolve

_MISSING = object()
# What one answer may hold before any reader sees it. YAML aliases let a small file expand into
# megabytes of plain data; an answer is a few numbers or a small matrix.
MAX_ANSWER_VALUES = 20_000
MAX_ANSWER_CHARS = 200_000
MAX_ANSWER_DEPTH = 10
MAX_MESSAGE_CHARS = 2_000


def too_large(value) -> str | None:
    """Why `value` is too large to hand to a reader, or None; linear, and stops at the first limit passed."""
    stack, values, chars = [(value, 0)], 0, 0
    while stack:
        node, depth = stack.pop()
        values += 1
        if depth > MAX_ANSWER_DEPTH:
            return f"it is nested more than {MAX_ANSWER_DEPTH} levels deep"
        if type(node) is str:
            chars += len(node)
        elif type(node) is np.ndarray or type(node) is Tensor:
            values += getattr(node, "array", node).size
        elif type(node) in (list, tuple, dict):
            if values + len(stack) + len(node) > MAX_ANSWER_VALUES:  # before copying a huge list
                values += len(stack) + len(node)
            elif type(node) is dict:
                chars += sum(len(key) for key in node if type(key) is str)
                stack.extend((child, depth + 1) for child in node.values())
            else:
                stack.extend((child, depth + 1) for child in node)
        if values > MAX_ANSWER_VALUES:
            return f"it holds more than {MAX_ANSWER_VALUES:,} values"
        if chars > MAX_ANSWER_CHARS:
            return f"its text is longer than {MAX_ANSWER_CHARS:,} characters"
    return None


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
    problem = too_large(raw)
    if problem:
        return Verdict("failed", f"Your answer at '{item.answer}' is too large to read: {problem}. An answer is a few "
                                 f"numbers or a small matrix; check {item.target.file} for anchors and aliases "
                                 f"(&name, *name) that repeat pieces.")
    try:
        got = resolve(item.reader)(raw, **item.args)
    except Exception as error:  # the reader explains what it could not read
        message = str(error)
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[:MAX_MESSAGE_CHARS] + "..."
        return Verdict("failed", f"Your answer at '{item.answer}' could not be read: {message}")
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
