"""Who may see what. result.json is the instructor's copy with every item in full; outputs a
student reads list hidden items only as one summary line: no id, name or status per item."""

from __future__ import annotations

from grader.results import STOPPING_KINDS, ItemResult, SubmissionResult, stopped_items


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


def stopped_note(result: SubmissionResult, found: dict) -> str:
    """The line under a problem in what a student reads: the items it stopped (hidden ones only counted),
    or, for one that stopped none, that another problem stopped its items first: it still needs fixing."""
    stopped = [item for item, by in _stopped_by(result) if by is found]
    shown = [item for item in stopped if item.visibility != "hidden"]
    if shown:
        return "Not graded because of it: " + ", ".join(
            f"{item.id} ({item.score:g} / {item.max_score:g})" for item in shown) + "."
    if stopped:
        return "It stopped hidden items only (counted in the hidden items' line)."
    if found.get("kind") in STOPPING_KINDS:
        return "It stopped no item on its own: another problem above stopped the items that need it. Fix it too."
    return ""


def _stopped_by(result: SubmissionResult) -> list[tuple[ItemResult, dict]]:
    stopped = stopped_items(result)
    return [(item, stopped[item.id]) for item in result.items if item.id in stopped]
