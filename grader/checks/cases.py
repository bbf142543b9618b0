"""Fixed cases from the rubric, each compared with the reference within tolerance."""

from __future__ import annotations

import numpy as np
import torch

from grader.checks.common import Context, Verdict, judge_call
from grader.rubric import Item

_CONVERT = {
    "array": lambda v: np.asarray(v, dtype=np.float64),
    "int_array": lambda v: np.asarray(v, dtype=np.int64),
    "tensor": lambda v: torch.tensor(v, dtype=torch.float64),
    "long_tensor": lambda v: torch.tensor(v, dtype=torch.int64),
    "int": int,
    "float": float,
    "tuple": tuple,
    "list": list,
    "arrays": lambda v: [np.asarray(x, dtype=np.float64) for x in v],
    "array_dict": lambda v: {key: np.asarray(x, dtype=np.float64) for key, x in v.items()},
    "any": lambda v: v,
}


def case_inputs(item: Item, case: dict) -> dict:
    """A case's YAML values converted to the declared types (null stays None)."""
    return {name: None if case[name] is None else _CONVERT[kind](case[name]) for name, kind in item.inputs.items()}


def run(ctx: Context, item: Item) -> Verdict:
    problem = ctx.target_problem(item)
    if problem:
        return problem
    for number, case in enumerate(item.cases, start=1):
        verdict = judge_call(ctx, item, case_inputs(item, case), explain=ctx.explain)
        if verdict is not None:
            if len(item.cases) > 1:
                verdict.output = f"Case {number} of {len(item.cases)}: {verdict.output}"
            return verdict
    count = len(item.cases)
    return Verdict("passed", f"{count} case{'s' if count > 1 else ''} passed.")
