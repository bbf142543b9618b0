"""The zygote: a process that has imported numpy and torch once and forks children.

It is started with exec, never forked from the trusted process, so it holds no
reference, rubric or answer; it never runs a torch op, so forking it is safe.
Requests arrive on a Unix socket with the child's channel and output file as
passed descriptors.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import asdict

from grader.boundary.sandbox import Limits, Plan

# Single-threaded numerics, bounded malloc arenas, and a fixed hash seed so set
# and dict orders in student code repeat from run to run.
CHILD_ENVIRONMENT = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2",
    # Fixed thresholds: with glibc's adaptive ones a fresh child returns every batch's activations
    # to the kernel and faults them back in, which made training epochs 15-45% slower.
    "MALLOC_MMAP_THRESHOLD_": str(64 << 20),
    "MALLOC_TRIM_THRESHOLD_": str(128 << 20),
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
}
_MAX_REQUEST = 1 << 20
_ENTRY = "import sys; from grader.boundary.zygote import main; main(int(sys.argv[1]), sys.argv[2:])"
# Building a torch optimizer imports torch._dynamo (2-3 s); a zygote that will fork training
# children imports it once, instead of every child paying it.
TRAINING_PRELOAD = ("torch._dynamo",)


def _serve(control: socket.socket, preload=()) -> None:
    import importlib

    import numpy  # noqa: F401  preloaded for every child
    import torch  # noqa: F401
    import yaml  # noqa: F401

    for name in preload:
        importlib.import_module(name)

    from grader.boundary import child

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    control.sendall(b"ready\n")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, _MAX_REQUEST, 2)
        except OSError:
            return
        if not message:
            return
        request = json.loads(message)
        plan_fields = request["plan"]
        plan = Plan(**{**plan_fields, "limits": Limits(**plan_fields["limits"])})
        pid = os.fork()
        if pid == 0:
            control.close()
            channel = socket.socket(fileno=fds[0])
            child.run(channel, fds[1], plan, request["blocked"])
        for fd in fds:
            os.close(fd)
        control.sendall(json.dumps({"pid": pid}).encode() + b"\n")


class Zygote:
    """Client side: starts the zygote on first use and asks it for children."""

    def __init__(self, preload=()):
        self.preload = tuple(preload)
        self._process = None
        self._control = None
        self._lock = threading.Lock()

    def _start(self) -> None:
        # SEQPACKET keeps each request one message, with its descriptors attached.
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        environment = {**os.environ, **CHILD_ENVIRONMENT}
        self._process = subprocess.Popen(
            [sys.executable, "-c", _ENTRY, str(theirs.fileno()), *self.preload],
            pass_fds=(theirs.fileno(),),
            env=environment,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._control = ours
        if self._readline() != b"ready":
            raise RuntimeError("the zygote process failed to start")

    def _readline(self) -> bytes:
        data = self._control.recv(4096)
        if not data:
            raise RuntimeError("the zygote process died")
        return data.strip()

    def spawn(self, plan: Plan, blocked: list[str], channel_fd: int, output_fd: int) -> int:
        """Fork a child that will sandbox itself per `plan`; returns its pid."""
        request = json.dumps({"plan": asdict(plan), "blocked": blocked}).encode()
        with self._lock:
            for attempt in (1, 2):
                if self._process is None or self._process.poll() is not None:
                    self._start()
                try:
                    socket.send_fds(self._control, [request], [channel_fd, output_fd])
                    return json.loads(self._readline())["pid"]
                except (OSError, RuntimeError):
                    self.close()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


def main(fd: int, preload=()) -> None:
    _serve(socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET, fileno=fd), preload)
