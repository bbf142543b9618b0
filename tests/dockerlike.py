"""Run a command under the restrictions of a default Docker container, as Gradescope's is.

    python -m tests.dockerlike COMMAND [ARG...]

Docker starts a container's process as root, in a mount namespace of its own, with 14
capabilities (no CAP_SYS_ADMIN) and its default seccomp profile, which refuses namespaces
and mounts with EPERM. All three are reproduced here with the kernel's own calls, then
COMMAND is executed: what the grader can do inside is what it can do in a real container.
An image keeps its Python where anyone may read it; where this machine's lies under a
folder closed to others (/root), the container's view opens a path to it, to the
working folder and to PYTHONPATH, and to nothing else of that folder. The filter is built
with the same library the grader's child uses; it has to be installed while this
process still holds CAP_SYS_ADMIN, as runc does, so no_new_privs stays off.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from pathlib import Path

import pyseccomp

# Docker's default capability set (moby's oci/caps/defaults.go), by number.
DOCKER_CAPABILITIES = {
    0: "CHOWN", 1: "DAC_OVERRIDE", 3: "FOWNER", 4: "FSETID", 5: "KILL", 6: "SETGID", 7: "SETUID", 8: "SETPCAP",
    10: "NET_BIND_SERVICE", 13: "NET_RAW", 18: "SYS_CHROOT", 27: "MKNOD", 29: "AUDIT_WRITE", 31: "SETFCAP",
}
# What the default profile refuses a process without CAP_SYS_ADMIN, among the calls a sandbox uses.
DENIED = ("unshare", "setns", "mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsmount",
          "fspick", "mount_setattr", "keyctl", "add_key", "request_key", "bpf", "perf_event_open",
          "open_by_handle_at", "name_to_handle_at", "kexec_load", "init_module", "finit_module", "delete_module",
          "reboot", "swapon", "swapoff", "acct", "quotactl")
CLONE_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
PR_CAPBSET_DROP = 24
CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE = 0x00020000, 1 << 12, 1 << 14, 1 << 18
MARKER = "GRADER_DOCKERLIKE"  # set in the command's environment, so a test can tell where it runs

_libc = ctypes.CDLL(None, use_errno=True)


def _mount(source: bytes, target: str, kind, flags: int, data) -> None:
    if _libc.mount(source, target.encode(), kind, flags, data) != 0:
        raise OSError(ctypes.get_errno(), f"mount on {target} failed")


def _closed_ancestor(path: str) -> str | None:
    current = "/"
    for part in path.strip("/").split("/"):
        current = os.path.join(current, part)
        if not os.stat(current).st_mode & 0o001:
            return current if current != path else None
    return None


def _own_view(needed: list[str]) -> None:
    """A mount namespace, as the container has, where `needed` is reachable by every uid."""
    if _libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed")
    _mount(b"none", "/", None, MS_REC | MS_PRIVATE, None)
    by_ancestor: dict[str, set[str]] = {}
    for path in map(os.path.realpath, needed):
        ancestor = _closed_ancestor(path)
        if ancestor:
            by_ancestor.setdefault(ancestor, set()).add(path)
    for ancestor, inner in by_ancestor.items():
        handles = {path: os.open(path, os.O_PATH) for path in inner}
        _mount(b"tmpfs", ancestor, b"tmpfs", 0, b"mode=0755")
        for path, fd in handles.items():
            os.makedirs(path, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}".encode(), path, None, MS_BIND | MS_REC, None)
            os.close(fd)


def _filter() -> None:
    rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    rules.set_attr(pyseccomp.Attr.CTL_NNP, 0)
    denied = pyseccomp.ERRNO(errno.EPERM)
    for name in DENIED:
        rules.add_rule(denied, name)
    for flag in CLONE_NAMESPACE_FLAGS:
        rules.add_rule(denied, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag))
    rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")  # as the profile answers it without CAP_SYS_ADMIN
    rules.load()


def _drop_capabilities() -> None:
    """Shrink the bounding set: root's next exec then holds Docker's capabilities and no others."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for capability in range(last + 1):
        if capability not in DOCKER_CAPABILITIES and _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"could not drop capability {capability}")


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit("usage: python -m tests.dockerlike COMMAND [ARG...]")
    if os.geteuid() != 0:
        sys.exit("tests.dockerlike reproduces a container's root: run it as root")
    python_path = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    _own_view([sys.base_prefix, sys.prefix, os.getcwd(), *python_path])
    _filter()
    _drop_capabilities()
    os.environ[MARKER] = "1"
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
