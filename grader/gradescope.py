"""Gradescope: the autograder zip, and the entry point that turns one submission into results.json.

Gradescope reads only results/results.json, never the exit code, so every failure still
writes a valid file with a score of 0.
"""

from __future__ import annotations

import json
import os
import time
import traceback
import zipfile
from pathlib import Path

from grader.files import write_text_atomically
from grader.reports.audience import problem_heading, stopped_note
from grader.results import SubmissionResult
from grader.rubric import VISIBILITIES, Rubric, RubricError, load_rubric
from grader.secret import create_secret, read_secret

TEMPLATES = Path(__file__).parent / "templates"
PROJECT_PARTS = ("grader", "reference", "rubrics", "pyproject.toml", "README.md")
_SKIPPED = {"__pycache__", ".pytest_cache"}
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same tree gives the same zip
_MAX_MESSAGE = 4000


# ---- the zip -----------------------------------------------------------------


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, _EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    archive.writestr(info, data)


def _project_files(project_root: Path):
    for part in PROJECT_PARTS:
        path = project_root / part
        if path.is_file():
            yield path
        elif path.is_dir():
            for file in sorted(path.rglob("*")):
                relative = file.relative_to(project_root)
                if file.is_file() and not file.is_symlink() and not (set(relative.parts) & _SKIPPED) \
                        and file.suffix not in (".pyc", ".secret") and not any(p.endswith(".egg-info") for p in relative.parts):
                    yield file
        else:
            raise FileNotFoundError(f"{path} is missing; build the autograder from a source checkout of the project")


def build(rubric_path: Path, output_zip: Path, project_root: Path | None = None) -> Path:
    """Write the zip to upload: setup.sh, run_autograder, rubric.yaml and project/ at its root."""
    rubric_path, output_zip = Path(rubric_path), Path(output_zip)
    project_root = Path(project_root) if project_root else Path(__file__).resolve().parents[1]
    load_rubric(rubric_path)  # a broken rubric fails here, not on the first student's submission
    create_secret(rubric_path)  # final grading never draws the inputs a student kit holds
    secret = read_secret(rubric_path)
    output_zip.parent.mkdir(parents=True, exist_ok=True)
    partial = output_zip.with_name(output_zip.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for script in ("setup.sh", "run_autograder"):
            _add(archive, script, (TEMPLATES / script).read_bytes(), executable=True)
        _add(archive, "rubric.yaml", rubric_path.read_bytes())
        _add(archive, "rubric.secret", secret + b"\n")  # beside source/rubric.yaml, where load_rubric looks
        for file in _project_files(project_root):
            _add(archive, "project/" + file.relative_to(project_root).as_posix(), file.read_bytes())
    os.replace(partial, output_zip)
    return output_zip


# ---- results.json ------------------------------------------------------------


def _fence(text: str) -> str:
    """A code block no backtick run inside can close."""
    longest, run = 0, 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def _item_output(item) -> str:
    # In full for every item, hidden ones too: a test whose visibility is "hidden" is shown to
    # the course's staff only, never to the student.
    if not item.output:
        return item.output
    parts = [_fence(item.output)]
    for key, value in (item.counterexample or {}).items():
        text = "\n".join(f"{k} = {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
        parts += [f"**{key}**", _fence(text)]
    return "\n\n".join(parts)


def _test(rubric_item, graded) -> dict:
    visibility = rubric_item.visibility if rubric_item.visibility in VISIBILITIES else "visible"
    if graded is None:
        score, status, output, tags = 0.0, "not graded", "This item was not graded.", []
    else:
        score, status, output = graded.score, graded.status, _item_output(graded)
        tags = [graded.diagnosis] if graded.diagnosis else []
    return {
        "score": score,
        "max_score": rubric_item.points,
        "status": "passed" if status == "passed" else "failed",
        "name": rubric_item.name,
        "number": rubric_item.id,
        "output": output,
        "output_format": "md",
        "visibility": visibility,
        "tags": tags,
        "extra_data": {"status": status},
    }


def _problems(result: SubmissionResult) -> list[str]:
    """The submission's problems, once: the tests they stopped say so briefly."""
    if not result.problems:
        return []
    lines = ["", "**Problems with this submission** (fix them first):", ""]
    for found in result.problems:  # its heading inside the block too: a file name is the student's, never markup
        note = stopped_note(result, found)  # as feedback.md says it: the items it stopped, or that it stopped none
        lines += [_fence(f"{problem_heading(found)}\n\n{found['message']}" + (f"\n\n{note}" if note else "")), ""]
    return lines[:-1]


def _summary(tests: list[dict], rubric: Rubric, score: float, result: SubmissionResult) -> str:
    # Only tests a student sees now are counted: this summary must not tell how the others went.
    shown = [test for test in tests if test["visibility"] == "visible"]
    passed = sum(test["status"] == "passed" for test in shown)
    lines = [f"**Score: {score:g} / {rubric.max_score:g}**", *_problems(result), "",
             f"{passed} of {len(shown)} visible items passed."]
    unseen = {}
    for item in rubric.items:
        if item.visibility != "visible":
            count, points = unseen.get(item.visibility, (0, 0.0))
            unseen[item.visibility] = (count + 1, points + item.points)
    count, points = unseen.get("hidden", (0, 0.0))
    lines.append(f"{points:g} points are in {count} hidden item{'s' if count != 1 else ''}"
                 + (": they count in the score, and are not shown." if count else "."))
    for visibility, when in (("after_due_date", "after the due date"), ("after_published", "once grades are published")):
        if visibility in unseen:
            count, points = unseen[visibility]
            lines.append(f"{points:g} points in {count} item{'s' if count != 1 else ''} are shown {when}.")
    return "\n".join(lines)


def to_results_json(result: SubmissionResult, rubric: Rubric, execution_time: float) -> dict:
    """Gradescope's results.json for one graded submission: one test per rubric item, in rubric order."""
    graded = {item.id: item for item in result.items}
    tests = [_test(item, graded.get(item.id)) for item in rubric.items]
    score = round(sum(test["score"] for test in tests), 6)
    return {
        "score": score,
        "execution_time": round(max(execution_time, 0.001), 3),
        "output": _summary(tests, rubric, score, result),
        "output_format": "md",
        "stdout_visibility": "hidden",
        "visibility": "visible",
        "tests": tests,
        "extra_data": {
            "student": result.student,
            "max_score": rubric.max_score,
            "rubric_sha256": result.rubric_sha256,
            "submission_sha256": result.submission_sha256,
            "grader_version": result.grader_version,
            "isolation": result.isolation,
            "problems": result.problems,
        },
    }


def harness_failure(message: str, execution_time: float) -> dict:
    """A valid results.json that scores 0 and says why nothing was graded."""
    return {
        "score": 0,
        "execution_time": round(max(execution_time, 0.001), 3),
        "output": ("**The autograder failed, so this submission was not graded.** "
                   "This is not a verdict on your work; please tell your instructor.\n\n"
                   + _fence(message[:_MAX_MESSAGE])),
        "output_format": "md",
        "stdout_visibility": "hidden",
        "visibility": "visible",
        "tests": [],
    }


# ---- the run -----------------------------------------------------------------


def _label(metadata_path: Path) -> str:
    """Who submitted, for the record only: the metadata never affects a score."""
    try:
        metadata = json.loads(metadata_path.read_text())
        users = metadata.get("users") or []
        name = users[0].get("name") if users and isinstance(users[0], dict) else None
        label = name or metadata.get("id")
    except (OSError, ValueError, AttributeError):
        label = None
    label = "".join(c for c in str(label or "submission") if c.isprintable())
    return label[:100] or "submission"


def _write(results: Path, data: dict) -> None:
    write_text_atomically(results / "results.json", json.dumps(data, indent=2, allow_nan=False))


def _explain(error: BaseException) -> str:
    if isinstance(error, RubricError):
        return "The rubric is not valid:\n" + "\n".join(error.problems)
    return f"{type(error).__name__}: {error}"


def run(root: Path, rubric_relpath: str = "source/rubric.yaml") -> int:
    """Grade root/submission into root/results/results.json. 0 unless not even a failure could be written."""
    from grader.boundary.zygote import shared_zygote
    from grader.rubric import trains

    shared_zygote(trains(Path(root) / rubric_relpath)).launch()  # its imports overlap with this process's
    from grader.api import grade_submission

    started = time.monotonic()
    root = Path(root)
    results = root / "results"
    try:
        (results / "results.json").unlink(missing_ok=True)  # only this run's file may stand
        rubric = load_rubric(root / rubric_relpath)
        result = grade_submission(root / "submission", rubric, hide=[results, root / "source"])
        result.student = _label(root / "submission_metadata.json")
        data = to_results_json(result, rubric, time.monotonic() - started)
        _write(results, data)
        return 0
    except (Exception, SystemExit) as error:
        traceback.print_exc()  # the run's own output is shown to instructors only (stdout_visibility)
        failure = harness_failure(_explain(error), time.monotonic() - started)
    try:
        _write(results, failure)
        return 0
    except Exception:
        traceback.print_exc()
        return 1
