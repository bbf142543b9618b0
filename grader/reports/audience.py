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
