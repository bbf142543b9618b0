"""What a student sees of hidden items is one summary line (how many, their points, the points earned):
which item failed, and which way, would be a channel out of the hidden inputs (a submission can choose
to crash, hang or return garbage on them). Gradescope shows a hidden test to the course's staff only."""

import pytest

from grader.gradescope import to_results_json
from grader.reports.feedback import feedback_markdown
from grader.reports.html import _student_html
from grader.results import ItemResult, SubmissionResult
from grader.text import one_line, printable


def _result(rubric, status: str) -> SubmissionResult:
    items = [ItemResult(item.id, item.name, 0.0 if item.id == "conv_matrix.rectangular" else item.points,
                        item.points, status if item.id == "conv_matrix.rectangular" else "passed", item.visibility,
                        "Not passed." if item.id == "conv_matrix.rectangular" else "Passed.")
             for item in rubric.items]
    return SubmissionResult("ada", items, {}, "r" * 64, "s" * 64)


@pytest.mark.parametrize("status", ["failed", "error", "timeout", "missing"])
def test_a_hidden_item_fails_one_way_in_every_student_report(bundled, status):
    result = _result(bundled, status)
    feedback = feedback_markdown(result, bundled.title)
    assert "conv_matrix.rectangular" not in feedback and "Not passed." not in feedback
    assert all(mark not in feedback for mark in ("FAILED", "ERROR", "TIMED OUT", "MISSING"))
    assert "5 hidden items worth 8 points: 6 earned" in feedback
    page = _student_html(result, bundled)  # the hidden items are one summary line, with no status
    assert "conv_matrix.rectangular" not in page and 'class="hidden-summary"' in page
    assert all(f'class="status-{word}"' not in page for word in ("failed", "error", "timeout", "missing"))
    data = to_results_json(result, bundled, 1.0)
    test = next(t for t in data["tests"] if t["number"] == "conv_matrix.rectangular")
    assert test["visibility"] == "hidden" and test["status"] == "failed" and test["extra_data"]["status"] == status
    assert "conv_matrix.rectangular" not in data["output"] and "21 of 21 visible items passed." in data["output"]


@pytest.mark.parametrize("hidden", ["\u061c", "\U000e0041", "\u202e", "\u200b", "\u2066", "\x9b", "\x1b", "\x07",
                                    "\ufeff", "\u2028", "\udcff", "\U000f0000"])
def test_invisible_and_control_characters_are_written_as_escapes(hidden):
    assert hidden not in printable(f"a{hidden}b") and hidden not in one_line(f"a{hidden}b")
    assert printable("x\ty\nz é 中") == "x\ty\nz é 中" and one_line("x\ny") == "x\\ny"
