"""Which isolation layers this machine can give, found out without the grader's code.

A test of a layer runs wherever the machine can have that layer, so a grader that
fails to apply it fails the test rather than skipping it. Each probe asks the kernel
directly, in a throwaway child process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from pathlib import Path

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x04000000, 0x08000000, 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _in_child(attempt) -> bool:
    """Whether `attempt()` returns True in a forked child, so nothing it changes touches this process."""
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if attempt() else 1)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _namespaces() -> bool:
    flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET
    return os.geteuid() == 0 and _in_child(lambda: _libc.unshare(flags) == 0)


def _setuid() -> bool:
    def attempt():
        os.setgid(65534)
        os.setuid(100_000 + os.getpid())
        return os.getuid() != 0
    return os.geteuid() == 0 and _in_child(attempt)


def _landlock() -> bool:
    return _libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)) >= 1


def _seccomp() -> bool:
    status = Path("/proc/self/status").read_text()
    return "Seccomp:" in status and ctypes.util.find_library("seccomp") is not None


@functools.cache
def can_have() -> dict[str, bool]:
    """Layer name (as in a result's `isolation`) -> whether this machine can enforce it."""
    namespaces = _namespaces()
    seccomp = _seccomp()
    return {
        "process": True,
        "rlimits": True,
        "no_new_privs": True,
        "namespaces": namespaces,
        "hidden_paths": namespaces,
        "disk": namespaces,
        "network": namespaces or seccomp,
        "unprivileged_uid": _setuid(),
        "filesystem": _landlock(),
        "seccomp": seccomp,
    }


def in_container() -> bool:
    """Running under tests.dockerlike, the default-container restrictions."""
    return os.environ.get("GRADER_DOCKERLIKE") == "1"


# A `python -c` script: exec the command with Landlock and seccomp answering as on a kernel without them.
WITHOUT_LANDLOCK_OR_SECCOMP = """import errno, os, sys, pyseccomp
rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
for name in ("landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self", "seccomp"):
    rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), name)
rules.add_rule(pyseccomp.ERRNO(errno.EINVAL), "prctl", pyseccomp.Arg(0, pyseccomp.EQ, 22))  # PR_SET_SECCOMP
rules.load()
os.execv(sys.argv[1], sys.argv[1:])
"""
