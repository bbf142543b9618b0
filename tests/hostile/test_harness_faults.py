"""The harness's own faults: killed three times mid-batch, then resumed, it ends where an uninterrupted run ends.

Compared with the session's uninterrupted `grader grade submissions` run, this is also the
determinism check: two full runs, byte for byte apart from timing.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _start(out: Path, rubric: Path, resume: bool) -> subprocess.Popen:
    command = [sys.executable, "-m", "grader", "grade", str(ROOT / "submissions"), "--rubric",
               str(rubric), "--out", str(out), "--jobs", "2"]
    return subprocess.Popen(command + (["--resume"] if resume else []), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True, cwd=ROOT)


def _without_timing(path: Path) -> dict:
    data = json.loads(path.read_text())  # a half-written file would not parse
    data.pop("timing")
    return data


def test_killed_three_times_then_resumed_matches_an_uninterrupted_run(untrained_run, untrained_rubric, tmp_path):
    bundled_run = untrained_run  # training is not what a kill interrupts here: the batch's bookkeeping is
    out = tmp_path / "results"
    chance = random.Random(5)  # random points, the same ones every run
    kept_after_kills = []
    for attempt in range(3):
        before = len(list(out.glob("*/result.json")))
        run = _start(out, untrained_rubric, resume=attempt > 0)
        # Killed once this run has written two results, after a random extra moment: mid-batch, at a random point.
        deadline = time.monotonic() + 600
        while len(list(out.glob("*/result.json"))) < before + 2 and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.05)
        time.sleep(chance.uniform(0.0, 1.5))
        assert run.poll() is None, "the kill must land mid-batch"
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        written = sorted(out.glob("*/result.json"))
        for path in written:
            _without_timing(path)
        kept_after_kills.append(len(written))
    final = _start(out, untrained_rubric, resume=True)
    assert final.wait(timeout=900) == 0, final.stderr.read().decode()
    assert kept_after_kills[-1] > 0, "work done before the kills is kept"
    assert (out / "gradebook.csv").read_bytes() == (bundled_run / "gradebook.csv").read_bytes()
    expected = sorted(p.relative_to(bundled_run) for p in bundled_run.glob("*/result.json"))
    assert sorted(p.relative_to(out) for p in out.glob("*/result.json")) == expected
    for relative in expected:
        assert _without_timing(out / relative) == _without_timing(bundled_run / relative), relative
    log = (out / "grading.log").read_text()
    assert "resuming" in log and "kept" in log
