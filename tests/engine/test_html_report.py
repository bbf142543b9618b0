"""HTML reports: built from hand-made results, checked as text and in headless Chromium."""

import base64
import fcntl
import json
import os
import random
import select
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from grader.reports.html import HISTOGRAM_BINS, write_html_reports
from grader.results import ItemResult, SubmissionResult

CHROMIUM = Path("/usr/bin/chromium")
PAYLOAD = "<script>alert(1)</script>"
ISOLATION = {"process": True, "namespaces": True, "rlimits": {"RLIMIT_AS": 4294967296},
             "landlock": {"abi": 7, "tcp_denied": True}, "seccomp": False}

# student -> {item id: (status, output, diagnosis, counterexample)}; every other item passes.
FAILURES = {
    "ada_lovelace": {},
    "ben_jerry": {
        "softmax.stability": ("failed", f"Wrong values.\nYour code printed:\n{PAYLOAD}", "no_max_subtraction",
                              {"input": {"x": "array(2,) [1000, 1000]"}, "expected": "[0.5, 0.5]", "got": PAYLOAD}),
        "softmax.gradients_batch": ("failed", "Not passed.", None, {"expected": "a hidden expected value"}),
    },
    "carl": {
        "conv_matrix.published": ("failed", "Wrong values.", "flipped_kernel", {"expected": "[[9, 8]]", "got": "[[1, 2]]"}),
        "conv_matrix.property": ("failed", "Wrong values.", "flipped_kernel", None),
        "theory.conv_matrix.entries": ("failed", "Wrong entries.", "flipped_kernel", None),
        "mlp.forward": ("error", "NameError: name 'np' is not defined", None, None),
    },
    "dana": {
        "conv_matrix.published": ("failed", "Wrong values.", "column_major", None),
        "conv_matrix.property": ("failed", "Wrong values.", "flipped_kernel", None),
        **{i: ("missing", "focal_loss.py is missing.", None, None) for i in
           ("focal_loss.reweight_published", "focal_loss.reweight", "focal_loss.one_per_class",
            "focal_loss.focal", "focal_loss.long_tail")},
    },
}


def make_result_named(student: str, rubric) -> SubmissionResult:
    result = make_result("ada_lovelace", rubric)
    result.student = student
    return result


def make_result(student: str, rubric) -> SubmissionResult:
    items = []
    for item in rubric.items:
        status, output, diagnosis, counterexample = FAILURES[student].get(item.id, ("passed", "Passed.", None, None))
        items.append(ItemResult(item.id, item.name, item.points if status == "passed" else 0.0, item.points,
                                status, item.visibility, output, diagnosis, counterexample))
    return SubmissionResult(student, items, ISOLATION, "r" * 64, "s" * 64)


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
        return [a for tag, a, svg in self.elements if tag == "rect" and a.get("class") == "bar" and svg == f"chart {chart}"]


def all_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---- the files ---------------------------------------------------------------


def test_every_page_is_written(dashboard, results):
    assert dashboard.name == "report.html"
    assert sorted(all_files(dashboard.parent)) == sorted(["report.html", *(f"{r.student}/report.html" for r in results)])


def test_histogram_has_one_bar_per_bin_and_counts_every_student(dashboard, results, rubric):
    page = Page(dashboard)
    [svg] = [a for tag, a, _ in page.elements if tag == "svg" and a["class"] == "chart histogram"]
    assert svg["role"] == "img" and svg["aria-label"]
    bars = page.bars("histogram")
    assert len(bars) == HISTOGRAM_BINS
    # Out of 59 in bins 5.9 wide: dana 43 in the 8th, carl 49 in the 9th, ben 57 and ada 59 in the last.
    assert [int(b["data-count"]) for b in bars] == [0, 0, 0, 0, 0, 0, 0, 1, 1, 2]
    assert rubric.max_score == 59 and sorted(r.score for r in results) == [43, 49, 57, 59]


def test_pass_rate_has_one_bar_per_rubric_item(dashboard, rubric):
    page = Page(dashboard)
    bars = page.bars("pass-rate")
    assert [b["data-item"] for b in bars] == [item.id for item in rubric.items]
    rates = {b["data-item"]: float(b["data-rate"]) for b in bars}
    assert rates["conv_matrix.published"] == 0.5 and rates["focal_loss.focal"] == 0.75 and rates["mlp.backward"] == 1.0


def test_mistakes_table_counts_diagnoses_and_names_the_students(dashboard, rubric):
    text = dashboard.read_text()
    table = text[text.index('<table class="mistakes">'):]
    table = table[:table.index("</table>")]
    rows = table.split("<tr>")[2:]
    assert rows[0].startswith("<td>flipped_kernel</td>")  # the most frequent first
    assert "<td>4</td>" in rows[0] and 'href="carl/report.html"' in rows[0] and 'href="dana/report.html"' in rows[0]
    assert "ben" not in rows[0]
    assert rubric.mistake_hints["flipped_kernel"].split()[0] in rows[0]
    no_max = next(row for row in rows if "no_max_subtraction" in row)
    assert "<td>1</td>" in no_max and 'href="ben_jerry/report.html"' in no_max


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


def test_links_resolve_both_ways(dashboard, results):
    out = dashboard.parent
    students = [link for link in Page(dashboard).links if link.endswith("/report.html")]
    assert {unquote(link) for link in students} == {f"{r.student}/report.html" for r in results}
    for link in students:
        student_page = out / unquote(link)
        assert student_page.is_file()
        assert (student_page.parent / "../report.html").resolve() == dashboard.resolve()
        assert "../report.html" in Page(student_page).links


def test_student_page_shows_items_diagnosis_counterexample_and_isolation(dashboard, results, rubric):
    carl = (dashboard.parent / "carl" / "report.html").read_text()
    score = next(r.score for r in results if r.student == "carl")
    assert f"Score: <strong>{score:g} / {rubric.max_score:g}</strong>" in carl
    assert all(f'id="{item.id}"' in carl for item in rubric.items)
    assert "flipped_kernel" in carl and rubric.mistake_hints["flipped_kernel"][:30] in carl
    assert "<h3>expected</h3>\n<pre>\n[[9, 8]]</pre>" in carl and "<h3>got</h3>\n<pre>\n[[1, 2]]</pre>" in carl
    assert "NameError: name &#x27;np&#x27; is not defined" in carl
    assert '<table class="isolation">' in carl and "<th>landlock</th><td>abi: 7, tcp_denied: yes</td>" in carl


def test_hidden_item_says_only_whether_it_passed(dashboard):
    ben = (dashboard.parent / "ben_jerry" / "report.html").read_text()
    section = ben[ben.index('id="softmax.gradients_batch"'):]
    section = section[:section.index("</section>")]
    assert "Not passed." in section and "(hidden)" in section and "hidden expected value" not in ben


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


# ---- in a browser ------------------------------------------------------------


class Chromium:
    """Headless Chromium driven with the DevTools protocol over --remote-debugging-pipe
    (NUL-separated JSON on fds 3 and 4), so no websocket client is needed."""

    def __init__(self, profile: Path, log: Path):
        to_child, self._send_fd = os.pipe()
        self._recv_fd, from_child = os.pipe()

        def wire():  # through fds above 10 first, so that neither dup2 overwrites the other's source
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_child, from_child)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--remote-debugging-pipe", f"--user-data-dir={profile}", "--window-size=1200,900"]
        with open(log, "w") as stderr:
            self.process = subprocess.Popen([str(CHROMIUM), *flags, "about:blank"], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=stderr, pass_fds=(3, 4), preexec_fn=wire)
        os.close(to_child)
        os.close(from_child)
        self._buffer, self._id, self._events = b"", 0, []

    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._recv_fd], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._recv_fd, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params, **({"sessionId": session} if session else {})}
        os.write(self._send_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 20
        while True:
            answer = self._receive(deadline)
            if answer.get("id") == self._id:
                assert "error" not in answer, answer["error"]
                return answer["result"]
            self._events.append(answer)

    def _wait_for(self, method: str, session: str) -> None:
        deadline = time.monotonic() + 20
        while not any(e.get("method") == method and e.get("sessionId") == session for e in self._events):
            self._events.append(self._receive(deadline))

    def open(self, path: Path, measure: str) -> tuple[list[str], object, bytes]:
        """Load a page in a fresh tab: (console problems, the value of `measure`, a PNG screenshot)."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable", session)
        self._events.clear()
        self.call("Page.navigate", session, url=path.resolve().as_uri())
        self._wait_for("Page.loadEventFired", session)
        value = self.call("Runtime.evaluate", session, expression=measure, returnByValue=True)["result"].get("value")
        png = base64.b64decode(self.call("Page.captureScreenshot", session)["data"])
        problems = [problem for e in self._events if e.get("sessionId") == session for problem in console_problems(e)]
        self.call("Target.closeTarget", targetId=target)
        return problems, value, png

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.process.wait(10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            os.close(self._send_fd)
            os.close(self._recv_fd)


def console_problems(event: dict) -> list[str]:
    """What DevTools would show in red or yellow: uncaught exceptions, console.error/warn, failed loads."""
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        details = params["exceptionDetails"]
        return [f"uncaught: {details.get('exception', {}).get('description', details['text'])}"]
    if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning", "assert"):
        return [f"console.{params['type']}: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"])]
    if method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
        return [f"{params['entry']['source']}: {params['entry']['text']}"]
    if method == "Page.javascriptDialogOpening":
        return [f"dialog: {params['message']}"]
    return []


CHART_BOXES = """({
  charts: [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    const drawn = [...svg.querySelectorAll('rect.bar')].filter(r => r.getBoundingClientRect().height > 0 && r.getBoundingClientRect().width > 0);
    return {kind: svg.getAttribute('class'), width: box.width, height: box.height, drawn: drawn.length};
  }),
  text: document.body.innerText,
})"""


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium")
    folder = tmp_path_factory.mktemp("chromium")
    browser = Chromium(folder / "profile", folder / "stderr.log")
    yield browser
    browser.close()


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_the_console_check_catches_a_broken_page(chromium, tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text('<!DOCTYPE html><meta charset="utf-8"><img src="absent.png">'
                      '<script>console.error("boom")</script><script>nonexistent()</script>')
    problems, _, _ = chromium.open(broken, "1")
    assert any("nonexistent is not defined" in p for p in problems), problems
    assert any(p == "console.error: boom" for p in problems), problems
    assert any("ERR_FILE_NOT_FOUND" in p for p in problems), problems


def test_dashboard_renders_its_charts_in_chromium(chromium, dashboard, rubric):
    problems, page, png = chromium.open(dashboard, CHART_BOXES)
    assert problems == []
    charts = {chart["kind"]: chart for chart in page["charts"]}
    assert set(charts) == {"chart histogram", "chart pass-rate"}
    assert all(chart["width"] > 100 and chart["height"] > 100 for chart in charts.values()), charts
    assert charts["chart histogram"]["drawn"] == 3  # three bins hold somebody
    assert charts["chart pass-rate"]["drawn"] == len(rubric.items)  # every item is passed by someone
    assert "Most frequent mistakes" in page["text"] and "ben_jerry" in page["text"]
    assert png_size(png)[0] == 1200 and len(png) > 20_000


def test_student_page_renders_the_payload_as_text_in_chromium(chromium, dashboard):
    problems, page, png = chromium.open(dashboard.parent / "ben_jerry" / "report.html", CHART_BOXES)
    assert problems == []
    assert PAYLOAD in page["text"] and "Back to the class report" in page["text"]
    assert png_size(png)[0] == 1200
