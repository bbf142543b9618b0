"""The Python API: grade one submission against a rubric."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import stat
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

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
from grader.checks.training import DataError
from grader.files import write_text_atomically
from grader.identity import entry_name, report_folder, safe_name
from grader.problems import file_problems, import_problem, stopping_key, unreadable
from grader.results import ItemResult, SubmissionResult, stopped_output
from grader.rubric import Item, Rubric, load_rubric
from grader.secret import fingerprint, secret_path
from grader.submission import NOT_SUBMISSIONS, find_submissions  # noqa: F401  (part of this API)
from grader.submission import SubmissionError, discard, open_submission
from grader.text import one_line, printable, printable_data


def own_installation() -> list[str]:
    """The grader's own files: its package, and the records an install leaves beside it or in
    site-packages (dist-info, egg-info, an editable install's finder and .pth)."""
    package = Path(__file__).resolve().parent
    folders = {package.parent, *(Path(p) for p in sys.path if p.endswith("-packages") and os.path.isdir(p))}
    names = ("grader-", "grader.egg-info", "__editable__.grader-", "__editable___grader_",
             "dlgrader-", "dlgrader.egg-info", "__editable__.dlgrader-", "__editable___dlgrader_")
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
             str(secret_path(rubric.path).resolve()), *installed_trusted_paths(rubric)]
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


def _reachable_by_others(folder: str) -> bool:
    path = Path(folder).resolve()
    return all(os.stat(part).st_mode & stat.S_IXOTH for part in (path, *path.parents))


def scratch_base() -> str | None:
    """Where a submission's copy goes: the temp folder (None), unless a child running under a uid
    of its own could not reach it, as with a TMPDIR inside a private home; then /tmp."""
    if os.geteuid() != 0 or _reachable_by_others(tempfile.gettempdir()):
        return None
    return "/tmp" if _reachable_by_others("/tmp") else None


def item_result(item: Item, verdict: Verdict) -> ItemResult:
    """The item in full, hidden or not: result.json is the instructor's copy, and every report a
    student reads chooses what to show through grader.reports.audience."""
    return ItemResult(
        id=item.id,
        name=item.name,
        score=item.points if verdict.status == "passed" else (verdict.score or 0.0) if verdict.status == "partial" else 0.0,
        max_score=item.points,
        status=verdict.status,
        visibility=item.visibility,
        output=printable(verdict.output),
        diagnosis=verdict.diagnosis,
        relation=None if verdict.relation is None else printable(verdict.relation),
        counterexample=printable_data(verdict.counterexample),
        details=verdict.details,
    )


# Items run from the least secret to the most: student code keeps state between calls (and files in its
# folder), so what a hidden item passes in could otherwise come out in a visible item's feedback.
SECRECY = ("visible", "after_due_date", "after_published", "hidden")
# Harness faults that stop a batch rather than one submission: the machine or the rubric's data is wrong.
STOPPING = (IsolationError, DataError)


def child_groups(selected: list[Item]) -> list[list[Item]]:
    """The items each child serves: one child for every item that is not hidden, in SECRECY order,
    then a fresh child (and a fresh copy of the files) for each hidden item, so that nothing a
    submission learns while serving one item reaches another's result."""
    ordered = sorted(selected, key=lambda i: SECRECY.index(i.visibility))
    shared = [item for item in ordered if item.visibility != "hidden"]
    return ([shared] if shared else []) + [[item] for item in ordered if item.visibility == "hidden"]


def grader_error(doing: str, error: BaseException) -> str:
    """The reason given when the grader itself failed on one submission or item."""
    return f"grader error: {doing} failed ({type(error).__name__}: {one_line(str(error))[:300]})"


@dataclass
class _Run:
    """What grading one submission has gathered so far, across its children."""

    graded: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    isolation: dict = field(default_factory=dict)
    problems: dict = field(default_factory=dict)  # (kind, file) -> problem, in the order found
    stopped: dict = field(default_factory=dict)  # item id -> the (kind, file) of the problem that stopped it
    tried: set = field(default_factory=set)  # the modules an earlier child imported, or tried to
    starts: int = 0
    deadline: float | None = None  # set when the first child is up: a cold zygote is not the student's time


def _check(context: Context, item: Item) -> Verdict:
    if time.monotonic() > context.deadline:
        return Verdict("timeout", f"The submission's time budget of {context.rubric.submission_timeout_s:g} s "
                                  "ran out before this item.")
    try:
        return RUNNERS[item.kind](context, item)
    except STOPPING:
        raise
    except Exception as error:  # a fault in one check costs that item, never the submission or the batch
        return Verdict("error", grader_error(f"checking {item.id}", error))


def _serve(group: list[Item], submission, rubric: Rubric, run: _Run, options: dict) -> None:
    """Grade `group` in one child over its own copy of the submission's files."""
    scratch = submission.materialise(scratch_base())
    process = None
    try:
        plan = sandbox_plan(rubric, scratch, submission.source, options["hide"], gpu=options["gpu"])
        process = StudentProcess(options["zygote"] or shared_zygote(options["training"]), plan,
                                 sorted(rubric.reference_roots()), options["strict"], required=rubric.requires)
        try:
            process.start()
        except RuntimeError as error:
            if isinstance(error, IsolationError):
                raise
            for item in group:
                run.graded[item.id] = Verdict("error", f"grader error: the sandbox could not start ({error})")
            return
        if run.deadline is None:
            run.deadline = time.monotonic() + rubric.submission_timeout_s
        context = Context(rubric, process, set(submission.files), deadline=run.deadline,
                          progress=options["progress"], explain=options["explain"])
        before_secrets = None  # the modules imported before the child held inputs a student may not see yet
        for index, item in enumerate(group):
            if before_secrets is None and index and group[index - 1].visibility != "visible":
                before_secrets = set(context.imports)
            item_started = time.monotonic()
            run.graded[item.id] = _check(context, item)
            run.seconds[item.id] = round(time.monotonic() - item_started, 4)
        run.isolation = run.isolation or process.isolation
        _note_import_problems(group, context, process, run, before_secrets)
        run.tried.update(context.imports)
    finally:
        if process is not None:
            run.starts += process.starts
            process.close()
        discard(scratch)


def _note_import_problems(group: list[Item], context: Context, process: StudentProcess, run: _Run,
                          before_secrets: set | None) -> None:
    """Modules that raised on import become the submission's problems, and the items they stopped say so.
    A problem is told to the student at once, so only an import made before the child held any input the
    student may not see yet counts (`before_secrets`; None: every one, as an item imports before its
    inputs), and only as the first child to import a module found it: code can tell a hidden item's
    fresh child from the first. Any other failed import stays its item's own error."""
    for module, outcome in process.failed_imports.items():
        verdict = context.imports.get(module)
        if verdict is None:
            continue
        found = import_problem(f"{module}.py", outcome, verdict.output, context.files)
        key = (found["kind"], found["file"])
        late = module in run.tried or (before_secrets is not None and module not in before_secrets)
        if late and key not in run.problems:
            continue
        run.problems.setdefault(key, found)
        for item in group:
            if run.graded.get(item.id) is verdict:  # the import's own verdict, not a later failure
                run.stopped[item.id] = key


def _note_missing_files(selected: list[Item], files: set, run: _Run) -> None:
    """The items a missing file stopped; the problem takes the check's own words (which may name
    the file that was probably meant)."""
    told = set()
    for item in selected:
        verdict = run.graded.get(item.id)
        key = stopping_key(item, files, run.problems) if verdict is not None and verdict.status == "missing" else None
        if key is None or key not in run.problems:
            continue
        run.stopped[item.id] = key
        # A hidden item's words are not the student's to read: its file's problem keeps the plain message.
        if key[0] == "missing" and key not in told and item.visibility != "hidden":
            told.add(key)
            run.problems[key]["message"] = printable(verdict.output)


def _may_name(other: Item, item: Item) -> bool:
    """Whether `item`'s output may tell how `other` went: never a hidden item, nor one shown later than it."""
    return other.visibility != "hidden" and SECRECY.index(other.visibility) <= SECRECY.index(item.visibility)


def _note_dependencies(selected: list[Item], graded: dict) -> None:
    """A lost item whose call runs code another item found wrong says so: the cause may lie there."""
    by_id = {item.id: item for item in selected}
    for item in selected:
        verdict = graded.get(item.id)
        if verdict is None or verdict.status == "passed":
            continue
        failed = [by_id[other] for other in item.depends_on
                  if other in by_id and _may_name(by_id[other], item) and graded[other].status != "passed"]
        notes = []
        for other in failed:
            found = "found it wrong" if graded[other.id].status in ("failed", "partial") else \
                f"could not use it ({graded[other.id].status})"
            notes.append(f"\nThis item runs your {other.target.symbol} first, and {other.id} {found}: "
                         f"fix that first; this item may pass with it.")
        if notes:  # a copy: one verdict may stand for several items (a file that failed to import)
            graded[item.id] = dataclasses.replace(verdict, output=verdict.output + "".join(notes))


def grade_submission(path, rubric, *, zygote: Zygote | None = None, strict: bool = False, hide=(), items=None,
                     progress=None, explain: bool = True, student: str | None = None) -> SubmissionResult:
    """Grade the folder or zip at `path`. `items` restricts grading to those item ids.

    explain=False skips what only feedback needs (shrinking a counterexample, naming the mistake).
    progress(item_id, report), when given, hears how long checks (training) are getting on.
    student: the identity to file the result under (grader.identity); made from the entry's name when absent.

    Whatever goes wrong with this one submission (an unreadable archive, a fault in the grader's
    own handling of it) is its result, with the reason; only STOPPING faults are raised.
    """
    with _one_torch_thread():
        return _grade(path, rubric, zygote=zygote, strict=strict, hide=hide, items=items, progress=progress,
                      explain=explain, student=student)


@contextmanager
def _one_torch_thread():
    """The trusted side's torch work is many tiny calls (references, mutants): a second thread only
    adds synchronisation (12 ms against 0.2 ms for one small loss on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _grade(path, rubric, *, zygote, strict, hide, items, progress, explain, student) -> SubmissionResult:
    rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    selected = [item for item in rubric.items if items is None or item.id in items]
    student = student or safe_name(entry_name(path))
    started = time.monotonic()
    run, submission = _Run(), None
    try:
        try:
            submission = open_submission(path)
        except SubmissionError as error:
            found = unreadable(str(error))
            run.problems[(found["kind"], None)] = found
            run.stopped = {item.id: (found["kind"], None) for item in selected}
            raise
        for found in [*submission.problems, *file_problems(selected, set(submission.files))]:
            run.problems[(found["kind"], found["file"])] = found
        options = {"hide": hide, "zygote": zygote, "strict": strict, "progress": progress, "explain": explain,
                   "gpu": any(item.device == "auto" for item in selected),
                   "training": any(item.kind == "training" for item in selected)}
        for group in child_groups(selected):
            _serve(group, submission, rubric, run, options)
    except STOPPING:
        raise
    except Exception as error:  # whatever stopped part way, every item not yet graded says why
        failure = Verdict("error", f"The submission could not be opened: {error}" if isinstance(error, SubmissionError)
                          else grader_error("grading this submission", error))
        run.graded = {item.id: run.graded.get(item.id, failure) for item in selected}
    if submission is not None:
        _note_missing_files(selected, set(submission.files), run)
    _note_dependencies(selected, run.graded)
    for item_id, key in run.stopped.items():  # a missing file's items stay "missing"; the others, "error"
        status = "missing" if key[0] in ("missing", "no_code") else "error"
        run.graded[item_id] = Verdict(status, stopped_output(run.problems[key]))
    results = [item_result(item, run.graded[item.id]) for item in selected]
    timing = {"total_s": round(time.monotonic() - started, 4), "items_s": run.seconds, "process_starts": run.starts}
    return SubmissionResult(student, results, run.isolation, rubric.sha256,
                            submission.sha256 if submission is not None else "", timing=timing,
                            draw=fingerprint(rubric.secret), problems=list(run.problems.values()))


def write_result(result: SubmissionResult, out) -> Path:
    """result.json under out/<student>/, written atomically."""
    return write_text_atomically(report_folder(out, result.student) / "result.json", result.to_json())


def probe_isolation(zygote: Zygote | None = None) -> dict:
    """The isolation layers a child gets on this machine, measured by starting one."""
    scratch = tempfile.mkdtemp(prefix="grader-probe-", dir=scratch_base())
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
