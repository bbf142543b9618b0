"""feedback.md: what an instructor can forward to a student as it is. It shows what a student
may see (grader.reports.audience): hidden items only as one line, together."""

from __future__ import annotations

import math
import re
from pathlib import Path

from grader.files import write_text_atomically
from grader.identity import report_folder
from grader.reports.audience import hidden_summary, problem_heading, stopped_note, student_items
from grader.results import SubmissionResult, stopped_items
from grader.text import printable

_MARK = {"passed": "passed", "partial": "PARTIAL", "failed": "FAILED", "error": "ERROR", "timeout": "TIMED OUT",
         "missing": "MISSING"}


def finite(value) -> float | None:
    """A real number from an item's details, or None: details are plain JSON, checked before any use."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def per_class(details) -> tuple[list[str], dict[str, list[float | None]], list[int] | None] | None:
    """From details with "runs": the class names, each run's accuracy per class (None where unreadable)
    and the training images per class, or None when there is nothing to show."""
    if not isinstance(details, dict) or not isinstance(details.get("runs"), dict) \
            or not isinstance(details.get("classes"), list) or not details["classes"]:
        return None
    classes = [str(name) for name in details["classes"]]
    runs = {}
    for label, run in details["runs"].items():
        values = run.get("per_class") if isinstance(run, dict) else None
        values = values if isinstance(values, list) else []
        runs[str(label)] = [finite(values[c]) if c < len(values) else None for c in range(len(classes))]
    counts = details.get("train_counts")
    readable = isinstance(counts, list) and len(counts) == len(classes) and all(type(n) is int and n >= 0 for n in counts)
    return classes, runs, counts if readable else None


def percent(value: float | None) -> str:
    return "?" if value is None else f"{100 * value:.1f}%"


def _cell(text: str) -> str:
    # One line, and no character that could end the cell or start markup.
    return re.sub(r"([\\`*_|<>\[\]])", r"\\\1", " ".join(text.split()))


def _fence(text: str) -> str:
    return "```\n" + printable(text).replace("```", "'''") + "\n```"


def feedback_markdown(result: SubmissionResult, title: str) -> str:
    # The student's name is an identity (grader.identity): letters, numerals and . _ - only.
    lines = [f"# {title}: feedback for {result.student}", "", f"**Score: {result.score:g} / {result.max_score:g}**", ""]
    lines += problems_markdown(result)
    stopped = stopped_items(result)
    for item in student_items(result):
        if item.id in stopped:  # listed under its problem
            continue
        lines += [f"## {item.id}: {item.name}", "",
                  f"{_MARK[item.status]} ({item.score:g} / {item.max_score:g})", ""]
        if item.output:  # a training item's output holds its accuracy per class, as a fixed-width table
            lines += [_fence(item.output), ""]
        if item.counterexample:
            for key in ("input", "expected", "got"):
                if key in item.counterexample:
                    value = item.counterexample[key]
                    text = "\n".join(f"{k} = {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
                    lines += [f"**{key}**", "", _fence(text), ""]
    count, points, score = hidden_summary(result)
    if count:
        lines += ["## Hidden items", "",
                  f"{count} hidden item{'s' if count != 1 else ''} worth {points:g} point{'s' if points != 1 else ''}: "
                  f"{score:g} earned, counted in the score above.", ""]
    return "\n".join(lines).rstrip() + "\n"


def problems_markdown(result: SubmissionResult) -> list[str]:
    """The submission's problems, each told once with the items it stopped (those a student may see)."""
    if not result.problems:
        return []
    stopped = stopped_items(result)
    lines = ["## Problems with this submission", "",
             "These stopped items before their answers could be checked; fix them first." if stopped else
             "Part of the submission was left out; fix these before you submit again.", ""]
    for found in result.problems:
        lines += [f"### {_cell(problem_heading(found))}", "", _fence(found["message"]), ""]
        note = stopped_note(result, found)
        if note:
            lines += [_cell(note), ""]
    return lines


def write_feedback(result: SubmissionResult, title: str, out: Path) -> Path:
    return write_text_atomically(report_folder(out, result.student) / "feedback.md", feedback_markdown(result, title))
