"""Each mutant keeps its reference's signature and really differs from it."""

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch

from grader.judge import plain, same_mistake
from grader.rubric import load_rubric, resolve

ROOT = Path(__file__).resolve().parents[2]


def mutant_pairs():
    rubric = load_rubric(ROOT / "rubrics" / "assignment2.yaml")
    pairs = {}
    for item in rubric.items:
        for mistake_id, mutant in item.mistakes.items():
            pairs[mutant] = (item.reference, item)
    return sorted(pairs.items())


def signature(obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    return [(p.name, p.default) for p in inspect.signature(target).parameters.values()]


@pytest.mark.parametrize("mutant, pair", mutant_pairs(), ids=lambda v: v if isinstance(v, str) else "")
def test_mutant_has_the_reference_signature(mutant, pair):
    reference, _ = pair
    assert signature(resolve(mutant)) == signature(resolve(reference))


# An input on which each mistake shows: padding and stride > 1, a lopsided kernel, N > 1,
# huge logits, unequal weights with gamma > 0.
RNG = np.random.RandomState(0)
WEIGHT = torch.tensor([0.2, 0.7, 2.1], dtype=torch.float64)
INPUTS = {
    "conv_as_matrix": {"kernel": RNG.randn(2, 3), "input_shape": (4, 5), "stride": 2, "padding": 1},
    "linear_region": {"weights": [np.array([[1.0, -1.0], [-2.0, 0.5]]), np.array([[1.0, 2.0]])],
                      "biases": [np.array([0.1, -0.3]), np.array([0.5])], "x0": np.array([0.7, -1.2])},
    "softmax": {"logits": np.array([[1000.0, 0.0], [3.0, 1.0]])},
    "softmax_gradients": {"x": RNG.randn(4, 2), "W": RNG.randn(2, 3), "b": RNG.randn(3), "labels": np.array([0, 2, 1, 2])},
    "mlp_backward": {"params": {"Wh": RNG.randn(3, 2), "bh": RNG.randn(3), "Wy": RNG.randn(2, 3), "by": RNG.randn(2)},
                     "X": RNG.randn(4, 2), "Y": np.eye(2)[[0, 1, 1, 0]]},
    "reweight": {"cls_num_list": [500, 40, 3], "beta": 0.999},
    "FocalLoss": {"weight": WEIGHT, "gamma": 2.0, "input": torch.from_numpy(RNG.randn(5, 3)), "target": torch.tensor([0, 1, 2, 2, 1])},
}


@pytest.mark.parametrize("mutant, pair", [p for p in mutant_pairs() if p[1][1].kind != "answers"], ids=lambda v: v if isinstance(v, str) else "")
def test_mutant_differs_from_the_reference(mutant, pair):
    from grader.checks.common import evaluate

    _, item = pair
    inputs = INPUTS[item.target.symbol]
    assert not same_mistake(evaluate(item, inputs, mutant), evaluate(item, inputs), 1e-4, 1e-6)


def answer_mutants():
    rubric = load_rubric(ROOT / "rubrics" / "assignment2.yaml")
    users = {}
    for item in rubric.items:
        if item.kind == "answers":
            for mutant in item.mistakes.values():
                users.setdefault(mutant, []).append(item)
    return sorted(users.items())


@pytest.mark.parametrize("mutant, items", answer_mutants(), ids=lambda v: v if isinstance(v, str) else "")
def test_answer_mutant_differs_on_some_item_that_lists_it(mutant, items):
    # At x0 = 2 and 1 every unit of the published network is active, so all_units_active
    # coincides with the truth there; x0 = -1 is where it shows.
    def differs(item):
        got, expected = resolve(mutant)(**item.args), resolve(item.reference)(**item.args)
        if isinstance(expected, dict):
            return not same_mistake(plain(got), plain(expected), 1e-4, 1e-6)
        return got != expected

    assert any(differs(item) for item in items)
