"""Fixed cases from the rubric, each compared with the reference within tolerance."""

from __future__ import annotations

import numpy as np
import torch

from grader.checks.common import Attempt, Context, Verdict, attempt, diagnose, explained, shown, visible_on
from grader.rubric import Item
from grader.text import sentence

_CONVERT = {
    "array": lambda v: np.asarray(v, dtype=np.float64),
    "int_array": lambda v: np.asarray(v, dtype=np.int64),
    "tensor": lambda v: torch.tensor(v, dtype=torch.float64),
    "float32_tensor": lambda v: torch.tensor(v, dtype=torch.float32),  # as a model's logits are in training
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
    count = len(item.cases)
    failed: list[tuple[int, Attempt]] = []
    for number, case in enumerate(item.cases, start=1):
        tried = attempt(ctx, item, case_inputs(item, case))
        if tried.verdict is None:
            continue
        if tried.verdict.fatal and failed:  # the cases before it explain more than a restart would
            break
        if tried.verdict.fatal or not ctx.explain or tried.unwritten:
            if ctx.explain:
                tried.verdict.counterexample = {"input": shown(tried.inputs, item)}
            return _numbered(tried.verdict, number, count)
        failed.append((number, tried))
    if not failed:
        return Verdict("passed", f"{count} case{'s' if count > 1 else ''} passed.")
    # Every failing case is looked at: the mistake that explains most of them is named, and
    # the case shown is one that shows it.
    mistake = diagnose(item, [tried for _, tried in failed])
    diagnosis, matched = mistake
    showing = [entry for entry in failed if entry[1] in matched and visible_on(item, diagnosis, entry[1].inputs)] if diagnosis else []
    number, shown_attempt = (showing or [entry for entry in failed if entry[1] in matched] or failed)[0]
    verdict = explained(ctx, item, shown_attempt, [tried for _, tried in failed], mistake)
    verdict = _numbered(verdict, number, count)
    others = [f"Case {other}: {_first_line(tried.verdict.output)}" for other, tried in failed if other != number]
    if others:
        verdict.output += "\nAlso wrong:\n" + "\n".join(others)
    return verdict


def _numbered(verdict: Verdict, number: int, count: int) -> Verdict:
    if count > 1:
        verdict.output = f"Case {number} of {count}: {verdict.output}"
    return verdict


def _first_line(text: str) -> str:
    line = (text.splitlines() or [""])[0]
    return sentence(line)
