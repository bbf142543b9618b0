"""Which of the boundary's Linux interfaces this system can have at all.

Namespaces, mounts, prctl, Landlock, seccomp, cgroups and /proc are Linux's. Elsewhere
(macOS) the child is still a separate process with what rlimits the system accepts, and
every other layer is reported missing rather than attempted: a Linux system-call number
means something else, or nothing, on another kernel.
"""

from __future__ import annotations

import os
import sys


def linux() -> bool:
    """Read at each use, so that a test can stand in another platform."""
    return sys.platform.startswith("linux")


def not_here(feature: str) -> str:
    """Why a Linux-only layer is missing on this system."""
    return f"{feature} is a Linux feature, and this system is {sys.platform}"


def processes_of(uid: int) -> list[tuple[int, dict]] | None:
    """(pid, the fields of /proc/<pid>/status) of each process whose real uid is `uid`; None without /proc.
    A process that ends meanwhile is left out."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    found = []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as handle:
                fields = dict(line.split(":", 1) for line in handle if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                found.append((int(entry), fields))
        except (OSError, KeyError, ValueError):
            continue
    return found
