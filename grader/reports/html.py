"""report.html: a class dashboard and one page per student, self-contained (inline CSS and SVG, no script).

Outputs, names and counterexamples come from student code, so every string from a result is
escaped, and each page's Content-Security-Policy forbids scripts and any outside resource.
"""

from __future__ import annotations

import math
import statistics
from html import escape
from pathlib import Path
from urllib.parse import quote

from grader.files import write_text_atomically
from grader.identity import report_folder
from grader.reports.feedback import finite, per_class, percent
from grader.results import ItemResult, SubmissionResult, shown_status
from grader.rubric import Rubric

HISTOGRAM_BINS = 10
PAGE = "report.html"

SERIES = 4  # colours for runs in the style sheet, reused in turn
_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }
pre { background: #f5f5f5; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.chart { display: block; margin: 1em 0; max-width: 100%; height: auto; }
.chart text { font: 11px sans-serif; fill: #333; }
.bar { fill: #4a7ab5; }
.pass-rate .bar { fill: #3d9970; }
.pass-rate .partial-share { fill: #f0a030; }
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


def _link(student: str) -> str:
    return f'<a href="{escape(quote(student, safe="") + "/" + PAGE)}">{escape(student)}</a>'


# ---- charts ------------------------------------------------------------------


def _svg(kind: str, label: str, width: int, height: int, parts: list[str]) -> str:
    return (f'<svg class="chart {kind}" role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">\n' + "\n".join(parts) + "\n</svg>")


def _bin_of(score: float, max_score: float) -> int:
    if max_score <= 0:
        return HISTOGRAM_BINS - 1
    # The small epsilon keeps a score exactly on an edge out of the bin below it.
    return max(0, min(HISTOGRAM_BINS - 1, math.floor(score * HISTOGRAM_BINS / max_score + 1e-9)))


def _histogram_svg(scores: list[float], max_score: float) -> str:
    counts = [0] * HISTOGRAM_BINS
    for score in scores:
        counts[_bin_of(score, max_score)] += 1
    width, height, left, bottom, bar = 520, 220, 30, 30, 46
    plot = height - bottom - 20
    tallest = max(counts, default=0) or 1
    step = max_score / HISTOGRAM_BINS
    parts = [f'<line x1="{left}" y1="{height - bottom}" x2="{left + bar * HISTOGRAM_BINS}" y2="{height - bottom}" stroke="#888"/>']
    for index, count in enumerate(counts):
        low, high = index * step, (index + 1) * step
        x, h = left + index * bar, round(plot * count / tallest, 1)
        y = height - bottom - h
        tip = f"{_number(low)} to {_number(high)} points: {count} student{'' if count == 1 else 's'}"
        parts.append(f'<rect class="bar" data-count="{count}" x="{x + 2}" y="{y}" width="{bar - 4}" height="{h}">'
                     f"<title>{escape(tip)}</title></rect>")
        if count:
            parts.append(f'<text x="{x + bar / 2}" y="{y - 4}" text-anchor="middle">{count}</text>')
    for index in range(0, HISTOGRAM_BINS + 1, 2):
        parts.append(f'<text x="{left + index * bar}" y="{height - bottom + 16}" text-anchor="middle">{_number(index * step)}</text>')
    label = f"Histogram of {len(scores)} scores out of {_number(max_score)}, in {HISTOGRAM_BINS} bins"
    return _svg("histogram", label, width, height, parts)


def _pass_rate_svg(results: list[SubmissionResult], rubric: Rubric) -> str:
    row, bar_width, gap = 20, 300, 4
    left = 12 + 7 * max((len(item.id) for item in rubric.items), default=0)
    width, height = left + bar_width + 150, row * len(rubric.items) + 10
    parts = []
    for index, item in enumerate(rubric.items):
        graded = [r.item(item.id) for r in results if any(i.id == item.id for i in r.items)]
        passed = sum(1 for i in graded if i.status == "passed")
        partial = sum(1 for i in graded if i.status == "partial")
        rate = passed / len(graded) if graded else 0.0
        share = partial / len(graded) if graded else 0.0
        y = 5 + index * row
        text = f"{passed}/{len(graded)} ({rate:.0%})" if graded else "not graded"
        more = f", {partial} partial" if partial else ""
        parts.append(f'<text x="{left - 6}" y="{y + row - 8}" text-anchor="end">{escape(item.id)}</text>')
        parts.append(f'<rect class="bar" data-item="{escape(item.id)}" data-rate="{rate:.4f}" x="{left}" y="{y + gap / 2}" '
                     f'width="{round(bar_width * rate, 1)}" height="{row - gap}"><title>{escape(f"{item.id}: {text} passed{more}")}</title></rect>')
        # Partial credit is not a pass; it gets its own segment after the passes.
        if partial:
            parts.append(f'<rect class="partial-share" data-item="{escape(item.id)}" data-rate="{share:.4f}" '
                         f'x="{left + bar_width * rate:.1f}" y="{y + gap / 2}" width="{round(bar_width * share, 1)}" '
                         f'height="{row - gap}"><title>{escape(f"{item.id}: {partial} partial")}</title></rect>')
        parts.append(f'<text x="{left + bar_width * (rate + share) + 5:.1f}" y="{y + row - 8}">{escape(text + more)}</text>')
    label = f"Share of students passing each of the {len(rubric.items)} items"
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


def _mistakes_table(results: list[SubmissionResult], rubric: Rubric) -> list[str]:
    seen: dict[str, list[tuple[str, str]]] = {}
    for result in results:
        for item in result.items:
            if item.diagnosis:
                seen.setdefault(item.diagnosis, []).append((result.student, item.id))
    if not seen:
        return ["<p>No mistake was diagnosed.</p>"]
    rows = ["<table class=\"mistakes\">", "<tr><th>mistake</th><th>hint</th><th>count</th><th>items</th><th>students</th></tr>"]
    for mistake, hits in sorted(seen.items(), key=lambda pair: (-len(pair[1]), pair[0])):
        students = sorted({student for student, _ in hits})
        items = sorted({item_id for _, item_id in hits})
        rows.append(f"<tr><td>{escape(mistake)}</td><td>{escape(rubric.hint(mistake))}</td>"
                    f"<td>{len(hits)}</td><td>{escape(', '.join(items))}</td>"
                    f"<td>{', '.join(_link(s) for s in students)}</td></tr>")
    return [*rows, "</table>"]


def _students_table(results: list[SubmissionResult], rubric: Rubric) -> list[str]:
    rows = ['<table class="students">', "<tr><th>student</th><th>score</th><th>items not passed</th></tr>"]
    for result in results:
        missed = ", ".join(item.id + (" (partial)" if item.status == "partial" else "")
                           for item in result.items if item.status != "passed") or "none"
        rows.append(f"<tr><td>{_link(result.student)}</td><td>{_number(result.score)} / {_number(rubric.max_score)}</td>"
                    f"<td>{escape(missed)}</td></tr>")
    return [*rows, "</table>"]


def _dashboard_html(results: list[SubmissionResult], rubric: Rubric) -> str:
    results = sorted(results, key=lambda r: r.student)
    scores = [r.score for r in results]
    summary = (f"{len(results)} students; mean {_number(statistics.mean(scores))}, "
               f"median {_number(statistics.median(scores))} out of {_number(rubric.max_score)}") if scores else "0 students"
    body = [
        f"<h1>{escape(rubric.title)}</h1>",
        f'<p class="summary">{escape(summary)}</p>',
        "<h2>Scores</h2>", _histogram_svg(scores, rubric.max_score),
        "<h2>Pass rate per item</h2>", _pass_rate_svg(results, rubric),
        "<h2>Most frequent mistakes</h2>", *_mistakes_table(results, rubric),
        "<h2>Students</h2>", *_students_table(results, rubric),
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
        f"{_number(item.score)} / {_number(item.max_score)} points"
        f"{'' if item.visibility == 'visible' else f' ({escape(item.visibility)})'}</p>",
    ]
    if item.output:
        lines.append(_pre(item.output))
    # A hidden item tells only whether it passed, whatever the result carries.
    if item.visibility != "hidden":
        if item.diagnosis:
            hint = rubric.hint(item.diagnosis)
            lines.append(f'<p class="diagnosis">Known mistake <strong>{escape(item.diagnosis)}</strong>'
                         f"{': ' + escape(hint) if hint else ''}</p>")
        for key, value in (item.counterexample or {}).items():
            text = "\n".join(f"{k} = {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
            lines += [f"<h3>{escape(str(key))}</h3>", _pre(text)]
        lines += _training_charts(item.details)
    return [*lines, "</section>"]


def _student_html(result: SubmissionResult, rubric: Rubric) -> str:
    body = [
        f'<p><a href="../{PAGE}">Back to the class report</a></p>',
        f"<h1>{escape(rubric.title)}: {escape(result.student)}</h1>",
        f'<p class="score">Score: <strong>{_number(result.score)} / {_number(result.max_score)}</strong></p>',
    ]
    for item in result.items:
        body += _item_section(item, rubric)
    body.append("<h2>Isolation</h2>")
    if result.isolation:
        body.append('<table class="isolation">')
        body += [f"<tr><th>{escape(str(k))}</th><td>{escape(_plain(v))}</td></tr>" for k, v in result.isolation.items()]
        body.append("</table>")
    else:
        body.append("<p>No isolation was recorded.</p>")
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
