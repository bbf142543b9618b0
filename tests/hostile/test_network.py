"""Student code reaches no socket of the grading machine: TCP, UDP, abstract or named Unix sockets.

The test listens itself, in this process, and records every connection and byte; the student's
softmax tries to send to it. Whether the attempt raises or is swallowed, the item's outcome is
reported, the listener hears nothing, and the other files keep their points.
"""

import os
import socket
import threading
import uuid

import pytest

from grader.checks.common import SANDBOX_REFUSED
from tests.hostile.conftest import assert_contained, bystanders, grade, plant
from tests.machine import can_have

pytestmark = pytest.mark.layers("network")

SOFTMAX = "softmax_classifier.py"
ATTACKED = "softmax.stability"
SECRET = b"exfiltrated: the rubric says..."
RIGHT = ("    z = np.asarray(logits, dtype=np.float64)\n"
         "    e = np.exp(z - z.max(axis=1, keepdims=True))\n"
         "    return e / e.sum(axis=1, keepdims=True)\n")


class Listener:
    """A socket in the test process, accepting (or receiving) on a thread; records what arrives."""

    def __init__(self, family: int, kind: int, address):
        self.socket = socket.socket(family, kind)
        self.socket.bind(address)
        if family == socket.AF_UNIX and not address.startswith("\0"):
            os.chmod(address, 0o777)  # as a careless service's socket would be: anyone may connect
        if kind == socket.SOCK_STREAM:
            self.socket.listen(16)
        self.socket.settimeout(0.1)
        self.kind = kind
        self.connections = 0
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def address(self):
        return self.socket.getsockname()

    def _run(self):
        while not self._stop.is_set():
            try:
                if self.kind == socket.SOCK_STREAM:
                    connection, _ = self.socket.accept()
                    self.connections += 1
                    connection.settimeout(1)
                    with connection:
                        while chunk := connection.recv(4096):
                            self.received += chunk
                else:
                    self.received += self.socket.recv(4096)
            except (socket.timeout, OSError):
                continue

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.socket.close()


@pytest.fixture
def listeners(tmp_path):
    opened = []

    def listen(family, kind, address):
        opened.append(Listener(family, kind, address))
        return opened[-1]

    yield listen
    for listener in opened:
        listener.close()


def host_address() -> str:
    """This machine's address on its own network, not the loopback one (falls back to it)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


def softmax_that(attempt: str, swallow: bool) -> str:
    """softmax_classifier.py whose softmax runs `attempt` (one line), then answers right.

    With swallow=True a failed attempt is ignored (and printed); otherwise the error propagates.
    """
    if swallow:
        body = f"    try:\n        {attempt}\n    except Exception as error:\n        print('blocked:', type(error).__name__, error)\n"
    else:
        body = f"    {attempt}\n"
    return f"import socket\nimport numpy as np\nSECRET = {SECRET!r}\ndef softmax(logits):\n{body}{RIGHT}"


def tcp(host: str, port: int) -> str:
    return f"socket.create_connection(({host!r}, {port}), timeout=2).sendall(SECRET)"


def assert_refused_by_the_filter(result) -> None:
    """Where the machine has seccomp, no socket is made at all, and the student is told why."""
    if can_have()["seccomp"]:
        output = result.item(ATTACKED).output
        assert "PermissionError" in output and SANDBOX_REFUSED in output, output


def assert_nothing_arrived(listener: Listener) -> None:
    listener.close()
    assert listener.connections == 0 and listener.received == b"", (listener.connections, listener.received)


@pytest.mark.parametrize("host", ["127.0.0.1", "host"])
def test_a_tcp_connection_to_the_grading_machine_fails_and_is_reported(tmp_path, bundled, zygote, listeners, host):
    listener = listeners(socket.AF_INET, socket.SOCK_STREAM, ("0.0.0.0", 0))
    address = host_address() if host == "host" else host
    folder = plant(tmp_path, {SOFTMAX: softmax_that(tcp(address, listener.address[1]), swallow=False)})
    result = grade(folder, bundled, zygote, [ATTACKED], bystanders(SOFTMAX))
    assert_contained(result, [ATTACKED], bystanders(SOFTMAX), statuses=("error",), message="softmax(logits) raised")
    assert any(name in result.item(ATTACKED).output for name in ("OSError", "PermissionError", "Network is unreachable"))
    assert_refused_by_the_filter(result)
    assert_nothing_arrived(listener)


def test_a_swallowed_tcp_failure_leaves_a_right_answer_its_point(tmp_path, bundled, zygote, listeners):
    listener = listeners(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0))
    folder = plant(tmp_path, {SOFTMAX: softmax_that(tcp("127.0.0.1", listener.address[1]), swallow=True)})
    result = grade(folder, bundled, zygote, [ATTACKED], bystanders(SOFTMAX))
    assert_contained(result, [], [ATTACKED, *bystanders(SOFTMAX)])
    assert_nothing_arrived(listener)


@pytest.mark.parametrize("host", ["127.0.0.1", "host"])
def test_a_udp_datagram_to_the_grading_machine_is_not_delivered(tmp_path, bundled, zygote, listeners, host):
    """Landlock governs TCP only: UDP is kept in by the network namespace or the system-call filter."""
    listener = listeners(socket.AF_INET, socket.SOCK_DGRAM, ("0.0.0.0", 0))
    port, address = listener.address[1], host_address() if host == "host" else host
    attempt = f"[socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(SECRET, ({address!r}, {port})) for _ in range(20)]"
    result = grade(plant(tmp_path, {SOFTMAX: softmax_that(attempt, swallow=False)}), bundled, zygote,
                   [ATTACKED], bystanders(SOFTMAX))
    item = result.item(ATTACKED)
    # A datagram into a downed loopback fails (error) or vanishes (the right answer passes): both are reported.
    assert item.status in ("error", "passed"), item.output
    assert item.status == "passed" or "softmax(logits) raised" in item.output
    assert_refused_by_the_filter(result)
    assert_contained(result, [], bystanders(SOFTMAX))
    assert_nothing_arrived(listener)


def test_an_abstract_unix_socket_of_the_grading_machine_is_out_of_reach(tmp_path, bundled, zygote, listeners):
    name = f"\0grader-hostile-{uuid.uuid4().hex}"
    listener = listeners(socket.AF_UNIX, socket.SOCK_STREAM, name)
    attempt = f"s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect({name!r}); s.sendall(SECRET)"
    result = grade(plant(tmp_path, {SOFTMAX: softmax_that(attempt, swallow=False)}), bundled, zygote,
                   [ATTACKED], bystanders(SOFTMAX))
    assert_contained(result, [ATTACKED], bystanders(SOFTMAX), statuses=("error",), message="softmax(logits) raised")
    assert any(name in result.item(ATTACKED).output for name in ("ConnectionRefusedError", "PermissionError"))
    assert_refused_by_the_filter(result)
    assert_nothing_arrived(listener)


def test_a_world_writable_named_unix_socket_is_out_of_reach(tmp_path, bundled, zygote, listeners):
    """A socket file anyone may connect to, in the shared temporary folder (as X11's and others' are)."""
    path = os.path.join("/tmp", f"grader-hostile-{uuid.uuid4().hex[:12]}.sock")
    listener = listeners(socket.AF_UNIX, socket.SOCK_STREAM, path)
    try:
        attempt = f"s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect({path!r}); s.sendall(SECRET)"
        result = grade(plant(tmp_path, {SOFTMAX: softmax_that(attempt, swallow=False)}), bundled, zygote,
                       [ATTACKED], bystanders(SOFTMAX))
        assert_contained(result, [ATTACKED], bystanders(SOFTMAX), statuses=("error",), message="softmax(logits) raised")
        assert_refused_by_the_filter(result)
        assert_nothing_arrived(listener)
    finally:
        os.unlink(path)


@pytest.mark.parametrize("how", ["datagram pair", "stream pair", "descriptor passed"])
def test_a_socket_pair_reaches_no_named_socket_outside(tmp_path, bundled, zygote, listeners, how):
    """A socket pair needs no socket() call; with a datagram pair, sendto() with an address reaches any
    named datagram socket, and a descriptor sent along gives the outside a channel back in. The folder
    is one no namespace covers (/dev/shm where there is one), so only the system-call filter is tested."""
    folder = "/dev/shm" if os.access("/dev/shm", os.W_OK) else str(tmp_path)
    path = os.path.join(folder, f"grader-hostile-{uuid.uuid4().hex[:12]}.sock")
    listener = listeners(socket.AF_UNIX, socket.SOCK_DGRAM, path)
    attempts = {
        "datagram pair": f"a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM); a.sendto(SECRET, {path!r})",
        "stream pair": f"a, b = socket.socketpair(); a.sendto(SECRET, {path!r})",
        "descriptor passed": ("import array; a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM); "
                              "rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [b.fileno()]))]; "
                              f"a.sendmsg([SECRET], rights, 0, {path!r})"),
    }
    try:
        result = grade(plant(tmp_path, {SOFTMAX: softmax_that(attempts[how], swallow=False)}), bundled, zygote,
                       [ATTACKED], bystanders(SOFTMAX))
        assert_contained(result, [ATTACKED], bystanders(SOFTMAX), statuses=("error",), message="softmax(logits) raised")
        assert_refused_by_the_filter(result)
        assert_nothing_arrived(listener)
    finally:
        os.unlink(path)


def test_a_process_that_blocks_on_the_network_is_still_stopped(tmp_path, bundled, zygote, listeners):
    """Waiting for a connection that never comes ends with the item's time limit, not the grader's."""
    import dataclasses

    quick = dataclasses.replace(bundled, items=tuple(dataclasses.replace(i, timeout_s=2.0) for i in bundled.items))
    attempt = ("s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1); s.accept()")
    result = grade(plant(tmp_path, {SOFTMAX: softmax_that(attempt, swallow=False)}), quick, zygote,
                   [ATTACKED], bystanders(SOFTMAX))
    item = result.item(ATTACKED)
    # Binding in a namespace whose loopback is down may fail at once; otherwise accept() waits until killed.
    assert item.score == 0 and item.status in ("timeout", "error"), item.output
    assert_contained(result, [], bystanders(SOFTMAX))
