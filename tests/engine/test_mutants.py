"""The systematic mutation operators: what each changes, what it leaves alone, and where it does not apply."""

import numpy as np
import pytest
import torch

from grader.mutants import RESULT_OPERATORS, batch_size, change_result, mutate

RESULT = (np.arange(6.0).reshape(2, 3) + 1, torch.tensor([1.5, -2.0], dtype=torch.float64), 3.0, np.array([1, 2]))


def test_numeric_operators_change_every_float_and_leave_integers_alone():
    negated, touched = change_result("negated", RESULT)
    assert touched == 3 and isinstance(negated, tuple)
    np.testing.assert_array_equal(negated[0], -RESULT[0])
    assert torch.equal(negated[1], -RESULT[1]) and negated[2] == -3.0
    assert negated[3] is RESULT[3]
    zeros, _ = change_result("constant", RESULT)
    assert not zeros[0].any() and not zeros[1].any() and zeros[2] == 0.0


def test_perturbed_changes_exactly_one_number_and_keeps_gradients():
    changed, touched = change_result("perturbed", RESULT)
    assert touched == 3
    assert (changed[0] != RESULT[0]).sum() == 1 and torch.equal(changed[1], RESULT[1]) and changed[2] == 3.0
    loss = torch.tensor(2.0, requires_grad=True)
    out, _ = change_result("perturbed", loss * 1)
    assert out.requires_grad and out.item() == pytest.approx(2.03)
    out.backward()
    assert loss.grad.item() == 1.0


def test_float16_keeps_the_dtype_and_loses_precision():
    value = np.array([1.0 + 1e-4, 70000.0])
    changed, _ = change_result("float16", value)
    assert changed.dtype == np.float64 and changed[0] == 1.0 and np.isinf(changed[1])


def test_structural_operators_act_on_matrices_and_written_grids():
    changed, touched = change_result("transposed", RESULT)
    assert touched == 1 and changed[0].shape == (3, 2) and changed[1] is RESULT[1]
    shorter, touched = change_result("off_by_one", RESULT)
    assert touched == 3 and shorter[0].shape == (1, 3) and shorter[3].shape == (1,)
    grid = [["w(0,0)", 0], [0, "w(1,1)"], [0, 0]]
    assert change_result("transposed", grid)[0] == [["w(0,0)", 0, 0], [0, "w(1,1)", 0]]
    assert change_result("off_by_one", grid)[0] == grid[:-1]
    assert change_result("transposed", torch.tensor(2.0))[1] == 0  # nothing to transpose: not applicable


def test_batch_operators_need_a_batch():
    x = np.ones((4, 2))
    assert batch_size((None, x), {}) == 4 and batch_size((3.0,), {"y": torch.zeros(5, 1)}) == 5
    assert change_result("times_n", 2.0, 4) == (8.0, 1)
    assert change_result("over_n", 2.0, None) == (2.0, 0)
    assert set(RESULT_OPERATORS) >= {"negated", "transposed", "off_by_one", "times_n", "over_n", "float16", "constant", "perturbed"}


def reference(kernel, size, stride=1, padding=0):
    return np.asarray(kernel, dtype=float).sum() * size + 10 * stride + padding


class Loss(torch.nn.Module):
    def __init__(self, weight=None, gamma=0.0):
        super().__init__()
        self.weight, self.gamma = weight, gamma

    def forward(self, input, target):
        return input.sum() * (1 + self.gamma) * (1 if self.weight is None else self.weight.sum())


def test_argument_operators_on_functions():
    assert mutate(reference, "swapped", "stride", "padding")([1.0], 2, 3, 4) == reference([1.0], 2, 4, 3)
    assert mutate(reference, "dropped", "padding")([1.0], 2, 3, 4) == reference([1.0], 2, 3, 0)
    assert mutate(reference, "dropped", "kernel")([1.0, 2.0], 2, stride=3) == reference([0.0], 2, 3)
    assert mutate(reference, "negated")([1.0], 2) == -reference([1.0], 2)
    assert mutate(reference, "negated").__name__ == "reference"


def test_operators_on_classes_act_on_the_constructor_and_on_each_call():
    x, y = torch.ones(2, 3, dtype=torch.float64), torch.tensor([0, 1])
    weight = torch.tensor([1.0, 3.0], dtype=torch.float64)
    assert mutate(Loss, "dropped", "gamma")(weight, 2.0)(x, y) == Loss(weight, 0.0)(x, y)
    assert mutate(Loss, "dropped", "weight")(weight, 2.0)(x, y) == Loss(None, 2.0)(x, y)
    assert mutate(Loss, "times_n")(weight, 2.0)(x, y) == 2 * Loss(weight, 2.0)(x, y)
    single = mutate(Loss, "float32")(weight, 2.0)
    assert single.weight.dtype == torch.float32 and single(x, y).item() == Loss(weight, 2.0)(x, y).item()
    assert mutate(Loss, "negated").__name__ == "Loss" and issubclass(mutate(Loss, "negated"), Loss)


def test_unknown_operators_are_refused():
    with pytest.raises(ValueError):
        mutate(reference, "nonsense")
    with pytest.raises(ValueError):
        change_result("nonsense", 1.0)
