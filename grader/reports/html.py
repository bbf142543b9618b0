"""report.html: a class dashboard for the instructor and one page per student, self-contained
(inline CSS and SVG, no script). The dashboard holds everything, hidden items and the isolation
included; a student's page shows hidden items only as one summary line (grader.reports.audience).

Outputs, names and counterexamples come from student code, so every string from a result is
escaped, and each page's Content-Security-Policy forbids scripts and any outside resource.
"""

from __future__ import annotations

import json
import math
import statistics
from html import escape
from pathlib import Path
from urllib.parse import quote

from grader.files import write_text_atomically
from grader.identity import report_folder
from grader.reports.audience import hidden_summary, stopped_note, student_items
from grader.reports.feedback import finite, per_class, percent
from grader.results import ItemResult, SubmissionResult, shown_status
from grader.rubric import Rubric

# At most; each bin is a whole number of points wide. The bins depend on the rubric only, never on
# the class's size: a small class shows more empty bins, but its chart reads on the same scale as
# any other class's, and a bin of a few points still tells scores apart.
HISTOGRAM_BINS = 10
PAGE = "report.html"

SERIES = 4  # colours for runs in the style sheet, reused in turn
# Pass-rate bands: (lowest rate, name, label). Red is an item to go over again in class.
BANDS = ((0.8, "high", "80% or more"), (0.5, "mid", "50% to 79%"), (0.0, "low", "below 50%"))
_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }
pre { background: #f5f5f5; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.chart { display: block; margin: 1em 0; max-width: 100%; height: auto; }
.chart text { font: 11px sans-serif; fill: #333; }
.bar { fill: #4a7ab5; }
.band-high { fill: #2e8b57; }
.band-mid { fill: #e0a000; }
.band-low { fill: #d03030; }
.chart .partial-share { fill-opacity: .35; }
.score, .count { white-space: nowrap; }
td.count { text-align: right; }
table.problems { border: 2px solid #c62828; }
div.problem { border-left: 4px solid #c62828; padding: .4em .8em; background: #fdf0f0; }
.series-0 { fill: #4a7ab5; stroke: #4a7ab5; }
.series-1 { fill: #e07b39; stroke: #e07b39; }
.series-2 { fill: #3d9970; stroke: #3d9970; }
.series-3 { fill: #8e5ea2; stroke: #8e5ea2; }
.chart polyline { fill: none; stroke-width: 2; }
.chart .axis, .chart .grid { stroke: #888; }
.chart .grid { stroke: #e4e4e4; }
.chart .tier { stroke: #b26a00; stroke-dasharray: 5 3; }
.chart text.tier-label { fill: #b26a00; }
.chart text.minority { font-weight: bold; }
.status-passed { color: #2e7d32; }
.status-partial { color: #b26a00; font-weight: bold; }
.status-failed, .status-error, .status-timeout, .status-missing { color: #c62828; font-weight: bold; }
section.item { border-top: 1px solid #ddd; margin-top: 1.5em; }
"""


def _number(value: float) -> str:
    return f"{round(value, 2):g}"


def _page(title: str, body: list[str]) -> str:
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
    ]
    return "\n".join([*head, *body, "</body>", "</html>"]) + "\n"


def _pre(text: str) -> str:
    # A parser drops the newline right after <pre>, so text that starts with one keeps it.
    return f"<pre>\n{escape(text)}</pre>"


def _message(text: str) -> str:
    """A problem's message: one line as text, several (a syntax error's caret) kept as they are."""
    return _pre(text) if "\n" in text.strip() else escape(text)


def _link(student: str) -> str:
    return f'<a href="{escape(quote(student, safe="") + "/" + PAGE)}">{escape(student)}</a>'


# ---- charts ------------------------------------------------------------------


def _svg(kind: str, label: str, width: int, height: int, parts: list[str]) -> str:
    return (f'<svg class="chart {kind}" role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">\n' + "\n".join(parts) + "\n</svg>")


def histogram_edges(max_score: float) -> list[int]:
    """Bin edges in whole points from 0 to max_score (rounded up to a whole point): at most HISTOGRAM_BINS
    bins, each ceil(max_score / HISTOGRAM_BINS) points wide but the last, which ends at the top score."""
    width = max(1, math.ceil(max_score / HISTOGRAM_BINS - 1e-9))
    edges = [index * width for index in range(max(1, math.ceil(max_score / width - 1e-9)) + 1)]
    edges[-1] = min(edges[-1], max(1, math.ceil(max_score - 1e-9)))
    return edges


def _bin_of(score: float, edges: list[int]) -> int:
    # The small epsilon keeps a score exactly on an edge out of the bin below it; the last bin holds its top edge.
    return max(0, min(len(edges) - 2, math.floor(score / (edges[1] - edges[0]) + 1e-9)))


def _histogram_svg(scores: list[float], max_score: float) -> str:
    edges = histogram_edges(max_score)
    bins = len(edges) - 1
    counts = [0] * bins
    for score in scores:
        counts[_bin_of(score, edges)] += 1
    width, height, left, bottom, plot_w = 520, 220, 30, 30, 460
    bar = plot_w / bins
    plot = height - bottom - 20
    tallest = max(counts, default=0) or 1
    parts = [f'<line x1="{left}" y1="{height - bottom}" x2="{left + plot_w}" y2="{height - bottom}" stroke="#888"/>']
    for index, count in enumerate(counts):
        low, high = edges[index], edges[index + 1]
        x, h = left + index * bar, round(plot * count / tallest, 1)
        y = height - bottom - h
        upto = f"{high}" if index == bins - 1 else f"under {high}"
        tip = f"{low} to {upto} points: {count} student{'' if count == 1 else 's'}"
        parts.append(f'<rect class="bar" data-count="{count}" data-low="{low}" data-high="{high}" x="{x + 2:.1f}" '
                     f'y="{y}" width="{bar - 4:.1f}" height="{h}"><title>{escape(tip)}</title></rect>')
        if count:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 4}" text-anchor="middle">{count}</text>')
    for index, edge in enumerate(edges):
        parts.append(f'<text class="edge" x="{left + index * bar:.1f}" y="{height - bottom + 16}" '
                     f'text-anchor="middle">{edge}</text>')
    label = f"Histogram of {len(scores)} scores out of {_number(max_score)}, in {bins} bin{'' if bins == 1 else 's'} of {edges[1]} points"
    if bins > 1 and edges[-1] - edges[-2] != edges[1]:
        label += f", the last {edges[-2]} to {edges[-1]}"
    return _svg("histogram", label, width, height, parts)


def band(rate: float) -> str:
    """The pass-rate band a rate falls in: high, mid or low."""
    return next(name for lowest, name, _ in BANDS if rate >= lowest)


def pass_rates(results: list[SubmissionResult], rubric: Rubric) -> list[tuple[str, int, int, int]]:
    """(item id, graded, passed, partial) per rubric item, the lowest pass rate first (ties in rubric
    order), items nobody was graded on last: the first rows are what to go over again."""
    rows = []
    for item in rubric.items:
        graded = [r.item(item.id) for r in results if any(i.id == item.id for i in r.items)]
        rows.append((item.id, len(graded), sum(i.status == "passed" for i in graded),
                     sum(i.status == "partial" for i in graded)))
    order = {item.id: index for index, item in enumerate(rubric.items)}
    return sorted(rows, key=lambda row: (row[1] == 0, row[2] / row[1] if row[1] else 0.0, order[row[0]]))


def _pass_rate_svg(results: list[SubmissionResult], rubric: Rubric) -> str:
    hidden = {item.id for item in rubric.items if item.visibility == "hidden"}
    rows = pass_rates(results, rubric)
    labels = {item_id: item_id + (" (hidden)" if item_id in hidden else "") for item_id, *_ in rows}
    row, bar_width, gap, top = 20, 300, 4, 26
    left = 12 + 7 * max((len(label) for label in labels.values()), default=0)
    width, height = max(left + bar_width + 150, 520), top + row * len(rows) + 10
    parts, x = [], 0.0
    for _, name, text in reversed(BANDS):  # the legend: low to high, then partial credit
        parts.append(f'<rect class="swatch band-{name}" x="{x:.1f}" y="6" width="10" height="10"/>'
                     f'<text x="{x + 14:.1f}" y="15">{escape(text)}</text>')
        x += 30 + 6.5 * len(text)
    parts.append(f'<rect class="swatch band-low partial-share" x="{x:.1f}" y="6" width="10" height="10"/>'
                 f'<text x="{x + 14:.1f}" y="15">partial credit (lighter)</text>')
    for index, (item_id, graded, passed, partial) in enumerate(rows):
        rate = passed / graded if graded else 0.0
        share = partial / graded if graded else 0.0
        y, name = top + index * row, band(rate)
        text = f"{passed}/{graded} ({rate:.0%})" if graded else "not graded"
        more = f", {partial} partial" if partial else ""
        parts.append(f'<text x="{left - 6}" y="{y + row - 8}" text-anchor="end">{escape(labels[item_id])}</text>')
        parts.append(f'<rect class="bar band-{name}" data-item="{escape(item_id)}" data-rate="{rate:.4f}" '
                     f'data-band="{name}" x="{left}" y="{y + gap / 2}" width="{round(bar_width * rate, 1)}" '
                     f'height="{row - gap}"><title>{escape(f"{item_id}: {text} passed{more}")}</title></rect>')
        # Partial credit is not a pass; it gets its own, lighter segment after the passes.
        if partial:
            parts.append(f'<rect class="partial-share band-{name}" data-item="{escape(item_id)}" data-rate="{share:.4f}" '
                         f'x="{left + bar_width * rate:.1f}" y="{y + gap / 2}" width="{round(bar_width * share, 1)}" '
                         f'height="{row - gap}"><title>{escape(f"{item_id}: {partial} partial")}</title></rect>')
        parts.append(f'<text x="{left + bar_width * (rate + share) + 5:.1f}" y="{y + row - 8}">{escape(text + more)}</text>')
    label = f"Share of students passing each of the {len(rows)} items, the lowest first"
    return _svg("pass-rate", label, width, height, parts)


def _legend(labels: list[str], x: float, y: float) -> list[str]:
    parts = []
    for index, label in enumerate(labels):
        parts.append(f'<rect class="swatch series-{index % SERIES}" x="{x:.1f}" y="{y - 9}" width="10" height="10"/>'
                     f'<text x="{x + 14:.1f}" y="{y}">{escape(label)}</text>')
        x += 34 + 6.5 * len(label)
    return parts


def _loss_svg(curves: dict[str, list[float]]) -> str:
    width, height, left, top, plot_w, plot_h = 560, 260, 60, 30, 470, 180
    epochs = max(len(curve) for curve in curves.values())
    low = min(min(curve) for curve in curves.values())
    high = max(max(curve) for curve in curves.values())
    if high - low < 1e-12:
        low, high = low - 1, high + 1

    def x(index: int) -> float:
        return left + (plot_w * index / (epochs - 1) if epochs > 1 else plot_w / 2)

    def y(value: float) -> float:
        return top + plot_h * (high - value) / (high - low)

    bottom = top + plot_h
    parts = [f'<line class="axis" x1="{left}" y1="{bottom}" x2="{left + plot_w}" y2="{bottom}"/>',
             f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{bottom}"/>']
    for value in (low, (low + high) / 2, high):
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value:.3g}</text>')
    for index in sorted({0, (epochs - 1) // 2, epochs - 1}):
        parts.append(f'<text x="{x(index):.1f}" y="{bottom + 15}" text-anchor="middle">{index + 1}</text>')
    parts += [f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle">epoch</text>',
              f'<text x="14" y="{top + plot_h / 2}" text-anchor="middle" transform="rotate(-90 14 {top + plot_h / 2})">loss</text>']
    for index, (label, curve) in enumerate(curves.items()):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(curve))
        tip = f"{label}: loss {curve[0]:.4g} after epoch 1, {curve[-1]:.4g} after epoch {len(curve)}"
        parts.append(f'<polyline class="series-{index % SERIES}" data-run="{escape(label)}" points="{points}">'
                     f"<title>{escape(tip)}</title></polyline>")
        if len(curve) == 1:  # a line of one point draws nothing
            parts.append(f'<circle class="series-{index % SERIES}" cx="{x(0):.1f}" cy="{y(curve[0]):.1f}" r="3"/>')
    parts += _legend(list(curves), left, 16)
    return _svg("loss-curve", f"Training loss per epoch for {', '.join(curves)}", width, height, parts)


def _accuracy_svg(classes: list[str], runs: dict[str, list[float | None]], counts: list[int] | None,
                  minority: set[int], tiers: list[tuple[float, float, bool]]) -> str:
    group = min(60.0, max(16.0, 600 / len(classes)))
    bar = group * 0.8 / len(runs)
    shorts = [name if len(name) <= 16 else name[:15] + "\u2026" for name in classes]
    # Names wider than their group are slanted, so that they do not overlap.
    tilted = 6.5 * max(len(short) + 1 for short in shorts) > group
    left, top, plot_h = 90 if tilted else 45, 30, 180
    plot_w = group * len(classes)
    width, height = round(left + plot_w + 130), top + plot_h + (100 if tilted else 45)
    bottom = top + plot_h

    def y(value: float) -> float:
        return bottom - plot_h * value

    parts = []
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts += [f'<line class="{"axis" if tick == 0 else "grid"}" x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w:.1f}" y2="{y(tick):.1f}"/>',
                  f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:.0%}</text>']
    for c, (name, short) in enumerate(zip(classes, shorts)):
        cx, ty = left + group * (c + 0.5), bottom + 15
        mark = ' class="minority"' if c in minority else ""
        turn = f' transform="rotate(-45 {cx:.1f} {ty})"' if tilted else ""
        parts.append(f'<text{mark} x="{cx:.1f}" y="{ty}" text-anchor="{"end" if tilted else "middle"}"{turn}>'
                     f'{escape(short + ("*" if c in minority else ""))}</text>')
        for r, (label, values) in enumerate(runs.items()):
            if values[c] is None:
                continue
            value = min(max(values[c], 0.0), 1.0)
            tip = f"{name}, {label}: {percent(value)}" + (f" ({counts[c]} training images)" if counts else "")
            parts.append(f'<rect class="bar series-{r % SERIES}" data-run="{escape(label)}" data-class="{c}" '
                         f'data-value="{value:.4f}" x="{left + group * (c + 0.1) + bar * r:.1f}" y="{y(value):.1f}" '
                         f'width="{bar:.1f}" height="{plot_h * value:.1f}"><title>{escape(tip)}</title></rect>')
    for above, points, reached in tiers:
        text = f"above {percent(above)}: {points:g} pt, {'reached' if reached else 'not reached'}"
        parts.append(f'<line class="tier" data-above="{above:.4f}" x1="{left}" y1="{y(above):.1f}" x2="{left + plot_w:.1f}" '
                     f'y2="{y(above):.1f}"><title>{escape("overall accuracy " + text)}</title></line>')
        parts.append(f'<text class="tier-label" x="{left + plot_w + 4:.1f}" y="{y(above) + 4:.1f}">'
                     f"{escape(f'{percent(above)}: {points:g} pt')}</text>")
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">class</text>')
    parts += _legend(list(runs), left, 16)
    return _svg("per-class", f"Test accuracy per class for {', '.join(runs)}", width, height, parts)


def _balanced_note(runs: dict) -> str:
    """Each run's balanced accuracy and minority accuracy, where its details hold readable ones."""
    shown = []
    for label, run in runs.items():
        balanced = finite(run.get("balanced_accuracy")) if isinstance(run, dict) else None
        if balanced is None or not 0 <= balanced <= 1:
            continue
        rare = finite(run.get("minority_accuracy"))
        shown.append(f"{label} {percent(balanced)}" + (f" (minority classes {percent(rare)})" if rare is not None and 0 <= rare <= 1 else ""))
    if len(shown) < 2:  # one run's figure is already its chart
        return ""
    return f'<p class="note balanced">Balanced accuracy, the mean over the classes: {escape("; ".join(shown))}.</p>'


def _training_charts(details) -> list[str]:
    """Loss curves and accuracy per class from an item's details, each value checked first."""
    data = per_class(details)
    if data is None or not data[1]:
        return []
    classes, runs, counts = data
    curves = {}
    for label, run in details["runs"].items():
        curve = run.get("loss_curve") if isinstance(run, dict) else None
        values = [finite(v) for v in curve] if isinstance(curve, list) else []
        if values and None not in values:
            curves[str(label)] = values
    minority = {c for c in details.get("minority") or [] if type(c) is int and 0 <= c < len(classes)}
    tiers = []
    for tier in details.get("tiers") or []:
        above = finite(tier.get("above")) if isinstance(tier, dict) else None
        if above is not None and 0 <= above <= 1:
            tiers.append((above, finite(tier.get("points")) or 0.0, tier.get("reached") is True))
    lines = []
    if curves:
        lines += ["<h3>Training loss</h3>", _loss_svg(curves)]
    lines += ["<h3>Test accuracy per class</h3>", _accuracy_svg(classes, runs, counts, minority, tiers)]
    if minority:
        lines.append('<p class="note">Classes marked * are the minority classes: the rarer half of the training data.</p>')
    balanced = _balanced_note(details["runs"])
    if balanced:
        lines.append(balanced)
    if tiers:
        lines.append('<p class="note">Dashed lines: the overall accuracy each tier asks for.</p>')
    return lines


# ---- the dashboard -----------------------------------------------------------


def _problems_section(results: list[SubmissionResult]) -> list[str]:
    rows = [(result.student, problem) for result in results for problem in result.problems]
    lines = ["<h2>Submission problems</h2>"]
    if not rows:
        return [*lines, '<p class="no-problems">None: every submission was read and imported.</p>']
    lines += ['<table class="problems">', "<tr><th>student</th><th>problem</th><th>file</th><th>message</th></tr>"]
    for student, problem in rows:
        lines.append(f"<tr><td>{_link(student)}</td><td>{escape(str(problem['kind']))}</td>"
                     f"<td>{escape(str(problem['file'] or ''))}</td><td>{_message(str(problem['message']))}</td></tr>")
    return [*lines, "</table>"]


def mistakes(results: list[SubmissionResult]) -> dict[str, tuple[list[str], list[str]]]:
    """Each diagnosed mistake -> (the students who made it, the items it failed as 'student: item')."""
    seen: dict[str, tuple[list[str], list[str]]] = {}
    for result in results:
        for item in result.items:
            if item.diagnosis:
                students, items = seen.setdefault(item.diagnosis, ([], []))
                if result.student not in students:
                    students.append(result.student)
                items.append(item.id)
    return seen


def _mistakes_table(results: list[SubmissionResult], rubric: Rubric) -> list[str]:
    seen = mistakes(results)
    if not seen:
        return ["<p>No mistake was diagnosed.</p>"]
    rows = ['<table class="mistakes">', '<tr><th>mistake</th><th>hint</th><th class="count">students</th>'
            '<th class="count">failed items</th><th>items</th><th>who</th></tr>']
    # Ranked by how many students made it: one student failing four items of it is one student to talk to.
    for mistake, (students, items) in sorted(seen.items(), key=lambda pair: (-len(pair[1][0]), -len(pair[1][1]), pair[0])):
        rows.append(f"<tr><td>{escape(mistake)}</td><td>{escape(rubric.hint(mistake))}</td>"
                    f'<td class="count students">{len(students)}</td><td class="count items">{len(items)}</td>'
                    f"<td>{escape(', '.join(sorted(set(items))))}</td>"
                    f"<td>{', '.join(_link(s) for s in sorted(students))}</td></tr>")
    return [*rows, "</table>"]


def _students_table(results: list[SubmissionResult], rubric: Rubric) -> list[str]:
    rows = ['<table class="students">', "<tr><th>student</th><th>score</th><th>items not passed</th></tr>"]
    for result in results:
        if result.has_problem:
            missed = "submission problem: " + ", ".join(sorted({str(p["kind"]) for p in result.problems}))
        else:
            missed = ", ".join(item.id + (" (partial)" if item.status == "partial" else "")
                               for item in result.items if item.status != "passed") or "none"
        rows.append(f'<tr><td>{_link(result.student)}</td><td class="score">{_number(result.score)} / '
                    f"{_number(rubric.max_score)}</td><td>{escape(missed)}</td></tr>")
    return [*rows, "</table>"]


def _isolation_section(results: list[SubmissionResult]) -> list[str]:
    """The isolation each submission was graded under: the grader's own settings, for the instructor only."""
    groups: dict[str, tuple[dict, list[str]]] = {}
    for result in results:
        key = json.dumps(result.isolation, sort_keys=True, default=str)
        groups.setdefault(key, (result.isolation, []))[1].append(result.student)
    lines = ["<h2>Isolation</h2>"]
    for isolation, students in groups.values():
        who = "every submission" if len(groups) == 1 else ", ".join(students)
        if not isolation:
            lines.append(f"<p>No isolation was recorded for {escape(who)}.</p>")
            continue
        lines += [f"<p>Graded with, for {escape(who)}:</p>", '<table class="isolation">']
        lines += [f"<tr><th>{escape(str(k))}</th><td>{escape(_plain(v))}</td></tr>" for k, v in isolation.items()]
        lines.append("</table>")
    return lines


def _dashboard_html(results: list[SubmissionResult], rubric: Rubric) -> str:
    results = sorted(results, key=lambda r: r.student)
    # A submission with a problem was not judged on its answers: it is listed first and counted apart.
    graded = [r for r in results if not r.has_problem]
    scores = [r.score for r in graded]
    stopped = len(results) - len(graded)
    summary = f"{len(results)} student{'' if len(results) == 1 else 's'}"
    if stopped:
        summary += (f": {len(graded)} graded, {stopped} with a submission problem (listed first, and left out of "
                    f"the score histogram, the pass rates and the mistakes)")
    if scores:
        summary += (f"; mean {_number(statistics.mean(scores))}, median {_number(statistics.median(scores))} "
                    f"out of {_number(rubric.max_score)}" + (f" over the {len(graded)} graded" if stopped else ""))
    body = [
        f"<h1>{escape(rubric.title)}</h1>",
        f'<p class="summary">{escape(summary)}.</p>',
        *_problems_section(results),
        "<h2>Scores</h2>", _histogram_svg(scores, rubric.max_score),
        "<h2>Pass rate per item, the lowest first</h2>",
        f'<p class="note">Of the {len(graded)} graded submissions. The colour repeats the pass rate printed beside '
        f"each bar.</p>",
        _pass_rate_svg(graded, rubric),
        "<h2>Most frequent mistakes</h2>", *_mistakes_table(graded, rubric),
        "<h2>Students</h2>", *_students_table(results, rubric),
        *_isolation_section(results),
    ]
    return _page(f"{rubric.title}: class report", body)


# ---- one student -------------------------------------------------------------


def _plain(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_plain(inner)}" for key, inner in value.items())
    return str(value)


def _item_section(item: ItemResult, rubric: Rubric) -> list[str]:
    lines = [
        f'<section class="item" id="{escape(item.id)}">',
        f"<h2>{escape(item.id)}: {escape(item.name)}</h2>",
        f'<p><span class="status-{escape(shown_status(item))}">{escape(shown_status(item))}</span>, '
        f"{_number(item.score)} / {_number(item.max_score)} points</p>",
    ]
    if item.output:
        lines.append(_pre(item.output))
    if item.diagnosis:
        hint = rubric.hint(item.diagnosis)
        # A check writes the mistake and its hint into the output already; the hint is said once per item,
        # so that each item's section reads on its own (a student works through them one at a time).
        if f"known mistake ({item.diagnosis})" not in item.output and not (hint and hint in item.output):
            lines.append(f'<p class="diagnosis">Known mistake <strong>{escape(item.diagnosis)}</strong>'
                         f"{': ' + escape(hint) if hint else ''}</p>")
    for key, value in (item.counterexample or {}).items():
        text = "\n".join(f"{k} = {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
        lines += [f"<h3>{escape(str(key))}</h3>", _pre(text)]
    lines += _training_charts(item.details)
    return [*lines, "</section>"]


def _student_html(result: SubmissionResult, rubric: Rubric) -> str:
    """The page a student may read: no hidden item by name, none of the grader's own settings."""
    # No link back to the dashboard: a forwarded page would hold a dead link, and a served folder would
    # put every classmate's score one click away. The dashboard links to the students, not the reverse.
    body = [
        f"<h1>{escape(rubric.title)}: {escape(result.student)}</h1>",
        f'<p class="score">Score: <strong>{_number(result.score)} / {_number(result.max_score)}</strong></p>',
    ]
    for problem in result.problems:
        note = stopped_note(result, problem)
        body.append(f'<div class="problem"><strong>Submission problem:</strong> {_message(str(problem["message"]))}'
                    + (f'<p class="stopped">{escape(note)}</p>' if note else "") + "</div>")
    for item in student_items(result):
        body += _item_section(item, rubric)
    count, points, score = hidden_summary(result)
    if count:
        body += ["<h2>Hidden items</h2>",
                 f'<p class="hidden-summary">{count} hidden item{"" if count == 1 else "s"}: '
                 f"{_number(score)} / {_number(points)} points.</p>"]
    return _page(f"{rubric.title}: {result.student}", body)


# ---- files -------------------------------------------------------------------


def write_html_reports(results: list[SubmissionResult], rubric: Rubric, out: Path) -> Path:
    """Write out/report.html (class dashboard) and out/<student>/report.html (one page per student); return the dashboard path."""
    out = Path(out)
    folders = {result.student: report_folder(out, result.student) for result in results}
    for result in results:
        folders[result.student].mkdir(parents=True, exist_ok=True)
        write_text_atomically(folders[result.student] / PAGE, _student_html(result, rubric))
    # The dashboard comes last, so that every page it links to already exists.
    out.mkdir(parents=True, exist_ok=True)
    dashboard = out / PAGE
    write_text_atomically(dashboard, _dashboard_html(results, rubric))
    return dashboard
