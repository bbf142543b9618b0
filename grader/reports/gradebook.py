"""gradebook.csv: one row per student, one column per rubric item, in rubric order."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from grader.files import write_text_atomically
from grader.results import SubmissionResult
from grader.rubric import Rubric
from grader.text import csv_cell


def _number(value: float) -> str:
    return f"{value:g}"


def gradebook_text(results: list[SubmissionResult], rubric: Rubric) -> str:
    ids = [item.id for item in rubric.items]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(cell) for cell in ("student", "score", "max_score", *ids)])
    for result in sorted(results, key=lambda r: r.student):
        scores = {item.id: item.score for item in result.items}
        writer.writerow([csv_cell(result.student), _number(result.score), _number(rubric.max_score),
                         *(_number(scores[i]) if i in scores else "" for i in ids)])
    return buffer.getvalue()


def write_gradebook(results: list[SubmissionResult], rubric: Rubric, out: Path) -> Path:
    return write_text_atomically(Path(out) / "gradebook.csv", gradebook_text(results, rubric))
