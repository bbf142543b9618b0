"""Grading on a Ray cluster: one task per submission, the sandbox inside each task.

Ray isolates nothing: every task grades exactly as a local worker does, with
the zygote, the child and every isolation layer on the node that runs it. What
travels is plain data: the submission's files and the rubric's text go out as
bytes, and the result comes back as the JSON a local worker returns. Ray
retries a task only when its worker or node dies; a student's error is a result
like any other, and the driver writes each submission's result once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import secrets
import signal
import tempfile
import time
from pathlib import Path

try:
    import ray
    from ray.exceptions import RayTaskError
    from ray.util.queue import Queue
except ImportError as error:  # the optional extra is missing
    raise ImportError("the Ray backend needs Ray: pip install 'grader[ray]'") from error

from grader.api import grade_submission
from grader.boundary import IsolationError
from grader.checks.training import DataError
from grader.identity import report_folder
from grader.results import result_from_dict
from grader.rubric import load_rubric
from grader.submission import Submission, SubmissionError, discard, open_submission

# Infrastructure failures (a worker or node lost) are retried this many times; nothing else is.
RETRIES = 3
_rubrics: dict[str, object] = {}  # rubric sha256 -> Rubric, per worker process


def _ray_paths() -> list[str]:
    """Where this node keeps Ray's sockets, logs and credentials: no student may reach them."""
    paths = [str(Path.home() / ".ray")]
    try:
        node = ray._private.worker.global_worker.node
        paths += [node.get_temp_dir_path(), node.get_session_dir_path()]
    except Exception:  # an API that moved: the default temporary folder is still hidden
        paths.append(os.path.join(tempfile.gettempdir(), "ray"))
    return [path for path in paths if os.path.exists(path)]


def _rubric(name: str, text: bytes, secret: bytes | None):
    """The rubric sent as bytes, with the grading secret the batch holds (so that every worker draws
    final grading's inputs), loaded once per worker from a folder of its own, kept while the worker lives."""
    digest = hashlib.sha256(text + b"\0" + (secret or b"")).hexdigest() + ("" if secret is None else "+secret")
    if digest not in _rubrics:
        path = Path(tempfile.mkdtemp(prefix="grader-ray-rubric-"), name)
        path.write_bytes(text)
        _rubrics[digest] = dataclasses.replace(load_rubric(path, secret=False), secret=secret)
    return _rubrics[digest]


def grade_task(student: str, files: dict, rubric_name: str, rubric_text: bytes, secret: bytes | None, strict: bool,
               hide: list, items, explain: bool, progress) -> str:
    """Runs on a Ray worker: write the files to a private folder, grade them there, return result JSON."""
    rubric = _rubric(rubric_name, rubric_text, secret)
    home = tempfile.mkdtemp(prefix="grader-ray-")
    try:
        folder = report_folder(home, student)  # an identity: one plain component
        Submission(student, str(folder), files).write_into(folder)

        def report(item_id: str, update: dict) -> None:
            try:
                progress.put_nowait((student, item_id, update))
            except Exception:  # progress is a courtesy; never let it fail a grade
                pass

        result = grade_submission(folder, rubric, strict=strict, hide=[*hide, *_ray_paths()], items=items,
                                  explain=explain, progress=report if progress is not None else None, student=student)
        return result.to_json()
    finally:
        discard(home)


def _resources(rubric) -> dict:
    """One CPU per task; a GPU too when the rubric may train on one and the cluster has GPUs."""
    wants_gpu = any(item.kind == "training" and item.device == "auto" for item in rubric.items)
    gpus = ray.cluster_resources().get("GPU", 0)
    return {"num_cpus": 1, "num_gpus": 1 if wants_gpu and gpus >= 1 else 0}


# A local instance's processes are found at the end by what they inherit: this variable in their
# environment, with a value of the run's own, and files open in the instance's session folder (a
# process that renames itself overwrites its environment as /proc shows it, but keeps its log files).
INSTANCE_MARK = "GRADER_RAY_INSTANCE"
STOP_WAIT_S = 3.0


@contextlib.contextmanager
def connected(address: str | None, cpus: int):
    """Ray for the block: the cluster at `address` (or RAY_ADDRESS), which is only left, never stopped;
    else a local instance with `cpus` CPUs, stopped at the end with every process it started, on an
    error or Ctrl-C too. A driver already connected stays as it is."""
    if ray.is_initialized():
        yield
        return
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
        try:
            yield
        finally:
            ray.shutdown()
        return
    instance = Instance(secrets.token_hex(16))
    os.environ[INSTANCE_MARK] = instance.mark
    try:
        try:
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
            instance.session = _session_dir()
        finally:
            del os.environ[INSTANCE_MARK]  # what this process starts later is none of the instance's
        yield
    finally:
        ray.shutdown()
        instance.stop()


@dataclasses.dataclass
class Instance:
    """The processes of a local Ray instance, as /proc shows them (Linux; elsewhere none is found)."""

    mark: str
    session: str | None = None

    def processes(self) -> list[int]:
        found = []
        for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
            if entry.isdigit() and int(entry) != os.getpid() and self._owns(entry):
                found.append(int(entry))
        return found

    def _owns(self, pid: str) -> bool:
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                if f"{INSTANCE_MARK}={self.mark}".encode() in handle.read().split(b"\0"):
                    return True
            if self.session:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(self.session + os.sep):
                        return True
        except OSError:  # gone, or not ours to read
            pass
        return False

    def stop(self, wait_s: float = STOP_WAIT_S) -> list[int]:
        """SIGTERM to every process still there, SIGKILL to those left after `wait_s`; their ids."""
        pids = self.processes()
        if not pids:
            return pids
        for pid in pids:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and self.processes():
            time.sleep(0.05)
        for pid in self.processes():
            _signal(pid, signal.SIGKILL)
        return pids


def _session_dir() -> str | None:
    try:
        return os.path.realpath(ray._private.worker._global_node.get_session_dir_path())
    except Exception:  # an API that moved: the environment's mark still finds most of them
        return None


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except OSError:  # already gone
        pass


def grade_in_ray(paths, rubric, strict, hide, finish, on_start, on_progress, log, options, *,
                 address=None, jobs=1, worker_failure) -> None:
    """Grade `paths` as Ray tasks, calling finish(result, False) once per submission as each is done."""
    with connected(address, jobs):
        _grade(paths, rubric, strict, hide, finish, on_start, on_progress, log, options, worker_failure)


def _grade(paths, rubric, strict, hide, finish, on_start, on_progress, log, options, worker_failure) -> None:
    task = ray.remote(max_retries=RETRIES, retry_exceptions=False)(grade_task)
    resources = _resources(rubric)
    log.info("ray: %s, tasks ask for %s", ray.cluster_resources(), resources)
    rubric_text = Path(rubric.path).read_bytes()
    progress = Queue(maxsize=10_000) if on_progress else None
    in_flight_limit = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    queue, running = list(paths), {}
    try:
        while queue or running:
            while queue and len(running) < in_flight_limit:
                path = queue.pop(0)
                student, items, explain = options[path]  # a batch.Job
                try:
                    submission = open_submission(path)
                except SubmissionError:  # nothing to send: the result says why, as locally
                    finish(grade_submission(path, rubric, strict=strict, hide=hide, items=items, student=student), False)
                    continue
                if on_start:
                    on_start(student)
                ref = task.options(**resources).remote(
                    student, submission.files, Path(rubric.path).name, rubric_text, rubric.secret, strict, hide,
                    items, explain, progress)
                running[ref] = path
            if not running:
                continue
            done, _ = ray.wait(list(running), num_returns=1, timeout=0.25)
            _relay(progress, on_progress)
            for ref in done:
                path = running.pop(ref)
                try:
                    result = result_from_dict(json.loads(ray.get(ref)))
                except RayTaskError as error:
                    if isinstance(error.cause, (IsolationError, DataError)):  # they stop a local batch too
                        raise error.cause from None
                    log.error("grading %s failed on the cluster: %s", options[path].student, error)
                    result = worker_failure(options[path].student, rubric, error.cause or error)
                except ray.exceptions.RayError as error:  # retries spent: the worker or node kept dying
                    log.error("grading %s failed: %s", options[path].student, error)
                    result = worker_failure(options[path].student, rubric, error)
                finish(result, False)
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
        if progress is not None:
            ray.kill(progress.actor)


def _relay(progress, on_progress) -> None:
    if progress is None:
        return
    try:
        updates = progress.get_nowait_batch(progress.qsize())
    except Exception:
        return
    for name, item_id, report in updates:
        on_progress(name, item_id, report)
