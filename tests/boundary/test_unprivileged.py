"""A student's self-check without privilege, and without the layers only Linux (or root) gives.

The real self-check runs as uid 65534 with every capability dropped (as root, through setpriv
or capsh), on the kernel as it is and on one that answers ENOSYS for Landlock and seccomp, as
an older one does. The guards that keep Linux-only calls off other systems are tested with
sys.platform standing in for macOS, and with the calls made to fail as macOS fails them.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import pytest
import yaml

from grader.boundary import Limits, Plan, StudentProcess, Zygote, cgroup, default_read_only, landlock, sandbox, seccomp
from grader.boundary import session, zygote as zygote_module
from grader.boundary.doctor import self_check_notes
from tests.machine import WITHOUT_LANDLOCK_OR_SECCOMP

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534
ITEMS = ["conv_matrix.published", "softmax.stability", "focal_loss.reweight_published"]
ZYGOTE_MARK = b"grader.boundary.zygote"


# ---- a real self-check without privilege ------------------------------------------------------


def _open_to_all(path: Path) -> Path:
    for folder in (path, *path.rglob("*")):
        folder.chmod(folder.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if folder.is_dir() else 0))
    return path


def _closed_ancestor(path: str) -> str | None:
    """The first folder on the way to `path` that others may not enter (root's home, say)."""
    current = "/"
    for part in Path(path).parts[1:]:
        current = os.path.join(current, part)
        if os.path.isdir(current) and not os.stat(current).st_mode & stat.S_IXOTH:
            return current
    return None


def _reachable(needed: list[str], holding: Path) -> str:
    """Shell lines that, in a new mount namespace, let others reach `needed` under closed folders:
    each closed folder is covered with an empty tmpfs and what is needed inside it bound back."""
    lines, covered = [], {}
    for path in needed:
        closed = _closed_ancestor(path)
        if closed:
            covered.setdefault(closed, set()).add(path)
    for number, (closed, paths) in enumerate(sorted(covered.items())):
        for inner, path in enumerate(sorted(paths)):
            spot = holding / f"{number}-{inner}"
            spot.mkdir()
            lines.append(f"mount --bind {shlex.quote(path)} {shlex.quote(str(spot))}")
        lines.append(f"mount -t tmpfs -o mode=0755,size=64k none {shlex.quote(closed)}")
        for inner, path in enumerate(sorted(paths)):
            lines.append(f"mkdir -p {shlex.quote(path)} && mount --bind {shlex.quote(str(holding / f'{number}-{inner}'))} "
                         f"{shlex.quote(path)}")
    return "\n".join(lines)


def _as_nobody(command: list[str], holding: Path) -> list[str]:
    """`command` as uid 65534 without capabilities; skips where this machine cannot do that."""
    if shutil.which("setpriv"):
        drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all"]
    elif shutil.which("capsh"):
        drop = ["capsh", "--drop=all", f"--gid={NOBODY}", f"--groups={NOBODY}", f"--uid={NOBODY}", "--", "-c",
                '"$0" "$@"']
    else:
        pytest.skip("neither setpriv nor capsh is installed, so nothing here can drop to an unprivileged uid")
    interpreter = os.path.realpath(sys.executable)
    needed = sorted({os.path.dirname(os.path.dirname(interpreter)), sys.prefix, sys.base_prefix, str(ROOT),
                     *(p for p in sys.path if "site-packages" in p and os.path.isdir(p))})
    cover = _reachable(needed, holding)
    if not cover:
        return [*drop, *command]
    if not shutil.which("unshare"):
        pytest.skip(f"the interpreter lies under {_closed_ancestor(interpreter)}, which uid {NOBODY} cannot enter, "
                    "and there is no unshare to expose it")
    script = f"set -e\n{cover}\nexec {shlex.join(drop)} \"$@\""
    wrapper = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
    tried = subprocess.run([*wrapper, "true"], capture_output=True, text=True, timeout=30)
    if tried.returncode != 0:
        pytest.skip(f"the interpreter lies under {_closed_ancestor(interpreter)}, which uid {NOBODY} cannot enter, "
                    f"and it cannot be exposed here: {tried.stderr.strip()[:300]}")
    return [*wrapper, *command]


def _grader_processes(uid: int, marks: list[bytes]) -> set[int]:
    """Live processes of `uid` whose command line holds one of `marks`."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{entry}/status").read_text().splitlines()
                          if ":" in line)
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z") \
                and any(mark in command for mark in marks):
            found.add(int(entry))
    return found


@pytest.fixture
def self_check():
    """Runs `grader check` on a copy of a bundled correct submission as a student without privilege
    would: uid 65534 without capabilities (or this uid, where the suite runs unprivileged), no
    writable home, so no cache, and a temp folder of its own. Returns what it printed and wrote."""
    work = Path(tempfile.mkdtemp(prefix="grader-unprivileged-"))
    work.chmod(0o755)
    runs = []

    def run(without_landlock_or_seccomp: bool = False) -> dict:
        as_root = os.geteuid() == 0
        uid = NOBODY if as_root else os.getuid()
        base = work / f"run{len(runs)}"
        submission = base / "ada_lovelace"
        shutil.copytree(ROOT / "submissions" / "ada_lovelace", submission)
        rubric = yaml.safe_load((ROOT / "rubrics" / "assignment2.yaml").read_text())
        rubric["items"] = [item for item in rubric["items"] if item["id"] in ITEMS]
        (base / "rubric.yaml").write_text(yaml.safe_dump(rubric, sort_keys=False))
        temp, out, holding = base / "tmp", base / "out", base / "holding"
        for folder in (temp, out, holding):
            folder.mkdir()
        _open_to_all(base)
        for folder in (temp, out):
            folder.chmod(0o1777)
        home = base / "home"  # never made: nowhere to cache, as for user nobody
        command = [sys.executable, "-m", "grader", "check", str(submission), "--rubric", str(base / "rubric.yaml"),
                   "--json", str(out / "result.json")]
        if without_landlock_or_seccomp:
            pytest.importorskip("pyseccomp", reason="pyseccomp stands in for a kernel without Landlock and seccomp")
            command = [sys.executable, "-c", WITHOUT_LANDLOCK_OR_SECCOMP, *command]
        if as_root:
            command = _as_nobody(command, holding)
        else:
            home.mkdir(mode=0o555)  # there, and unwritable
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "TMPDIR": str(temp),
                       "LANG": "C.UTF-8", "COLUMNS": "160"}
        marks = [ZYGOTE_MARK, str(base).encode()]
        before = _grader_processes(uid, marks)
        started = time.monotonic()
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, cwd=base)
        seconds = time.monotonic() - started
        left = _grader_processes(uid, marks) - before
        for _ in range(30):
            if not left:
                break
            time.sleep(0.1)
            left = _grader_processes(uid, marks) - before
        runs.append(seconds)
        result_file = out / "result.json"
        return {"done": done, "seconds": seconds, "left": left, "temp": sorted(os.listdir(temp)),
                "home_made": home.exists() and any(home.iterdir()),
                "result": json.loads(result_file.read_text()) if result_file.exists() else None}

    yield run
    shutil.rmtree(work, ignore_errors=True)


def _assert_graded_and_clean(outcome: dict) -> dict:
    done = outcome["done"]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr and "Warning" not in done.stderr, done.stdout + done.stderr
    result = outcome["result"]
    assert result is not None, "no result was written"
    assert {item["id"]: item["status"] for item in result["items"]} == dict.fromkeys(ITEMS, "passed")
    assert not outcome["left"], f"processes outlived the self-check: {sorted(outcome['left'])}"
    assert outcome["temp"] == [], f"left in the temp folder: {outcome['temp']}"
    assert not outcome["home_made"], "something was written into the home folder"
    return result["isolation"]


def test_a_self_check_without_privilege_grades_and_says_what_it_lacked(self_check):
    outcome = self_check()
    isolation = _assert_graded_and_clean(outcome)
    assert isolation["process"] is True
    assert isolation["rlimits"].get("RLIMIT_AS"), isolation["rlimits"]
    # What needs privilege is reported missing, not refused. (A cgroup needs none where the user's is delegated.)
    for layer in ("namespaces", "hidden_paths", "disk", "unprivileged_uid"):
        assert not isolation[layer], (layer, isolation)
    assert "cgroup" in isolation
    notes = self_check_notes(isolation)
    assert any("namespaces" in note for note in notes) and any("your own user" in note for note in notes), notes
    assert outcome["seconds"] < 30, outcome["seconds"]


def test_a_self_check_on_a_kernel_without_landlock_or_seccomp_still_grades(self_check):
    isolation = _assert_graded_and_clean(self_check(without_landlock_or_seccomp=True))
    assert isolation["process"] is True
    assert not isolation["filesystem"] and not isolation["seccomp"] and not isolation["network"], isolation
    assert isolation["landlock"]["abi"] == 0 and isolation["syscalls"]["installed"] is False
    notes = self_check_notes(isolation)
    assert any(note.startswith("Landlock is not available here") for note in notes), notes
    assert any("seccomp" in note and "network" in note for note in notes), notes


# ---- rlimits when the child shares the grader's uid, and where the system refuses one -------------


class _FakeResource:
    """resource where the system refuses an address-space cap and the hard open-files limit is 128."""

    RLIM_INFINITY = -1
    RLIMIT_AS, RLIMIT_DATA, RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_NOFILE, RLIMIT_CORE, RLIMIT_NPROC = range(7)

    def __init__(self):
        self.set = {}

    def getrlimit(self, number):
        return (128, 128) if number == self.RLIMIT_NOFILE else (self.RLIM_INFINITY, self.RLIM_INFINITY)

    def setrlimit(self, number, limits):
        if number == self.RLIMIT_AS:
            raise ValueError("current limit exceeds maximum limit")
        self.set[number] = limits


THREADS_AND_PROCESSES = '''import subprocess, threading

def start_both():
    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()
    return subprocess.run(["true"]).returncode
'''


@pytest.mark.skipif(os.geteuid() == 0, reason="as root the child runs under a uid of its own, which runs nothing else")
def test_a_child_sharing_a_busy_uid_can_still_start_a_thread_and_a_process(zygote, tmp_path):
    """RLIMIT_NPROC counts every task of the real uid: 64 would leave none on a desktop's."""
    crowd = [subprocess.Popen(["sleep", "60"]) for _ in range(Limits().processes + 10)]
    scratch = tempfile.mkdtemp(prefix="grader-test-")
    Path(scratch, "m.py").write_text(THREADS_AND_PROCESSES)
    try:
        with StudentProcess(zygote, Plan(scratch=scratch, hide=[str(tmp_path)], read_only=default_read_only()),
                            []) as process:
            assert process.import_module("m", 30).ok
            outcome = process.call("m", "start_both()", {}, 30)
            assert outcome.ok and outcome.value == 0, outcome
            assert process.isolation["rlimits"]["RLIMIT_NPROC"] > Limits().processes + len(crowd)
    finally:
        for sleeper in crowd:
            sleeper.kill()
            sleeper.wait()
        shutil.rmtree(scratch, ignore_errors=True)


def test_a_shared_uid_gets_its_process_allowance_on_top_of_what_it_runs(monkeypatch):
    fake = _FakeResource()
    monkeypatch.setattr(sandbox, "resource", fake)
    monkeypatch.setattr(sandbox, "_tasks_of", lambda uid: 300)
    assert sandbox._rlimits(Limits(processes=64), gpu=False, own_uid=False)["RLIMIT_NPROC"] == 364
    assert sandbox._rlimits(Limits(processes=64), gpu=False, own_uid=True)["RLIMIT_NPROC"] == 64


def test_tasks_are_counted_as_the_kernel_counts_them():
    """This process's threads are among them, and more threads count more."""
    import threading

    before = sandbox._tasks_of(os.getuid())
    release = threading.Event()
    threads = [threading.Thread(target=release.wait) for _ in range(5)]
    for thread in threads:
        thread.start()
    try:
        assert sandbox._tasks_of(os.getuid()) >= before + 5 - 2  # others of this uid may end meanwhile
    finally:
        release.set()
        for thread in threads:
            thread.join()


def test_limits_the_system_refuses_are_left_out_and_lower_hard_limits_kept(monkeypatch):
    fake = _FakeResource()
    monkeypatch.setattr(sandbox, "resource", fake)
    applied = sandbox._rlimits(Limits(open_files=256), gpu=False, own_uid=True)
    assert "RLIMIT_AS" not in applied
    assert applied["RLIMIT_NOFILE"] == 128 and fake.set[fake.RLIMIT_NOFILE] == (128, 128)
    assert applied["RLIMIT_CPU"] == Limits().cpu_s


# ---- guards for systems other than Linux --------------------------------------------------------


class _NoLinuxCalls:
    """libc as macOS's dlsym answers for Linux's calls: no such symbol."""

    def __getattr__(self, name):
        raise AttributeError(f"dlsym(RTLD_DEFAULT, {name}): symbol not found")


def test_on_another_system_only_what_it_has_is_applied_and_the_rest_reported_missing(monkeypatch, tmp_path):
    """sandbox.apply as on macOS, in a forked process: no Linux call is made, and it does not raise."""
    scratch = tempfile.mkdtemp(prefix="grader-test-")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            monkeypatch.setattr(sys, "platform", "darwin")
            monkeypatch.setattr(sandbox, "_libc", _NoLinuxCalls())
            monkeypatch.setattr(landlock, "_libc", _NoLinuxCalls())
            try:
                report = sandbox.apply(Plan(scratch=scratch, hide=[str(tmp_path)], read_only=default_read_only()))
            except BaseException as error:
                report = {"raised": f"{type(error).__name__}: {error}"}
            os.write(write_end, json.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as handle:
        text = handle.read()
    os.waitpid(pid, 0)
    shutil.rmtree(scratch, ignore_errors=True)
    report = json.loads(text)
    assert "raised" not in report, report["raised"]
    assert report["process"] is True and report["rlimits"].get("RLIMIT_CPU")
    assert "RLIMIT_NPROC" not in report["rlimits"]  # a uid shared with everything the student runs, uncounted
    assert "RLIMIT_AS" not in report["rlimits"]  # not enforced there: not claimed
    for layer in ("namespaces", "hidden_paths", "disk", "no_new_privs", "unprivileged_uid", "filesystem", "seccomp",
                  "network", "hidden_processes"):
        assert not report[layer], (layer, report)
    assert "Linux feature" in report["syscalls"]["error"]


def test_landlock_seccomp_and_cgroups_are_not_tried_on_another_system(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(landlock, "_libc", _NoLinuxCalls())
    assert landlock.abi_version() == 0
    assert landlock.restrict(["/usr"], ["/tmp"]) == {"abi": 0}
    assert seccomp.install() == {"installed": False, "error": "seccomp is a Linux feature, and this system is darwin"}
    cgroup.layout.cache_clear()
    try:
        found = cgroup.layout()
        assert found.version is False and "Linux feature" in found.reason
        assert cgroup.create(512, 8, 1) is None
    finally:
        cgroup.layout.cache_clear()


def test_without_proc_a_call_limit_is_wall_time_and_the_uid_sweep_finds_nothing(monkeypatch):
    child = types.SimpleNamespace(cpu_seconds=lambda: (0.0, "unmeasurable"), group=None)
    clock = session.Clock(child, 20.0, cpu_time=True)
    assert clock.cpu_time is False and clock.backstop - clock.started == pytest.approx(20.0)
    assert "wall-clock" in clock.backstop_message()
    listdir = os.listdir

    def no_proc(path="."):
        if str(path) == "/proc":
            raise FileNotFoundError(2, "No such file or directory", "/proc")
        return listdir(path)

    monkeypatch.setattr(session.os, "listdir", no_proc)
    assert session._kill_uid_once(123_456) is False


def test_the_zygote_works_over_a_stream_where_the_system_has_no_seqpacket(monkeypatch, tmp_path):
    """As on macOS: requests are lines, one long enough to arrive in parts, with their descriptors."""
    pair = socket.socketpair

    def no_seqpacket(family=socket.AF_UNIX, kind=socket.SOCK_STREAM, proto=0):
        if kind == socket.SOCK_SEQPACKET:
            raise OSError(93, "Protocol not supported")
        return pair(family, kind, proto)

    monkeypatch.setattr(zygote_module.socket, "socketpair", no_seqpacket)
    streamed = Zygote()
    scratch = tempfile.mkdtemp(prefix="grader-test-")
    Path(scratch, "m.py").write_text("def twice(x):\n    return 2 * x\n")
    # Thousands of paths to hide (none of them there): a request larger than a stream socket's buffer.
    hide = [str(tmp_path / f"absent-{number:05d}" / ("x" * 40)) for number in range(4000)]
    try:
        for _ in range(2):  # a second child over the same channel: nothing of the first is left to misread
            with StudentProcess(streamed, Plan(scratch=scratch, hide=hide, read_only=default_read_only()), []) as child:
                assert child.import_module("m", 30).ok
                assert child.call("m", "twice(x)", {"x": 21}, 30).value == 42
        assert streamed._control.type == socket.SOCK_STREAM
    finally:
        streamed.close()
        shutil.rmtree(scratch, ignore_errors=True)


# ---- what a student is told -------------------------------------------------------------------


EVERY_LAYER = {"process": True, "namespaces": True, "network": True, "hidden_paths": 3, "disk": True,
               "hidden_processes": "hidepid", "rlimits": {"RLIMIT_AS": 4 << 30, "RLIMIT_CPU": 630},
               "no_new_privs": True, "unprivileged_uid": True, "filesystem": True, "seccomp": True, "cgroup": "v2"}


def test_nothing_is_said_when_every_layer_is_there():
    assert self_check_notes(EVERY_LAYER) == []


def test_a_laptop_without_privilege_hears_of_namespaces_and_its_own_user_only():
    laptop = {**EVERY_LAYER, "namespaces": False, "hidden_paths": 0, "disk": False, "hidden_processes": "landlock",
              "unprivileged_uid": False, "cgroup": False}
    notes = self_check_notes(laptop)
    assert len(notes) == 2, notes
    assert notes[0].startswith("Linux namespaces are not available here") and "your own user" in notes[1]


def test_a_system_with_none_of_linux_layers_hears_one_line_per_family():
    mac = {"process": True, "namespaces": False, "network": False, "hidden_paths": 0, "disk": False,
           "hidden_processes": False, "rlimits": {"RLIMIT_CPU": 630}, "no_new_privs": False,
           "unprivileged_uid": False, "filesystem": False, "seccomp": False, "cgroup": False}
    notes = self_check_notes(mac)
    assert [note.split()[0] for note in notes] == ["Linux", "Landlock", "The", "Your", "Memory"], notes
    assert all("\n" not in note and len(note) < 220 for note in notes), notes
    assert "network" in notes[2]
    # With a network namespace the missing filter is about system calls, not the network.
    assert "network" not in self_check_notes({**mac, "network": True})[2]
