"""The per-submission process model, as a baseline: one fresh interpreter grades one submission.

    python benchmarks/per_process.py SUBMISSION RUBRIC

This is how Otter-Grader and typical Gradescope scripts run: a new Python process per
submission imports numpy, torch and the student's modules, then runs the checks in that
same process. Here the checks are this project's own (the same rubric, runners and judge),
under the same resource limits as a sandboxed child; only the student's functions are
called directly instead of through the sandbox boundary. It prints one JSON line: the
score, each item's status and seconds, and when the imports finished.

It runs student code unsandboxed, in-process. It exists to be measured against, on the
bundled submissions only; the grader never grades this way.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.api import item_result  # noqa: E402
from grader.boundary import Limits, Outcome  # noqa: E402
from grader.boundary.codec import Decoder, encode_value  # noqa: E402
from grader.checks import RUNNERS, Context  # noqa: E402
from grader.results import SubmissionResult  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402
from grader.submission import open_submission  # noqa: E402


class InProcess:
    """Stands where the sandboxed StudentProcess stands, calling the student's code directly."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.modules: dict[str, object] = {}
        self.isolation = {"process": False}
        self.starts = 0

    def _outcome(self, action) -> Outcome:
        started = time.perf_counter()
        try:
            value = action()
        except BaseException as error:
            return Outcome("error", error_type=type(error).__name__, message=str(error)[:2000],
                           traceback=traceback.format_exc()[-4000:], seconds=time.perf_counter() - started)
        return Outcome("ok", value=value, seconds=time.perf_counter() - started)

    def import_module(self, module: str, timeout_s: float) -> Outcome:
        def load():
            spec = importlib.util.spec_from_file_location(module, self.folder / f"{module}.py")
            loaded = importlib.util.module_from_spec(spec)
            sys.modules[module] = loaded
            spec.loader.exec_module(loaded)
            self.modules[module] = loaded

        return self._outcome(load)

    def call(self, module: str, expr: str, inputs: dict, timeout_s: float, torch_module=None) -> Outcome:
        def run():
            namespace = {**vars(self.modules[module]), **inputs}
            random.seed(0)
            np.random.seed(0)
            torch.default_generator.manual_seed(0)
            # The judge compares plain values, as the boundary's decoder produces them.
            header, blobs = encode_value(eval(expr, namespace), torch)
            return Decoder(blobs).decode(header)

        return self._outcome(run)

    def read_yaml(self, filename: str, timeout_s: float) -> Outcome:
        return self._outcome(lambda: yaml.safe_load((self.folder / filename).read_bytes()))

    def start(self) -> dict:
        return self.isolation

    def close(self) -> None:
        pass


def set_limits(limits: Limits) -> None:
    """The resource limits a sandboxed child gets (see grader/boundary/sandbox.py)."""
    for name, value in (("RLIMIT_AS", limits.memory_mb << 20), ("RLIMIT_CPU", limits.cpu_s),
                        ("RLIMIT_FSIZE", limits.file_mb << 20), ("RLIMIT_NOFILE", limits.open_files),
                        ("RLIMIT_CORE", 0), ("RLIMIT_NPROC", limits.processes)):
        resource.setrlimit(getattr(resource, name), (value, value))


def main(submission: str, rubric_path: str) -> None:
    imported = time.perf_counter() - STARTED
    rubric = load_rubric(rubric_path)
    set_limits(Limits(memory_mb=rubric.memory_mb, cpu_s=int(rubric.submission_timeout_s) + 30))
    opened = open_submission(submission)
    process = InProcess(Path(submission).resolve())
    sys.path.insert(0, str(process.folder))
    os.chdir(process.folder)
    context = Context(rubric, process, set(opened.files), deadline=time.monotonic() + rubric.submission_timeout_s)
    results, seconds = [], {}
    for item in rubric.items:
        started = time.perf_counter()
        results.append(item_result(item, RUNNERS[item.kind](context, item)))
        seconds[item.id] = time.perf_counter() - started
    result = SubmissionResult(opened.student, results, process.isolation, rubric.sha256, opened.sha256)
    print(json.dumps({"student": opened.student, "score": result.score, "statuses": {r.id: r.status for r in results},
                      "items_s": seconds, "imported_s": imported, "total_s": time.perf_counter() - STARTED}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
