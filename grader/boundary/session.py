"""The trusted side of one submission's child: start it, call into it, kill it.

Every value that comes back is decoded as plain data; an exit, a crash or a
timeout is an outcome, never a result. A child that dies is restarted on the
next request, with the modules it had imported imported again.
"""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import time
from dataclasses import dataclass, field

from grader.boundary import sandbox
from grader.boundary.codec import CodecError, Decoder, encode_value, read_frame, recv_message, send_message
from grader.boundary.sandbox import UID_BASE, Plan, missing_layers
from grader.boundary.zygote import Zygote

OUTPUT_LIMIT = 4000
START_TIMEOUT_S = 30.0


class IsolationError(RuntimeError):
    """Strict mode was asked for and the machine could not provide every layer."""


@dataclass
class Outcome:
    """What one request to the child produced. `status`: ok, error, timeout or crashed."""

    status: str
    value: object = None
    error_type: str = ""
    message: str = ""
    traceback: str = ""
    output: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class _Child:
    pid: int
    channel: socket.socket
    output: object
    isolation: dict
    read_offset: int = 0
    imported: list[str] = field(default_factory=list)
    preloaded: bool = False  # forked after the zygote's preload (what training needs) was imported


class StudentProcess:
    """One submission's sandboxed child, reached only through requests and plain data."""

    def __init__(self, zygote: Zygote, plan: Plan, blocked: list[str], strict: bool = False, required=()):
        self.zygote = zygote
        self.plan = plan
        self.blocked = blocked
        self.strict = strict
        self.required = tuple(required)
        self.isolation: dict = {}
        self.starts = 0
        self._child: _Child | None = None
        self._modules: list[str] = []

    # ---- lifecycle ----------------------------------------------------------

    def _start(self, preload: bool = False) -> _Child:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        output = tempfile.TemporaryFile()
        try:
            pid, preloaded = self.zygote.spawn(self.plan, self.blocked, theirs.fileno(), output.fileno(), preload)
        finally:
            theirs.close()
        self.starts += 1
        child = _Child(pid, ours, output, {}, preloaded=preloaded)
        ours.settimeout(START_TIMEOUT_S)
        try:
            header, _ = recv_message(ours)
        except (OSError, EOFError, CodecError) as error:
            self._kill(child)
            raise RuntimeError(f"the sandboxed process did not start: {error}") from None
        if header.get("ready") is not True or type(header.get("isolation")) is not dict:
            self._kill(child)
            raise RuntimeError(f"the sandboxed process did not start: {header.get('error', 'no report')}")
        child.isolation = header["isolation"]
        self.isolation = child.isolation
        missing = missing_layers(child.isolation, [*(sandbox.STRICT_LAYERS if self.strict else ()), *self.required])
        if missing:
            self._kill(child)
            why = "strict mode" if self.strict else "the rubric requires every layer it names"
            raise IsolationError(f"{why}: this machine could not enforce {', '.join(missing)}")
        self._child = child
        for module in self._modules:
            self._request({"op": "import", "module": module}, START_TIMEOUT_S)
        return child

    def _kill(self, child: _Child, close_output: bool = True) -> None:
        for target in (lambda: os.killpg(child.pid, signal.SIGKILL), lambda: os.kill(child.pid, signal.SIGKILL)):
            try:
                target()
            except (ProcessLookupError, PermissionError):
                pass
        if os.geteuid() == 0:  # then the child runs as UID_BASE + pid, or did not start at all
            _kill_uid(UID_BASE + child.pid)
        child.channel.close()
        if close_output:
            child.output.close()

    def start(self) -> dict:
        """Start the child now (otherwise the first request does); returns its isolation report."""
        if self._child is None:
            self._start()
        return self.isolation

    def close(self) -> None:
        if self._child is not None:
            self._kill(self._child)
            self._child = None

    def __enter__(self) -> "StudentProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- requests ----------------------------------------------------------

    def _read_output(self, child: _Child) -> str:
        child.output.seek(child.read_offset)
        data = child.output.read(OUTPUT_LIMIT + 1)
        child.read_offset = child.output.seek(0, os.SEEK_END)
        text = data[:OUTPUT_LIMIT].decode("utf-8", "replace").replace(self.plan.scratch + os.sep, "")
        return text + ("\n[output truncated]" if len(data) > OUTPUT_LIMIT else "")

    def _request(self, header: dict, timeout_s: float, blobs=(), on_progress=None) -> Outcome:
        """Send one request and wait for its reply; progress reports on the way go to on_progress.

        on_progress(report) may return a message to give up early: the child is then
        killed and the outcome is a timeout carrying that message.
        """
        child = self._child or self._start()
        started = time.monotonic()
        deadline = started + timeout_s
        try:
            child.channel.settimeout(timeout_s)
            send_message(child.channel, header, list(blobs))
            while True:
                reply, reply_blobs = read_frame(_reader(child.channel, deadline))
                if set(reply) != {"progress"}:
                    break
                verdict = on_progress(_progress(reply["progress"])) if on_progress else None
                if verdict:
                    return self._lost(child, "timeout", started, verdict)
        except socket.timeout:
            return self._lost(child, "timeout", started, f"no answer within {timeout_s:g} s")
        except (EOFError, OSError):
            return self._lost(child, "crashed", started, "the process running the code exited or was killed")
        except CodecError as error:
            return self._lost(child, "error", started, f"sent something that is not plain data: {error}")
        seconds = time.monotonic() - started
        output = self._read_output(child)
        if reply.get("ok") is True:
            try:
                value = Decoder(reply_blobs).decode(reply.get("value", {"t": "none"}))
            except CodecError as error:
                return Outcome("error", message=f"returned a value that cannot be read: {error}", output=output, seconds=seconds)
            return Outcome("ok", value=value, output=output, seconds=seconds)
        error = reply.get("error") if type(reply.get("error")) is dict else {}
        return Outcome(
            "error",
            error_type=str(error.get("type", ""))[:200],
            message=str(error.get("message", ""))[:2000],
            traceback=str(error.get("traceback", ""))[:4000].replace(self.plan.scratch + os.sep, ""),
            output=output,
            seconds=seconds,
        )

    def _lost(self, child: _Child, status: str, started: float, message: str) -> Outcome:
        seconds = time.monotonic() - started
        self._kill(child, close_output=False)  # stopped first, so nothing is written while it is read
        try:
            output = self._read_output(child)
        finally:
            child.output.close()
        self._child = None
        return Outcome(status, message=message, output=output, seconds=seconds)

    def import_module(self, module: str, timeout_s: float) -> Outcome:
        outcome = self._request({"op": "import", "module": module}, timeout_s)
        if outcome.ok and module not in self._modules:
            self._modules.append(module)
        return outcome

    def call(self, module: str, expr: str, inputs: dict, timeout_s: float, torch_module=None) -> Outcome:
        encoded, blobs = encode_value(inputs, torch_module)
        return self._request({"op": "call", "module": module, "expr": expr, "inputs": encoded}, timeout_s, blobs)

    def train(self, request: dict, inputs: dict, timeout_s: float, on_progress=None) -> Outcome:
        """Train and evaluate a model in the child (see trainer.py); `inputs` are arrays, sent as .npy."""
        if self.zygote.preload and (self._child is None or not self._child.preloaded):
            # A child forked before the zygote's preload would import it itself, seconds of the student's budget.
            self.close()
            self._start(preload=True)
        encoded, blobs = encode_value(inputs)
        return self._request({**request, "op": "train", "inputs": encoded}, timeout_s, blobs, on_progress)

    def read_yaml(self, filename: str, timeout_s: float) -> Outcome:
        return self._request({"op": "read_yaml", "file": filename}, timeout_s)


def _progress(report) -> dict:
    """A progress report from the child, reduced to finite numbers (it is untrusted, and only shown)."""
    if type(report) is not dict:
        return {}
    return {key: float(value) for key, value in list(report.items())[:8]
            if type(key) is str and type(value) in (int, float) and abs(value) < 1e12}


def _reader(channel: socket.socket, deadline: float):
    """recv for one reply that holds to the call's deadline as a whole: a child that sends a byte at a
    time, or progress reports without end, is out of time at the deadline all the same."""
    def read(size: int) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("the call's time is up")
        channel.settimeout(remaining)
        return channel.recv(size)
    return read


def _kill_uid(uid: int) -> None:
    """Kill every process of the child's private uid: grandchildren and escaped sessions too.

    Sweeps until one finds nothing, because a fork bomb can add processes during a sweep;
    the uid's process limit keeps the number of rounds small.
    """
    for _ in range(100):
        if not _kill_uid_once(uid):
            return


def _kill_uid_once(uid: int) -> bool:
    killed = False
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as handle:
                fields = dict(line.split(":", 1) for line in handle if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                # A leader that exited shows as a zombie while its other threads run on: kill it all the same.
                os.kill(int(entry), signal.SIGKILL)
                killed = killed or not fields["State"].strip().startswith("Z") or int(fields["Threads"]) > 1
        except (OSError, KeyError, ValueError):
            continue
    return killed
