"""What this machine can do to confine student code, layer by layer, for `grader doctor`.

Every layer is read from a real child's report; cgroups, which the grader does not
use, and the kernel's seccomp support are probed here so the instructor knows why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from grader.boundary.sandbox import missing_layers

__all__ = ["Layer", "host_layers", "missing_layers"]


@dataclass(frozen=True)
class Layer:
    name: str
    works: bool
    used: bool
    detail: str


def _seccomp_supported() -> bool:
    try:
        return any(line.startswith("Seccomp:") for line in Path("/proc/self/status").read_text().splitlines())
    except OSError:
        return False


def _cgroups_writable() -> bool:
    """cgroup v2 is mounted and this process could create a child group (it removes it again)."""
    root = Path("/sys/fs/cgroup")
    if not (root / "cgroup.controllers").is_file():
        return False
    probe = root / f"grader-doctor-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        return (probe / "memory.max").exists()
    finally:
        probe.rmdir()


def host_layers(report: dict) -> list[Layer]:
    landlock = report.get("landlock") or {}
    limits = report.get("rlimits") or {}
    memory = limits.get("RLIMIT_AS") or limits.get("RLIMIT_DATA")
    seccomp, cgroups = _seccomp_supported(), _cgroups_writable()
    filtered = report.get("syscalls") or {}
    return [
        Layer("separate process", bool(report.get("process")), True,
              "a crash, exit or hang takes down the child only"),
        Layer("namespaces", bool(report.get("namespaces")), bool(report.get("namespaces")),
              "new mount, network, IPC and UTS namespaces"),
        Layer("network", bool(report.get("network")), bool(report.get("network")),
              "no route out: an empty network namespace, or the system-call filter refusing every socket"),
        Layer("hidden paths", bool(report.get("hidden_paths")), bool(report.get("hidden_paths")),
              "reference, rubric, grader, cache, other submissions and reports covered by empty mounts"),
        Layer("scratch disk cap", bool(report.get("disk")), bool(report.get("disk")),
              "the scratch folder is a size-capped tmpfs: many files cannot fill the disk"),
        Layer("uid drop", bool(report.get("unprivileged_uid")), bool(report.get("unprivileged_uid")),
              "a private unprivileged uid per child; everything it starts is killed by uid"),
        Layer("no_new_privs", bool(report.get("no_new_privs")), bool(report.get("no_new_privs")),
              "setuid programs cannot raise privileges"),
        Layer("rlimits", bool(limits), bool(limits),
              f"memory {int(memory) >> 20} MiB, CPU, file size, open files, processes" if memory else "none applied"),
        Layer("landlock", bool(report.get("filesystem")), bool(report.get("filesystem")),
              f"ABI {landlock.get('abi', 0)}: reads only the interpreter and libraries (never the trusted packages), "
              "writes only its scratch folder"
              + (", TCP denied" if landlock.get("tcp_denied") else "")
              + (", signals scoped" if landlock.get("signals_scoped") else "")),
        Layer("seccomp", bool(report.get("seccomp")), bool(report.get("seccomp")),
              f"{filtered.get('denied_calls', 0)} system calls refused with EPERM: no sockets, tracing, namespaces or mounts"
              if report.get("seccomp") else
              ("the kernel supports it, but " if seccomp else "the kernel has no seccomp, so ")
              + f"no filter was installed: {filtered.get('error', 'unknown reason')}"),
        Layer("cgroups", cgroups, False,
              ("cgroup v2 is writable here, but " if cgroups else "") + "memory and CPU are capped with rlimits"),
    ]
