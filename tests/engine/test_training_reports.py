"""Reports for training items: loss curves and accuracy per class, drawn from hand-made details."""

import json
from html.parser import HTMLParser

import pytest

from grader.checks.training import per_class_table
from grader.gradescope import to_results_json
from grader.reports.feedback import feedback_markdown
from grader.reports.html import write_html_reports
from grader.results import ItemResult, SubmissionResult, result_from_dict
from tests.engine.chromium import CHART_BOXES, chromium, png_size  # noqa: F401 (a fixture)

HOSTILE = "<script>alert(1)</script>"
CLASSES = [str(d) for d in range(10)]
TRAIN_RUN = {"accuracy": 0.9, "per_class": [0.95, 0.99, 0.9, 0.85, 0.9, 0.8, 0.95, 0.9, 0.85, 0.91],
             "loss_curve": [2.1, 0.9, 0.5, 0.31], "non_finite_outputs": 0}
TIERS = [{"above": 0.6, "points": 2, "reached": True}, {"above": 0.8, "points": 2, "reached": True},
         {"above": 0.95, "points": 2, "reached": False}]
COMPARE_CLASSES = ["plane", "car", HOSTILE, "cat", 'a "quoted" & long class name that goes on']
COMPARE_RUNS = {
    "cross-entropy": {"accuracy": 0.7, "balanced_accuracy": 0.57, "minority_accuracy": 0.15,
                      "per_class": [0.9, 0.85, 0.2, 0.1, 0.8], "loss_curve": [1.6, 1.2, 1.0, 0.9, 0.85], "non_finite_outputs": 0},
    "your loss": {"accuracy": 0.74, "balanced_accuracy": 0.686, "minority_accuracy": 0.48,
                  "per_class": [0.88, 0.8, 0.55, 0.41, 0.79], "loss_curve": [0.9, 0.6, 0.5, 0.45, 0.42], "non_finite_outputs": 0},
}


def training_item(rubric, mode: str):
    return next(item for item in rubric.items if item.kind == "training" and item.mode == mode)


def make_items(rubric) -> list[ItemResult]:
    train, checkpoint, compare = (training_item(rubric, mode) for mode in ("train", "checkpoint", "compare"))
    common = {"device": "cpu", "parameters": 19626, "recipe": {"optimizer": "sgd", "lr": 0.05, "epochs": 4}}
    return [
        ItemResult(train.id, train.name, 4.0, 6.0, "partial", "visible", "Test accuracy 90.0%.", details={
            **common, "classes": CLASSES, "runs": {"train": TRAIN_RUN}, "tiers": TIERS}),
        ItemResult(checkpoint.id, checkpoint.name, 3.0, 3.0, "passed", "visible", "Loaded.", details={
            **common, "classes": CLASSES, "runs": {"checkpoint": {**TRAIN_RUN, "loss_curve": []}},
            "tiers": [{"above": 0.9, "points": 3, "reached": True}]}),
        ItemResult(compare.id, compare.name, 4.0, 4.0, "passed", "visible", "Your loss helps.", details={
            **common, "classes": COMPARE_CLASSES, "train_counts": [500, 500, 20, 10, 500], "minority": [2, 3],
            "runs": COMPARE_RUNS, "gain": 0.116, "margin": 0.08, "floor": 0.3, "minority_gain": 0.33}),
    ]


@pytest.fixture(scope="module")
def result(rubric):
    return SubmissionResult("erin", make_items(rubric), {}, "r" * 64, "s" * 64)


@pytest.fixture(scope="module")
def page(result, rubric, tmp_path_factory):
    return write_html_reports([result], rubric, tmp_path_factory.mktemp("reports")).parent / "erin" / "report.html"


class Sections(HTMLParser):
    """Per item section: every element inside it as (tag, attrs, class of the enclosing svg), and its svg text."""

    def __init__(self, text: str):
        super().__init__()
        self.items, self.svg_text, self._item, self._svg = {}, {}, None, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self._item = attrs["id"]
            self.items[self._item], self.svg_text[self._item] = [], []
        if tag == "svg":
            self._svg = attrs["class"]
        if self._item:
            self.items[self._item].append((tag, attrs, self._svg))

    def handle_endtag(self, tag):
        if tag == "svg":
            self._svg = None
        if tag == "section":
            self._item = None

    def handle_data(self, data):
        if self._item and self._svg:
            self.svg_text[self._item].append(data)

    def find(self, item: str, tag: str, chart: str, cls: str) -> list[dict]:
        return [a for t, a, svg in self.items[item] if t == tag and svg == f"chart {chart}" and cls in a.get("class", "").split()]


def test_loss_curves_have_one_polyline_per_run_with_a_point_per_epoch(page, rubric):
    sections = Sections(page.read_text())
    [train] = sections.find(training_item(rubric, "train").id, "polyline", "loss-curve", "series-0")
    assert train["data-run"] == "train" and len(train["points"].split()) == len(TRAIN_RUN["loss_curve"])
    compare = training_item(rubric, "compare").id
    lines = [a for t, a, svg in sections.items[compare] if t == "polyline"]
    assert [a["data-run"] for a in lines] == list(COMPARE_RUNS) and all(len(a["points"].split()) == 5 for a in lines)
    # Epochs run left to right; a lower loss is drawn higher up.
    points = [tuple(map(float, p.split(","))) for p in train["points"].split()]
    assert [x for x, _ in points] == sorted(x for x, _ in points) and [y for _, y in points] == sorted(y for _, y in points)
    assert {"epoch", "loss"} <= set(sections.svg_text[compare])


def test_a_checkpoint_has_no_loss_curve_but_its_accuracy_chart(page, rubric):
    checkpoint = training_item(rubric, "checkpoint").id
    sections = Sections(page.read_text())
    assert not any(t == "polyline" or svg == "chart loss-curve" for t, _, svg in sections.items[checkpoint])
    assert len(sections.find(checkpoint, "rect", "per-class", "bar")) == len(CLASSES)


def test_accuracy_chart_has_a_bar_per_class_and_run_and_the_tier_lines(page, rubric):
    sections = Sections(page.read_text())
    train = training_item(rubric, "train").id
    bars = sections.find(train, "rect", "per-class", "bar")
    assert [float(b["data-value"]) for b in bars] == TRAIN_RUN["per_class"]
    assert [float(line["data-above"]) for line in sections.find(train, "line", "per-class", "tier")] == [0.6, 0.8, 0.95]
    assert all(name in sections.svg_text[train] for name in CLASSES) and "100%" in sections.svg_text[train]
    compare = training_item(rubric, "compare").id
    bars = sections.find(compare, "rect", "per-class", "bar")
    assert len(bars) == len(COMPARE_CLASSES) * len(COMPARE_RUNS)
    for label, run in COMPARE_RUNS.items():
        assert [float(b["data-value"]) for b in bars if b["data-run"] == label] == run["per_class"]
    assert not sections.find(compare, "line", "per-class", "tier")


def test_minority_classes_are_marked_and_names_escaped(page, rubric):
    text = page.read_text()
    assert "<script" not in text.lower() and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    compare = training_item(rubric, "compare").id
    sections = Sections(text)
    marked = [a for t, a, svg in sections.items[compare] if t == "text" and a.get("class") == "minority"]
    assert len(marked) == 2
    assert "cat*" in sections.svg_text[compare] and "Classes marked * are the minority classes" in text
    assert "a &quot;quoted&quot; &amp; long class name that goes on" in text  # whole in the bar's tooltip


def test_a_comparison_states_each_runs_balanced_accuracy(page, rubric):
    text = page.read_text()
    assert ('<p class="note balanced">Balanced accuracy, the mean over the classes: cross-entropy 57.0% '
            '(minority classes 15.0%); your loss 68.6% (minority classes 48.0%).</p>') in text
    assert text.count('class="note balanced"') == 1, "a single run's balanced accuracy is its chart's"


def test_partial_status_is_styled_and_not_counted_as_passed(page, rubric):
    text = page.read_text()
    assert '<span class="status-partial">partial</span>, 4 / 6 points' in text and ".status-partial {" in text
    dashboard = (page.parent.parent / "report.html").read_text()
    train = training_item(rubric, "train").id
    assert f'<rect class="bar band-low" data-item="{train}" data-rate="0.0000"' in dashboard
    assert f'<rect class="partial-share band-low" data-item="{train}" data-rate="1.0000"' in dashboard
    assert f"{train} (partial)" in dashboard


def test_the_page_is_the_same_from_result_json(result, rubric, page, tmp_path):
    again = result_from_dict(json.loads(result.to_json()))
    assert write_html_reports([again], rubric, tmp_path).parent.joinpath("erin", "report.html").read_text() == page.read_text()


def test_unreadable_numbers_are_left_out_not_drawn(rubric, tmp_path):
    details = {"classes": ["a", "b", "c", "d"], "minority": [3, 9, "x"],
               "runs": {"train": {"per_class": [0.5, float("nan"), "0.2", True], "loss_curve": [1.0, float("inf")]},
                        "broken": "not a run"},
               "tiers": [{"above": float("nan")}, {"above": 2}, "junk", {"above": 0.5, "points": "2"}]}
    item = ItemResult("x.y", "x", 0.0, 1.0, "failed", "visible", "", details=details)
    hidden = ItemResult("x.hidden", "h", 0.0, 1.0, "failed", "hidden", "Not passed.", details=details)
    out = write_html_reports([SubmissionResult("f", [item, hidden], {}, "", "")], rubric, tmp_path).parent
    text = (out / "f" / "report.html").read_text()
    sections = Sections(text)
    assert [b["data-value"] for b in sections.find("x.y", "rect", "per-class", "bar")] == ["0.5000"]
    assert not any(t == "polyline" for t, _, _ in sections.items["x.y"])
    assert [line["data-above"] for line in sections.find("x.y", "line", "per-class", "tier")] == ["0.5000"]
    assert "x.hidden" not in sections.items and text.count("<svg") == 1  # a hidden item is only counted, never drawn


def test_feedback_shows_the_per_class_table_once_as_the_output_holds_it(result, rubric):
    assert "PARTIAL (4 / 6)" in feedback_markdown(result, "Assignment")
    compare = result.items[2]
    table = per_class_table(COMPARE_CLASSES, COMPARE_RUNS, compare.details["train_counts"])
    shown = ItemResult(compare.id, compare.name, 4.0, 4.0, "passed", "visible", "Accuracy per class:\n" + table,
                       details=compare.details)
    text = feedback_markdown(SubmissionResult("erin", [shown], {}, "", ""), "Assignment")
    assert text.count("Accuracy per class") == 1 and text.count("plane") == 1 and table in text


def test_the_per_class_table_names_what_each_column_holds():
    runs = {"cross-entropy": {"per_class": [0.9, 0.2]}, "your loss": {"per_class": [0.88, 0.55]}}
    rows = per_class_table(["plane", "cat"], runs, [500, 20]).splitlines()
    assert rows[0].split("  ") == ["class", "training images", "cross-entropy", "your loss"]
    assert rows[2].split() == ["cat", "20", "20.0%", "55.0%"]
    assert per_class_table(["plane"], {"accuracy": {"per_class": [0.9]}}).splitlines()[0].split() == ["class", "accuracy"]


def test_gradescope_fails_a_partial_item_but_keeps_its_points(result, rubric):
    data = to_results_json(result, rubric, 1.0)
    test = next(t for t in data["tests"] if t["number"] == training_item(rubric, "train").id)
    assert test["status"] == "failed" and test["score"] == 4.0 and test["extra_data"] == {"status": "partial"}
    assert data["score"] == 11.0


def test_training_charts_render_in_chromium(chromium, page):  # noqa: F811 (the fixture)
    measure = CHART_BOXES.replace("text: document.body.innerText",
                                  "text: [...document.querySelectorAll('svg text, svg title')].map(t => t.textContent).join('|')")
    problems, seen, png = chromium.open(page, measure)
    assert problems == []
    charts = seen["charts"]
    assert [c["kind"] for c in charts] == ["chart loss-curve", "chart per-class", "chart per-class",
                                           "chart loss-curve", "chart per-class"]
    assert all(c["width"] > 300 and c["height"] > 150 for c in charts), charts
    assert [c["drawn"] for c in charts if c["kind"] == "chart per-class"] == [10, 10, 10]
    # The name is text in the chart: cut short on the axis, whole in the bar's tooltip.
    assert "|<script>alert(1…*|" in seen["text"] and f"{HOSTILE}, your loss: 55.0%" in seen["text"]
    assert png_size(png)[0] == 1200
