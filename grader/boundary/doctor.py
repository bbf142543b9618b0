"""What this machine can do to confine student code, layer by layer, for `grader doctor`.

Every layer is read from a real child's report; where cgroups or seccomp are missing, the
machine is probed here so the instructor knows why.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.boundary import cgroup
from grader.boundary.sandbox import missing_layers

__all__ = ["Layer", "host_layers", "missing_layers", "self_check_notes"]


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


def _cgroup_detail(report: dict) -> str:
    version, limits = report.get("cgroup"), report.get("cgroup_limits") or {}
    if version:
        swap = " (swap included)" if limits.get("swap_counted") else ""
        cpus = f", {limits['cpus']} CPU" if limits.get("cpus") else ""
        return (f"cgroup {version}, a group per child: memory {limits.get('memory_mb')} MiB{swap}, "
                f"{limits.get('processes')} processes{cpus}, for all of a submission's processes together; "
                "call limits count their CPU time; killed and removed with the child")
    found = cgroup.layout()
    why = f"cgroup {found.version} is writable here, but the child was not put in a group" if found.version else found.reason
    return f"{why}: memory, processes and CPU are capped per process with rlimits, and call limits count the child's CPU time"


def _hidden_processes_detail(how) -> str:
    if how == "hidepid":
        return "a proc of its own (hidepid=invisible): other processes, their command lines and environments, are invisible"
    if how == "landlock":
        return "Landlock grants /proc's shared files and the child's own folder: other processes cannot be read"
    return "/proc shows every process's command line and environment to the child"


def _rlimits_detail(limits: dict) -> str:
    if not limits:
        return "none applied"
    memory = limits.get("RLIMIT_AS") or limits.get("RLIMIT_DATA")
    names = {"RLIMIT_CPU": "CPU", "RLIMIT_FSIZE": "file size", "RLIMIT_NOFILE": "open files",
             "RLIMIT_NPROC": "processes"}
    others = ", ".join(label for name, label in names.items() if name in limits)
    return (f"per process: memory {int(memory) >> 20} MiB, {others}" if memory
            else f"per process: {others}; no memory cap (this system refuses or ignores one)")


def host_layers(report: dict) -> list[Layer]:
    landlock = report.get("landlock") or {}
    limits = report.get("rlimits") or {}
    seccomp = _seccomp_supported()
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
              _rlimits_detail(limits)),
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
        Layer("cgroups", bool(cgroup.layout().version), bool(report.get("cgroup")), _cgroup_detail(report)),
        Layer("hidden processes", bool(report.get("hidden_processes")), bool(report.get("hidden_processes")),
              _hidden_processes_detail(report.get("hidden_processes"))),
    ]


# For a student's self-check: what each missing layer family means for them, calmly. The grader
# grades only their own code then, so nothing is refused; the instructor's grading refuses instead.


def self_check_notes(isolation: dict) -> list[str]:
    """One short line per family of isolation layers missing from `isolation` (a child's report,
    as in a result's `isolation`), in a fixed order; empty when nothing is missing."""
    notes = []
    if not isolation.get("namespaces"):
        notes.append("Linux namespaces are not available here: other folders are not hidden "
                     "from your code, and its scratch folder has no size cap during this self-check.")
    if not isolation.get("filesystem"):
        notes.append("Landlock is not available here: your code can read and write files outside its folder "
                     "during this self-check.")
    if not isolation.get("seccomp"):
        reach = "can open network connections" if not isolation.get("network") else "may make any system call"
        notes.append(f"The system-call filter (seccomp) is not available here: your code {reach} "
                     "during this self-check.")
    if not isolation.get("unprivileged_uid"):
        notes.append("Your code runs as your own user during this self-check, not as a user of its own.")
    limits = isolation.get("rlimits") or {}
    if not (limits.get("RLIMIT_AS") or limits.get("RLIMIT_DATA")) and not isolation.get("cgroup"):
        notes.append("Memory cannot be capped here: code that allocates too much slows this computer down "
                     "rather than stopping with an error.")
    return notes
