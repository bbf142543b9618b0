"""Values that lie about what they are: subclasses, duck types, lazy, huge, non-finite, odd dtypes,
and replies the child forges byte by byte.

Each gets 0 on the attacked item with a message a TA understands; the grader never crashes,
never reads a lie as a right answer, and the other items keep their points.
"""

import resource

import pytest

from tests.hostile.conftest import assert_contained, bystanders, grade, plant

SOFTMAX = ["softmax.stability"]
CROSS_ENTROPY = ["softmax.cross_entropy"]
HONEST = open(__file__.replace("tests/hostile/test_lying_values.py", "submissions/ada_lovelace/softmax_classifier.py")).read()

# softmax(logits) bodies: `right` is the correct answer, `np` is numpy. Each: (body, status, message).
SOFTMAX_LIES = {
    "ndarray subclass with the right values and a lying __eq__": (
        "class Fake(np.ndarray):\n    def __eq__(self, other): return np.True_\n    def __ne__(self, other): return np.False_\n"
        "return right.view(Fake)", "failed", "is a softmax_classifier.softmax.<locals>.Fake, expected a numpy array"),
    "masked array hiding every wrong entry": (
        "return np.ma.masked_array(np.zeros_like(right), mask=True)", "failed", "MaskedArray, expected a numpy array"),
    "np.matrix": ("return np.asmatrix(right)", "failed", "is a numpy.matrix, expected a numpy array"),
    "duck type whose __array__, __eq__ and __abs__ lie": (
        "class Liar:\n"
        "    shape, dtype, ndim, size = right.shape, right.dtype, right.ndim, right.size\n"
        "    __array_priority__ = 10_000\n"
        "    def __array__(self, dtype=None, copy=None): return right\n"
        "    def __eq__(self, other): return True\n"
        "    def __ne__(self, other): return False\n"
        "    def __abs__(self): return 0.0\n"
        "    def __sub__(self, other): return np.zeros_like(right)\n"
        "    __rsub__ = __sub__\n"
        "    def __le__(self, other): return True\n"
        "    def __float__(self): return 0.0\n"
        "    def __len__(self): return len(right)\n"
        "    def __getitem__(self, index): return right[index]\n"
        "    def __iter__(self): return iter(right)\n"
        "return Liar()", "failed", "is a softmax_classifier.softmax.<locals>.Liar, expected a numpy array"),
    "lazy generator": ("return (row for row in right)", "failed", "is a builtins.generator, expected a numpy array"),
    "list of rows": ("return right.tolist()", "failed", "is a list, expected a numpy array"),
    "10**9 elements allocated": ("return np.ones(10**9)", "error", "MemoryError"),
    "10**9-element zero-memory broadcast view": (
        "return np.broadcast_to(np.zeros(1), (10**9,))", "error", "MemoryError"),
    "over the message cap (300 MB)": (
        "return np.broadcast_to(np.zeros(1, dtype=np.uint8), (300_000_000,))", "error", "larger than 256 MiB"),
    "nan everywhere": ("return np.full_like(right, np.nan)", "failed", "holds nan at index (0, 0)"),
    "inf everywhere": ("return np.full_like(right, np.inf)", "failed", "holds inf at index (0, 0)"),
    "one -inf among right values": (
        "right[1, 2] = -np.inf\nreturn right", "failed", "holds -inf at index (1, 2)"),
    "object dtype": ("return right.astype(object)", "error", "arrays of dtype object cannot be returned"),
    "complex dtype": ("return right + 0j", "error", "arrays of dtype complex128 cannot be returned"),
    "string dtype": ("return right.astype(str)", "error", "cannot be returned"),
    "structured dtype": (
        "out = np.zeros(right.shape, dtype=[('p', 'f8')])\nout['p'] = right\nreturn out", "error", "cannot be returned"),
    "float16": ("return right.astype(np.float16)", "failed", "has dtype float16; return float32 or float64"),
}


def softmax_source(body: str) -> str:
    lines = "\n".join("    " + line for line in body.splitlines())
    return HONEST.replace("def softmax(logits):", "def _honest_softmax(logits):") + (
        f"\n\ndef softmax(logits):\n    right = _honest_softmax(logits)\n{lines}\n")


@pytest.mark.parametrize("case", list(SOFTMAX_LIES))
def test_a_lying_softmax_gets_zero_and_a_clear_message(tmp_path, bundled, zygote, case):
    body, status, message = SOFTMAX_LIES[case]
    others = bystanders("softmax_classifier.py")
    result = grade(plant(tmp_path, {"softmax_classifier.py": softmax_source(body)}), bundled, zygote, SOFTMAX, others)
    assert_contained(result, SOFTMAX, others, statuses=(status,), message=message)


def test_the_honest_softmax_behind_the_lies_passes(tmp_path, bundled, zygote):
    """The lies above wrap a right answer: the wrapper, not the numbers, is what costs the points."""
    others = bystanders("softmax_classifier.py")
    result = grade(plant(tmp_path, {"softmax_classifier.py": softmax_source("return right")}), bundled, zygote, SOFTMAX, others)
    assert_contained(result, [], SOFTMAX + others)


# cross_entropy returns a number: scalar lies, each: (return expression, message).
NUMBER_LIES = {
    "np.float64 subclass with a lying __eq__": (
        "class F(np.float64):\n    def __eq__(self, other): return True\n    def __ne__(self, other): return False\n"
        "    def __abs__(self): return F(0.0)\n"
        "return F(right)", "is a softmax_classifier.cross_entropy.<locals>.F, expected a number"),
    "float subclass": ("class G(float):\n    def __eq__(self, other): return True\nreturn G(right)",
                       "is a softmax_classifier.cross_entropy.<locals>.G, expected a number"),
    "nan": ("return float('nan')", "The result is nan, expected 0.693147"),
    "an int beyond float64": ("return 10**400", "The result is inf, expected 0.693147"),
    "a 0-d array": ("return np.asarray(right)", "is a numpy array, expected a number"),
}


@pytest.mark.parametrize("case", list(NUMBER_LIES))
def test_a_lying_number_gets_zero_and_a_clear_message(tmp_path, bundled, zygote, case):
    body, message = NUMBER_LIES[case]
    lines = "\n".join("    " + line for line in body.splitlines())
    source = HONEST.replace("def cross_entropy(", "def _honest_cross_entropy(") + (
        f"\n\ndef cross_entropy(probs, labels):\n    right = _honest_cross_entropy(probs, labels)\n{lines}\n")
    others = bystanders("softmax_classifier.py")
    result = grade(plant(tmp_path, {"softmax_classifier.py": source}), bundled, zygote, CROSS_ENTROPY, others)
    assert_contained(result, CROSS_ENTROPY, others, statuses=("failed",), message=message)


# ---- replies forged byte by byte ------------------------------------------------------------

# The child patches its own reply path: when softmax's result is about to be sent, it sends
# the frame that FORGED() builds instead. The trusted side must read it as untrusted bytes.
FORGERY = '''
import io
import struct
import sys

import numpy as np

_child = sys.modules["grader.boundary.child"]
_real_send = _child.send_message


def _npy(header: bytes, data: bytes) -> bytes:
    header = header + b" " * (117 - len(header)) + b"\\n"
    return b"\\x93NUMPY\\x01\\x00" + struct.pack("<H", len(header)) + header + data


def _forging_send(sock, header, blobs=()):
    if header.get("value") != {{"t": "str", "v": "FORGE"}}:
        return _real_send(sock, header, blobs)
    head, blobs = FORGED()
    frame = struct.pack("!IQ", len(blobs), len(head)) + head
    for blob in blobs:
        frame += struct.pack("!Q", len(blob)) + blob
    sock.sendall(frame)


_child.send_message = _forging_send


def FORGED():
{forged}


def softmax(logits):
    return "FORGE"
'''

# Each: (body of FORGED, returning (header bytes, blobs); message).
FORGERIES = {
    "a 40 MiB header of two million values": (
        "return b'{\"ok\":true,\"value\":{\"t\":\"list\",\"v\":[' + b'{\"t\":\"int\",\"v\":1},' * 2_000_000"
        " + b'{\"t\":\"none\"}]}}', []", "sent something that is not plain data"),
    "an int of 5000 digits": (
        "return b'{\"ok\":true,\"value\":{\"t\":\"int\",\"v\":' + b'9' * 5000 + b'}}', []",
        "sent something that is not plain data"),
    "JSON nested 100000 deep": (
        "return b'{\"ok\":true,\"value\":' + b'[' * 100_000 + b']' * 100_000 + b'}', []",
        "sent something that is not plain data"),
    "a float beyond float64": (
        "return b'{\"ok\":true,\"value\":{\"t\":\"float\",\"v\":1' + b'0' * 400 + b'}}', []",
        "returned a value that cannot be read"),
    "an .npy claiming 10**9 elements": (
        "return b'{\"ok\":true,\"value\":{\"t\":\"array\",\"i\":0}}', "
        "[_npy(b\"{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,), }\", b'\\0' * 16)]",
        "returned a value that cannot be read"),
    "an .npy of Python objects": (
        "return b'{\"ok\":true,\"value\":{\"t\":\"array\",\"i\":0}}', "
        "[_npy(b\"{'descr': '|O', 'fortran_order': False, 'shape': (2, 3), }\", b'\\0' * 48)]",
        "returned a value that cannot be read"),
    "an 'other' value named like a plain array": (
        "return b'{\"ok\":true,\"value\":{\"t\":\"other\",\"type\":\"array\"}}', []",
        "returned a value that cannot be read"),
    "a claim of having passed, with no value": (
        "return b'{\"ok\":true,\"passed\":true,\"score\":1,\"status\":\"passed\"}', []",
        "is None, expected a numpy array"),
}


@pytest.mark.parametrize("case", list(FORGERIES))
def test_a_forged_reply_is_an_error_not_a_crash_or_a_pass(tmp_path, bundled, zygote, case):
    body, message = FORGERIES[case]
    source = FORGERY.format(forged="    " + body)
    others = bystanders("softmax_classifier.py")
    grown_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = grade(plant(tmp_path, {"softmax_classifier.py": source}), bundled, zygote, SOFTMAX, others)
    statuses = ("failed",) if "is None" in message else ("error",)
    assert_contained(result, SOFTMAX, others, statuses=statuses, message=message)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - grown_before) / 1024
    assert grown_mib < 256, f"reading the forged reply grew the grading process by {grown_mib:.0f} MiB"
