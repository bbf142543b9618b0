"""HTML reports: built from hand-made results and checked as text (tests/engine/test_dashboard_browser.py
renders them in headless Chromium)."""

import random
from html import escape
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from grader.reports.html import HISTOGRAM_BINS, histogram_edges, write_html_reports
from grader.results import ItemResult, SubmissionResult, problem, stopped_output

PAYLOAD = "<script>alert(1)</script>"
ISOLATION = {"process": True, "namespaces": True, "rlimits": {"RLIMIT_AS": 4294967296},
             "landlock": {"abi": 7, "tcp_denied": True}, "seccomp": False}
FLIPPED = "This looks like a known mistake (flipped_kernel): "  # how a check writes a diagnosis into its output
SYNTAX = problem("syntax", "softmax.py", "softmax.py, line 3: invalid syntax")
STOPPED = stopped_output(SYNTAX)

# student -> {item id: (status, output, diagnosis, counterexample)}; every other item passes.
FAILURES = {
    "ada_lovelace": {},
    "ben_jerry": {
        "softmax.stability": ("failed", f"Wrong values.\nYour code printed:\n{PAYLOAD}", "no_max_subtraction",
                              {"input": {"x": "array(2,) [1000, 1000]"}, "expected": "[0.5, 0.5]", "got": PAYLOAD}),
        "softmax.gradients_batch": ("failed", "Not passed.", None, {"expected": "a hidden expected value"}),
    },
    "carl": {
        "conv_matrix.published": ("failed", "Wrong values.\n" + FLIPPED + "{hint}", "flipped_kernel",
                                  {"expected": "[[9, 8]]", "got": "[[1, 2]]"}),
        "conv_matrix.property": ("failed", "Wrong values.", "flipped_kernel", None),
        "theory.conv_matrix.entries": ("failed", "Wrong entries.", "flipped_kernel", None),
        "mlp.forward": ("error", "NameError: name 'np' is not defined", None, None),
    },
    "dana": {
        "conv_matrix.published": ("failed", "Wrong values.", "column_major", None),
        "conv_matrix.property": ("failed", "Wrong values.", "flipped_kernel", None),
        **{i: ("missing", "focal_loss.py has no focal_loss.", None, None) for i in
           ("focal_loss.reweight_published", "focal_loss.reweight", "focal_loss.one_per_class",
            "focal_loss.focal", "focal_loss.long_tail")},
    },
    # One student, four items of one mistake: one student to talk to, not four.
    "erin": {i: ("failed", "Wrong values.", "bias_is_output", None) for i in
             ("linear_region.published", "linear_region.property", "theory.linear_region.at_2",
              "theory.linear_region.at_minus_1")},
    # A syntax error stops the softmax items; the mistake found elsewhere is not counted with the class's.
    "fay": {
        "conv_matrix.published": ("failed", "Wrong values.", "flipped_kernel", None),
        **{i: ("error", STOPPED, None, None) for i in
           ("softmax.softmax", "softmax.stability", "softmax.cross_entropy", "softmax.gradients",
            "softmax.gradients_batch")},
    },
}
PROBLEMS = {"fay": [SYNTAX]}


def make_result_named(student: str, rubric) -> SubmissionResult:
    result = make_result("ada_lovelace", rubric)
    result.student = student
    return result


def make_result(student: str, rubric) -> SubmissionResult:
    items = []
    for item in rubric.items:
        status, output, diagnosis, counterexample = FAILURES[student].get(item.id, ("passed", "Passed.", None, None))
        output = output.replace("{hint}", rubric.hint(diagnosis or ""))
        items.append(ItemResult(item.id, item.name, item.points if status == "passed" else 0.0, item.points,
                                status, item.visibility, output, diagnosis, counterexample))
    return SubmissionResult(student, items, ISOLATION, "r" * 64, "s" * 64, problems=PROBLEMS.get(student, []))


@pytest.fixture(scope="module")
def results(rubric):
    return [make_result(student, rubric) for student in FAILURES]


@pytest.fixture(scope="module")
def dashboard(results, rubric, tmp_path_factory):
    return write_html_reports(results, rubric, tmp_path_factory.mktemp("reports"))


class Page(HTMLParser):
    """Every element with its attributes and the class of the svg around it; links; plain text."""

    def __init__(self, path: Path):
        super().__init__()
        self.elements, self.links, self.text, self._svg = [], [], [], None
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg":
            self._svg = attrs.get("class")
        self.elements.append((tag, attrs, self._svg))
        if tag == "a":
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "svg":
            self._svg = None

    def handle_data(self, data):
        self.text.append(data)

    def bars(self, chart: str) -> list[dict]:
        return [a for tag, a, svg in self.elements
                if tag == "rect" and "bar" in a.get("class", "").split() and svg == f"chart {chart}"]


def table_rows(text: str, name: str) -> list[str]:
    """The rows after the header of <table class="name">, as HTML."""
    table = text[text.index(f'<table class="{name}">'):]
    return table[:table.index("</table>")].split("<tr>")[2:]


def section(text: str, item_id: str) -> str:
    part = text[text.index(f'id="{item_id}"'):]
    return part[:part.index("</section>")]


def all_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---- the files ---------------------------------------------------------------


def test_every_page_is_written(dashboard, results):
    assert dashboard.name == "report.html"
    assert sorted(all_files(dashboard.parent)) == sorted(["report.html", *(f"{r.student}/report.html" for r in results)])


def test_student_output_is_text_never_markup(dashboard):
    pages = {name: data.decode() for name, data in all_files(dashboard.parent).items()}
    assert all("<script" not in text.lower() for text in pages.values())
    ben = pages["ben_jerry/report.html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in ben
    assert "ben_jerry" in ben and "ben_jerry" in pages["report.html"]


def test_a_name_that_is_not_an_identity_gets_no_page(rubric, tmp_path):
    # Names come from grader.identity; one that could be a path or markup is refused, never written.
    for name in ("ben & jerry", "../escape", "<b>x</b>", "gradebook.csv"):
        with pytest.raises(ValueError, match="not a submission identity"):
            write_html_reports([make_result_named(name, rubric)], rubric, tmp_path / "out")
    assert not (tmp_path / "escape").exists() and not any((tmp_path / "out").rglob("*.html"))


def test_pages_are_self_contained(dashboard):
    for name, data in all_files(dashboard.parent).items():
        text = data.decode()
        assert '<meta charset="utf-8">' in text and "<style>" in text, name
        assert "http://" not in text and "https://" not in text and " src=" not in text, name


def test_the_dashboard_links_to_each_student_and_no_student_page_links_back(dashboard, results):
    out = dashboard.parent
    students = [link for link in Page(dashboard).links if link.endswith("/report.html")]
    assert {unquote(link) for link in students} == {f"{r.student}/report.html" for r in results}
    for link in students:
        student_page = out / unquote(link)
        assert student_page.is_file()
        # Forwarded, a link back is dead; served, it puts every classmate's score one click away.
        assert Page(student_page).links == [] and "class report" not in student_page.read_text()


def test_histogram_bins_are_whole_points_and_count_the_graded(dashboard, results, rubric):
    page = Page(dashboard)
    [svg] = [a for tag, a, _ in page.elements if tag == "svg" and a["class"] == "chart histogram"]
    assert svg["role"] == "img" and svg["aria-label"]
    bars = page.bars("histogram")
    # Out of 59: bins 6 points wide, the last ending at 59. dana 43 in [42, 48), carl 49 and erin 51 in
    # [48, 54), ben 57 and ada 59 in [54, 59]; fay (49, a syntax error) is left out.
    assert [(int(b["data-low"]), int(b["data-high"])) for b in bars] == [(lo, lo + 6) for lo in range(0, 54, 6)] + [(54, 59)]
    assert [int(b["data-count"]) for b in bars] == [0, 0, 0, 0, 0, 0, 0, 1, 2, 2]
    assert rubric.max_score == 59 and sorted(r.score for r in results) == [43, 49, 49, 51, 57, 59]
    labels = re.findall(r'<text class="edge"[^>]*>([^<]*)</text>', dashboard.read_text())
    assert labels == [str(edge) for edge in range(0, 55, 6)] + ["59"]
    assert svg["aria-label"] == "Histogram of 5 scores out of 59, in 10 bins of 6 points, the last 54 to 59"
    assert "<title>54 to 59 points: 2 students</title>" in dashboard.read_text()


@pytest.mark.parametrize("max_score, edges", [
    (59, [*range(0, 55, 6), 59]), (60, list(range(0, 61, 6))), (7, list(range(8))), (10, list(range(11))),
    (100, list(range(0, 101, 10))), (101, [*range(0, 100, 11), 101]), (12.5, [*range(0, 13, 2), 13]), (0, [0, 1]),
])
def test_histogram_edges_are_integers_covering_the_maximum(max_score, edges):
    found = histogram_edges(max_score)
    assert found == edges and all(type(edge) is int for edge in found)
    assert found[-1] >= max_score and (found[-1] - max_score < 1 or found == [0, 1]) and len(found) - 1 <= HISTOGRAM_BINS


def test_pass_rates_are_sorted_lowest_first_and_coloured_by_band(dashboard, rubric):
    bars = Page(dashboard).bars("pass-rate")
    assert sorted(b["data-item"] for b in bars) == sorted(item.id for item in rubric.items)
    rates = [float(b["data-rate"]) for b in bars]
    assert rates == sorted(rates)
    order = [item.id for item in rubric.items]
    for first, second in zip(bars, bars[1:]):  # equal rates keep the rubric's order
        if first["data-rate"] == second["data-rate"]:
            assert order.index(first["data-item"]) < order.index(second["data-item"])
    by_item = {b["data-item"]: b for b in bars}
    # Of the five graded: fay's wrong conv_matrix.published and stopped softmax items are not counted.
    assert [b["data-item"] for b in bars[:2]] == ["conv_matrix.published", "conv_matrix.property"]
    assert float(by_item["conv_matrix.published"]["data-rate"]) == 0.6
    assert float(by_item["softmax.softmax"]["data-rate"]) == 1.0
    for bar in bars:
        rate = float(bar["data-rate"])
        expected = "high" if rate >= 0.8 else "mid" if rate >= 0.5 else "low"
        assert bar["data-band"] == expected and f"band-{expected}" in bar["class"].split()
    text = dashboard.read_text()
    assert ">3/5 (60%)</text>" in text and ">4/5 (80%)</text>" in text  # the rate is written, not only coloured
    assert all(label in text for label in ("below 50%", "50% to 79%", "80% or more"))  # the legend
    assert "softmax.gradients_batch (hidden)" in text  # the instructor's page shows hidden items too
    assert "Of the 5 graded submissions" in text


def test_a_low_pass_rate_is_red(rubric, tmp_path):
    dashboard = write_html_reports([make_result("carl", rubric), make_result("dana", rubric)], rubric, tmp_path)
    bars = {b["data-item"]: b for b in Page(dashboard).bars("pass-rate")}
    assert bars["conv_matrix.published"]["data-band"] == "low" and bars["theory.conv_matrix.entries"]["data-band"] == "mid"
    assert Page(dashboard).bars("pass-rate")[0]["data-rate"] == "0.0000"


def test_mistakes_table_counts_students_with_the_failed_items_beside(dashboard, rubric):
    rows = table_rows(dashboard.read_text(), "mistakes")
    counts = {re.match(r"<td>([^<]*)</td>", row)[1]: tuple(int(n) for n in re.findall(r'<td class="count \w+">(\d+)</td>', row))
              for row in rows}
    # erin failed four items of bias_is_output: one student, four items, after two students' flipped_kernel.
    assert counts == {"flipped_kernel": (2, 4), "bias_is_output": (1, 4), "column_major": (1, 1), "no_max_subtraction": (1, 1)}
    assert [re.match(r"<td>([^<]*)</td>", row)[1] for row in rows] == list(counts)  # in that order
    assert 'href="carl/report.html"' in rows[0] and 'href="dana/report.html"' in rows[0]
    assert "ben" not in rows[0] and "fay" not in rows[0]  # fay's submission problem keeps her out
    assert rubric.mistake_hints["flipped_kernel"].split()[0] in rows[0]
    assert 'href="erin/report.html"' in rows[1] and "linear_region.property" in rows[1]


def test_submission_problems_come_first_and_apart_from_wrong_answers(dashboard):
    text = dashboard.read_text()
    assert text.index("<h2>Submission problems</h2>") < text.index("<h2>Scores</h2>") < text.index('<table class="mistakes">')
    [row] = table_rows(text, "problems")
    assert row == ('<td><a href="fay/report.html">fay</a></td><td>syntax</td><td>softmax.py</td>'
                   "<td>softmax.py, line 3: invalid syntax</td></tr>\n")
    assert "6 students: 5 graded, 1 with a submission problem" in text
    fay = next(row for row in table_rows(text, "students") if ">fay<" in row)
    assert "submission problem: syntax" in fay and "softmax.softmax" not in fay


def test_no_problem_says_so(rubric, tmp_path):
    text = write_html_reports([make_result("ada_lovelace", rubric)], rubric, tmp_path).read_text()
    assert "None: every submission was read and imported." in text and 'class="problems"' not in text
    assert '<p class="summary">1 student; mean 59, median 59 out of 59.</p>' in text


def test_scores_never_wrap(dashboard):
    text = dashboard.read_text()
    assert re.search(r"\.score, \.count \{ white-space: nowrap; \}", text)
    rows = table_rows(text, "students")
    assert len(rows) == 6 and all('<td class="score">' in row for row in rows)


def test_isolation_is_on_the_dashboard_only(dashboard):
    pages = {name: data.decode() for name, data in all_files(dashboard.parent).items()}
    assert "<th>landlock</th><td>abi: 7, tcp_denied: yes</td>" in pages.pop("report.html")
    assert "Graded with, for every submission:" in "".join(Page(dashboard).text)
    for name, text in pages.items():
        assert 'class="isolation"' not in text and "landlock" not in text and "RLIMIT" not in text, name


def test_student_page_shows_items_diagnosis_and_counterexample(dashboard, results, rubric):
    carl = (dashboard.parent / "carl" / "report.html").read_text()
    score = next(r.score for r in results if r.student == "carl")
    assert f"Score: <strong>{score:g} / {rubric.max_score:g}</strong>" in carl
    visible = [item for item in rubric.items if item.visibility != "hidden"]
    assert [m for m in re.findall(r'<section class="item" id="([^"]+)">', carl)] == [item.id for item in visible]
    assert "<h3>expected</h3>\n<pre>\n[[9, 8]]</pre>" in carl and "<h3>got</h3>\n<pre>\n[[1, 2]]</pre>" in carl
    assert "NameError: name &#x27;np&#x27; is not defined" in carl


def test_each_diagnosis_hint_is_said_once(dashboard, rubric):
    carl = (dashboard.parent / "carl" / "report.html").read_text()
    hint = rubric.hint("flipped_kernel")
    # Once in the check's output for the first item, once as the page's own line for the others.
    for item_id in ("conv_matrix.published", "conv_matrix.property", "theory.conv_matrix.entries"):
        assert section(carl, item_id).count(hint) == 1, item_id
    assert 'class="diagnosis"' not in section(carl, "conv_matrix.published")
    assert 'class="diagnosis"' in section(carl, "conv_matrix.property")


def test_hidden_items_are_one_summary_line(dashboard, rubric):
    ben = (dashboard.parent / "ben_jerry" / "report.html").read_text()
    hidden = [item for item in rubric.items if item.visibility == "hidden"]
    for item in hidden:
        assert item.id not in ben and item.name not in ben
    points = sum(item.points for item in hidden)
    assert f'<p class="hidden-summary">{len(hidden)} hidden items: {points - 1:g} / {points:g} points.</p>' in ben
    assert "hidden expected value" not in ben and "(hidden)" not in ben


def test_a_submission_problem_is_said_once_at_the_top(dashboard):
    fay = (dashboard.parent / "fay" / "report.html").read_text()
    assert fay.count("softmax.py, line 3: invalid syntax") == 1
    assert fay.index('<div class="problem"><strong>Submission problem:</strong> softmax.py, line 3') < fay.index("<section")
    assert escape(STOPPED) in section(fay, "softmax.softmax")
    # Under the problem, the items it stopped (the hidden one only counted, as in feedback.md).
    assert ('<p class="stopped">Not graded because of it: softmax.softmax (0 / 2), softmax.stability (0 / 1), '
            'softmax.cross_entropy (0 / 1), softmax.gradients (0 / 3).</p>') in fay


def test_a_problem_that_stopped_no_item_says_so(rubric, tmp_path):
    result = make_result("ada_lovelace", rubric)
    result.problems = [problem("missing", "model.pt", "model.pt was not submitted.")]
    write_html_reports([result], rubric, tmp_path)
    page = (tmp_path / "ada_lovelace" / "report.html").read_text()
    assert ('<p class="stopped">It stopped no item on its own: another problem above stopped the items that '
            'need it. Fix it too.</p>') in page


def test_same_results_give_identical_files(results, rubric, tmp_path):
    first = write_html_reports(results, rubric, tmp_path / "a").parent
    shuffled = random.Random(0).sample(results, len(results))
    second = write_html_reports(shuffled, rubric, tmp_path / "b").parent
    assert all_files(first) == all_files(second)
    assert not any(name.endswith(".partial") for name in all_files(first))


def test_a_name_that_would_leave_the_folder_is_refused(rubric, tmp_path):
    result = SubmissionResult("..", [], {}, "", "")
    with pytest.raises(ValueError, match="cannot name a report folder"):
        write_html_reports([result], rubric, tmp_path)


def test_a_problem_message_is_text_and_keeps_its_lines(rubric, tmp_path):
    message = f'{PAYLOAD}.py has a syntax error at line 2:\n    def f(x)\n            ^\nSyntaxError: expected \':\''
    result = make_result("ada_lovelace", rubric)
    result.problems = [problem("syntax", f"{PAYLOAD}.py", message)]
    dashboard = write_html_reports([result], rubric, tmp_path)
    for text in (dashboard.read_text(), (tmp_path / "ada_lovelace" / "report.html").read_text()):
        assert "<script" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;.py has a syntax error" in text
        assert "<pre>\n&lt;script&gt;alert(1)&lt;/script&gt;.py has a syntax error at line 2:\n    def f(x)\n            ^\n" in text
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;.py</td>" in dashboard.read_text()
