"""The class dashboard and a student page as Chromium renders them, for a batch in which three
submissions could not be graded (a corrupt zip, missing files, a syntax error). The pages carry no
script: every measurement here is evaluated by DevTools from outside the page."""

import json

import pytest

from grader.reports.html import write_html_reports
from grader.results import ItemResult, SubmissionResult, problem
from tests.engine.chromium import CHART_BOXES, chromium, png_size  # noqa: F401 (a fixture)

ISOLATION = {"process": True, "rlimits": {"RLIMIT_AS": 4294967296}, "landlock": {"abi": 7}}
PAYLOAD = "<script>alert(1)</script>"
STOPPED = "Not graded: the submission problem above stopped it."
PROBLEMS = {
    "corrupt_zip": problem("unreadable", "corrupt_zip.zip", "corrupt_zip.zip cannot be read: it is not a zip archive."),
    "no_files": problem("missing", "softmax.py", "softmax.py is missing: the softmax items need it."),
    "syntax_error": problem("syntax", "mlp.py", "mlp.py, line 12: invalid syntax (a ')' is never closed)."),
}
# Long enough that, in a narrow window, the last column squeezes the score column.
MISSED = "conv_matrix.published, conv_matrix.property, theory.conv_matrix.entries, linear_region.published"

MEASURE = """(() => {
  const lines = cell => { const r = document.createRange(); r.selectNodeContents(cell); return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; };
  const cells = () => [...document.querySelectorAll('table.students td.score')];
  const problemsHeading = [...document.querySelectorAll('h2')].find(h => h.textContent === 'Submission problems');
  const mistakes = document.querySelector('table.mistakes');
  const seen = {
    problemsFirst: !!(problemsHeading && mistakes && (problemsHeading.compareDocumentPosition(mistakes) & Node.DOCUMENT_POSITION_FOLLOWING)),
    problemsTop: problemsHeading ? problemsHeading.getBoundingClientRect().top : null,
    problemsText: document.querySelector('table.problems')?.innerText ?? '',
    mistakesText: mistakes?.innerText ?? '',
    whiteSpace: cells().map(c => getComputedStyle(c).whiteSpace),
    scoreLines: cells().map(lines),
    scoreHeights: cells().map(c => c.getBoundingClientRect().height),
  };
  // The control: the same cells allowed to wrap, so that the measurement is seen to catch a wrap.
  cells().forEach(c => { c.style.whiteSpace = 'normal'; });
  seen.wrappedLines = cells().map(lines);
  cells().forEach(c => { c.style.whiteSpace = ''; });
  return seen;
})()"""


def graded(rubric, student: str, failed: dict[str, str | None]) -> SubmissionResult:
    """A submission graded in full; `failed` maps the items it failed to their diagnosis."""
    items = [ItemResult(item.id, item.name, 0.0 if item.id in failed else item.points, item.points,
                        "failed" if item.id in failed else "passed", item.visibility,
                        "Wrong values." if item.id in failed else "Passed.", failed.get(item.id))
             for item in rubric.items]
    return SubmissionResult(student, items, ISOLATION, "r" * 64, "s" * 64)


def stopped(rubric, student: str) -> SubmissionResult:
    """A submission whose problem stopped every item; some items of the file also carry a diagnosis
    that the dashboard must not count as the class's mistake."""
    items = [ItemResult(item.id, item.name, 0.0, item.points, "error", item.visibility, STOPPED,
                        "flipped_kernel" if item.id.startswith("conv_matrix.") else None) for item in rubric.items]
    return SubmissionResult(student, items, ISOLATION, "r" * 64, "s" * 64, problems=[PROBLEMS[student]])


@pytest.fixture(scope="module")
def batch(rubric, tmp_path_factory):
    results = [graded(rubric, "ada", {}), graded(rubric, "bo", {i: "flipped_kernel" for i in MISSED.split(", ")[:3]}),
               graded(rubric, "cy", {"linear_region.published": "bias_is_output"}),
               *(stopped(rubric, student) for student in PROBLEMS)]
    results[1].items[0].output += f"\nYour code printed:\n{PAYLOAD}"
    return write_html_reports(results, rubric, tmp_path_factory.mktemp("batch"))


def test_problems_come_first_and_scores_stay_on_one_line(chromium, batch, tmp_path):  # noqa: F811 (the fixture)
    # 480 CSS pixels: the students table is squeezed, so a score that could wrap would.
    problems, seen, png = chromium.open(batch, MEASURE, width=480, whole_page=True)
    (tmp_path / "dashboard-480.png").write_bytes(png)
    assert problems == []
    assert seen["problemsFirst"] and seen["problemsTop"] < 900, json.dumps(seen)  # on the first screen
    for student in PROBLEMS:
        assert student in seen["problemsText"] and student not in seen["mistakesText"]
    assert "unreadable" in seen["problemsText"] and "mlp.py, line 12" in seen["problemsText"]
    assert "flipped_kernel" in seen["mistakesText"] and "bo" in seen["mistakesText"]
    assert len(seen["scoreLines"]) == 6 and set(seen["whiteSpace"]) == {"nowrap"}
    assert seen["scoreLines"] == [1] * 6, seen
    assert max(seen["wrappedLines"]) > 1, seen  # without nowrap the same cells wrap: the measurement can fail


def test_the_dashboard_renders_its_charts_at_desktop_width(chromium, batch, rubric, tmp_path):  # noqa: F811
    problems, seen, png = chromium.open(batch, MEASURE, width=1200, whole_page=True)
    (tmp_path / "dashboard-1200.png").write_bytes(png)
    assert problems == [] and seen["scoreLines"] == [1] * 6 and seen["problemsFirst"]
    problems, page, png = chromium.open(batch, CHART_BOXES)
    assert problems == []
    charts = {chart["kind"]: chart for chart in page["charts"]}
    assert set(charts) == {"chart histogram", "chart pass-rate"}
    assert all(chart["width"] > 100 and chart["height"] > 100 for chart in charts.values()), charts
    assert charts["chart histogram"]["drawn"] == 2  # bo 51 in [48, 54), ada 59 and cy 57 in [54, 59]
    assert charts["chart pass-rate"]["drawn"] == len(rubric.items)  # every item is passed by someone
    assert "Most frequent mistakes" in page["text"] and "corrupt_zip" in page["text"]
    assert png_size(png)[0] == 1200 and len(png) > 20_000


def test_the_console_check_catches_a_broken_page(chromium, tmp_path):  # noqa: F811 (the fixture)
    broken = tmp_path / "broken.html"
    broken.write_text('<!DOCTYPE html><meta charset="utf-8"><img src="absent.png">'
                      '<script>console.error("boom")</script><script>nonexistent()</script>')
    problems, _, _ = chromium.open(broken, "1")
    assert any("nonexistent is not defined" in p for p in problems), problems
    assert any(p == "console.error: boom" for p in problems), problems
    assert any("ERR_FILE_NOT_FOUND" in p for p in problems), problems


def test_student_page_renders_the_payload_as_text(chromium, batch):  # noqa: F811 (the fixture)
    problems, page, png = chromium.open(batch.parent / "bo" / "report.html", CHART_BOXES)
    assert problems == []
    assert PAYLOAD in page["text"] and "class report" not in page["text"]  # no way to the classmates' scores
    assert png_size(png)[0] == 1200


def test_a_stopped_submission_page_says_its_problem_once(chromium, batch, rubric):  # noqa: F811 (the fixture)
    page = batch.parent / "syntax_error" / "report.html"
    problems, text, _ = chromium.open(page, "document.body.innerText", width=1000)
    assert problems == []
    assert text.count("mlp.py, line 12: invalid syntax") == 1
    assert text.index("Submission problem:") < text.index(STOPPED)
    assert "landlock" not in text and "Isolation" not in text
    hidden = [item for item in rubric.items if item.visibility == "hidden"]
    assert all(item.id not in text for item in hidden) and f"{len(hidden)} hidden items: 0 / " in text
