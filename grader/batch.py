"""Grade a folder of submissions: in parallel, writing each result as soon as it is known.

Workers fork from a server that never ran torch (grader/pool.py), never from
this process, and share this process's zygote. A submission that breaks
anything still gets a result; only harness errors stop a batch.
"""

from __future__ import annotations

import json
import logging
import os
import queue as queue_module
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from grader.api import find_submissions, grade_submission, grader_error, item_result, write_result
from grader.boundary import IsolationError, Zygote, shared_zygote
from grader.boundary import zygote as zygote_module
from grader.cache import cache_dir
from grader.checks import PREPARERS, Verdict
from grader.identity import identities, report_folder
from grader.pool import pool_context
from grader.reports.feedback import write_feedback
from grader.reports.gradebook import write_gradebook
from grader.results import SubmissionResult, result_from_dict
from grader.rubric import Rubric, load_rubric
from grader.secret import fingerprint
from grader.submission import SubmissionError, holds_output, open_submission, shown_name
from grader.text import one_line

_worker_rubrics: dict[str, Rubric] = {}
_worker_progress = None  # a queue to the batch's process, set when the worker starts


def _start_worker(progress, zygote: tuple, cache_setting: str | None) -> None:
    global _worker_progress
    _worker_progress = progress
    zygote_module._shared = Zygote.attach(*zygote)  # the batch's one zygote, shared by its workers
    # Workers fork from a server started by the first batch: they take this batch's cache setting.
    if cache_setting is None:
        os.environ.pop("GRADER_CACHE_DIR", None)
    else:
        os.environ["GRADER_CACHE_DIR"] = cache_setting


def _grade_in_worker(path: str, name: str, rubric_path: str, strict: bool, hide: list[str], items=None,
                     explain: bool = True) -> str:
    rubric = _worker_rubrics.get(rubric_path) or _worker_rubrics.setdefault(rubric_path, load_rubric(rubric_path))

    def report(item_id: str, progress: dict) -> None:
        if _worker_progress is not None:
            try:
                _worker_progress.put_nowait((name, item_id, progress))
            except Exception:  # progress is a courtesy; never let it fail a grade
                pass

    return grade_submission(path, rubric, strict=strict, hide=hide, progress=report, items=items, explain=explain,
                            student=name).to_json()


def _prepare_in_worker(rubric_path: str, item_id: str) -> None:
    rubric = _worker_rubrics.get(rubric_path) or _worker_rubrics.setdefault(rubric_path, load_rubric(rubric_path))
    item = next(item for item in rubric.items if item.id == item_id)
    PREPARERS[item.kind](rubric, item)


class OutputError(OSError):
    """A report could not be written (the disk is full, say): the batch stops, and says where."""


class Job(NamedTuple):
    """How one submission is graded: the identity it is filed under, its item ids (None: all), explain."""

    student: str
    items: list | None
    explain: bool


@dataclass
class Batch:
    results: list[SubmissionResult] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _resumable(path: Path, student: str, rubric: Rubric, out: Path) -> SubmissionResult | None:
    """The result already written for this exact submission, rubric and draw, if any."""
    try:
        submission = open_submission(path)
        existing = result_from_dict(json.loads((report_folder(out, student) / "result.json").read_text()))
    except (SubmissionError, OSError, ValueError, KeyError, TypeError):
        return None
    # The same draw too: results graded with another secret (or none) are graded again.
    if (existing.student, existing.rubric_sha256, existing.submission_sha256, existing.draw) == \
            (student, rubric.sha256, submission.sha256, fingerprint(rubric.secret)):
        return existing
    return None


def _worker_failure(student: str, rubric: Rubric, error: BaseException) -> SubmissionResult:
    verdict = Verdict("error", grader_error("the worker grading this submission", error))
    return SubmissionResult(student, [item_result(item, verdict) for item in rubric.items], {}, rubric.sha256, "",
                            draw=fingerprint(rubric.secret))


def problems_line(problems: list[dict]) -> str:
    """The submission's problems on one line: each one's kind, file and the first line of its message."""
    return "; ".join(f"{found['kind']}{' ' + found['file'] if found['file'] else ''}: "
                     f"{(found['message'].splitlines() or [''])[0][:200]}" for found in problems)


class _OneLine(logging.Formatter):
    """Each record's message on one line, whatever a name or an error message holds; tracebacks as they are."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.message)
        return super().formatMessage(record)


def _logger(out: Path) -> logging.Logger:
    logger = logging.getLogger(f"grader.batch.{out}")
    logger.handlers.clear()
    handler = logging.FileHandler(out / "grading.log", encoding="utf-8")
    handler.setFormatter(_OneLine("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def grade_folder(folder, rubric: Rubric, out, *, jobs: int = 1, resume: bool = False, strict: bool = False,
                 on_start=None, on_done=None, on_progress=None, select: dict | None = None, explain: bool = True,
                 backend: str = "local", address: str | None = None) -> Batch:
    """Grade every submission in `folder` into `out`.

    Callbacks: on_start(name), on_done(result, resumed), and on_progress(name, item_id, report)
    while long checks such as training run. `select` maps a submission's name to the item ids
    it is graded on (all items when absent); `explain` is grade_submission's. backend="ray"
    grades on the Ray cluster at `address` (or RAY_ADDRESS; a local instance of `jobs` CPUs
    when neither is given).
    """
    started = time.monotonic()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log = _logger(out)
    # The gradebook is rewritten whole at the end; until then none is there to be mistaken for this run's.
    (out / "gradebook.csv").unlink(missing_ok=True)
    for leftover in [*out.glob(".*.partial"), *out.glob("*/.*.partial")]:  # from a run killed mid-write
        leftover.unlink(missing_ok=True)
    paths = find_submissions(folder, out=out)
    names = identities(paths)
    log.info("grading %d submission%s from %s with %s (sha256 %s, %s), %s backend, %d jobs%s",
             len(paths), "" if len(paths) == 1 else "s", folder, rubric.path, rubric.sha256,
             "the public draw: a student kit holds these inputs" if rubric.secret is None else
             f"inputs drawn with the secret {fingerprint(rubric.secret)}", backend, jobs, ", resuming" if resume else "")
    batch, hide = Batch(), [str(out.resolve())]
    for path in paths:
        if names[path] != path.name:
            log.info("%s is filed as %s", shown_name(path.name), names[path])
    for entry in sorted(set(Path(folder).iterdir()) - set(paths)):
        log.info("skipped %s: %s", shown_name(entry.name), "the folder these reports go to" if holds_output(entry, out)
                 else "not a submission (neither a student's folder nor a .zip)")

    def finish(result: SubmissionResult, resumed: bool) -> None:
        if not resumed:
            try:
                write_result(result, out)
                write_feedback(result, rubric.title, out)
            except OSError as error:
                raise OutputError(f"cannot write {result.student}'s results to {out}: {error.strerror or error}") from None
        batch.results.append(result)
        statuses = {item.status for item in result.items}
        log.info("%s %s: %g/%g%s", "kept" if resumed else "graded", result.student, result.score, result.max_score,
                 "" if resumed else f" in {result.timing.get('total_s', 0):.2f} s, statuses {sorted(statuses)}")
        if result.problems:
            log.warning("%s: %s", result.student, problems_line(result.problems))
        if on_done:
            on_done(result, resumed)

    pending = []
    for path in paths:
        kept = _resumable(path, names[path], rubric, out) if resume else None
        if kept is not None:
            batch.resumed.append(kept.student)
            finish(kept, True)
        else:
            pending.append(path)

    select = select or {}
    options = {path: Job(names[path], select.get(path.name), explain) for path in pending}
    if backend == "ray":  # imported only here: the local pool never loads Ray
        from grader.backends.ray import grade_in_ray

        grade_in_ray(pending, rubric, strict, hide, finish, on_start, on_progress, log, options,
                     address=address, jobs=jobs, worker_failure=_worker_failure)
    elif jobs <= 1:
        for path in pending:
            job = options[path]
            if on_start:
                on_start(job.student)
            progress = (lambda item_id, report, name=job.student: on_progress(name, item_id, report)) if on_progress else None
            finish(grade_submission(path, rubric, strict=strict, hide=hide, progress=progress, items=job.items,
                                    explain=job.explain, student=job.student), False)
    else:
        _grade_in_pool(pending, rubric, jobs, strict, hide, finish, on_start, on_progress, log, options)
    try:
        write_gradebook(batch.results, rubric, out)
    except OSError as error:
        raise OutputError(f"cannot write the gradebook to {out}: {error.strerror or error}") from None
    batch.seconds = time.monotonic() - started
    log.info("done: %d graded, %d kept from earlier runs, %.1f s", len(pending), len(batch.resumed), batch.seconds)
    return batch


def _relay(progress, on_progress) -> None:
    while True:
        try:
            name, item_id, report = progress.get_nowait()
        except (queue_module.Empty, OSError, ValueError, EOFError):
            return
        if on_progress:
            on_progress(name, item_id, report)


def _prepare(pool, rubric, log) -> None:
    """Work the rubric's per-item tables out once, spread over the workers, before any submission needs them.

    Without it every worker would work out every table itself. Needs the disk cache to share them.
    """
    items = [item for item in rubric.items if item.kind in PREPARERS]
    if not items or cache_dir() is None:
        return
    started = time.monotonic()
    futures = [pool.submit(_prepare_in_worker, rubric.path, item.id) for item in items]
    for future, item in zip(futures, items):
        try:
            future.result()
        except BrokenProcessPool:
            raise
        except Exception as error:  # grading works the table out itself, and reports what fails
            log.warning("preparing %s failed: %s: %s", item.id, type(error).__name__, error)
    log.info("prepared %d items in %.1f s", len(items), time.monotonic() - started)


def _grade_in_pool(paths, rubric, jobs, strict, hide, finish, on_start, on_progress, log, options) -> None:
    queue = list(paths)
    breaks: dict[Path, int] = {}
    context = pool_context()
    progress = context.Queue()
    prepared = len(queue) < 2  # one submission gains nothing from sharing
    # The workers share this process's zygote: one start per batch, not one per worker.
    zygote = shared_zygote(any(item.kind == "training" for item in rubric.items))
    initargs = (progress, zygote.share(context), os.environ.get("GRADER_CACHE_DIR"))
    while queue:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_start_worker,
                                 initargs=initargs) as pool:
            if not prepared:
                prepared = True
                try:
                    _prepare(pool, rubric, log)
                except BrokenProcessPool:
                    log.error("a worker died while the rubric's items were being prepared")
                    continue
            running: dict = {}
            while queue or running:
                while queue and len(running) < jobs:
                    path = queue.pop(0)
                    job = options[path]
                    if on_start:
                        on_start(job.student)
                    running[pool.submit(_grade_in_worker, str(path), job.student, rubric.path, strict, hide,
                                        job.items, job.explain)] = path
                done, _ = wait(running, timeout=0.25, return_when=FIRST_COMPLETED)
                _relay(progress, on_progress)
                if not done:
                    continue
                if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                    # Whoever broke the pool, everything in flight is graded again; a submission
                    # present at two breaks is the likely cause and gets an error result.
                    for future, path in running.items():
                        breaks[path] = breaks.get(path, 0) + 1
                        log.error("a worker died while %s was being graded (%d time(s))", options[path].student, breaks[path])
                        if breaks[path] >= 2:
                            finish(_worker_failure(options[path].student, rubric,
                                                   future.exception() or RuntimeError("worker died")), False)
                        else:
                            queue.insert(0, path)
                    break
                for future in done:
                    path = running.pop(future)
                    try:
                        result = result_from_dict(json.loads(future.result()))
                    except IsolationError:
                        raise
                    except Exception as error:  # a harness bug on one submission must not stop the batch
                        log.exception("grading %s failed", options[path].student)
                        result = _worker_failure(options[path].student, rubric, error)
                    finish(result, False)
