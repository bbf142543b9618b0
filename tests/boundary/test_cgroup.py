"""One cgroup per student child: memory, processes and CPU capped for all of a submission's
processes together, everything in it killed and the group removed when the child is closed.

The first tests put a plain forked helper in a group: it stays root, so RLIMIT_NPROC does not
bind it and only the group can. Runs wherever the kernel lets this process make cgroups
(tests/boundary/machine_cgroups.py asks it directly).
"""

import os
import select
import sys
import time

import pytest

from grader.boundary import cgroup
from tests.boundary.machine_cgroups import can_have_cgroups

pytestmark = pytest.mark.skipif(not can_have_cgroups(), reason="this machine lets this process make no cgroups")

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


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


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
