"""What submissions share with each other and with the machine: memory and processes are capped
for all of a submission's processes together, time limits count CPU time so a neighbour's load
cannot fail an honest call, and no submission can read other processes' command lines."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grader.boundary import Plan, StudentProcess, cgroup, default_read_only, session
from grader.boundary.session import WALL_FACTOR, WALL_GRACE_S
from tests.boundary.machine_cgroups import alive, can_have_cgroups
from tests.hostile.conftest import assert_contained, bystanders, grade, plant
from tests.machine import can_have, in_container

SOFTMAX = "softmax_classifier.py"
ATTACKED = "softmax.stability"

# Eight processes of 700 MiB each, 5.6 GiB together: each is under a 2 GiB cap on its own.
FORK_8_X_700MB = '''import os, time
import numpy as np

def softmax(logits):
    children = []
    for _ in range(8):
        pid = os.fork()
        if pid == 0:
            hoard = bytearray(700 * 2**20)  # zero-filled: every page is touched
            time.sleep(30)
            os._exit(0)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
'''


class Groups:
    """The cgroups made while a test watched, with each one's memory peak and members when closed."""

    def __init__(self):
        self.made: list[cgroup.Group] = []
        self.peaks: list[int] = []
        self.members: set[int] = set()


@pytest.fixture
def groups(monkeypatch):
    record = Groups()
    create, close = cgroup.create, cgroup.Group.close

    def recording_create(*args, **kwargs):
        group = create(*args, **kwargs)
        if group is not None:
            record.made.append(group)
        return group

    def recording_close(group):
        record.peaks.append(group.memory_peak() or 0)
        record.members.update(group.pids())
        return close(group)

    monkeypatch.setattr(cgroup, "create", recording_create)
    monkeypatch.setattr(cgroup.Group, "close", recording_close)
    return record


@pytest.mark.skipif(not can_have_cgroups(), reason="this machine lets this process make no cgroups")
def test_many_processes_share_one_memory_cap(tmp_path, bundled, zygote, groups):
    """8 × 700 MiB under a 2 GiB cap: stopped, with a verdict that says memory, and nothing left behind."""
    # A limit that counts CPU time (10 s or more): filling 2 GiB under one CPU's quota on a loaded
    # machine can take more than a few seconds of wall time, never of CPU.
    rubric = dataclasses.replace(bundled, memory_mb=2048,
                                 items=tuple(dataclasses.replace(item, timeout_s=12.0) for item in bundled.items))
    others = bystanders(SOFTMAX)[:1]
    started = time.monotonic()
    result = grade(plant(tmp_path, {SOFTMAX: FORK_8_X_700MB}), rubric, zygote, [ATTACKED], others)
    seconds = time.monotonic() - started
    assert_contained(result, [ATTACKED], others, statuses=("error",), message="memory")
    assert result.isolation["cgroup"] and result.isolation["cgroup_limits"]["memory_mb"] == 2048
    assert seconds < 20, f"grading took {seconds:.1f} s"
    assert groups.peaks and max(groups.peaks) <= 2048 << 20, [peak >> 20 for peak in groups.peaks]
    assert not any(os.path.exists(folder) for group in groups.made for folder in group.folders.values())
    deadline = time.monotonic() + 3
    while any(alive(pid) for pid in groups.members) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in groups.members if alive(pid)], "a process of the submission outlived it"


# Computes until its own process has used `seconds` of CPU time: the same work however loaded the machine is.
FIXED_WORK = '''import time

def work(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    return "done"
'''


@pytest.fixture
def child(zygote, monkeypatch):
    """A child whose calls of 0.5 s or more count CPU time, as a training's and a long call's do:
    the tests stay short."""
    monkeypatch.setattr(session, "CPU_TIME_FROM_S", 0.5)
    scratch = tempfile.mkdtemp(prefix="grader-test-")
    Path(scratch, "m.py").write_text(FIXED_WORK)
    process = StudentProcess(zygote, Plan(scratch=scratch, hide=[], read_only=default_read_only()), [])
    yield process
    process.close()
    shutil.rmtree(scratch, ignore_errors=True)


def test_a_neighbour_s_load_does_not_push_an_honest_call_over_its_limit(child):
    """1 s of work under a 1.6 s limit while spinning processes keep every core busy: the call's
    wall time goes over the limit, its CPU time does not, and it passes."""
    assert child.import_module("m", 30).ok
    # Each in a session of its own: the scheduler weighs a session (autogroup) as one, whatever it holds.
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
                for _ in range(2 * (os.cpu_count() or 1))]
    try:
        time.sleep(0.2)
        outcome = child.call("m", "work(1.0)", {}, 1.6)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    assert outcome.ok and outcome.value == "done", outcome
    assert outcome.cpu_seconds < 1.6 < outcome.seconds, outcome  # a wall-clock limit would have failed it


def test_a_call_over_its_cpu_time_is_stopped_with_what_was_measured(child):
    assert child.import_module("m", 30).ok
    outcome = child.call("m", "work(30)", {}, 0.5)
    assert outcome.status == "timeout" and outcome.seconds < 5, outcome
    assert "s of CPU time, more than the 0.5 s allowed" in outcome.message, outcome.message
    sleeper = child.call("m", "__import__('time').sleep(60)", {}, 0.5)  # no CPU time: the wall-clock backstop ends it
    assert sleeper.status == "timeout" and sleeper.seconds < WALL_FACTOR * 0.5 + WALL_GRACE_S + 1, sleeper
    assert "waited rather than computed" in sleeper.message, sleeper.message


# Every other process's command line it can read, and its own.
READ_PROC = '''import os

def command_lines():
    seen = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    seen[entry] = handle.read().decode(errors="replace")
            except OSError:
                pass
    return seen

def read(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().decode(errors="replace")
    except OSError as error:
        return type(error).__name__

def own():
    return read("self")
'''


@pytest.mark.skipif(not ((can_have()["namespaces"] and can_have()["unprivileged_uid"]) or can_have()["filesystem"]),
                    reason="this machine has neither namespaces with a private uid nor Landlock")
def test_other_processes_command_lines_are_out_of_reach(zygote, tmp_path):
    secret = f"--token=secret-{os.getpid()}-{time.monotonic_ns()}"
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", secret])
    scratch = tempfile.mkdtemp(prefix="grader-test-")
    Path(scratch, "m.py").write_text(READ_PROC)
    process = StudentProcess(zygote, Plan(scratch=scratch, hide=[str(tmp_path)], read_only=default_read_only()), [])
    try:
        time.sleep(0.1)
        with open(f"/proc/{bystander.pid}/cmdline", "rb") as handle:
            assert secret.encode() in handle.read()  # there to be read, for anyone not sandboxed
        assert process.import_module("m", 30).ok
        assert process.isolation["hidden_processes"] in ("hidepid", "landlock")
        seen = process.call("m", "command_lines()", {}, 30)
        assert seen.ok and not any(secret in line for line in seen.value.values()), seen.value
        assert seen.value == {}, f"read the command lines of {sorted(seen.value)}"
        for pid in (bystander.pid, os.getpid(), 1):
            outcome = process.call("m", "read(p)", {"p": str(pid)}, 30)
            assert outcome.value in ("FileNotFoundError", "PermissionError"), (pid, outcome.value)
        assert "grader.boundary.zygote" in process.call("m", "own()", {}, 30).value  # its own, forked from the zygote
    finally:
        process.close()
        bystander.kill()
        bystander.wait()
        shutil.rmtree(scratch, ignore_errors=True)


# Run under tests.dockerlike: no namespaces, so no proc of its own; Landlock's rules must do it.
IN_A_CONTAINER = """
import json, os, shutil, subprocess, sys, tempfile
from pathlib import Path
from grader.boundary import Plan, StudentProcess, Zygote, default_read_only
from tests.hostile.test_shared_resources import READ_PROC
bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", sys.argv[1]])
scratch = tempfile.mkdtemp(prefix="grader-test-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None)
os.chmod(scratch, 0o755)
Path(scratch, "m.py").write_text(READ_PROC)
zygote = Zygote()
process = StudentProcess(zygote, Plan(scratch=scratch, hide=[], read_only=default_read_only()), [])
try:
    process.import_module("m", 60)
    seen = process.call("m", "command_lines()", {}, 30)
    print(json.dumps({"isolation": process.isolation, "listed": seen.value if seen.ok else seen.message,
                      "read": [process.call("m", "read(p)", {"p": str(pid)}, 30).value for pid in (bystander.pid, 1)],
                      "own": process.call("m", "own()", {}, 30).value}))
finally:
    process.close()
    zygote.close()
    bystander.kill()
    shutil.rmtree(scratch, ignore_errors=True)
"""


@pytest.mark.skipif(in_container(), reason="already inside the container: it reproduces one from outside")
@pytest.mark.skipif(os.geteuid() != 0 or not can_have()["seccomp"] or not can_have()["filesystem"],
                    reason="a container's root is reproduced only by root, with seccomp; the fallback needs Landlock")
def test_without_namespaces_landlock_keeps_other_processes_out_of_reach():
    secret = f"--token=secret-{os.getpid()}-{time.monotonic_ns()}"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "tests.dockerlike", sys.executable, "-c", IN_A_CONTAINER, secret],
                          cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["isolation"]["namespaces"] is False and report["isolation"]["hidden_processes"] == "landlock", report
    assert report["listed"] == {} and secret not in done.stdout, report
    assert report["read"] == ["PermissionError", "PermissionError"], report
    assert "grader.boundary.zygote" in report["own"]
