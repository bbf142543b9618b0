"""One cgroup per student child: memory, processes and CPU capped for all of a submission's
processes together, everything in it killed and the group removed when the child is closed.

The first tests put a plain forked helper in a group: it stays root, so RLIMIT_NPROC does not
bind it and only the group can. A test that needs cgroups runs wherever the kernel lets this
process make them (tests/boundary/machine_cgroups.py asks it directly).
"""

import os
import select
import sys
import time

import pytest

from grader.boundary import cgroup, session
from tests.boundary.machine_cgroups import alive, can_have_cgroups

needs_cgroups = pytest.mark.skipif(not can_have_cgroups(), reason="this machine lets this process make no cgroups")

# Forks sleeping children until the kernel refuses one; prints how many it made.
FORK_UNTIL_REFUSED = '''
import os, time
made = 0
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        made += 1
    except OSError:
        break
print(made, flush=True)
time.sleep(60)
'''


def helper(code: str, group: cgroup.Group) -> tuple[int, int]:
    """A python process running `code` once it is in `group`: its pid, and the read end of its stdout."""
    go_read, go_write = os.pipe()
    out_read, out_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(go_write)
        os.read(go_read, 1)
        os.dup2(out_write, 1)
        os.execv(sys.executable, [sys.executable, "-c", code])
    os.close(go_read)
    os.close(out_write)
    group.add(pid)
    os.write(go_write, b"g")
    os.close(go_write)
    return pid, out_read


def read_line(fd: int, timeout_s: float = 20) -> str:
    data = b""
    deadline = time.monotonic() + timeout_s
    while not data.endswith(b"\n") and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            chunk = os.read(fd, 100)
            if not chunk:
                break
            data += chunk
    return data.decode().strip()


def reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


@needs_cgroups
def test_the_group_caps_the_processes_it_holds_together_and_leaves_nothing_when_closed():
    group = cgroup.create(memory_mb=512, processes=8, cpus=1)
    assert group is not None and group.version in ("v1", "v2")
    pid, out = helper(FORK_UNTIL_REFUSED, group)
    try:
        made = int(read_line(out) or -1)
        members = group.pids()
        assert made == 7, f"{made} forks allowed, with 8 processes in the group at most"
        assert len(members) == 8 and pid in members
        folders = list(group.folders.values())
        assert all(os.path.isdir(folder) for folder in folders)
        assert group.close()
        reap(pid)
        assert not any(os.path.exists(folder) for folder in folders), "a group folder was left behind"
        assert not [member for member in members if alive(member)], "a process of the group outlived it"
        ours = [name for base in cgroup.layout().bases.values() for name in os.listdir(base)
                if name.startswith(f"grader-{os.getpid()}-")]
        assert ours == [], ours
    finally:
        group.close()
        os.close(out)
        reap(pid)


@needs_cgroups
def test_going_over_the_memory_cap_is_an_oom_kill_the_group_counts():
    group = cgroup.create(memory_mb=128, processes=8, cpus=1)
    pid, out = helper("hoard = bytearray(400 * 2**20)\nprint('survived', flush=True)", group)
    try:
        assert read_line(out) == ""  # killed before it could print
        assert group.oom_kills() == 1
        assert group.memory_peak() <= 128 << 20
    finally:
        group.close()
        os.close(out)
        reap(pid)


@needs_cgroups
def test_cpu_time_is_counted_for_the_group_and_capped_at_its_cpus():
    """Two spinning processes in a group of one CPU: together they get one CPU's time, at most."""
    group = cgroup.create(memory_mb=256, processes=8, cpus=1)
    if not group.limits["cpus"]:
        group.close()
        pytest.skip("no CPU controller for the group here")
    spin = "import os\nos.fork()\nprint('spinning', flush=True)\nwhile True:\n    pass"
    pid, out = helper(spin, group)
    try:
        read_line(out)
        start, started = group.cpu_seconds(), time.monotonic()
        time.sleep(1.0)
        used, wall = group.cpu_seconds() - start, time.monotonic() - started
        assert 0.1 < used <= 1.15 * wall, f"{used:.2f} s of CPU time in {wall:.2f} s"
    finally:
        group.close()
        os.close(out)
        reap(pid)


@needs_cgroups
def test_a_group_whose_grader_died_is_swept_away():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    reap(pid)  # a pid no process has now: the grader that made the group is gone
    base = next(iter(cgroup.layout().bases.values()))
    stale = os.path.join(base, f"grader-{pid}-1-ns{os.stat('/proc/self/ns/pid').st_ino}")
    other_namespace = os.path.join(base, f"grader-{pid}-2-ns1")  # its owner's pid means nothing here
    os.mkdir(stale)
    os.mkdir(other_namespace)
    try:
        cgroup._sweep(cgroup.layout())
        assert not os.path.exists(stale) and os.path.exists(other_namespace)
    finally:
        for folder in (stale, other_namespace):
            if os.path.exists(folder):
                os.rmdir(folder)


# ---- a child's group, through StudentProcess ----------------------------------------

FAMILY = '''
import os, time

def family(n):
    """n grandchildren in sessions of their own, out of the child's process group."""
    pids = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            os.setsid()
            time.sleep(60)
            os._exit(0)
        pids.append(pid)
    return pids

def spin():
    while True:
        pass
'''


@needs_cgroups
def test_a_child_and_all_it_starts_are_in_its_group_and_gone_with_it(student):
    process = student({"m.py": FAMILY})
    assert process.import_module("m", 30).ok
    assert process.isolation["cgroup"] == cgroup.layout().version
    assert process.isolation["cgroup_limits"]["memory_mb"] == 4096 and process.isolation["cgroup_limits"]["processes"] == 64
    group = process._child.group
    family = process.call("m", "family(5)", {}, 30).value
    members = group.pids()
    assert process._child.pid in members and set(family) <= set(members), (family, members)
    folders = list(group.folders.values())
    process.close()
    assert not any(os.path.exists(folder) for folder in folders), "a group folder was left behind"
    deadline = time.monotonic() + 2
    while any(alive(pid) for pid in members) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not [pid for pid in members if alive(pid)], "a process of the child outlived it"


def test_without_cgroups_the_child_has_its_rlimits_and_its_own_cpu_time_counts(student, monkeypatch):
    monkeypatch.setattr(cgroup, "create", lambda *args, **kwargs: None)
    monkeypatch.setattr(session, "CPU_TIME_FROM_S", 0.5)  # so that a short call shows the rule
    process = student({"m.py": FAMILY})
    assert process.import_module("m", 30).ok
    assert process.isolation["cgroup"] is False and process.isolation["rlimits"]["RLIMIT_NPROC"] == 64
    outcome = process.call("m", "spin()", {}, 0.5)
    assert outcome.status == "timeout" and "its process and the children it waited for" in outcome.message, outcome


def test_cgroup_v2_limits_are_written_where_a_v2_group_is_delegated(tmp_path, monkeypatch):
    """This machine may have no v2 controllers to give: the files a v2 group gets are checked on a copy of
    the layout, in a plain folder."""
    base = tmp_path / "delegated"
    base.mkdir()
    (base / "cgroup.controllers").write_text("cpu memory pids\n")
    (base / "cgroup.subtree_control").write_text("cpu memory pids\n")
    monkeypatch.setattr(cgroup, "_own", lambda: {"": "/delegated"})
    monkeypatch.setattr(cgroup, "_mounts", lambda: [("/", str(tmp_path), "cgroup2", ["rw"])])
    found = cgroup._v2()
    assert found.version == "v2" and found.bases == {"": str(base)} and found.cpu_quota
    monkeypatch.setattr(cgroup, "layout", lambda: found)
    real_mkdir = os.mkdir

    def mkdir_like_cgroupfs(path, *args):  # a new group comes with its control files
        real_mkdir(path, *args)
        for name in ("memory.swap.max", "memory.oom.group"):
            with open(os.path.join(path, name), "w") as handle:
                handle.write("max\n")

    monkeypatch.setattr(cgroup.os, "mkdir", mkdir_like_cgroupfs)
    group = cgroup.create(memory_mb=2048, processes=32, cpus=1)
    folder = group.folders[""]
    written = {name: open(os.path.join(folder, name)).read() for name in os.listdir(folder)}
    assert written == {"memory.max": str(2048 << 20), "memory.swap.max": "0", "memory.oom.group": "1",
                       "pids.max": "32", "cpu.max": "100000 100000"}
    assert group.limits == {"memory_mb": 2048, "processes": 32, "cpus": 1, "swap_counted": True}
    with open(os.path.join(folder, "cpu.stat"), "w") as handle:
        handle.write("usage_usec 2500000\nuser_usec 2000000\n")
    with open(os.path.join(folder, "memory.events"), "w") as handle:
        handle.write("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n")
    assert group.cpu_seconds() == 2.5 and group.oom_kills() == 1
    for fd in group._fds.values():  # a plain folder: nothing to kill or remove through close()
        os.close(fd)
