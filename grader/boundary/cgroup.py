"""Per-submission limits through cgroups: memory (swap included), processes and CPU.

rlimits bound each process, so a submission that forks holds its cap once per process; a
cgroup bounds all of a submission's processes together. The trusted side makes one group per
student child, moves the child in before it runs any student code, and, when the child is
closed, kills everything in the group and removes it.

cgroup v2 is used where this process's own group offers the controllers (enabled for its
children already, or enabled by moving this process's tree into a leaf, which v2 requires of
a group whose children have controllers). Otherwise cgroup v1's memory, pids and cpu
hierarchies, where they are writable (a hybrid layout). Where neither works, `create` returns
None and `layout()` says why: the child then has its rlimits only.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import os
import re
import signal
import time
from dataclasses import dataclass, field

from grader.boundary import host

PERIOD_US = 100_000  # the CPU quota's accounting period
# grader-<owner pid>-<serial>-ns<pid namespace>: an owner pid means something only in its own namespace
_NAME = re.compile(r"grader-(\d+)-\d+-ns(\d+)$")
_serial = itertools.count(1)


@dataclass
class Layout:
    version: str | bool  # "v2", "v1" or False
    bases: dict[str, str] = field(default_factory=dict)  # v2: {"": dir}; v1: controller -> dir
    cpu_quota: bool = False  # whether the CPU controller is there to cap the group's CPUs
    reason: str = ""  # why cgroups are not used, or what of them is missing


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def _write(path: str, value) -> None:
    with open(path, "w") as handle:
        handle.write(str(value))


def _mounts() -> list[tuple[str, str, str, list[str]]]:
    """(root, mount point, type, options) of every cgroup mount this process sees."""
    found = []
    for line in _read("/proc/self/mountinfo").splitlines():
        left, _, right = line.partition(" - ")
        fields, kind = left.split(), right.split()
        if len(fields) > 4 and len(kind) > 2 and kind[0] in ("cgroup", "cgroup2"):
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            found.append((fields[3], point, kind[0], kind[2].split(",")))
    return found


def _own() -> dict[str, str]:
    """This process's group per hierarchy: "" for v2, else each v1 controller's name."""
    groups = {}
    for line in _read("/proc/self/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            groups[name] = path
    return groups


def _inside(root: str, point: str, path: str) -> str | None:
    """The folder of group `path` under a mount of `root` at `point`, if the mount shows it."""
    if path != root and not path.startswith(root.rstrip("/") + "/"):
        return None
    return os.path.join(point, os.path.relpath(path, root))


def _ours(pids: list[int]) -> bool:
    """Whether every pid is this process or one of its descendants."""
    me = os.getpid()
    for pid in pids:
        current = pid
        while current not in (me, 0, 1):
            try:
                current = int(_read(f"/proc/{current}/stat").rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                return False
        if current != me:
            return False
    return True


def _procs(folder: str) -> list[int]:
    try:
        return [int(pid) for pid in _read(os.path.join(folder, "cgroup.procs")).split()]
    except (OSError, ValueError):
        return []


def _v2() -> Layout:
    own = _own().get("")
    mounts = [(root, point) for root, point, kind, _ in _mounts() if kind == "cgroup2"]
    base = next((f for root, point in mounts if own is not None and (f := _inside(root, point, own))), None)
    if base is None:
        return Layout(False, reason="no cgroup v2 mount shows this process's group")
    try:
        offered = set(_read(os.path.join(base, "cgroup.controllers")).split())
        enabled = set(_read(os.path.join(base, "cgroup.subtree_control")).split())
    except OSError as error:
        return Layout(False, reason=f"cgroup v2: {error.strerror}")
    wanted = {"memory", "pids"} | ({"cpu"} & offered)
    if not {"memory", "pids"} <= offered:
        return Layout(False, reason=f"cgroup v2: {base} is given no memory and pids controllers")
    if not os.access(base, os.W_OK):
        return Layout(False, reason=f"cgroup v2: {base} is not writable by this process")
    if not wanted <= enabled and not _enable(base, wanted - enabled):
        return Layout(False, reason=f"cgroup v2: {base} holds processes other than the grader's, so its "
                                    "controllers cannot be enabled for child groups")
    return Layout("v2", {"": base}, cpu_quota="cpu" in wanted)


def _enable(base: str, controllers: set[str]) -> bool:
    """Enable `controllers` for the children of `base` (this process's own group).

    v2 lets a group with processes in it give no controller to its children, so this
    process and its descendants move into a leaf first; a group that holds anyone else's
    processes is left as it is. At exit the leaf is undone as far as it can be.
    """
    control = os.path.join(base, "cgroup.subtree_control")
    change = " ".join(f"+{name}" for name in sorted(controllers))
    try:
        _write(control, change)  # the root group, or a group this process has already left
        return True
    except OSError:
        pass
    members = _procs(base)
    if not _ours(members):
        return False
    leaf = os.path.join(base, f"grader-leaf-{os.getpid()}")
    try:
        os.mkdir(leaf)
        for pid in members:
            _write(os.path.join(leaf, "cgroup.procs"), pid)
        _write(control, change)
    except OSError:
        for pid in _procs(leaf):
            try:
                _write(os.path.join(base, "cgroup.procs"), pid)
            except OSError:
                pass
        try:
            os.rmdir(leaf)
        except OSError:
            pass
        return False

    def undo() -> None:
        try:
            _write(control, " ".join(f"-{name}" for name in sorted(controllers)))
            for pid in _procs(leaf):
                _write(os.path.join(base, "cgroup.procs"), pid)
            os.rmdir(leaf)
        except OSError:
            pass

    atexit.register(undo)
    return True


def _v1() -> Layout:
    own = _own()
    mounts = _mounts()
    bases = {}
    for controller in ("memory", "pids", "cpu", "cpuacct"):
        for root, point, kind, options in mounts:
            if kind == "cgroup" and controller in options and controller in own:
                folder = _inside(root, point, own[controller])
                if folder and os.path.isdir(folder) and os.access(folder, os.W_OK):
                    bases[controller] = folder
                    break
    missing = [name for name in ("memory", "pids") if name not in bases]
    if missing:
        return Layout(False, reason=f"cgroup v1: no writable {' or '.join(missing)} hierarchy")
    return Layout("v1", bases, cpu_quota="cpu" in bases)


@functools.lru_cache(maxsize=None)
def layout() -> Layout:
    """Where this process can make groups, worked out once (v2 may move this process into a leaf)."""
    if os.environ.get("GRADER_CGROUPS") == "off":  # to measure or test the rlimits alone
        return Layout(False, reason="turned off (GRADER_CGROUPS=off)")
    if not host.linux():
        return Layout(False, reason=host.not_here("cgroups"))
    reasons = []
    for probe in (_v2, _v1):
        try:
            found = probe()
        except OSError as error:
            found = Layout(False, reason=f"{probe.__name__[1:]}: {error.strerror}")
        if found.version:
            _sweep(found)
            return found
        reasons.append(found.reason)
    return Layout(False, reason="; ".join(reasons))


def _pid_namespace() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def _sweep(found: Layout) -> None:
    """Remove groups that a grader which died left behind: their owner, in this pid namespace, is gone.
    What they still hold (a dead grader's grandchildren) is killed."""
    namespace = str(_pid_namespace())
    for base in set(found.bases.values()):
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            match = _NAME.match(name)
            if match and match.group(2) == namespace and not _alive(int(match.group(1))):
                _remove([os.path.join(base, name)], deadline=time.monotonic() + 0.2)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


class Group:
    """One student child's group. `version` is "v2" or "v1"; `limits` what it enforces."""

    def __init__(self, version: str, folders: dict[str, str], limits: dict):
        self.version = version
        self.folders = folders  # v2: {"": dir}; v1: controller -> dir
        self.limits = limits
        self._fds: dict[str, int] = {}
        self.oom_base = 0

    def _folder(self, *controllers: str) -> str | None:
        for name in (*controllers, ""):
            if name in self.folders:
                return self.folders[name]
        return None

    def _pread(self, controller: str, filename: str) -> str | None:
        """A control file's text, through a descriptor kept open (a poll per call costs microseconds)."""
        key = f"{controller}/{filename}"
        if key not in self._fds:
            folder = self._folder(controller)
            if folder is None:
                return None
            try:
                self._fds[key] = os.open(os.path.join(folder, filename), os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None
        try:
            return os.pread(self._fds[key], 4096, 0).decode()
        except OSError:
            return None

    def add(self, pid: int) -> None:
        for folder in set(self.folders.values()):
            _write(os.path.join(folder, "cgroup.procs"), pid)
        self.oom_base = self.oom_kills()

    def cpu_seconds(self) -> float | None:
        """CPU time used by every process that has been in the group, the dead included."""
        if self.version == "v2":
            text = self._pread("", "cpu.stat") or ""
            usage = next((line.split()[1] for line in text.splitlines() if line.startswith("usage_usec ")), None)
            return int(usage) / 1e6 if usage else None
        text = self._pread("cpuacct", "cpuacct.usage")
        return int(text) / 1e9 if text and text.strip().isdigit() else None

    def oom_kills(self) -> int:
        """Processes of the group the kernel has killed for going over its memory limit."""
        text = self._pread("memory", "memory.events" if self.version == "v2" else "memory.oom_control") or ""
        for line in text.splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return 0

    def memory_peak(self) -> int | None:
        text = self._pread("memory", "memory.peak" if self.version == "v2" else "memory.max_usage_in_bytes")
        return int(text) if text and text.strip().isdigit() else None

    def pids(self) -> list[int]:
        return _procs(self._folder("pids"))

    def close(self) -> bool:
        """Kill every process in the group and remove it; True once no folder of it is left."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        return _remove(list(dict.fromkeys(self.folders.values())), deadline=time.monotonic() + 2.0)


_pending: list[str] = []  # folders whose processes were still exiting when their group closed


def _kill(folder: str) -> None:
    kill = os.path.join(folder, "cgroup.kill")
    if os.path.exists(kill):
        try:
            _write(kill, 1)
            return
        except OSError:
            pass
    for pid in _procs(folder):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _remove(folders: list[str], deadline: float) -> bool:
    """Kill what is in each folder, then remove it. Kills again until it is empty: a fork bomb
    adds processes while it is swept, and the group's process cap keeps the rounds few."""
    left = [f for f in folders if os.path.isdir(f)]
    pause = 0.0005
    while left:
        for folder in left:
            _kill(folder)
        still = []
        for folder in left:
            try:
                os.rmdir(folder)
            except FileNotFoundError:
                pass
            except OSError:  # EBUSY until the killed processes have exited and been reaped
                still.append(folder)
        left = still
        if not left or time.monotonic() > deadline:
            break
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    _pending.extend(f for f in left if f not in _pending)
    return not left


def _retry_pending() -> None:
    if _pending:
        retry = list(_pending)
        _pending.clear()
        _remove(retry, deadline=time.monotonic())


atexit.register(lambda: _remove(list(_pending), deadline=time.monotonic() + 2.0) if _pending else None)


def create(memory_mb: int, processes: int, cpus: int) -> Group | None:
    """A new group capping memory (swap included), tasks and CPUs, or None where cgroups are not
    usable here. Add the child with `Group.add` before it runs student code."""
    found = layout()
    if not found.version:
        return None
    _retry_pending()
    name = f"grader-{os.getpid()}-{next(_serial)}-ns{_pid_namespace()}"
    folders = {controller: os.path.join(base, name) for controller, base in found.bases.items()}
    memory = memory_mb << 20
    limits = {"memory_mb": memory_mb, "processes": processes, "cpus": cpus if found.cpu_quota else None}
    made = []
    try:
        for folder in dict.fromkeys(folders.values()):
            os.mkdir(folder)
            made.append(folder)
        if found.version == "v2":
            folder = folders[""]
            _write(os.path.join(folder, "memory.max"), memory)
            limits["swap_counted"] = os.path.exists(os.path.join(folder, "memory.swap.max"))
            for setting, value in (("memory.swap.max", 0), ("memory.oom.group", 1)):  # where the kernel has them
                if os.path.exists(os.path.join(folder, setting)):
                    _write(os.path.join(folder, setting), value)  # no swap; one process over the cap ends them all
            _write(os.path.join(folder, "pids.max"), processes)
            if found.cpu_quota:
                _write(os.path.join(folder, "cpu.max"), f"{cpus * PERIOD_US} {PERIOD_US}")
        else:
            _write(os.path.join(folders["memory"], "memory.limit_in_bytes"), memory)
            swap = os.path.join(folders["memory"], "memory.memsw.limit_in_bytes")
            limits["swap_counted"] = os.path.exists(swap)  # absent where the kernel does not account swap
            if limits["swap_counted"]:
                _write(swap, memory)
            _write(os.path.join(folders["pids"], "pids.max"), processes)
            if found.cpu_quota:
                _write(os.path.join(folders["cpu"], "cpu.cfs_period_us"), PERIOD_US)
                _write(os.path.join(folders["cpu"], "cpu.cfs_quota_us"), cpus * PERIOD_US)
    except OSError:
        _remove(made, deadline=time.monotonic() + 0.5)
        return None
    return Group(found.version, folders, limits)
