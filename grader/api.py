"""The Python API: grade one submission against a rubric."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

from grader.boundary import (
    IsolationError,
    Limits,
    Plan,
    StudentProcess,
    Zygote,
    default_read_only,
    gpu_devices,
    readable,
    shared_zygote,
)
from grader.cache import cache_dir
from grader.checks import RUNNERS, Context, Verdict
from grader.files import write_text_atomically
from grader.results import ItemResult, SubmissionResult
from grader.rubric import Item, Rubric, load_rubric
from grader.submission import SubmissionError, discard, open_submission


def own_installation() -> list[str]:
    """The grader's own files: its package, and the records an install leaves beside it or in
    site-packages (dist-info, egg-info, an editable install's finder and .pth)."""
    package = Path(__file__).resolve().parent
    folders = {package.parent, *(Path(p) for p in sys.path if p.endswith("-packages") and os.path.isdir(p))}
    names = ("grader-", "grader.egg-info", "__editable__.grader-", "__editable___grader_")
    records = [str(entry) for folder in folders for entry in folder.iterdir() if entry.name.startswith(names)]
    return [str(package), *records]


def installed_trusted_paths(rubric: Rubric) -> list[str]:
    """The grader's installation and the rubric's reference packages: what an install must keep to itself."""
    paths = own_installation()
    for root in sorted(rubric.reference_roots()):
        spec = importlib.util.find_spec(root)
        if spec is not None:
            paths += list(spec.submodule_search_locations or [spec.origin])  # a module: its file, not its folder
    return sorted(set(paths))


def hidden_paths(rubric: Rubric, submission_source: str, extra=()) -> list[str]:
    """Everything the child must not read: the reference packages, the rubric, other students,
    the cache of reference answers, and the grader itself."""
    paths = [str(Path(rubric.path).resolve().parent), str(Path(submission_source).resolve().parent),
             *installed_trusted_paths(rubric)]
    cached = cache_dir()
    if cached is not None:
        paths.append(str(cached.resolve()))
    paths += [str(Path(p).resolve()) for p in (*rubric.hide, *extra)]
    return sorted(set(paths))


def sandbox_plan(rubric: Rubric, scratch: str, submission_source: str, hide=(), gpu: bool = False) -> Plan:
    """What the child of one submission enforces: the trusted paths hidden, and left out of what it may read."""
    trusted = hidden_paths(rubric, submission_source, hide)
    return Plan(
        scratch=scratch,
        hide=trusted,
        read_only=readable(default_read_only(), trusted),
        limits=Limits(memory_mb=rubric.memory_mb, cpu_s=int(rubric.submission_timeout_s) + 30),
        devices=gpu_devices() if gpu else [],
    )


def item_result(item: Item, verdict: Verdict) -> ItemResult:
    hidden = item.visibility == "hidden"
    return ItemResult(
        id=item.id,
        name=item.name,
        score=item.points if verdict.status == "passed" else (verdict.score or 0.0) if verdict.status == "partial" else 0.0,
        max_score=item.points,
        status=verdict.status,
        visibility=item.visibility,
        # A hidden item says only whether it passed.
        output=("Passed." if verdict.status == "passed" else "Not passed.") if hidden else verdict.output,
        diagnosis=None if hidden else verdict.diagnosis,
        counterexample=None if hidden else verdict.counterexample,
        details=None if hidden else verdict.details,
    )


# Items run from the least secret to the most: student code keeps state between calls (and files in its
# folder), so what a hidden item passes in could otherwise come out in a visible item's feedback.
SECRECY = ("visible", "after_due_date", "after_published", "hidden")


def grade_submission(path, rubric, *, zygote: Zygote | None = None, strict: bool = False,
                     hide=(), items=None, progress=None, explain: bool = True) -> SubmissionResult:
    """Grade the folder or zip at `path`. `items` restricts grading to those item ids.

    explain=False skips what only feedback needs (shrinking a counterexample, naming the mistake).

    progress(item_id, report), when given, hears how long checks (training) are getting on.
    """
    rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    selected = [item for item in rubric.items if items is None or item.id in items]
    started = time.monotonic()
    try:
        submission = open_submission(path)
    except SubmissionError as error:
        verdict = Verdict("error", f"The submission could not be opened: {error}")
        return SubmissionResult(Path(path).stem, [item_result(i, verdict) for i in selected], {},
                                rubric.sha256, "", timing={"total_s": time.monotonic() - started})
    scratch = submission.materialise()
    plan = sandbox_plan(rubric, scratch, submission.source, hide, gpu=any(item.device == "auto" for item in selected))
    results, item_seconds = [], {}
    training = any(item.kind == "training" for item in selected)
    process = StudentProcess(zygote or shared_zygote(training), plan, sorted(rubric.reference_roots()), strict,
                             required=rubric.requires)
    try:
        try:
            process.start()  # before the budget starts: a cold zygote is not the student's time
        except RuntimeError as error:
            if isinstance(error, IsolationError):
                raise
            verdict = Verdict("error", f"grader error: the sandbox could not start ({error})")
            return SubmissionResult(submission.student, [item_result(i, verdict) for i in selected], {},
                                    rubric.sha256, submission.sha256, timing={"total_s": time.monotonic() - started})
        budget_start = time.monotonic()
        context = Context(rubric, process, set(submission.files), deadline=budget_start + rubric.submission_timeout_s,
                          progress=progress, explain=explain)
        graded = {}
        for item in sorted(selected, key=lambda i: SECRECY.index(i.visibility)):
            item_started = time.monotonic()
            if item_started - budget_start > rubric.submission_timeout_s:
                verdict = Verdict("timeout", f"The submission's time budget of {rubric.submission_timeout_s:g} s ran out before this item.")
            else:
                verdict = RUNNERS[item.kind](context, item)
            item_seconds[item.id] = round(time.monotonic() - item_started, 4)
            graded[item.id] = item_result(item, verdict)
        results = [graded[item.id] for item in selected]
    finally:
        process.close()
        discard(scratch)
    timing = {"total_s": round(time.monotonic() - started, 4), "items_s": item_seconds, "process_starts": process.starts}
    return SubmissionResult(submission.student, results, process.isolation, rubric.sha256, submission.sha256, timing=timing)


def find_submissions(folder) -> list[Path]:
    """The student folders and .zip files directly inside `folder`, by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder of submissions")
    found = [p for p in folder.iterdir() if (p.is_dir() and not p.name.startswith((".", "_"))) or p.suffix.lower() == ".zip"]
    return sorted(found, key=lambda p: p.name)


def write_result(result: SubmissionResult, out) -> Path:
    """result.json under out/<student>/, written atomically."""
    return write_text_atomically(Path(out) / result.student / "result.json", result.to_json())


def probe_isolation(zygote: Zygote | None = None) -> dict:
    """The isolation layers a child gets on this machine, measured by starting one."""
    import tempfile

    scratch = tempfile.mkdtemp(prefix="grader-probe-")
    decoy = tempfile.mkdtemp(prefix="grader-probe-hidden-")  # something to hide, so hiding is measured
    Path(scratch, "probe.py").write_text("")
    trusted = [decoy, *own_installation()]
    plan = Plan(scratch=scratch, hide=trusted, read_only=readable(default_read_only(), trusted))
    try:
        with StudentProcess(zygote or shared_zygote(), plan, []) as process:
            process.import_module("probe", 30)
            return process.isolation
    finally:
        discard(scratch)
        discard(decoy)
