"""How wrong values relate to the expected ones, found without any named mistake.

Given the failing cases of one item (inputs, what came back, what was expected),
`explain` looks for one relation that holds on every case: all zeros, a sign
flip, a constant factor or one equal to a quantity of the input (the batch
size, a dimension, their product or ratio, their inverse), a transpose, entries reversed
or permuted along an axis, a different total or the wrong axis summing to 1,
NaN or inf where the expected values are finite, a shape one row short or
transposed, one entry off, rounding to float16 precision. It claims nothing it
has not checked on every case, and never raises: student values are hostile.
"""

from __future__ import annotations

import math
import re

import numpy as np

from grader.boundary.codec import Tensor
from grader.judge import show
from grader.text import sentence

RTOL, ATOL = 1e-4, 1e-6  # the rubric's default tolerances: a relation holds as closely as a right answer must
MAX_ENTRIES = 100_000  # per array; larger values are not examined
MAX_TOTAL = 400_000  # per part of the result, over all cases
MAX_CASES = 200
MAX_PERMUTATION_WORK = 1_000_000  # slice comparisons when looking for a permutation
_UNSET = object()
_LARGE_INPUT = 50.0  # exp() of float32 overflows past 88; an input this large is worth naming


def explain(cases: list[tuple[dict, object, object]], quantities: list[dict[str, float]] | None = None) -> str | None:
    """One sentence relating what was returned to what was expected over failing cases, or None."""
    try:
        with np.errstate(all="ignore"):
            return _explain(cases, quantities)
    except Exception:  # hostile values: no sentence rather than a grader fault
        return None


# ---- values --------------------------------------------------------------------


def _numbers(value) -> np.ndarray | None:
    """The value as a float64 array, or None when it is no number or array of numbers (or too large)."""
    if isinstance(value, Tensor):
        value = value.array
    if type(value) is np.ndarray:
        if value.dtype.kind not in "biuf" or value.dtype.fields is not None or value.size > MAX_ENTRIES:
            return None
        return value.astype(np.float64)
    if type(value) in (int, float, bool) or isinstance(value, np.generic) and np.asarray(value).dtype.kind in "biuf":
        try:
            return np.asarray(float(value))
        except OverflowError:
            return np.asarray(math.inf if value > 0 else -math.inf)
    if type(value) in (list, tuple) and len(value) <= MAX_ENTRIES:  # numbers where an array was expected
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            return None
        return array if array.size <= MAX_ENTRIES else None
    if type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach"):  # inputs drawn in-process
        try:
            array = value.detach().cpu().numpy()
        except Exception:
            return None
        return _numbers(array)
    return None


def _close(got: np.ndarray, expected: np.ndarray) -> bool:
    """Whether `got` matches `expected` entry by entry, as the judge would (NaN for NaN)."""
    if got.shape != expected.shape:
        return False
    finite = np.isfinite(expected)
    scale = max(1.0, float(np.max(np.abs(expected[finite]), initial=0.0)))
    close = finite & (np.abs(got - expected) <= ATOL * scale + RTOL * np.abs(expected))
    return bool(np.all(close | (got == expected) | (np.isnan(got) & np.isnan(expected))))


def _same(a: float, b: float, rtol: float = RTOL) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= rtol * max(abs(a), abs(b)) + 1e-12


def _fmt(x: float) -> str:
    if math.isfinite(x) and x == round(x) and abs(x) < 1e6:
        return str(int(round(x)))
    text = f"{x:.3g}"
    if text in ("1", "-1"):  # a factor near 1 needs its decimals
        return f"{x:.6g}"
    return f"{float(text):g}" if 1 <= abs(x) < 1e6 else text  # 1000, not 1e+03


# ---- quantities --------------------------------------------------------------------


def _derived(inputs) -> dict[str, float]:
    """Dimensions of each array among the inputs (and lengths of lists), named as code would write them."""
    found: dict[str, float] = {}

    def visit(name: str, value, depth: int) -> None:
        if depth > 2 or len(found) > 24:
            return
        if isinstance(value, dict):
            for key, inner in list(value.items())[:16]:
                visit(f"{name}[{key!r}]", inner, depth + 1)
            return
        if type(value) in (list, tuple):
            if value and all(type(v) in (int, float) for v in value[:64]):
                found[f"`len({name})`"] = float(len(value))
            return
        shape = getattr(value.array if isinstance(value, Tensor) else value, "shape", None)
        if isinstance(shape, tuple) or type(shape).__name__ == "Size":
            for axis, size in enumerate(tuple(shape)[:4]):
                if isinstance(size, int) and size > 0:
                    found[f"`{name}.shape[{axis}]`"] = float(size)

    if isinstance(inputs, dict):
        for name, value in list(inputs.items())[:16]:
            visit(str(name), value, 0)
    return found


def _candidates(cases, quantities: list) -> list[tuple[str, str, list[float]]]:
    """(kind, name, value per case) of the factors worth naming, most meaningful first.

    A part of the result sees them as (kind, name, value per case where it is wrong, value per failing case).
    """
    count = len(cases)
    named: dict[str, list] = {}
    derived: dict[str, list] = {}
    for index, (inputs, _, _) in enumerate(cases):
        given = quantities[index] if isinstance(quantities[index], dict) else {}
        for table, source in ((named, given), (derived, _derived(inputs))):
            for name, value in list(source.items())[:24]:
                if type(value) in (int, float) or isinstance(value, np.generic):
                    try:
                        number = float(value)
                    except (TypeError, ValueError, OverflowError):
                        continue
                    if math.isfinite(number) and number != 0:
                        table.setdefault(str(name), [None] * count)[index] = number
    singles = [(name, values) for table in (named, derived) for name, values in table.items()
               if None not in values and any(abs(v) != 1 for v in values)][:16]
    found = []
    for name, values in singles:
        found.append(("times", name, values))
        found.append(("over", name, values))
    for (i, (first, a)), (j, (second, b)) in ((x, y) for x in enumerate(singles) for y in enumerate(singles)):
        if i <= j:
            name = f"{first} squared" if i == j else f"{first} times {second}"
            product = [x * y for x, y in zip(a, b)]
            found.append(("times", name, product))
            found.append(("over", name, product))
    for (i, (first, a)), (j, (second, b)) in ((x, y) for x in enumerate(singles) for y in enumerate(singles)):
        if i != j:  # e.g. a division by the number of classes where the batch size is due
            found.append(("times", f"{first} divided by {second}", [x / y for x, y in zip(a, b)]))
    return found


# ---- one part of the result -------------------------------------------------------


class _Part:
    """One array-valued part of the result across the failing cases."""

    def __init__(self, where: str, pairs: list[tuple[np.ndarray, np.ndarray]], cases, candidates, failing: int):
        self.where, self.pairs, self.cases, self.candidates = where, pairs, cases, candidates
        self.failing = failing  # failing cases in all, this part being wrong on len(pairs) of them
        self.factors: list[float] | None | object = _UNSET

    def all(self, test) -> bool:
        return all(test(g, e) for g, e in self.pairs)

    @property
    def same_shapes(self) -> bool:
        return self.all(lambda g, e: g.shape == e.shape)


def _relation(part: _Part) -> str | None:
    """A clause about part.where (the subject written as {S}) that holds on every case, or None."""
    clause = _non_finite(part)
    if clause:
        return clause
    if not part.same_shapes:  # square and non-square matrices both show a transpose
        return _transposed(part) or _same_output(part) or _shape_relation(part)
    for look in (_zeros, _negated, _same_output, _normalised, _factor, _transposed, _reversed, _permuted,
                 _wrong_axis, _one_entry, _rounding, _varying_factor):
        clause = look(part)
        if clause:
            return clause
    return None


def _non_finite(part: _Part) -> str | None:
    hit = [index for index, (g, e) in enumerate(part.pairs)
           if ((~np.isfinite(g) & np.isfinite(e)).any() if g.shape == e.shape
               else (~np.isfinite(g)).any() and np.isfinite(e).all())]
    if not hit:
        return None
    kinds = set()
    for index in hit:
        g = part.pairs[index][0]
        kinds |= {"NaN"} if np.isnan(g).any() else set()
        kinds |= {"inf"} if np.isinf(g).any() else set()
    shown = " and ".join(sorted(kinds))
    share = "" if len(hit) == part.failing else f" in {len(hit)} of {part.failing} failing cases"
    trigger = _trigger(part.cases[hit[0]][0])
    return f"{{S}} holds {shown} where the expected values are finite{share}{trigger}"


def _trigger(inputs) -> str:
    """', e.g. when ...': the input of a case that most plausibly makes the result overflow or divide by zero."""
    if not isinstance(inputs, dict):
        return ""
    arrays = [(str(name), value, _numbers(value)) for name, value in list(inputs.items())[:16]]
    arrays = [(name, value, a) for name, value, a in arrays if a is not None and a.size and np.isfinite(a).all()]
    if not arrays:
        return ""
    name, value, array = max(arrays, key=lambda item: float(np.max(np.abs(item[2]))))
    if float(np.max(np.abs(array))) >= _LARGE_INPUT:
        extreme = float(array.reshape(-1)[np.argmax(np.abs(array).reshape(-1))])
        return f", e.g. when `{name}` holds values as far from 0 as {_fmt(extreme)} ({name} = {_brief(value)})"
    shown = ", ".join(f"{name} = {_brief(value)}" for name, value in list(inputs.items())[:4])
    return f", e.g. on {shown[:160]}"


def _brief(value) -> str:
    return " ".join(show(value, 80).split())


def _axis_noun(ndim: int, axis: int, plural: bool = False) -> str:
    if ndim == 1:
        return "entries" if plural else "entry"
    if ndim == 2:
        return ("rows" if plural else "row") if axis == 0 else ("columns" if plural else "column")
    return f"slices along axis {axis}"


def _shape_relation(part: _Part) -> str | None:
    """Relations that explain a shape differing on every case."""
    if any(g.shape == e.shape for g, e in part.pairs):
        return None
    shifts = {_one_short(g, e) for g, e in part.pairs}
    if len(shifts) == 1 and None not in shifts:
        axis, step = shifts.pop()
        noun = _axis_noun(part.pairs[0][1].ndim, axis)
        for end, cut in (("last", slice(None, -1)), ("first", slice(1, None))):
            if step < 0 and part.all(lambda g, e: _close(g, e[(slice(None),) * axis + (cut,)])):
                return f"{{S}} has one {noun} fewer than expected: it is the expected result without its {end} {noun}"
        return f"{{S}} has one {noun} {'more' if step > 0 else 'fewer'} than expected"
    if part.all(lambda g, e: g.size == e.size and _close(g.reshape(e.shape), e)):
        g, e = part.pairs[0]
        return f"{{S}} holds the expected values in another shape ({g.shape} where {e.shape} is expected)"
    if part.all(lambda g, e: g.ndim >= 2 and g.shape == e.shape[::-1]):
        g, e = part.pairs[0]
        return f"{{S}} has the transposed shape, {g.shape} where {e.shape} is expected"
    for name, reduce in (("mean", np.mean), ("sum", np.sum)):
        if part.all(lambda g, e: e.size == 1 and g.size > 1 and _close(np.asarray(reduce(g)), e.reshape(()))):
            return f"{{S}} holds {part.pairs[0][0].size} values (shape {part.pairs[0][0].shape}) whose {name} is the expected value"
        if part.all(lambda g, e: g.size == 1 and e.size > 1 and _close(g.reshape(()), np.asarray(reduce(e)))):
            return f"{{S}} is the {name} of the expected values, which have shape {part.pairs[0][1].shape}"
    return None


def _one_short(g: np.ndarray, e: np.ndarray):
    """(axis, +1 or -1) when g's shape differs from e's by one along exactly one axis, else None."""
    if g.ndim != e.ndim:
        return None
    differ = [axis for axis in range(g.ndim) if g.shape[axis] != e.shape[axis]]
    if len(differ) != 1 or abs(g.shape[differ[0]] - e.shape[differ[0]]) != 1:
        return None
    return differ[0], g.shape[differ[0]] - e.shape[differ[0]]


def _zeros(part: _Part) -> str | None:
    if part.all(lambda g, e: not g.any() and e.any()):
        return "{S} is all zeros"
    return None


def _negated(part: _Part) -> str | None:
    if part.all(lambda g, e: _close(g, -e)):
        return "{S} has the wrong sign: every value is minus the expected one"
    return None


def _same_output(part: _Part) -> str | None:
    if len(part.pairs) < 2 or len(part.pairs) < part.failing:
        return None
    first, _ = part.pairs[0]
    if all(_close(g, first) for g, _ in part.pairs) and not all(_close(e, part.pairs[0][1]) for _, e in part.pairs):
        return "{S} is the same on every failing case, whatever the input"
    return None


def _fit(g: np.ndarray, e: np.ndarray) -> float | None:
    """c with g == c * e within tolerance, or None."""
    if not (np.isfinite(g).all() and np.isfinite(e).all()):
        return None
    norm = float(np.dot(e.reshape(-1), e.reshape(-1)))
    if norm == 0 or not math.isfinite(norm):
        return None
    c = float(np.dot(g.reshape(-1), e.reshape(-1))) / norm
    return c if math.isfinite(c) and _close(g, c * e) else None


def _support(e: np.ndarray) -> int:
    """How many entries pin a factor down: those not negligible next to the largest."""
    scale = float(np.max(np.abs(e), initial=0.0))
    return int(np.count_nonzero(np.abs(e) > 1e-9 * max(scale, 1e-300)))


def _nice(c: float) -> bool:
    """A factor a program would plausibly contain: a small integer or its inverse."""
    for k in range(2, 65):
        if _same(abs(c), k, 1e-9) or _same(abs(c), 1 / k, 1e-9):
            return True
    return False


def _factors(part: _Part) -> list[float] | None:
    if part.factors is _UNSET:  # three relations ask for them
        factors = []
        for g, e in part.pairs:
            factors.append(_fit(g, e))
            if factors[-1] is None:
                break
        part.factors = None if None in factors else factors
    return part.factors


def _matching(part: _Part, factors: list[float]):
    """The first named or derived factor that the result is multiplied or divided by on every case."""
    for kind, name, values, every in part.candidates:
        targets = values if kind == "times" else [1 / v for v in values]
        if all(_same(c, t) for c, t in zip(factors, targets)) and all(
                _close(g, t * e) for (g, e), t in zip(part.pairs, targets)):
            return kind, name, every
    return None


def _normalised(part: _Part) -> str | None:
    """Proportional to the expected values, but summing to 1 where they do not, or the reverse."""
    factors = _factors(part)
    if factors is None or not part.all(lambda g, e: _support(e) >= 2):
        return None
    totals = [(float(g.sum()), float(e.sum())) for g, e in part.pairs]
    if all(_same(sg, 1.0) and not _same(se, 1.0) for sg, se in totals):
        return f"{{S}} sums to 1 where the expected one sums to {_describe_totals(part, [se for _, se in totals])}"
    if all(_same(se, 1.0) and not _same(sg, 1.0) for sg, se in totals):
        return f"{{S}} sums to {_describe_totals(part, [sg for sg, _ in totals])} where the expected one sums to 1"
    return None


def _describe_totals(part: _Part, totals: list[float]) -> str:
    for kind, name, values, every in part.candidates:
        if kind == "times" and all(_same(t, v) for t, v in zip(totals, values)):
            return f"{name} ({_example(every)})"
    if all(_same(t, totals[0]) for t in totals):
        return _fmt(totals[0])
    return f"other totals (from {_fmt(min(totals))} to {_fmt(max(totals))})"


def _factor(part: _Part) -> str | None:
    factors = _factors(part)
    if factors is None:
        return None
    named = _matching(part, factors)
    constant = all(_same(c, factors[0]) for c in factors)
    if named and (not constant or named[1] in _named_quantities(part)):
        kind, name, every = named
        how = "multiplied" if kind == "times" else "divided"
        return f"every value of {{S}} is the expected one {how} by {name} ({_example(every)})"
    if constant and (sum(_support(e) for _, e in part.pairs) >= 3 or _nice(factors[0])):
        c = factors[0]
        if named:
            kind, name, _ = named
            return f"every value of {{S}} is {_fmt(c)} times the expected one ({_fmt(c)} is {'1 / ' if kind == 'over' else ''}{name} here)"
        return f"every value of {{S}} is {_fmt(c)} times the expected one"
    if named:
        kind, name, every = named
        how = "multiplied" if kind == "times" else "divided"
        return f"every value of {{S}} is the expected one {how} by {name} ({_example(every)})"
    return None


def _example(every: list[float]) -> str:
    """A quantity's value, as the reader can check it on the failing cases shown."""
    if all(v == every[0] for v in every):
        return f"{_fmt(every[0])} in every failing case"
    return f"{_fmt(every[0])} in the first failing case"


def _named_quantities(part: _Part) -> set[str]:
    return {name for _, name, _, _ in part.candidates if not name.startswith("`")}


def _varying_factor(part: _Part) -> str | None:
    factors = _factors(part)
    if factors is None or len(factors) < 2 or not part.all(lambda g, e: _support(e) >= 2):
        return None
    return (f"every value of {{S}} is the expected one times a factor that differs between failing cases "
            f"(from {_fmt(min(factors))} to {_fmt(max(factors))}) and matches no quantity of the input")


def _transposed(part: _Part) -> str | None:
    if part.all(lambda g, e: g.ndim >= 2 and _close(g, np.swapaxes(e, -1, -2))):
        return _transposed_clause(part)
    return None


def _transposed_clause(part: _Part) -> str:
    if part.pairs[0][1].ndim == 2:
        return "{S} is the expected matrix transposed"
    return "{S} is the expected value with its last two axes swapped (each matrix transposed)"


def _reversed(part: _Part) -> str | None:
    ndim = part.pairs[0][1].ndim
    for axis in range(ndim):
        if part.all(lambda g, e: e.ndim == ndim and e.shape[axis] > 1 and _close(g, np.flip(e, axis))):
            if ndim == 1:
                return "{S} holds the expected entries in reverse order"
            return f"{{S}} holds the expected {_axis_noun(ndim, axis, True)} in reverse order (along axis {axis})"
    return None


def _is_permutation(g: np.ndarray, e: np.ndarray, axis: int) -> bool:
    size = e.shape[axis]
    if g.shape != e.shape or size < 2 or size * e.size > MAX_PERMUTATION_WORK:
        return False
    if not _close(np.sort(g, axis=None), np.sort(e, axis=None)):  # not even the same numbers
        return False
    rows_g = np.moveaxis(g, axis, 0).reshape(size, 1, -1)
    rows_e = np.moveaxis(e, axis, 0).reshape(1, size, -1)
    scale = max(1.0, float(np.max(np.abs(e), initial=0.0)))
    close = (np.abs(rows_g - rows_e) <= ATOL * scale + RTOL * np.abs(rows_e)) | (rows_g == rows_e)
    matches = close.all(axis=2)
    used = set()
    for i in range(size):  # equal slices are interchangeable, so a greedy matching is enough
        j = next((j for j in np.flatnonzero(matches[i]) if j not in used), None)
        if j is None:
            return False
        used.add(j)
    return True


def _permuted(part: _Part) -> str | None:
    ndim = part.pairs[0][1].ndim
    for axis in range(ndim):
        if part.all(lambda g, e: e.ndim == ndim and _is_permutation(g, e, axis)):
            nouns = _axis_noun(ndim, axis, True)
            along = "" if ndim == 1 else f" (a permutation along axis {axis})"
            return f"{{S}} holds the expected {nouns} in another order{along or ' (a permutation)'}"
    return None


def _ones_along(array: np.ndarray) -> set[int]:
    return {axis for axis in range(array.ndim)
            if array.shape[axis] > 1 and np.allclose(array.sum(axis=axis), 1.0, rtol=RTOL, atol=ATOL)}


def _wrong_axis(part: _Part) -> str | None:
    """Normalised along one axis where the expected values are normalised along another (e.g. probabilities over the batch)."""
    found = set()
    for g, e in part.pairs:
        if g.ndim < 2:
            return None
        ones_g, ones_e = _ones_along(g), _ones_along(e)
        pairs = {(a, b) for a in ones_g - ones_e for b in ones_e - ones_g}
        found = pairs if not found else found & pairs
        if not found:
            return None
    a, b = min(found)
    ndim = part.pairs[0][1].ndim
    if ndim == 2:  # summing over axis 0 adds up a column
        noun = {0: "column", 1: "row"}
        return f"each {noun[a]} of {{S}} sums to 1 where each {noun[b]} of the expected one does"
    return f"{{S}} sums to 1 along axis {a} where the expected one sums to 1 along axis {b}"


def _wrong_entries(g: np.ndarray, e: np.ndarray) -> np.ndarray:
    finite = np.isfinite(e)
    scale = max(1.0, float(np.max(np.abs(e[finite]), initial=0.0)))
    close = (np.abs(g - e) <= ATOL * scale + RTOL * np.abs(e)) | (g == e) | (np.isnan(g) & np.isnan(e))
    return ~close


def _one_entry(part: _Part) -> str | None:
    positions = []
    for g, e in part.pairs:
        wrong = _wrong_entries(g, e)
        if int(wrong.sum()) != 1:
            return None
        positions.append((int(np.argmax(wrong.reshape(-1))), e.size, tuple(int(i) for i in np.argwhere(wrong)[0])))
    if max(size for _, size, _ in positions) < 2:
        return None  # a single number that is wrong says nothing more
    if all(flat == size - 1 for flat, size, _ in positions):
        which = "the last entry"
    elif all(flat == 0 for flat, _, _ in positions):
        which = "the first entry"
    elif len({index for _, _, index in positions}) == 1:
        which = f"the entry at index {positions[0][2]}"
    else:
        which = "one entry"
    every = " in every failing case" if 1 < len(part.pairs) == part.failing else ""
    return f"only {which} of {{S}} is wrong{every}; every other value is right"


def _rounding(part: _Part) -> str | None:
    """Every value right to about three significant figures: the precision of float16."""
    worst = 0.0
    for g, e in part.pairs:
        if not (np.isfinite(g).all() and np.isfinite(e).all()):
            return None
        scale = max(1.0, float(np.max(np.abs(e), initial=0.0)))
        worst = max(worst, float(np.max(np.abs(g - e) / (np.abs(e) + RTOL * scale), initial=0.0)))
    if worst <= 1e-3:
        return "{S} agrees with the expected one to only about three significant figures, about the precision of float16"
    return None


# ---- the whole result -------------------------------------------------------------


def _parts(got, expected, where: str, out: list, depth: int = 0) -> None:
    """(where, got part or None, expected part) for each array-valued part of `expected`."""
    if depth > 8 or len(out) > 64:
        raise ValueError("too deeply nested")
    if isinstance(expected, (tuple, list)):
        same = type(got) in (tuple, list) and len(got) == len(expected)
        for index, inner in enumerate(expected):
            _parts(got[index] if same else None, inner, f"element {index} of {where}", out, depth + 1)
        return
    if isinstance(expected, dict):
        same = type(got) is dict and set(got) == set(expected)
        for key, inner in expected.items():
            name = f"{where}[{key!r}]"  # the result['Wh'], as the judge names it
            _parts(got[key] if same else None, inner, name, out, depth + 1)
        return
    out.append((where, got, expected))


def _explain(cases, quantities) -> str | None:
    cases = list(cases)
    if not cases or len(cases) > MAX_CASES:
        return None
    per_case = []
    for _, got, expected in cases:
        found: list = []
        _parts(got, expected, "the result", found)
        per_case.append(found)
    names = [where for where, _, _ in per_case[0]]
    if any([where for where, _, _ in parts] != names for parts in per_case):
        return None  # the expected results differ in structure: nothing holds across them
    named = [quantities[i] if isinstance(quantities, (list, tuple)) and i < len(quantities) else None
             for i in range(len(cases))]
    candidates = _candidates(cases, named)
    wrong, right = [], []
    for index, where in enumerate(names):
        if all(_equal_plain(parts[index][1], parts[index][2]) for parts in per_case):
            right.append(where)  # None, a string: nothing numeric to relate
            continue
        pairs, total = [], 0
        for number, parts in enumerate(per_case):
            g, e = _numbers(parts[index][1]), _numbers(parts[index][2])
            if g is None or e is None:
                pairs = None
                break
            total += g.size + e.size
            if total > MAX_TOTAL:
                return None
            if not _close(g, e):  # a part is related to what was expected where it is wrong
                pairs.append((number, g, e))
        if pairs is None:
            wrong.append((where, None))
        elif not pairs:
            right.append(where)
        else:
            chosen = [number for number, _, _ in pairs]
            part_candidates = [(kind, name, [values[i] for i in chosen], values) for kind, name, values in candidates]
            part = _Part(where, [(g, e) for _, g, e in pairs], [cases[i] for i in chosen], part_candidates, len(cases))
            wrong.append((where, _relation(part)))
    return _sentence(wrong, right)


def _equal_plain(got, expected) -> bool:
    return (expected is None or type(expected) is str) and type(got) is type(expected) and got == expected


def _join(names: list[str]) -> str:
    """'element 0 of the result' and 'element 1 of the result' as 'elements 0 and 1 of the result'."""
    if len(names) == 1:
        return names[0]
    elements = [re.fullmatch(r"element (\d+) of (.+)", name) for name in names]
    if all(elements) and len({match[2] for match in elements}) == 1:
        return f"elements {_join([match[1] for match in elements])} of {elements[0][2]}"
    return ", ".join(names[:-1]) + " and " + names[-1]


def _sentence(wrong: list[tuple[str, str | None]], right: list[str]) -> str | None:
    explained = [(where, clause) for where, clause in wrong if clause]
    if not explained:
        return None
    groups: dict[str, list[str]] = {}
    for where, clause in explained:
        groups.setdefault(clause, []).append(where)
    clauses = []
    for clause, places in groups.items():
        subject = places[0] if len(places) == 1 else f"each of {_join(places)}"
        clauses.append(clause.replace("{S}", subject))
    unexplained = [where for where, clause in wrong if not clause]
    if unexplained:
        clauses.append(f"{_join(unexplained)} {'is' if len(unexplained) == 1 else 'are'} wrong in another way")
    if right:
        clauses.append(f"{_join(right)} {'is' if len(right) == 1 else 'are'} right")
    text = "; ".join(clauses) if len(clauses) > 2 else ", while ".join(clauses)
    return sentence(text) + "."
