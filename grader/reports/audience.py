"""Who may see what. result.json is the instructor's copy with every item in full; outputs a
student reads list hidden items only as one summary line: no id, name or status per item."""

from __future__ import annotations

from grader.results import ItemResult, SubmissionResult


def student_items(result: SubmissionResult) -> list[ItemResult]:
    """The items a student may see in full."""
    return [item for item in result.items if item.visibility != "hidden"]


def hidden_summary(result: SubmissionResult) -> tuple[int, float, float]:
    """(count, points, score) of the hidden items, together."""
    hidden = [item for item in result.items if item.visibility == "hidden"]
    return (len(hidden), round(sum(item.max_score for item in hidden), 6),
            round(sum(item.score for item in hidden), 6))


_HEADINGS = {"unreadable": "The submission could not be opened", "no_code": "No code to grade",
             "missing": "Missing file", "syntax": "Syntax error", "import": "Fails on import",
             "bad_name": "Name not valid UTF-8, left out"}


def problem_heading(found: dict) -> str:
    """A short title for one of result.problems: what went wrong, and in which file."""
    heading = _HEADINGS.get(found.get("kind"), "Problem")
    return f"{heading}: {found['file']}" if found.get("file") else heading
