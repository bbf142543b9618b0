"""Whether this machine lets this process make cgroups with memory and process caps, asked of
the kernel directly (as tests/machine.py asks of the other layers), not of the grader: a test
of the cgroup layer runs wherever it can, so a grader that fails to use cgroups fails it."""

from __future__ import annotations

import functools
import os


def _own_groups() -> dict[str, str]:
    groups = {}
    with open("/proc/self/cgroup") as handle:
        for line in handle:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                groups[name] = path
    return groups


def _can_make(folder: str, needed_file: str) -> bool:
    probe = os.path.join(folder, f"test-probe-{os.getpid()}")
    try:
        os.mkdir(probe)
    except OSError:
        return False
    try:
        return os.path.exists(os.path.join(probe, needed_file))
    finally:
        os.rmdir(probe)


def _descends(pid: int) -> bool:
    while pid not in (os.getpid(), 0, 1):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                pid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return pid == os.getpid()


@functools.cache
def can_have_cgroups() -> bool:
    """A v2 group of ours whose children can get memory and pids controllers, or writable v1
    memory and pids hierarchies (the hybrid layout)."""
    own = _own_groups()
    if "" in own:
        folder = os.path.join("/sys/fs/cgroup", own[""].lstrip("/"))
        try:
            offered, enabled, members = (open(os.path.join(folder, name)).read().split()
                                         for name in ("cgroup.controllers", "cgroup.subtree_control", "cgroup.procs"))
        except OSError:
            offered = enabled = members = []
        # Usable when the group's children get the controllers already, or when only this
        # process's own tree is in it (so that it can move into a leaf and enable them).
        if {"memory", "pids"} <= set(offered) and os.access(folder, os.W_OK) and (
                {"memory", "pids"} <= set(enabled) or all(_descends(int(pid)) for pid in members)):
            return True
    v1 = {name: os.path.join("/sys/fs/cgroup", name, own.get(name, "/").lstrip("/")) for name in ("memory", "pids")}
    return all(name in own for name in v1) and _can_make(v1["memory"], "memory.limit_in_bytes") \
        and _can_make(v1["pids"], "pids.max")


def alive(pid: int) -> bool:
    """Whether `pid` is a process that has not exited (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False
