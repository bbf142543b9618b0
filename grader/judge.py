"""Verdicts on plain values: strict kinds, tolerant numbers, readable differences.

Both sides reach the judge as plain data (ndarray, Tensor wrapper, float, int,
list, tuple, dict): student values come through the boundary's decoder, and
reference values are passed through the same codec first.
"""

from __future__ import annotations

import numpy as np

from grader.boundary.codec import Decoder, Other, Tensor, encode_value

_NUMBER = (int, float)


def plain(value, torch_module=None):
    """The value as the judge sees values: exactly what would cross the boundary."""
    header, blobs = encode_value(value, torch_module)
    return Decoder(blobs).decode(header)


def kind_of(value) -> str:
    if isinstance(value, Tensor):
        return "tensor"
    if type(value) is np.ndarray:
        return "array"
    if type(value) in _NUMBER:
        return "number"
    if isinstance(value, Other):
        return value.type_name
    return type(value).__name__


def _describe(kind: str) -> str:
    return {"array": "a numpy array", "tensor": "a torch tensor", "number": "a number",
            "tuple": "a tuple", "list": "a list", "dict": "a dict", "NoneType": "None"}.get(kind, f"a {kind}")


def check_kind(value, spec, where: str = "the result") -> str | None:
    """None when `value` has the declared kind, else a sentence saying what differs."""
    got = kind_of(value)
    if spec == "any":
        return None
    if isinstance(spec, str):
        if got != spec:
            return f"{where} is {_describe(got)}, expected {_describe(spec)}"
        if spec in ("array", "tensor"):
            array = value.array if isinstance(value, Tensor) else value
            if array.dtype.kind == "f" and array.dtype.itemsize < 4:
                return f"{where} has dtype {array.dtype}; return float32 or float64"
        return None
    if isinstance(spec, list):
        if got not in ("tuple", "list") or len(value) != len(spec):
            length = f" of length {len(value)}" if got in ("tuple", "list") else ""
            return f"{where} is {_describe(got)}{length}, expected a tuple of {len(spec)}"
        for index, (inner, inner_spec) in enumerate(zip(value, spec)):
            problem = check_kind(inner, inner_spec, f"element {index} of {where}")
            if problem:
                return problem
        return None
    if got != "dict":
        return f"{where} is {_describe(got)}, expected a dict with keys {', '.join(spec)}"
    if set(value) != set(spec):
        return f"{where} has keys {sorted(value)}, expected {sorted(spec)}"
    for key, inner_spec in spec.items():
        problem = check_kind(value[key], inner_spec, f"{where}[{key!r}]")
        if problem:
            return problem
    return None


def _as_array(value) -> np.ndarray | None:
    if isinstance(value, Tensor):
        return value.array
    if type(value) is np.ndarray:
        return value
    if type(value) is int:
        try:
            return np.asarray(float(value))  # compared as float64 anyway
        except OverflowError:  # an int beyond float64 is as far from any expected number as inf
            return np.asarray(np.inf if value > 0 else -np.inf)
    if type(value) is float or type(value) is bool:
        return np.asarray(value)
    return None


def _matches(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Element by element: within tolerance where `expected` is finite, else exactly (the same infinity, NaN for NaN).

    An infinite expected value would make its own tolerance infinite, accepting any finite number.
    """
    finite = np.isfinite(expected)
    # Absolute slack grows with the problem's scale, so correct float32 code passes.
    scale = max(1.0, float(np.max(np.abs(expected[finite]), initial=0.0)))
    with np.errstate(invalid="ignore", over="ignore"):
        close = finite & (np.abs(got - expected) <= atol * scale + rtol * np.abs(expected))
    return close | (got == expected) | (np.isnan(got) & np.isnan(expected))


def _compare_arrays(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float, where: str) -> str | None:
    if got.shape != expected.shape:
        return f"{where} has shape {got.shape}, expected {expected.shape}"
    got64, expected64 = got.astype(np.float64), expected.astype(np.float64)
    bad_nan = ~np.isfinite(got64) & np.isfinite(expected64)
    if bad_nan.any() and not got.ndim:
        return f"{where} is {got64[()]}, expected {expected64[()]:.6g}"
    if bad_nan.any():
        index = tuple(int(i) for i in np.argwhere(bad_nan)[0])
        return f"{where} holds {got64[index]} at index {index} where {expected64[index]:.6g} was expected"
    wrong = ~_matches(got64, expected64, rtol, atol)
    if wrong.any():
        with np.errstate(invalid="ignore", over="ignore"):
            error = np.abs(got64 - expected64)
        if not got.ndim:  # one number: no index, and "1 of 1 entries" says nothing
            return f"{where} is {got64[()]:.6g}, expected {expected64[()]:.6g}"
        index = tuple(int(i) for i in np.argwhere(wrong)[0])
        worst = float(np.nanmax(np.where(wrong, error, 0.0)))
        return (f"{where} differs at index {index}: got {got64[index]:.6g}, expected {expected64[index]:.6g} "
                f"({int(wrong.sum())} of {wrong.size} entries wrong, largest error {worst:.3g})")
    return None


def compare(got, expected, rtol: float, atol: float, where: str = "the result") -> str | None:
    """None when `got` matches `expected` in structure and, within tolerance, in value."""
    if isinstance(expected, (tuple, list)):
        if kind_of(got) not in ("tuple", "list") or len(got) != len(expected):
            return f"{where} is {_describe(kind_of(got))}, expected {len(expected)} values"
        for index, (a, b) in enumerate(zip(got, expected)):
            problem = compare(a, b, rtol, atol, f"element {index} of {where}")
            if problem:
                return problem
        return None
    if isinstance(expected, dict):
        if kind_of(got) != "dict" or set(got) != set(expected):
            return f"{where} does not have the keys {sorted(expected)}"
        for key in expected:
            problem = compare(got[key], expected[key], rtol, atol, f"{where}[{key!r}]")
            if problem:
                return problem
        return None
    got_array, expected_array = _as_array(got), _as_array(expected)
    if got_array is None or expected_array is None:
        return None if got == expected else f"{where} is {show(got)}, expected {show(expected)}"
    return _compare_arrays(got_array, expected_array, rtol, atol, where)


def same_mistake(got, mutant, rtol: float, atol: float) -> bool:
    """Whether `got` is what the mutant computes: same kinds all the way down, same values (NaN = NaN)."""
    if kind_of(got) != kind_of(mutant):
        return False
    if isinstance(mutant, (tuple, list)):
        return len(got) == len(mutant) and all(same_mistake(a, b, rtol, atol) for a, b in zip(got, mutant))
    if isinstance(mutant, dict):
        return set(got) == set(mutant) and all(same_mistake(got[k], mutant[k], rtol, atol) for k in mutant)
    a, b = _as_array(got), _as_array(mutant)
    if a is None or b is None:
        return got == mutant
    if a.shape != b.shape:
        return False
    return bool(np.all(_matches(a.astype(np.float64), b.astype(np.float64), rtol, atol)))


def show(value, limit: int = 600) -> str:
    """A short, deterministic rendering for feedback."""
    if isinstance(value, Tensor):
        text = repr(value)
    elif type(value) is np.ndarray:
        text = np.array2string(value, precision=6, threshold=60, separator=", ")
        if value.ndim:
            text = f"array{value.shape} {text}"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k!r}: {show(v, limit)}" for k, v in value.items()) + "}"
    elif isinstance(value, (list, tuple)):
        inner = ", ".join(show(v, limit) for v in value)
        text = f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    elif type(value) is float:
        text = f"{value:.8g}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
