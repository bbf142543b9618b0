"""Code that ends its own process, at import time or inside a call, costs only its own items.

sys.exit and friends are exceptions the child catches and reports; os._exit, SIGKILL and a
segfault end the child, which the trusted side sees as the process stopping, and the next
request gets a fresh child in which the other files still work.
"""

import pytest

from grader.api import probe_isolation
from tests.hostile.conftest import assert_contained, bystanders, grade, plant

pytestmark = pytest.mark.layers("unprivileged_uid")

SOFTMAX = "softmax_classifier.py"
CONV = "conv_matrix.py"
CORRECT_SOFTMAX = (
    "import numpy as np\n"
    "def _right(logits):\n"
    "    z = np.asarray(logits, dtype=np.float64)\n"
    "    e = np.exp(z - z.max(axis=1, keepdims=True))\n"
    "    return e / e.sum(axis=1, keepdims=True)\n"
)


def at_import(statement: str) -> str:
    """softmax_classifier.py that would be right, but stops at import time."""
    return f"import os, sys, ctypes, signal\n{CORRECT_SOFTMAX}{statement}\ndef softmax(logits):\n    return _right(logits)\n"


def in_call(statement: str) -> str:
    """softmax_classifier.py whose softmax stops the process when called."""
    return f"import os, sys, ctypes, signal\n{CORRECT_SOFTMAX}def softmax(logits):\n    {statement}\n    return _right(logits)\n"


STOPPED = "The process stopped while"  # what the grader says when the child dies under a request

# name: (file, source, attacked item, expected message)
CASES = {
    "sys.exit(0) at import": (SOFTMAX, at_import("sys.exit(0)"), "softmax.stability", "raised SystemExit"),
    "sys.exit(0) in a call": (SOFTMAX, in_call("sys.exit(0)"), "softmax.stability", "raised SystemExit"),
    "os._exit(0) at import": (SOFTMAX, at_import("os._exit(0)"), "softmax.stability", f"{STOPPED} importing"),
    "os._exit(0) in a call": (SOFTMAX, in_call("os._exit(0)"), "softmax.stability", STOPPED),
    "raise SystemExit in a call": (SOFTMAX, in_call("raise SystemExit"), "softmax.stability", "raised SystemExit"),
    "raise KeyboardInterrupt in a call": (SOFTMAX, in_call("raise KeyboardInterrupt"), "softmax.stability",
                                          "raised KeyboardInterrupt"),
    "raise BaseException in a call": (SOFTMAX, in_call("raise BaseException('bye')"), "softmax.stability",
                                      "raised BaseException: bye"),
    "SIGKILL itself in a call": (SOFTMAX, in_call("os.kill(os.getpid(), signal.SIGKILL)"), "softmax.stability", STOPPED),
    "SIGKILL itself at import": (SOFTMAX, at_import("os.kill(os.getpid(), 9)"), "softmax.stability",
                                 f"{STOPPED} importing"),
    "SIGSEGV via ctypes in a call": (SOFTMAX, in_call("ctypes.string_at(0)"), "softmax.stability", STOPPED),
    "SIGSEGV via ctypes at import": (SOFTMAX, at_import("ctypes.string_at(0)"), "softmax.stability",
                                     f"{STOPPED} importing"),
    "SIGTERM to its process group in a call": (SOFTMAX, in_call("os.killpg(0, signal.SIGTERM)"), "softmax.stability",
                                               STOPPED),
    "sys.exit in conv_as_matrix": (CONV, "import sys\ndef conv_as_matrix(kernel, input_shape, stride=1, padding=0):\n"
                                         "    sys.exit('no convolutions today')\n",
                                   "conv_matrix.published", "raised SystemExit: no convolutions today"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_stopping_process_costs_only_its_items(tmp_path, bundled, zygote, case):
    file, source, attacked, message = CASES[case]
    others = bystanders(file)
    result = grade(plant(tmp_path, {file: source}), bundled, zygote, [attacked], others)
    assert_contained(result, [attacked], others, statuses=("error",), message=message)
    # The items graded after the attack still ran in a live child: the grader itself survived.
    assert result.timing["process_starts"] >= 1


def test_an_exit_that_kills_every_item_of_its_file_leaves_the_next_submission_alone(tmp_path, bundled, zygote):
    """The same zygote grades a clean submission after a crashing one, with every point."""
    crashed = grade(plant(tmp_path, {SOFTMAX: in_call("ctypes.string_at(0)")}, name="crasher"), bundled, zygote,
                    ["softmax.softmax", "softmax.stability"], bystanders(SOFTMAX))
    assert_contained(crashed, ["softmax.softmax", "softmax.stability"], bystanders(SOFTMAX), statuses=("error",),
                     message=STOPPED)
    clean = grade(plant(tmp_path, {}, name="clean"), bundled, zygote, ["softmax.stability"], bystanders(SOFTMAX))
    assert_contained(clean, [], ["softmax.stability", *bystanders(SOFTMAX)])


def test_sigkill_to_every_process_it_may_signal_reaches_only_its_own_uid(tmp_path, bundled, zygote):
    """kill(-1, SIGKILL) spares the caller; from the child's private uid it reaches nothing of the grader's."""
    # As root, kill(-1) would take this test run down with it: check the uid drop first.
    assert probe_isolation(zygote)["unprivileged_uid"] is True
    folder = plant(tmp_path, {SOFTMAX: in_call("os.kill(-1, signal.SIGKILL)")})
    result = grade(folder, bundled, zygote, ["softmax.stability"], bystanders(SOFTMAX))
    # The attack hurts no one: the function then returns the right answer and earns its point.
    assert_contained(result, [], ["softmax.stability", *bystanders(SOFTMAX)])
    assert zygote._process.poll() is None, "the zygote was killed"
    assert result.timing["process_starts"] == 1, "the child was restarted, so something killed it"
