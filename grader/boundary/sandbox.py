"""Isolation layers applied in the child before any student code runs.

Each layer is tried in turn and the strongest the machine allows is kept;
the report says which took effect, so a result records the isolation it had.
Order matters: namespaces and mounts need root, so they come before the uid
drop; Landlock comes after no_new_privs, and the seccomp filter last, since it
refuses the calls that set the others up.
"""

from __future__ import annotations

import ctypes
import functools
import os
import resource
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader.boundary import host, landlock, seccomp

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x04000000, 0x08000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 1 << 12, 1 << 14, 1 << 18
PR_SET_NO_NEW_PRIVS = 38
NOBODY_GID = 65534
UID_BASE = 100_000  # uid = UID_BASE + pid: unique per live child, owned by no one else
# Threads the child computes with (torch, OpenMP, BLAS): its CPU quota, and the CPU time a call
# may use per second of its limit. One, so that honest code's CPU time is its wall time.
THREADS = 1

_libc = ctypes.CDLL(None, use_errno=True)

# Layers a strict grading refuses to run without.
STRICT_LAYERS = ("process", "rlimits", "network", "hidden_paths", "unprivileged_uid", "filesystem", "seccomp")


@dataclass
class Limits:
    memory_mb: int = 4096
    cpu_s: int = 600
    file_mb: int = 64
    disk_mb: int = 512  # what the child may add to its scratch folder, all files together
    open_files: int = 256
    processes: int = 64


@dataclass
class Plan:
    """What the child should enforce; built by the trusted side, plain data only."""

    scratch: str
    hide: list[str] = field(default_factory=list)
    read_only: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    devices: list[str] = field(default_factory=list)  # GPU device files the child may open


def _unshare() -> bool:
    return host.linux() and _libc.unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET) == 0


def _no_new_privs() -> bool:
    return host.linux() and _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0


def _hide(paths: list[str], keep: list[str]) -> list[str]:
    """Cover each path with an empty read-only tmpfs, except ancestors of what the child needs."""
    if _libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return []
    hidden = []
    for path in paths:
        real = os.path.realpath(path)
        if not os.path.isdir(real) or any(_within(k, real) for k in keep):
            continue
        flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
        if _libc.mount(b"tmpfs", real.encode(), b"tmpfs", flags, b"size=4k,mode=0555") == 0:
            hidden.append(path)
    return hidden


def _bound_scratch(scratch: str, extra_mb: int) -> bool:
    """Put the scratch folder on a size-capped tmpfs holding a copy of its files.

    RLIMIT_FSIZE caps one file; without this, many files under the cap could fill the disk.
    """
    original = os.open(scratch, os.O_PATH | os.O_DIRECTORY)
    try:
        source = f"/proc/self/fd/{original}"
        used = sum(os.lstat(os.path.join(root, name)).st_size + 4096
                   for root, dirs, names in os.walk(source) for name in names + dirs)
        size = f"size={used + (extra_mb << 20)},mode=0700".encode()
        if _libc.mount(b"tmpfs", scratch.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, size) != 0:
            return False
        shutil.copytree(source, scratch, symlinks=True, dirs_exist_ok=True)
        return True
    finally:
        os.close(original)


@functools.lru_cache(maxsize=None)  # a child asks about the same few folders for every rule
def _closed(folder: str) -> bool:
    return os.path.isdir(folder) and not os.stat(folder).st_mode & 0o001


def _closed_ancestor(path: str) -> str | None:
    """The first folder above `path` that others may not traverse (a closed `path` itself is its own business)."""
    current = "/"
    for part in path.strip("/").split("/")[:-1]:
        current = os.path.join(current, part)
        if _closed(current):
            return current
    return None


def _expose(paths: list[str]) -> list[str]:
    """Make `paths` reachable for an unprivileged uid when an ancestor is closed (e.g. /root).

    The closed ancestor is covered with an empty tmpfs and only `paths` are
    bound back into it, which also hides everything else the ancestor held.
    """
    by_ancestor: dict[str, list[str]] = {}
    for real in paths:
        ancestor = _closed_ancestor(real) if os.path.isdir(real) else None
        if ancestor:
            by_ancestor.setdefault(ancestor, []).append(real)
    return _cover(by_ancestor)


def _cover_shared(scratch: str, keep: list[str]) -> list[str]:
    """Cover the folders where any process may leave a socket (the shared temp folder, /run).

    Landlock does not govern connecting to a named Unix socket, and a world-writable one
    (X11's, D-Bus's, a careless service's) would reach a process outside the sandbox.
    What the child needs there, its scratch folder first, is bound back in.
    """
    covered = {}
    for folder in {os.path.dirname(os.path.realpath(scratch)), os.path.realpath("/run")}:
        if folder != "/" and os.path.isdir(folder) and not any(_within(folder, k) for k in keep):
            covered[folder] = [k for k in keep if _within(k, folder) and os.path.isdir(k)]
    return _cover(covered)


def _cover(by_ancestor: dict[str, list[str]]) -> list[str]:
    """Cover each folder with an empty tmpfs and bind the listed folders inside it back in."""
    exposed = []
    for ancestor, inner in by_ancestor.items():
        handles = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in inner}
        try:
            if _libc.mount(b"tmpfs", ancestor.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=64k,mode=0755") != 0:
                continue
            for path, fd in handles.items():
                os.makedirs(path, exist_ok=True)
                if _libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND | MS_REC, None) == 0:
                    exposed.append(path)
        finally:
            for fd in handles.values():
                os.close(fd)
    return exposed


def _private_proc() -> bool:
    """Mount a proc of the child's own over /proc, where other uids' processes are invisible.

    Other processes' command lines and environments show folders, rubrics and the grader's
    arguments. Each mount of proc has its own options from Linux 5.8, the first to accept
    "invisible": an older kernel refuses it, rather than changing the /proc everyone shares.
    Only for a child that drops root, which hidepid does not hide anything from.
    """
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    return _libc.mount(b"proc", b"/proc", b"proc", flags, b"hidepid=invisible") == 0


def _own_proc_only(read_only: list[str]) -> list[str]:
    """`read_only` with /proc narrowed to its global files and this process's own folder.

    Where proc cannot be mounted afresh (no namespaces), Landlock keeps the child out of
    other processes' folders: /proc/self resolves to the child's own, which is granted, and
    /proc may still be listed (pids are no secret; command lines and environments are).
    Processes the child forks cannot read their own folders then, a price for the fallback.
    """
    if "/proc" not in read_only:
        return read_only
    try:
        entries = os.listdir("/proc")
    except OSError:
        return [p for p in read_only if p != "/proc"]
    shared = [f"/proc/{name}" for name in sorted(entries) if not name.isdigit() and name not in ("self", "thread-self")]
    return [p for p in read_only if p != "/proc"] + shared + [f"/proc/{os.getpid()}"]


def _rlimits(limits: Limits, gpu: bool, own_uid: bool) -> dict:
    """Set each limit the system accepts; the report names those that took effect.

    A hard limit already below the value is kept: an unprivileged process cannot raise it,
    and it is the stricter. A limit the system refuses is left out, and so is a memory cap
    off Linux, where the system does not enforce it. RLIMIT_NPROC counts every process and thread of the real uid, so a child
    that shares the grader's uid gets its allowance on top of what that uid runs already,
    or no cap where that cannot be counted: a cap of 64 would leave it no thread at all on
    a desktop, whose uid runs hundreds.
    """
    applied = {}
    for name, value in (
        # CUDA reserves address space far beyond what it uses, so with a GPU the cap is on data, not address space.
        ("RLIMIT_DATA" if gpu else "RLIMIT_AS", limits.memory_mb << 20),
        ("RLIMIT_CPU", limits.cpu_s),
        ("RLIMIT_FSIZE", limits.file_mb << 20),
        ("RLIMIT_NOFILE", limits.open_files),
        ("RLIMIT_CORE", 0),
        ("RLIMIT_NPROC", limits.processes),
    ):
        number = getattr(resource, name, None)
        if name in ("RLIMIT_AS", "RLIMIT_DATA") and not host.linux():
            continue  # advisory on macOS: reported missing rather than claimed
        if name == "RLIMIT_NPROC" and not own_uid:
            running = _tasks_of(os.getuid())
            value = None if running is None else running + value
        if number is None or value is None:
            continue
        try:
            hard = resource.getrlimit(number)[1]
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(number, (value, value))
        except (ValueError, OSError):
            continue
        applied[name] = value
    return applied


def _tasks_of(uid: int) -> int | None:
    """Processes and threads whose real uid is `uid`, as RLIMIT_NPROC counts them; None without /proc."""
    if not host.linux():
        return None
    processes = host.processes_of(uid)
    if processes is None:
        return None
    count = 0
    for _, fields in processes:
        try:
            count += int(fields["Threads"])
        except (KeyError, ValueError):
            continue
    return count


def apply(plan: Plan) -> dict:
    """Enforce the plan in this (freshly forked, single-threaded) process; report the layers."""
    report: dict = {"process": True}
    os.setsid()
    is_root = os.geteuid() == 0
    uid = UID_BASE + os.getpid()

    report["namespaces"] = bool(is_root and _unshare())
    report["network"] = report["namespaces"]  # a new network namespace has only a downed loopback
    read_only = [os.path.realpath(p) for p in plan.read_only]
    keep = [os.path.realpath(plan.scratch), *read_only]
    report["hidden_paths"] = len(_hide(plan.hide, keep)) if report["namespaces"] else 0
    # Hidden first, then exposed: a recursive bind carries the hiding mounts along.
    unreachable = [p for p in read_only if _closed_ancestor(p) and os.path.isdir(p)]
    exposed = _expose(unreachable) if report["namespaces"] else []
    # Only where /proc lets the trusted side find the uid's processes again to kill them.
    can_drop = is_root and host.linux() and len(exposed) == len(unreachable)
    report["disk"] = bool(report["namespaces"] and _bound_scratch(plan.scratch, plan.limits.disk_mb))
    if report["namespaces"]:
        _cover_shared(plan.scratch, [*keep, *(os.path.realpath(p) for p in plan.devices)])
    report["hidden_processes"] = "hidepid" if report["namespaces"] and can_drop and _private_proc() else False

    if can_drop:
        os.chown(plan.scratch, uid, NOBODY_GID)
    os.chmod(plan.scratch, 0o700)
    os.chdir(plan.scratch)
    report["rlimits"] = _rlimits(plan.limits, bool(plan.devices), own_uid=can_drop)

    report["no_new_privs"] = _no_new_privs()
    # Without a way to expose the interpreter, an unprivileged uid could not import the standard library.
    if can_drop:
        os.setgroups([])
        os.setgid(NOBODY_GID)
        os.setuid(uid)
    # A uid of its own: a child that runs as the grader's (unprivileged) uid could signal the grader.
    report["unprivileged_uid"] = can_drop and os.getuid() == os.geteuid() == uid

    try:
        read_only = plan.read_only + (["/sys"] if plan.devices else [])  # the CUDA driver reads PCI details there
        listable = []
        if not report["hidden_processes"] and "/proc" in read_only:
            read_only, listable = _own_proc_only(read_only), ["/proc"]
        enforced = landlock.restrict(read_only, [plan.scratch, "/dev/null", *plan.devices], listable)
    except OSError as error:
        enforced = {"abi": 0, "error": str(error)}
    report["landlock"] = enforced
    report["filesystem"] = enforced.get("abi", 0) > 0
    if not report["hidden_processes"] and report["filesystem"]:
        report["hidden_processes"] = "landlock"
    try:
        filtered = seccomp.install()
    except (OSError, ValueError, RuntimeError) as error:  # a kernel or libseccomp that refuses a rule: reported missing
        filtered = {"installed": False, "error": str(error)}
    report["syscalls"] = filtered
    report["seccomp"] = filtered["installed"]
    # Landlock denies TCP only: without a namespace, only the filter keeps UDP and Unix sockets in.
    report["network"] = report["network"] or report["seccomp"]
    return report


# Every layer a report can name; a rubric may require any of them.
LAYERS = ("process", "namespaces", "network", "hidden_paths", "disk", "rlimits", "no_new_privs", "unprivileged_uid",
          "filesystem", "seccomp", "hidden_processes", "cgroup")


def missing_layers(report: dict, required=STRICT_LAYERS) -> list[str]:
    return [name for name in required if not report.get(name)]


def gpu_devices() -> list[str]:
    """NVIDIA device files on this machine: what a child needs to use CUDA, and nothing else of /dev."""
    return sorted(str(path) for path in Path("/dev").glob("nvidia*"))


def default_read_only() -> list[str]:
    """What Python, numpy and torch need to keep working: the interpreter, libraries, /dev, /proc.

    These are the folders wanted; `readable` takes the trusted paths out of them.
    """
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, "/usr", "/lib", "/lib64", "/etc", "/bin",
             "/proc", "/dev/urandom", "/dev/zero", "/sys/devices/system/cpu"}
    paths.update(p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p)
    return sorted(paths)


def _within(path: str, folder: str) -> bool:
    """Both real paths: `path` is `folder` or lies beneath it."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def readable(wanted: list[str], trusted: list[str]) -> list[str]:
    """`wanted` with every trusted path left out: what the child's Landlock rules may grant.

    A rule grants a folder with everything beneath it, so a folder holding a trusted
    path (the reference installed in site-packages, next to numpy) is replaced by its
    other entries, one rule each, down to the trusted path's siblings.
    """
    return list(_readable(tuple(wanted), tuple(sorted({os.path.realpath(path) for path in trusted}))))


@functools.lru_cache(maxsize=8)  # a batch asks the same question for every submission
def _readable(wanted: tuple[str, ...], secret: tuple[str, ...]) -> tuple[str, ...]:
    granted: list[str] = []

    def visit(path: str) -> None:
        real = os.path.realpath(path)
        if not any(_within(t, real) for t in secret):
            granted.append(real)
        elif real not in secret and os.path.isdir(real):
            try:
                entries = sorted(os.listdir(real))
            except OSError:
                return  # unlistable: granting nothing of it is the safe side
            for name in entries:
                visit(os.path.join(real, name))

    for path in wanted:
        if os.path.lexists(path):
            visit(path)
    return tuple(sorted(set(granted)))
