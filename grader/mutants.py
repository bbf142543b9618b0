"""Systematic mutations: a reference symbol wrapped so that one thing about it goes wrong.

A mutation either changes the symbol's result (result operators) or the
arguments it is called with (argument operators). `mutate` runs in the child,
where a rubric audit's mutant submission wraps the reference with it, and the
result operators also run in the trusted process on written answers. Only
numpy and torch are needed here.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np
import torch

RESULT_OPERATORS = {
    "negated": "every number in the result has the wrong sign",
    "transposed": "the result's matrices are transposed",
    "off_by_one": "the result's arrays are one row short (an off-by-one size)",
    "times_n": "the result is multiplied by the batch size (a sum where a mean is due)",
    "over_n": "the result is divided by the batch size (a mean where a sum is due)",
    "float16": "the result is computed to float16 precision",
    "constant": "the result is all zeros, whatever the input",
    "perturbed": "one number of the result is 1% off",
}
# Correct implementations by another route: a rubric that fails one fails correct code.
ALTERNATIVE_OPERATORS = {
    "float32": "computes in float32: its floating-point arguments arrive as float32",
}
ARGUMENT_OPERATORS = {
    "dropped": "ignores its argument {0}: uses {1} instead",
    "swapped": "takes its arguments {0} and {1} in the wrong order",
}
_STRUCTURAL = {"transposed", "off_by_one"}  # act on shapes, whatever the dtype; the rest act on floating-point numbers
_BATCHED = {"times_n", "over_n"}


# ---- values ---------------------------------------------------------------------


def _is_grid(value) -> bool:
    """A list of equal-length lists, such as a matrix written by hand: structural operators treat it as one."""
    return (isinstance(value, list) and bool(value) and all(isinstance(row, list) for row in value)
            and len({len(row) for row in value}) == 1 and len(value[0]) > 0)


def _floating(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f" and value.size > 0
    if isinstance(value, torch.Tensor):
        return value.is_floating_point() and value.numel() > 0
    return isinstance(value, float)


def _structural(name: str, value):
    """The value changed by a structural operator, or None where it does not apply."""
    if isinstance(value, (np.ndarray, torch.Tensor)):
        if name == "transposed" and value.ndim >= 2:
            return value.swapaxes(-1, -2) if isinstance(value, np.ndarray) else value.transpose(-1, -2)
        if name == "off_by_one" and value.ndim >= 1 and len(value) > 0:
            return value[:-1]
        return None
    if _is_grid(value):
        return [list(row) for row in zip(*value)] if name == "transposed" else value[:-1]
    return None


def _numeric(name: str, value, n: int | None, first: bool):
    """The floating-point value changed by a numeric operator (`first`: the first such value met)."""
    tensor = isinstance(value, torch.Tensor)
    if name == "negated":
        return -value
    if name == "times_n":
        return value * n
    if name == "over_n":
        return value / n
    if name == "constant":
        return value * 0 if tensor else np.zeros_like(value) if isinstance(value, np.ndarray) else 0.0
    if name == "float16":  # overflowing to inf is part of the mutation
        if tensor:
            return value.to(torch.float16).to(value.dtype)
        with np.errstate(over="ignore"):
            return value.astype(np.float16).astype(value.dtype) if isinstance(value, np.ndarray) else float(np.float16(value))
    if name == "perturbed":
        if not first:
            return value
        if tensor:
            last = value.detach().reshape(-1)[-1]
            bump = torch.zeros_like(value).reshape(-1)
            bump[-1] = 0.01 * (last.abs() + 1)
            return value + bump.reshape(value.shape)  # keeps the autograd graph, as a loss must
        if isinstance(value, np.ndarray):
            changed = value.copy()
            flat = changed.reshape(-1)
            flat[-1] += 0.01 * (abs(flat[-1]) + 1)
            return changed
        return value + 0.01 * (abs(value) + 1)
    raise ValueError(f"unknown result operator {name!r}")


def change_result(name: str, value, n: int | None = None):
    """(value with operator `name` applied, how many parts of it changed). Containers keep their type."""
    if name not in RESULT_OPERATORS:
        raise ValueError(f"unknown result operator {name!r}")
    if name in _BATCHED and (n is None or n < 1):
        return value, 0
    touched = 0

    def visit(part):
        nonlocal touched
        if name in _STRUCTURAL:
            changed = _structural(name, part)
            if changed is not None:
                touched += 1
                return changed
        elif _floating(part):
            touched += 1
            return _numeric(name, part, n, touched == 1)
        if isinstance(part, dict):
            return {key: visit(inner) for key, inner in part.items()}
        if isinstance(part, (list, tuple)) and not isinstance(part, str):
            return type(part)(visit(inner) for inner in part) if not hasattr(part, "_fields") else type(part)(*map(visit, part))
        return part

    return visit(value), touched


def batch_size(args: tuple, kwargs: dict) -> int | None:
    """The length of the first array argument: the N of a mean over a batch."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim >= 1:
            return len(value)
    return None


# ---- arguments --------------------------------------------------------------------


def _zeros(value):
    if isinstance(value, np.ndarray):
        return np.zeros_like(value)
    if isinstance(value, torch.Tensor):
        return torch.zeros_like(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return type(value)(0)
    if isinstance(value, dict):
        return {key: _zeros(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_zeros(inner) for inner in value)
    return value


def parameters(obj) -> list[inspect.Parameter]:
    """The parameters an argument operator can act on: a function's, or a class's constructor's."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p for p in signature.parameters.values() if p.kind in kinds]


def dropped_value(parameter: inspect.Parameter) -> str:
    return "zeros" if parameter.default is inspect.Parameter.empty else repr(parameter.default)


def _single(value):
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float32)
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.to(torch.float32)
    if isinstance(value, dict):
        return {key: _single(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_single(inner) for inner in value)
    return value


def _arguments(obj, name: str, params: tuple):
    signature = inspect.signature(obj)

    def change(args, kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = bound.arguments
        if name == "float32":
            for key in values:
                values[key] = _single(values[key])
        elif name == "dropped":
            default = signature.parameters[params[0]].default
            values[params[0]] = _zeros(values[params[0]]) if default is inspect.Parameter.empty else default
        else:
            first, second = params
            values[first], values[second] = values[second], values[first]
        return bound.args, bound.kwargs

    return change


# ---- wrapping ---------------------------------------------------------------------


def _wrap(obj, before=None, after=None):
    """obj with its arguments passed through before(args, kwargs) and its result through after(result, args, kwargs).

    A class keeps its constructor's arguments for `before` and its instances' calls for `after`.
    """
    if inspect.isclass(obj):
        namespace = {}
        if before is not None:
            def __init__(self, *args, **kwargs):
                args, kwargs = before(args, kwargs)
                super(wrapped, self).__init__(*args, **kwargs)
            namespace["__init__"] = __init__
        if after is not None:
            def __call__(self, *args, **kwargs):
                return after(super(wrapped, self).__call__(*args, **kwargs), args, kwargs)
            namespace["__call__"] = __call__
        wrapped = type(obj.__name__, (obj,), {**namespace, "__module__": obj.__module__, "__qualname__": obj.__qualname__})
        return wrapped

    @functools.wraps(obj)
    def wrapped_function(*args, **kwargs):
        if before is not None:
            args, kwargs = before(args, kwargs)
        result = obj(*args, **kwargs)
        return after(result, args, kwargs) if after is not None else result

    return wrapped_function


def mutate(obj, name: str, *params):
    """obj with mutation `name`: a result operator, or an argument operator with its parameters' names."""
    if name in ARGUMENT_OPERATORS or name in ALTERNATIVE_OPERATORS:
        return _wrap(obj, before=_arguments(obj, name, params))
    if name not in RESULT_OPERATORS:
        raise ValueError(f"unknown mutation {name!r}")
    return _wrap(obj, after=lambda result, args, kwargs: change_result(name, result, batch_size(args, kwargs))[0])


def observe(obj, seen: list):
    """obj, recording each call's (args, kwargs, result) in `seen`."""
    def record(result, args, kwargs):
        seen.append((args, kwargs, result))
        return result

    return _wrap(obj, after=record)
