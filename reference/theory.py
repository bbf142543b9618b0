"""Reference answers to the written theory questions, and readers for students' spellings.

A conv-matrix answer is a grid whose entries are 0 or a kernel element w(i,j).
Students write those elements many ways, and YAML's flow sequences split
`[w(2,2), 0]` at the comma inside the brackets; `repair_split_entries` rejoins
such pieces when the result is unambiguous and refuses otherwise.
"""

from __future__ import annotations

import re
import reprlib

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
# A student's answer can be huge (YAML aliases repeat one piece thousands of times), so the
# readers look at no more than this and fail at once beyond it. No spelling of a kernel element
# needs more than 32 characters.
MAX_ENTRY_CHARS = 32
MAX_GRID_ENTRIES = 10_000
MAX_REGION_ENTRIES = 1_000
_SHOWN_CHARS = 60


class AnswerFormatError(ValueError):
    """A written answer that cannot be read unambiguously; the message says how to fix it."""


def _shown(value) -> str:
    """A repr short enough for a message, however large the value."""
    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = _SHOWN_CHARS
    shortener.maxlevel = 2
    try:
        return shortener.repr(value)
    except ValueError:  # an int with more digits than Python prints
        return "a number with thousands of digits"


def _too_many_nodes(value, limit: int) -> bool:
    """Whether `value` holds more than `limit` lists and scalars; stops counting there."""
    stack, seen = [value], 0
    while stack:
        node = stack.pop()
        seen += node.size if isinstance(node, np.ndarray) else 1
        if seen > limit:
            return True
        if isinstance(node, (list, tuple)):
            if len(node) > limit - seen:
                return True
            stack.extend(node)
    return False


def conv_matrix_symbolic(kernel_shape, input_shape, stride: int, padding: int) -> list[list[KernelEntry]]:
    """The conv matrix with each entry named by the kernel tap it holds, or 0.

    Derived from the numeric reference with a kernel of distinct labels, so the
    two can never disagree.
    """
    kh, kw = kernel_shape
    labels = np.arange(1, kh * kw + 1, dtype=np.float64).reshape(kh, kw)
    numeric = conv_as_matrix(labels, input_shape, stride, padding)
    return [[0 if v == 0 else divmod(int(v) - 1, kw) for v in row] for row in numeric]


def _too_long(text: str) -> AnswerFormatError:
    return AnswerFormatError(f"{_shown(text)} has {len(text):,} characters, more than any kernel element needs "
                             f"({MAX_ENTRY_CHARS}); write it as 0 or w(i,j)")


def parse_kernel_entry(value) -> KernelEntry:
    """0 (as a number or "0") or a kernel element in an accepted spelling -> (i, j)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return 0
    if isinstance(value, str):
        if len(value) > MAX_ENTRY_CHARS:
            raise _too_long(value)
        text = value.strip()
        if text in {"0", "0.0"}:
            return 0
        for pattern in _SPELLINGS:
            match = pattern.match(text)
            if match:
                return int(match.group(1)), int(match.group(2))
    raise AnswerFormatError(
        f"{_shown(value)} is not 0 or a kernel element; write it as w(i,j), w_ij, wij, w[i][j] or w[i,j]"
    )


def _unbalanced(text: str) -> bool:
    return text.count("(") > text.count(")") or text.count("[") > text.count("]")


def repair_split_entries(row: list) -> list:
    """Rejoin pieces such as ['w(2', '2)'] that a YAML flow sequence split at a comma.

    Linear in the row's length: no piece, and no rejoined entry, is longer than MAX_ENTRY_CHARS.
    """
    if len(row) > MAX_GRID_ENTRIES:
        raise AnswerFormatError(f"a row of {len(row):,} entries is more than the {MAX_GRID_ENTRIES:,} read")
    repaired, pending = [], None
    for item in row:
        if isinstance(item, str) and len(item) > MAX_ENTRY_CHARS:
            raise _too_long(item)
        if pending is not None:
            if not isinstance(item, (str, int)):
                raise AnswerFormatError(f"cannot read {_shown(pending)} followed by {_shown(item)}: {QUOTING_HINT}")
            if isinstance(item, int) and not -10 ** MAX_ENTRY_CHARS < item < 10 ** MAX_ENTRY_CHARS:
                raise AnswerFormatError(f"unclosed bracket in {_shown(pending)}: {QUOTING_HINT}")
            pending = f"{pending},{item}"
            if len(pending) > MAX_ENTRY_CHARS:  # no entry is this long: the bracket is never closed
                raise AnswerFormatError(f"unclosed bracket in {_shown(pending)}: {QUOTING_HINT}")
            if not _unbalanced(pending):
                repaired.append(pending)
                pending = None
        elif isinstance(item, str) and _unbalanced(item):
            pending = item
        else:
            repaired.append(item)
    if pending is not None:
        raise AnswerFormatError(f"unclosed bracket in {_shown(pending)}: {QUOTING_HINT}")
    return repaired


def read_conv_answer(rows, shape: tuple[int, int]) -> list[list[KernelEntry]]:
    """A student's grid of entries, repaired and parsed, checked against the expected shape."""
    grid = read_conv_grid(rows)
    found = (len(grid), len(grid[0]) if grid else 0)
    if any(len(row) != found[1] for row in grid):
        lengths = [len(row) for row in grid]
        raise AnswerFormatError(f"rows have different lengths {_shown(lengths)}")
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
    entries = sum(len(row) for row in raw)
    if entries > MAX_GRID_ENTRIES:
        raise AnswerFormatError(f"A has {entries:,} entries, more than the {MAX_GRID_ENTRIES:,} read; "
                                f"write one entry per element of the matrix")
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


_TOO_MANY = object()


def _array(value, size: int):
    """`value` as float64; None when it is not numbers, _TOO_MANY when it holds far more than `size`."""
    if _too_many_nodes(value, 4 * size + 16):  # nested lists of `size` numbers have fewer nodes
        return _TOO_MANY
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # not numbers, ragged, or an int beyond float64
        return None


def _numbers(value, shape, name: str) -> np.ndarray:
    size = int(np.prod(shape))
    array = _array(value, size)
    if array is None:
        raise AnswerFormatError(f"{name} must be a number or a list of numbers, got {_shown(value)}")
    if array is _TOO_MANY or array.size != size:
        found = "far more" if array is _TOO_MANY else array.size
        raise AnswerFormatError(f"{name} has {found} numbers, expected {size}")
    return array.reshape(shape)


def read_linear_region_answer(raw, weights, biases, x0) -> dict:
    """The student's {x0, W, b} entry for this x0, with W and b shaped as the reference's."""
    expected = linear_region_answer(weights, biases, x0)
    if not isinstance(raw, list):
        raise AnswerFormatError("linear_region must be a list of entries such as {x0: 2, W: 6, b: 3}")
    if len(raw) > MAX_REGION_ENTRIES:
        raise AnswerFormatError(f"linear_region has {len(raw):,} entries, more than the {MAX_REGION_ENTRIES:,} read; "
                                f"write one entry per point")
    point = np.atleast_1d(np.asarray(x0, dtype=np.float64))
    for entry in raw:
        if not isinstance(entry, dict) or "x0" not in entry:
            raise AnswerFormatError(f"each entry needs x0, W and b, got {_shown(entry)}")
        here = _array(entry["x0"], point.size)
        if here is None or here is _TOO_MANY:
            continue
        here = np.atleast_1d(here)
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
