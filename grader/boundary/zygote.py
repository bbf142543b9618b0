"""The zygote: a process that has imported numpy and torch once and forks children.

It is started with exec, never forked from the trusted process, so it holds no
reference, rubric or answer; it never runs a torch op, so forking it is safe.
Requests arrive on a Unix socket with the child's channel and output file as
passed descriptors. Every message on it is one line of JSON (or "ready"), so that a
stream socket carries them as well as a SEQPACKET one: macOS has no SEQPACKET pair.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import asdict

from grader.boundary.sandbox import THREADS, Limits, Plan

# Single-threaded numerics, bounded malloc arenas, and a fixed hash seed so set
# and dict orders in student code repeat from run to run.
CHILD_ENVIRONMENT = {
    "OMP_NUM_THREADS": str(THREADS),
    "MKL_NUM_THREADS": str(THREADS),
    "OPENBLAS_NUM_THREADS": str(THREADS),
    "MALLOC_ARENA_MAX": "2",
    # Fixed thresholds: with glibc's adaptive ones a fresh child returns every batch's activations
    # to the kernel and faults them back in, which made training epochs 15-45% slower.
    "MALLOC_MMAP_THRESHOLD_": str(64 << 20),
    "MALLOC_TRIM_THRESHOLD_": str(128 << 20),
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
}
# macOS ends a forked child that initialises an Objective-C class if its parent had threads, as the
# zygote may once torch is imported; the zygote itself never runs such code, so the check is moot.
if sys.platform == "darwin":
    CHILD_ENVIRONMENT["OBJC_DISABLE_INITIALIZE_FORK_SAFETY"] = "YES"
# What of the grader's environment reaches the zygote, and so student code: enough to import Python's
# packages and find a GPU, and no more (no HOME, no tokens, no cluster addresses). Exact names only:
# a prefix such as NVIDIA_ would pass NVIDIA_API_KEY too.
PASSED_ENVIRONMENT = (
    "PYTHONPATH", "LD_LIBRARY_PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR",
    "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE", "LC_MONETARY", "LC_MESSAGES",
    "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "CUDA_HOME", "CUDA_PATH", "CUDA_MODULE_LOADING",
    "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES",
)
# A fixed PATH: the grader's may name private folders, and student code needs no program of its own.
CHILD_PATH = os.pathsep.join(dict.fromkeys([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]))
_MAX_REQUEST = 1 << 20
_ENTRY = "import sys; from grader.boundary.zygote import main; main(int(sys.argv[1]), sys.argv[2:])"
# Building a torch optimizer imports torch._dynamo (2-3 s); a zygote that will fork training
# children imports it once, instead of every child paying it.
TRAINING_PRELOAD = ("torch._dynamo",)


def child_environment(environment) -> dict:
    passed = {key: value for key, value in environment.items() if key in PASSED_ENVIRONMENT}
    if "PYTHONPATH" in passed:  # the zygote runs in "/": relative entries keep meaning what they meant here
        passed["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in passed["PYTHONPATH"].split(os.pathsep) if p)
    return {**passed, "PATH": CHILD_PATH}


def _serve(control: socket.socket, preload=()) -> None:
    import importlib

    import numpy  # noqa: F401  preloaded for every child
    import torch  # noqa: F401
    import yaml  # noqa: F401

    from grader.boundary import child

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    control.sendall(b"ready\n")
    # The preload is imported once the first child is forked and no request waits, or before forking
    # a child that asks for it: the first child need not wait for it, and it overlaps with that child's work.
    remaining, forked = list(preload), False
    while True:
        if remaining and forked and not select.select([control], [], [], 0)[0]:
            importlib.import_module(remaining.pop(0))
            continue
        try:
            message, fds, _, _ = socket.recv_fds(control, _MAX_REQUEST, 2)
            while message and not message.endswith(b"\n"):  # a stream may deliver a long request in parts
                more = control.recv(_MAX_REQUEST)
                message = message + more if more else b""
        except OSError:
            return
        if not message:
            return
        request = json.loads(message)
        if request.get("preload"):
            while remaining:
                importlib.import_module(remaining.pop(0))
        plan_fields = request["plan"]
        plan = Plan(**{**plan_fields, "limits": Limits(**plan_fields["limits"])})
        pid, forked = os.fork(), True
        if pid == 0:
            control.close()
            channel = socket.socket(fileno=fds[0])
            child.run(channel, fds[1], plan, request["blocked"])
        for fd in fds:
            os.close(fd)
        control.sendall(json.dumps({"pid": pid, "preloaded": not remaining}).encode() + b"\n")


class Zygote:
    """Client side: starts the zygote on first use and asks it for children."""

    def __init__(self, preload=()):
        self.preload = tuple(preload)
        self._process = None
        self._control = None
        self._lock = threading.Lock()
        self._shared_lock = None  # set when this process uses another process's zygote
        self._received = b""  # what has come from the zygote past the last line read

    def share(self, context) -> tuple:
        """What processes of the multiprocessing `context` need to use this zygote: the control socket, a lock.

        The zygote is launched if need be. Pass the result to `Zygote.attach` in those processes
        (multiprocessing carries the socket across); each request then holds the lock.
        """
        self.launch()
        return self._control, context.Lock(), self.preload

    @classmethod
    def attach(cls, control: socket.socket, lock, preload) -> "Zygote":
        """A client of the zygote another process started. If that zygote fails, this one starts its own."""
        zygote = cls(preload)
        zygote._control, zygote._shared_lock = control, lock
        return zygote

    def launch(self) -> "Zygote":
        """Start the zygote's imports now, without waiting for them: they overlap with the caller's."""
        with self._lock:
            if self._process is None:
                self._launch()
        return self

    def _launch(self) -> None:
        ours, theirs = control_pair()
        environment = {**child_environment(os.environ), **CHILD_ENVIRONMENT}
        # -P and the root folder as its working folder: with -c, Python would otherwise put the working
        # folder first on the path, and a grader started inside a student's folder would import the
        # student's yaml.py or numpy/ into the zygote, unsandboxed, where every child comes from.
        self._process = subprocess.Popen(
            [sys.executable, "-P", "-c", _ENTRY, str(theirs.fileno()), *self.preload],
            cwd="/",
            pass_fds=(theirs.fileno(),),
            env=environment,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._control, self._received = ours, b""

    def _start(self) -> None:
        if self._process is None or self._process.poll() is not None:
            self.close()
            self._launch()

    def _readline(self) -> bytes:
        while b"\n" not in self._received:
            data = self._control.recv(4096)
            if not data:
                raise RuntimeError("the zygote process died")
            self._received += data
        line, _, self._received = self._received.partition(b"\n")
        return line.strip()

    def _reply(self) -> dict:
        """The zygote's answer to a request just sent.

        It says "ready" once, after its imports; whichever client reads first skips it (a shared
        zygote's clients cannot know which of them that is), and a zygote that dies while
        starting is a closed socket, as it is later.
        """
        line = self._readline()
        while line == b"ready":
            line = self._readline()
        return json.loads(line)

    def spawn(self, plan: Plan, blocked: list[str], channel_fd: int, output_fd: int, preload: bool = False) -> tuple[int, bool]:
        """Fork a child that will sandbox itself per `plan`: its pid, and whether it has the preload.

        With preload=True the zygote finishes importing its preload first.
        """
        request = json.dumps({"plan": asdict(plan), "blocked": blocked, "preload": preload}).encode() + b"\n"
        with self._lock:
            if self._shared_lock is not None:
                try:
                    with self._shared_lock:
                        socket.send_fds(self._control, [request], [channel_fd, output_fd])
                        reply = self._reply()
                    return reply["pid"], reply["preloaded"]
                except (OSError, RuntimeError, ValueError, KeyError):
                    self._control.close()  # and carry on with a zygote of this process's own
                    self._control, self._shared_lock, self._received = None, None, b""
            for attempt in (1, 2):
                try:
                    self._start()
                    socket.send_fds(self._control, [request], [channel_fd, output_fd])
                    reply = self._reply()
                    return reply["pid"], reply["preloaded"]
                except (OSError, RuntimeError, ValueError, KeyError):
                    self.close()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control, self._received = None, b""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


_shared: Zygote | None = None


def shared_zygote(training: bool = False) -> Zygote:
    """One zygote per grading process, made on first use; ready to train when first asked to be.

    It is not started here: launch() starts it early, or the first child does.
    """
    global _shared
    if _shared is not None and training and not _shared.preload:
        _shared.close()  # replaced once, so that no training child pays the preload itself
        _shared = None
    if _shared is None:
        _shared = Zygote(TRAINING_PRELOAD if training else ())
        atexit.register(_shared.close)
    return _shared


def control_pair() -> tuple[socket.socket, socket.socket]:
    """The zygote's control channel. SEQPACKET keeps each request one message, with its descriptors
    attached; where the system has none (macOS), a stream carries the same lines."""
    try:
        return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    except (OSError, AttributeError):
        return socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)


def main(fd: int, preload=()) -> None:
    _serve(socket.socket(fileno=fd), preload)  # the kind of socket is read from the descriptor


def close_shared() -> None:
    if _shared is not None:
        _shared.close()
