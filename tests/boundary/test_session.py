"""The boundary: plain data only, failures as outcomes, and the sandbox's layers."""

import os
import socket
import threading

import numpy as np
import pytest
import torch

from grader.boundary.codec import Other, Tensor
from tests.machine import can_have

ROOT_FILES = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MODULE = '''
import os, sys, time
import numpy as np
import torch

def echo(x):
    return x

def twice(x):
    return x * 2

def subclass():
    return np.ones(3).view(type("Sneaky", (np.ndarray,), {}))

def float_subclass():
    return type("Liar", (np.float64,), {"__eq__": lambda s, o: True})(1.0)

def generator():
    return (i for i in range(3))

def object_array():
    return np.array([1, "a"], dtype=object)

def hard_exit():
    os._exit(0)

def _channel():
    return next(int(fd) for fd in os.listdir("/proc/self/fd") if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"))

def drip():
    """A reply written a byte at a time, each byte well within the call's limit."""
    from grader.boundary.codec import frame
    for byte in frame({"ok": True, "value": {"t": "none"}}):
        os.write(_channel(), bytes([byte]))
        time.sleep(0.2)

def report_forever():
    """Progress reports without end, back to back, so one is always waiting to be read."""
    from grader.boundary.codec import frame
    report, channel = frame({"progress": {"epoch": 1}}), _channel()
    while True:
        os.write(channel, report)

def say_then_exit():
    print("last words before the crash", flush=True)
    os._exit(3)

def soft_exit():
    sys.exit(0)

def spin():
    while True:
        pass

def shout(n):
    print("x" * n)
    return n

def tensor_out():
    return torch.ones(2, requires_grad=True) * 3

def read(path):
    with open(path) as handle:
        return handle.read(20)

def write(path):
    with open(path, "w") as handle:
        handle.write("forged")
    return "wrote"

def connect(port):
    import socket
    socket.create_connection(("127.0.0.1", port), timeout=2).sendall(b"stolen")
    return "connected"

def import_reference():
    import reference.conv_matrix
    return "imported"
'''


def test_values_round_trip_as_plain_data(student):
    process = student({"m.py": MODULE})
    assert process.import_module("m", 10).ok
    value = {"a": np.arange(6.0).reshape(2, 3), "b": (1, 2.5, None, True), "c": [np.float32(1.5)], "s": "text"}
    outcome = process.call("m", "echo(x)", {"x": value}, 10)
    assert outcome.ok
    assert np.array_equal(outcome.value["a"], value["a"]) and outcome.value["b"] == (1, 2.5, None, True)
    assert outcome.value["c"] == [1.5] and outcome.value["s"] == "text"


def test_tensors_travel_both_ways_and_come_back_as_arrays(student):
    process = student({"m.py": MODULE})
    process.import_module("m", 10)
    back = process.call("m", "twice(x)", {"x": torch.tensor([1.0, 2.0])}, 10, torch)
    assert isinstance(back.value, Tensor) and np.array_equal(back.value.array, [2.0, 4.0])
    grad = process.call("m", "tensor_out()", {}, 10)
    assert isinstance(grad.value, Tensor) and np.array_equal(grad.value.array, [3.0, 3.0])


@pytest.mark.parametrize(
    "expr, type_name",
    [("subclass()", "m.Sneaky"), ("float_subclass()", "m.Liar"), ("generator()", "builtins.generator")],
)
def test_lookalike_values_come_back_only_as_their_type_name(student, expr, type_name):
    process = student({"m.py": MODULE})
    process.import_module("m", 10)
    outcome = process.call("m", expr, {}, 10)
    assert outcome.ok and outcome.value == Other(type_name)


def test_object_arrays_are_refused(student):
    process = student({"m.py": MODULE})
    process.import_module("m", 10)
    outcome = process.call("m", "object_array()", {}, 10)
    assert outcome.status == "error" and "dtype object" in outcome.message


def test_exits_and_crashes_are_outcomes_and_the_child_restarts(student):
    process = student({"m.py": MODULE})
    process.import_module("m", 10)
    soft = process.call("m", "soft_exit()", {}, 10)
    assert soft.status == "error" and soft.error_type == "SystemExit"
    hard = process.call("m", "hard_exit()", {}, 10)
    assert hard.status == "crashed"
    again = process.call("m", "twice(x)", {"x": 21}, 10)
    assert again.ok and again.value == 42 and process.starts == 2
    said = process.call("m", "say_then_exit()", {}, 10)
    assert said.status == "crashed" and "last words before the crash" in said.output, said  # what it printed is kept


@pytest.mark.parametrize("expr", ["drip()", "report_forever()"])
def test_a_reply_that_never_ends_is_out_of_time_at_the_call_s_limit(student, expr):
    """The limit is the call's, not each read's: bytes or progress reports trickling in do not extend it."""
    process = student({"m.py": MODULE})
    process.import_module("m", 10)
    outcome = process.call("m", expr, {}, 1.0)
    assert outcome.status == "timeout" and outcome.seconds < 3, outcome
    assert process.call("m", "twice(x)", {"x": 1}, 10).value == 2


def test_a_spinning_call_times_out_and_is_killed(student):
    process = student({"m.py": MODULE})
    process.import_module("m", 10)
    outcome = process.call("m", "spin()", {}, 0.5)
    assert outcome.status == "timeout" and 0.5 <= outcome.seconds < 5
    assert process.call("m", "twice(x)", {"x": 1}, 10).value == 2


def test_errors_carry_a_traceback_without_machine_paths(student):
    process = student({"m.py": MODULE})
    process.import_module("m", 10)
    outcome = process.call("m", "twice(x)", {"x": None}, 10)
    assert outcome.status == "error" and outcome.error_type == "TypeError"
    assert 'File "m.py"' in outcome.traceback and "/tmp" not in outcome.traceback


def test_syntax_errors_are_reported_at_import(student):
    process = student({"bad.py": "def f(:\n    pass\n"})
    outcome = process.import_module("bad", 10)
    assert outcome.status == "error" and outcome.error_type == "SyntaxError"


def test_output_is_captured_and_truncated(student):
    process = student({"m.py": MODULE})
    process.import_module("m", 10)
    outcome = process.call("m", "shout(n)", {"n": 100_000}, 10)
    assert outcome.ok and outcome.output.startswith("xxx") and outcome.output.endswith("[output truncated]")
    assert len(outcome.output) < 5000


def test_isolation_layers_on_this_machine_are_reported(student):
    process = student({"m.py": MODULE})
    process.import_module("m", 10)
    layers = process.isolation
    assert layers["process"] and layers["rlimits"]["RLIMIT_AS"] == 4096 << 20
    # Every layer the kernel offers here is recorded as applied (tests/boundary/test_layers.py proves each).
    for name, possible in can_have().items():
        assert bool(layers[name]) is possible, (name, layers[name])
    if can_have()["hidden_paths"]:
        assert layers["hidden_paths"] >= 3


def test_reference_files_and_package_are_out_of_reach(student):
    process = student({"m.py": MODULE})
    process.import_module("m", 10)
    assert process.call("m", "import_reference()", {}, 10).error_type == "ModuleNotFoundError"
    for path in ("reference/conv_matrix.py", "rubrics/README.md", "submissions/README.md"):
        outcome = process.call("m", "read(p)", {"p": os.path.join(ROOT_FILES, path)}, 10)
        assert outcome.status == "error" and outcome.error_type in {"FileNotFoundError", "PermissionError"}, path


def test_writes_outside_scratch_are_refused(student, tmp_path):
    process = student({"m.py": MODULE})
    process.import_module("m", 10)
    target = tmp_path / "result.json"
    outcome = process.call("m", "write(p)", {"p": str(target)}, 10)
    assert outcome.status == "error" and not target.exists()
    assert process.call("m", "write(p)", {"p": "own_file.txt"}, 10).value == "wrote"


def test_the_network_is_unreachable(student):
    received = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(3)

    def accept():
        try:
            connection, _ = server.accept()
            received.append(connection.recv(100))
        except OSError:
            pass

    listener = threading.Thread(target=accept)
    listener.start()
    process = student({"m.py": MODULE})
    process.import_module("m", 10)
    outcome = process.call("m", "connect(port)", {"port": server.getsockname()[1]}, 10)
    listener.join()
    server.close()
    assert outcome.status == "error" and received == []
