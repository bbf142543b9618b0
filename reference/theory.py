"""Reference answers to the written theory questions, and readers for students' spellings.

A conv-matrix answer is a grid whose entries are 0 or a kernel element w(i,j).
Students write those elements many ways, and YAML's flow sequences split
`[w(2,2), 0]` at the comma inside the brackets; `repair_split_entries` rejoins
such pieces when the result is unambiguous and refuses otherwise.
"""

from __future__ import annotations

import re

import numpy as np

from reference.conv_matrix import conv_as_matrix
from reference.linear_region import forward, linear_region

KernelEntry = tuple[int, int] | int  # (i, j) for w(i,j), or 0

_SPELLINGS = [
    re.compile(r"^[wW]\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$"),  # w(i,j), w(i, j), W(i,j)
    re.compile(r"^[wW]\s*\[\s*(\d+)\s*,\s*(\d+)\s*\]$"),  # w[i,j]
    re.compile(r"^[wW]\s*\[\s*(\d+)\s*\]\s*\[\s*(\d+)\s*\]$"),  # w[i][j]
    re.compile(r"^[wW]_?(\d)(\d)$"),  # w_ij, wij (single digits only: w123 is ambiguous)
]
QUOTING_HINT = 'quote each kernel element, e.g. ["w(2,2)", 0, 0], or write w22'


class AnswerFormatError(ValueError):
    """A written answer that cannot be read unambiguously; the message says how to fix it."""


def conv_matrix_symbolic(kernel_shape, input_shape, stride: int, padding: int) -> list[list[KernelEntry]]:
    """The conv matrix with each entry named by the kernel tap it holds, or 0.

    Derived from the numeric reference with a kernel of distinct labels, so the
    two can never disagree.
    """
    kh, kw = kernel_shape
    labels = np.arange(1, kh * kw + 1, dtype=np.float64).reshape(kh, kw)
    numeric = conv_as_matrix(labels, input_shape, stride, padding)
    return [[0 if v == 0 else divmod(int(v) - 1, kw) for v in row] for row in numeric]


def parse_kernel_entry(value) -> KernelEntry:
    """0 (as a number or "0") or a kernel element in an accepted spelling -> (i, j)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return 0
    if isinstance(value, str):
        text = value.strip()
        if text in {"0", "0.0"}:
            return 0
        for pattern in _SPELLINGS:
            match = pattern.match(text)
            if match:
                return int(match.group(1)), int(match.group(2))
    raise AnswerFormatError(
        f"{value!r} is not 0 or a kernel element; write it as w(i,j), w_ij, wij, w[i][j] or w[i,j]"
    )


def _unbalanced(text: str) -> bool:
    return text.count("(") > text.count(")") or text.count("[") > text.count("]")


def repair_split_entries(row: list) -> list:
    """Rejoin pieces such as ['w(2', '2)'] that a YAML flow sequence split at a comma."""
    repaired, pending = [], None
    for item in row:
        if pending is not None:
            if not isinstance(item, (str, int)):
                raise AnswerFormatError(f"cannot read {pending!r} followed by {item!r}: {QUOTING_HINT}")
            pending = f"{pending},{item}"
            if not _unbalanced(pending):
                repaired.append(pending)
                pending = None
        elif isinstance(item, str) and _unbalanced(item):
            pending = item
        else:
            repaired.append(item)
    if pending is not None:
        raise AnswerFormatError(f"unclosed bracket in {pending!r}: {QUOTING_HINT}")
    return repaired


def read_conv_answer(rows, shape: tuple[int, int]) -> list[list[KernelEntry]]:
    """A student's grid of entries, repaired and parsed, checked against the expected shape."""
    grid = read_conv_grid(rows)
    found = (len(grid), len(grid[0]) if grid else 0)
    if any(len(row) != found[1] for row in grid):
        raise AnswerFormatError(f"rows have different lengths {[len(row) for row in grid]}")
    if found != tuple(shape):
        raise AnswerFormatError(f"A is {found[0]}x{found[1]}, expected {shape[0]}x{shape[1]}")
    return grid


def linear_region_table(weights, biases, points) -> list[dict]:
    """For each scalar or vector x0: h(x0), W and b of the linear region there."""
    table = []
    for point in points:
        x0 = np.atleast_1d(np.asarray(point, dtype=np.float64))
        slope, offset = linear_region(weights, biases, x0)
        table.append({"x0": point, "h": forward(weights, biases, x0), "W": slope, "b": offset})
    return table


# ---- readers and answers for rubric 'answers' items: reader(raw, **args), reference(**args) ----


def read_conv_grid(raw, kernel_shape=None, input_shape=None, stride=None, padding=None) -> list[list[KernelEntry]]:
    """A student's conv-matrix answer as a grid of (i, j) and 0, of whatever size they wrote."""
    if not isinstance(raw, list) or not raw or not all(isinstance(row, list) for row in raw):
        raise AnswerFormatError("A must be a list of rows, each a list of entries")
    grid = []
    for number, row in enumerate(raw):
        try:
            grid.append([parse_kernel_entry(entry) for entry in repair_split_entries(row)])
        except AnswerFormatError as error:
            raise AnswerFormatError(f"row {number}: {error}") from None
    return grid


def linear_region_answer(weights, biases, x0) -> dict:
    """{'W': W, 'b': b} of the linear region at x0 (a number or a list)."""
    slope, offset = linear_region(weights, biases, np.atleast_1d(np.asarray(x0, dtype=np.float64)))
    return {"W": slope, "b": offset}


def _numbers(value, shape, name: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise AnswerFormatError(f"{name} must be a number or a list of numbers, got {value!r}") from None
    if array.size != int(np.prod(shape)):
        raise AnswerFormatError(f"{name} has {array.size} numbers, expected {int(np.prod(shape))}")
    return array.reshape(shape)


def read_linear_region_answer(raw, weights, biases, x0) -> dict:
    """The student's {x0, W, b} entry for this x0, with W and b shaped as the reference's."""
    expected = linear_region_answer(weights, biases, x0)
    if not isinstance(raw, list):
        raise AnswerFormatError("linear_region must be a list of entries such as {x0: 2, W: 6, b: 3}")
    point = np.atleast_1d(np.asarray(x0, dtype=np.float64))
    for entry in raw:
        if not isinstance(entry, dict) or "x0" not in entry:
            raise AnswerFormatError(f"each entry needs x0, W and b, got {entry!r}")
        try:
            here = np.atleast_1d(np.asarray(entry["x0"], dtype=np.float64))
        except (TypeError, ValueError):
            continue
        if here.shape == point.shape and np.allclose(here, point):
            missing = [key for key in ("W", "b") if key not in entry]
            if missing:
                raise AnswerFormatError(f"the entry for x0 = {x0} has no {' or '.join(missing)}")
            return {"W": _numbers(entry["W"], expected["W"].shape, "W"), "b": _numbers(entry["b"], expected["b"].shape, "b")}
    raise AnswerFormatError(f"no entry with x0: {x0}")


# ---- writers for an audit: an answer as a student would write it at the item's path ----


def write_conv_grid(grid, kernel_shape=None, input_shape=None, stride=None, padding=None) -> list[list]:
    """A grid of (i, j) and 0 as rows of "w(i,j)" and 0."""
    return [[0 if entry == 0 else f"w({entry[0]},{entry[1]})" for entry in row] for row in grid]


def write_linear_region_answer(answer: dict, weights, biases, x0) -> list[dict]:
    """The one entry {x0, W, b} for this x0; items at other points add theirs to the same list."""
    def numbers(value):
        array = np.asarray(value, dtype=np.float64)
        return array.item() if array.size == 1 and array.ndim <= 2 and array.shape in ((), (1,), (1, 1)) else array.tolist()

    return [{"x0": x0, "W": numbers(answer["W"]), "b": numbers(answer["b"])}]
