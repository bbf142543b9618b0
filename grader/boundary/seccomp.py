"""A system-call filter for the child, built with libseccomp (through pyseccomp).

Everything is allowed but what student code has no business doing. A denied call
returns EPERM, which Python raises as PermissionError: the student's item fails
with a message, and nothing crashes. Namespace creation is refused here too, so a
child cannot undo the layers applied before the filter.
"""

from __future__ import annotations

import errno
import socket

from grader.boundary import host

try:  # without the binding or the system library the layer is reported missing, and why
    import pyseccomp
    _MISSING = ""
except ImportError:
    pyseccomp, _MISSING = None, "the pyseccomp package is not installed (pip install pyseccomp)"
except (OSError, RuntimeError):  # pyseccomp raises RuntimeError when it cannot find libseccomp
    pyseccomp, _MISSING = None, "the system library libseccomp is not installed (Debian and Ubuntu: libseccomp2)"

# The child speaks over a socket pair it inherits, so it never needs a socket of its own:
# no UDP or raw packets (which Landlock does not govern), no host Unix socket, no netlink.
NETWORK = ("socket", "connect", "bind", "listen", "accept", "accept4")
# Looking into or steering other processes.
TRACING = ("ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp")
# Namespaces and mounts: the child must not build a view of the filesystem of its own.
MOUNTS = ("unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
          "fsconfig", "fsmount", "fspick", "mount_setattr")
# Kernel interfaces with a history of exploits, which numerical code never uses.
KERNEL = ("keyctl", "add_key", "request_key", "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf",
          "perf_event_open", "userfaultfd", "kexec_load", "kexec_file_load", "init_module", "finit_module",
          "delete_module", "open_by_handle_at", "name_to_handle_at", "quotactl", "acct", "swapon", "swapoff",
          "reboot", "syslog")
# System V IPC and POSIX message queues outlive the process and, without an IPC namespace (a container),
# are shared by every child: one submission could hand another what it was given, or hold memory no
# limit counts after it is killed. Numerical code never needs them.
IPC = ("msgget", "msgsnd", "msgrcv", "msgctl", "shmget", "shmat", "shmdt", "shmctl", "semget", "semop",
       "semtimedop", "semctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
       "mq_getsetattr")
DENIED = NETWORK + TRACING + MOUNTS + KERNEL + IPC
SOCKET_TYPE_MASK = 0xF  # the type in socketpair()'s second argument, without SOCK_NONBLOCK and SOCK_CLOEXEC
# clone()'s namespace flags (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET): threads and
# forks stay allowed. clone3 passes its flags in memory a filter cannot read, so it answers ENOSYS and
# the C library falls back to clone.
CLONE_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)


def install() -> dict:
    """Load the filter into this process and its future children; returns what it denies.

    Needs no_new_privs (or CAP_SYS_ADMIN). Raises OSError when the kernel refuses it.
    """
    if not host.linux():
        return {"installed": False, "error": host.not_here("seccomp")}
    if pyseccomp is None:
        return {"installed": False, "error": _MISSING}
    denied = pyseccomp.ERRNO(errno.EPERM)
    rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    # A call made through another architecture's entry (int 0x80 on x86_64) would skip the rules.
    rules.set_attr(pyseccomp.Attr.ACT_BADARCH, denied)
    skipped = []
    for name in DENIED:
        try:
            rules.add_rule(denied, name)
        except (OSError, ValueError, RuntimeError):
            skipped.append(name)  # a call this kernel's libseccomp does not know exists for no one
    for flag in CLONE_NAMESPACE_FLAGS:
        rules.add_rule(denied, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag))
    rules.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    # A connected pair of Unix stream sockets reaches nothing outside the process tree (multiprocessing's
    # pipes use one). A datagram pair would not: sendto() with an address reaches any named socket.
    rules.add_rule(denied, "socketpair", pyseccomp.Arg(0, pyseccomp.NE, socket.AF_UNIX))
    for kind in set(range(16)) - {socket.SOCK_STREAM}:
        rules.add_rule(denied, "socketpair", pyseccomp.Arg(1, pyseccomp.MASKED_EQ, SOCKET_TYPE_MASK, kind))
    rules.add_rule(denied, "sendto", pyseccomp.Arg(4, pyseccomp.NE, 0))  # an address: never needed on a pair
    rules.load()
    # and clone3, namespaced clone, socketpair but a Unix stream pair, sendto with an address
    return {"installed": True, "denied_calls": len(DENIED) - len(skipped) + 4}
