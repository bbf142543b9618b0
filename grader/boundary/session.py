"""The trusted side of one submission's child: start it, call into it, kill it.

Every value that comes back is decoded as plain data; an exit, a crash or a
timeout is an outcome, never a result. A child that dies is restarted on the
next request, with the modules it had imported imported again.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import tempfile
import time
from dataclasses import dataclass, field

from grader.boundary import cgroup, host, sandbox
from grader.boundary.codec import CodecError, Decoder, encode_value, read_frame, recv_message, send_message
from grader.boundary.sandbox import THREADS, UID_BASE, Plan, missing_layers
from grader.boundary.zygote import Zygote

OUTPUT_LIMIT = 4000
START_TIMEOUT_S = 30.0
# A training's limit, and a long call's, counts CPU time (see Clock); wall time then only ends a
# call that waits instead of computing.
CPU_TIME_FROM_S = 10.0  # the rubrics' default per-call limit
WALL_FACTOR, WALL_GRACE_S = 3.0, 1.0
POLL_S = 0.5  # the longest a call goes unchecked for CPU time and memory
_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


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
    seconds: float = 0.0  # wall time
    cpu_seconds: float = 0.0  # CPU time of the submission's processes (see Clock)
    syntax_at: tuple[str, int, str] | None = None  # (file, line, what) of a SyntaxError, as the child reported it

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _syntax_at(value) -> tuple[str, int, str] | None:
    """(file, line, what) from the child's reply, when it is exactly that shape and the line one a file
    can have (CPython counts lines in a C int): the child is not trusted."""
    if type(value) is list and len(value) == 3 and type(value[0]) is str and type(value[1]) is int \
            and 0 <= value[1] < 2 ** 31 and type(value[2]) is str:
        return value[0][:300], value[1], value[2][:300]
    return None


_FROZEN_FRAME = re.compile(r'  File "<frozen [\w.]+>", line \d+, in [\w<>]+')
_TRACEBACK_START = "Traceback (most recent call last):"


def student_traceback(text: str) -> str:
    """The child's traceback from the first frame of the student's own code: the import machinery's
    frames above it (a module that raised on import) say nothing to a student. The text is the child's,
    so only whole lines are dropped, and only those exactly of a frozen frame's form."""
    lines, leading = [], False
    for line in text.split("\n"):
        if leading and _FROZEN_FRAME.fullmatch(line):
            continue
        leading = line == _TRACEBACK_START
        lines.append(line)
    return "\n".join(lines)


@dataclass
class _Child:
    pid: int
    channel: socket.socket
    output: object
    isolation: dict
    read_offset: int = 0
    imported: list[str] = field(default_factory=list)
    preloaded: bool = False  # forked after the zygote's preload (what training needs) was imported
    group: cgroup.Group | None = None  # the submission's cgroup: every process it starts, together
    stat_fd: int | None = None  # /proc/<pid>/stat, for CPU time where no cgroup counts it

    def cpu_seconds(self) -> tuple[float, str]:
        """CPU time used so far, and what was measured."""
        if self.group is not None:
            used = self.group.cpu_seconds()
            if used is not None:
                return used, "all of the submission's processes together, counted by its cgroup"
        if self.stat_fd is None:
            try:
                self.stat_fd = os.open(f"/proc/{self.pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return 0.0, "unmeasurable"
        try:
            fields = os.pread(self.stat_fd, 4096, 0).rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0, "unmeasurable"
        # utime, stime, and those of the children it waited for
        return sum(int(value) for value in fields[11:15]) * _TICK_S, "its process and the children it waited for"


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
        self.failed_imports: dict[str, Outcome] = {}  # module -> what importing it raised

    # ---- lifecycle ----------------------------------------------------------

    def _start(self, preload: bool = False) -> _Child:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        output = tempfile.TemporaryFile()
        try:
            pid, preloaded = self.zygote.spawn(self.plan, self.blocked, theirs.fileno(), output.fileno(), preload)
        finally:
            theirs.close()
        self.starts += 1
        child = _Child(pid, ours, output, {}, preloaded=preloaded, group=self._group(pid))
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
        child.isolation["cgroup"] = child.group.version if child.group else False
        child.isolation["cgroup_limits"] = child.group.limits if child.group else {}
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

    def _group(self, pid: int) -> cgroup.Group | None:
        """A cgroup holding the new child, or None where the machine offers none.

        The trusted side moves the child, rather than the child itself, so that nothing in the
        sandbox needs the cgroup files. It does so at once, while the child sandboxes itself
        (moving a process costs milliseconds), and always before the first request: student
        code runs only on a request, so everything it starts is born in the group. The pid is
        the child's: it is alive until it has sandboxed itself, and pids are not reused at once.
        """
        limits = self.plan.limits
        group = cgroup.create(limits.memory_mb, limits.processes, THREADS)
        if group is not None:
            try:
                group.add(pid)
            except OSError:
                group.close()
                return None
        return group

    def _kill(self, child: _Child, close_output: bool = True) -> None:
        # A group holds everything the child started, whatever session or uid it moved to, and
        # nothing in it can leave; once it is gone, no sweep of the uid's processes is needed.
        emptied = child.group is not None and child.group.close()
        if child.stat_fd is not None:
            os.close(child.stat_fd)
            child.stat_fd = None
        for target in (lambda: os.killpg(child.pid, signal.SIGKILL), lambda: os.kill(child.pid, signal.SIGKILL)):
            try:
                target()
            except (ProcessLookupError, PermissionError):
                pass
        if os.geteuid() == 0 and not emptied:  # then the child runs as UID_BASE + pid, or did not start at all
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

        `timeout_s` is CPU time for a training or a long call, else wall time (see Clock).
        on_progress(report) may return a message to give up early: the child is then killed
        and the outcome is a timeout carrying that message.
        """
        child = self._child or self._start()
        clock = Clock(child, timeout_s, cpu_time=header.get("op") == "train" or timeout_s >= CPU_TIME_FROM_S)
        try:
            child.channel.settimeout(clock.backstop - clock.started)
            send_message(child.channel, header, list(blobs))
            while True:
                reply, reply_blobs = read_frame(_reader(child.channel, clock))
                if set(reply) != {"progress"}:
                    break
                report = {**_progress(reply["progress"]), "cpu_s": clock.used()}
                verdict = on_progress(report) if on_progress else None
                if verdict:
                    return self._lost(child, "timeout", clock, verdict)
            clock.check_memory()
        except OutOfBudget as stop:
            return self._lost(child, stop.status, clock, str(stop))
        except socket.timeout:
            return self._lost(child, "timeout", clock, clock.backstop_message())
        except (EOFError, OSError):
            return self._lost(child, "crashed", clock, clock.memory_message() or
                              "the process running the code exited or was killed")
        except CodecError as error:
            return self._lost(child, "error", clock, f"sent something that is not plain data: {error}")
        seconds, cpu_seconds = time.monotonic() - clock.started, clock.used()
        output = self._read_output(child)
        if reply.get("ok") is True:
            try:
                value = Decoder(reply_blobs).decode(reply.get("value", {"t": "none"}))
            except CodecError as error:
                return Outcome("error", message=f"returned a value that cannot be read: {error}", output=output,
                               seconds=seconds, cpu_seconds=cpu_seconds)
            return Outcome("ok", value=value, output=output, seconds=seconds, cpu_seconds=cpu_seconds)
        error = reply.get("error") if type(reply.get("error")) is dict else {}
        return Outcome(
            "error",
            error_type=str(error.get("type", ""))[:200],
            message=str(error.get("message", ""))[:2000],
            traceback=student_traceback(str(error.get("traceback", ""))[:4000].replace(self.plan.scratch + os.sep, "")),
            syntax_at=_syntax_at(error.get("syntax_at")),
            output=output,
            seconds=seconds,
            cpu_seconds=cpu_seconds,
        )

    def _lost(self, child: _Child, status: str, clock: "Clock", message: str) -> Outcome:
        seconds, cpu_seconds = time.monotonic() - clock.started, clock.used()
        self._kill(child, close_output=False)  # stopped first, so nothing is written while it is read
        try:
            output = self._read_output(child)
        finally:
            child.output.close()
        self._child = None
        return Outcome(status, message=message, output=output, seconds=seconds, cpu_seconds=cpu_seconds)

    def import_module(self, module: str, timeout_s: float) -> Outcome:
        outcome = self._request({"op": "import", "module": module}, timeout_s)
        if outcome.ok and module not in self._modules:
            self._modules.append(module)
        if outcome.status == "error":
            self.failed_imports[module] = outcome
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


class OutOfBudget(Exception):
    """A call went over its CPU time or its memory; the message says what was measured."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


class Clock:
    """When a call is out of time, and whether it went over its memory.

    A training, and a call allowed CPU_TIME_FROM_S or more, count CPU time rather than wall
    time, so that other processes on the machine (a neighbour's spinning submission) cannot
    push honest work over its limit: it may use `limit × THREADS` CPU seconds, summed over
    all of the submission's processes where its cgroup counts them, else over the child and
    the children it waited for (/proc). The child computes with THREADS threads, so for
    honest code without contention CPU time is wall time. Code that waits instead of
    computing (sleeps, blocks, trickles its reply) is ended by a wall-clock backstop of
    WALL_FACTOR × the limit + WALL_GRACE_S. A shorter call keeps a wall-clock limit: work
    well inside it is not pushed over by load, and a call that sleeps ends at its limit.
    """

    def __init__(self, child: _Child, limit_s: float, cpu_time: bool):
        self.child = child
        self.limit_s = limit_s
        self.cpu_time = cpu_time
        self.started = time.monotonic()
        self.cpu_start, self.measured = child.cpu_seconds()
        if cpu_time and self.measured == "unmeasurable":  # no /proc (macOS): the limit is wall time, as it says
            cpu_time = self.cpu_time = False
        self.backstop = self.started + (WALL_FACTOR * limit_s + WALL_GRACE_S if cpu_time else limit_s)
        self.budget_s = limit_s * THREADS if cpu_time else float("inf")
        self.oom_start = child.group.oom_kills() if child.group else 0
        # How many CPUs the submission can keep busy, so a check comes no later than needed.
        quota = child.group is not None and child.group.limits.get("cpus")
        self.cpus = THREADS if quota else max(os.cpu_count() or 1, THREADS)
        self.next_check = self.started + min(POLL_S, self.budget_s / self.cpus)

    def used(self) -> float:
        return max(0.0, self.child.cpu_seconds()[0] - self.cpu_start)

    def memory_message(self) -> str | None:
        group = self.child.group
        killed = group.oom_kills() - self.oom_start if group else 0
        if killed <= 0:
            return None
        return (f"out of memory: the submission's processes together went over its memory limit of "
                f"{group.limits['memory_mb']} MiB, and the kernel killed {killed} of them")

    def check_memory(self) -> None:
        message = self.memory_message()
        if message:
            raise OutOfBudget("crashed", message)

    def check(self) -> None:
        """Raise OutOfBudget when the call is over its CPU time or memory; else set the next check."""
        self.check_memory()
        used = self.used()
        if used > self.budget_s:
            raise OutOfBudget("timeout", f"used {used:.1f} s of CPU time, more than the {self.budget_s:g} s allowed "
                                         f"(measured: {self.measured})")
        self.next_check = time.monotonic() + min(POLL_S, max(0.002, (self.budget_s - used) / self.cpus))

    def backstop_message(self) -> str:
        if not self.cpu_time:
            return f"no answer within {self.limit_s:g} s (wall-clock time, as for every call allowed less than " \
                   f"{CPU_TIME_FROM_S:g} s)"
        return (f"no answer within {WALL_FACTOR * self.limit_s + WALL_GRACE_S:g} s of wall-clock time, having used "
                f"{self.used():.1f} s of CPU time: it waited rather than computed (the limit of {self.limit_s:g} s "
                f"counts CPU time; wall time is cut at {WALL_FACTOR:g}× it plus {WALL_GRACE_S:g} s)")


def _reader(channel: socket.socket, clock: Clock):
    """recv for one reply that holds to the call's limits as a whole: a child that sends a byte at a
    time, or progress reports without end, is out of time at its CPU limit or the wall backstop all
    the same. Between reads the CPU time and memory are checked when due."""
    def read(size: int) -> bytes:
        while True:
            now = time.monotonic()
            if now >= clock.next_check:
                clock.check()
            if now >= clock.backstop:
                raise socket.timeout("the call's time is up")
            channel.settimeout(max(0.001, min(clock.backstop, clock.next_check) - now))
            try:
                return channel.recv(size)
            except socket.timeout:
                continue
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
    # No /proc: the child never drops to a uid of its own there (see sandbox.apply).
    for pid, fields in host.processes_of(uid) or ():
        try:
            # A leader that exited shows as a zombie while its other threads run on: kill it all the same.
            os.kill(pid, signal.SIGKILL)
            killed = killed or not fields["State"].strip().startswith("Z") or int(fields["Threads"]) > 1
        except (OSError, KeyError, ValueError):
            continue
    return killed
