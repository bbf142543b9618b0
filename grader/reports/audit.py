"""A rubric audit's report: a table in the terminal, audit.json and audit.html.

Everything here comes from the rubric and the reference, none from student code,
but the page is escaped and script-free all the same.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from grader.audit import AuditReport, ItemAudit
from grader.files import write_text_atomically
from grader.reports.html import _page

TOP_KILLERS = 5


def _ratio(killed: int, total: int) -> str:
    return f"{killed}/{total} ({killed / total:.0%})" if total else "-"


def item_status(report: AuditReport, item: ItemAudit) -> str:
    if item.not_audited:
        return f"not audited: {item.not_audited}"
    if item.broken:
        return f"BROKEN: the reference scores {item.reference_score:g}/{item.max_score:g} ({item.reference_status})"
    if item in report.useless_items():
        return "useless: kills no mutant"
    if not item.graded:
        return "ok (no mutant changes the files it reads)"
    return "ok"


def top_killers(report: AuditReport) -> list[ItemAudit]:
    return sorted((i for i in report.items if i.kills), key=lambda i: (-i.kills, i.id))[:TOP_KILLERS]


def _killers(report: AuditReport, target: str, count: int = 2) -> str:
    return ", ".join(f"{item_id} ({kills})" for item_id, kills in report.killers(target)[:count]) or "-"


def verdict_lines(report: AuditReport) -> list[str]:
    """Why the audit fails, one line a reason; empty when it passes."""
    lines = [f"item {i.id} fails the reference ({i.reference_status}, {i.reference_score:g}/{i.max_score:g})"
             for i in report.broken_items()]
    lines += [f"must_kill mutant survives: {mutant_id}" for mutant_id in report.must_kill_survivors()]
    lines += [f"correct code loses points: {m.id} ({m.equivalent}) on {', '.join(m.killers)}"
              for m in report.failed_alternatives()]
    lines += report.problems
    return lines


def print_report(report: AuditReport, console) -> None:
    from rich.table import Table

    table = Table(title=f"Rubric audit of {report.rubric}: {len(report.mutants)} mutants in {report.seconds:.1f} s")
    for column in ("question (target)", "named mistakes killed", "systematic killed", "correct alternatives",
                   "killed most", "survivors"):
        table.add_column(column, overflow="fold")
    for target in report.targets():
        alternatives = [m for m in report.alternatives() if m.target == target]
        failed = [m for m in alternatives if m.killed]
        survivors = [f"{m.name}: {m.description}" for m in report.survivors() if m.target == target]
        table.add_row(target, _ratio(*report.score("named", target)), _ratio(*report.score("systematic", target)),
                      f"{len(alternatives) - len(failed)}/{len(alternatives)} pass" if alternatives else "-",
                      _killers(report, target), "\n".join(survivors) or "-")
    table.add_section()
    alternatives = report.alternatives()
    table.add_row("all", _ratio(*report.score("named")), _ratio(*report.score("systematic")),
                  f"{len(alternatives) - len(report.failed_alternatives())}/{len(alternatives)} pass",
                  ", ".join(f"{i.id} ({i.kills})" for i in top_killers(report)[:2]), str(len(report.survivors())))
    console.print(table)
    items = Table(title="Items")
    for column in ("item", "mutants killed", "of graded", "status"):
        items.add_column(column, overflow="fold")
    for item in report.items:
        items.add_row(item.id, str(item.kills), str(item.graded), item_status(report, item))
    console.print(items)
    killers = ", ".join(f"{i.id} ({i.kills})" for i in top_killers(report))
    console.print(f"Items that killed the most mutants: {killers or 'none'}", markup=False, highlight=False)
    for note in report.notes:
        console.print(f"Note: {note}", markup=False, highlight=False)
    lines = verdict_lines(report)
    console.print("Audit " + ("FAILED:\n  " + "\n  ".join(lines) if lines else "passed."), markup=False, highlight=False)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["<table>", "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows]
    return out + ["</table>"]


def html(report: AuditReport) -> str:
    title = f"Rubric audit: {report.rubric}"
    body = [f"<h1>{escape(title)}</h1>",
            f"<p>{len(report.mutants)} mutants graded in {report.seconds:.1f} s. Named mistakes killed: "
            f"{escape(_ratio(*report.score('named')))}; systematic mutants killed: {escape(_ratio(*report.score('systematic')))}.</p>"]
    lines = verdict_lines(report)
    body.append("<h2>Verdict</h2>")
    body.append("<ul>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>" if lines else "<p>The audit passes.</p>")
    rows = [[t, _ratio(*report.score("named", t)), _ratio(*report.score("systematic", t)), _killers(report, t, 3),
             ", ".join(m.name for m in report.survivors() if m.target == t) or "-"] for t in report.targets()]
    body += ["<h2>Questions</h2>",
             *_table(["question (target)", "named killed", "systematic killed", "killed most", "survivors"], rows)]
    body += ["<h2>Items</h2>", *_table(["item", "mutants killed", "of graded", "status"],
                                       [[i.id, str(i.kills), str(i.graded), item_status(report, i)] for i in report.items])]
    mutant_rows = []
    for m in report.mutants:
        outcome = ("grader error: " + m.error if m.error else
                   ("killed by " + ", ".join(m.killers) if m.killed else "survived"))
        mutant_rows.append([m.id, m.kind + (" (correct)" if m.equivalent else ""), m.description, outcome])
    body += ["<h2>Mutants</h2>", *_table(["mutant", "kind", "what is wrong", "outcome"], mutant_rows)]
    return _page(title, body)


def write_report(report: AuditReport, out) -> tuple[Path, Path]:
    """audit.json and audit.html under `out`."""
    out = Path(out)
    data = write_text_atomically(out / "audit.json", json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")
    page = write_text_atomically(out / "audit.html", html(report))
    return data, page
