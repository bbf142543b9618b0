"""Relation diagnosis: each relation found on synthetic failing cases, nothing claimed that does not hold,
and hostile values never raising."""

import time

import numpy as np
import pytest
import torch

from grader.boundary.codec import Other, Tensor
from grader.relations import MAX_ENTRIES, explain

RNG = np.random.default_rng(7)


def batch(n, features=3):
    return {"x": RNG.normal(size=(n, features)), "labels": np.arange(n) % 3}


def cases_of(transform, sizes=(2, 4, 5), shape=lambda n: (n, 3)):
    """(inputs, transform(expected), expected) for a batch of each size."""
    found = []
    for n in sizes:
        expected = RNG.normal(size=shape(n))
        found.append((batch(n), transform(expected, n), expected))
    return found


def softmax(logits, axis=1):
    shifted = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


# ---- each relation -----------------------------------------------------------


def test_constant_factor():
    assert explain(cases_of(lambda e, n: 0.5 * e)) == "Every value of the result is 0.5 times the expected one."


def test_factor_named_by_the_rubric_takes_priority_over_a_derived_dimension():
    cases = cases_of(lambda e, n: e * n)
    named = [{"the batch size": float(inputs["x"].shape[0])} for inputs, _, _ in cases]
    assert explain(cases, named) == ("Every value of the result is the expected one multiplied by the batch size "
                                     "(2 in the first failing case).")
    assert "multiplied by `x.shape[0]` (2 in the first failing case)" in explain(cases)


def test_inverse_and_product_of_quantities():
    cases = cases_of(lambda e, n: e / n)
    named = [{"the batch size": float(inputs["x"].shape[0]), "the number of classes": 3.0} for inputs, _, _ in cases]
    assert "divided by the batch size" in explain(cases, named)
    product = cases_of(lambda e, n: e / (n * 3))
    named = [{"the batch size": float(inputs["x"].shape[0]), "the number of classes": 3.0} for inputs, _, _ in product]
    assert "divided by the batch size times the number of classes" in explain(product, named)


def test_ratio_of_quantities_division_by_classes_where_the_batch_size_is_due():
    cases = []
    for n, c in ((2, 3), (5, 4), (6, 2)):
        expected = RNG.normal(size=())
        cases.append(({"input": RNG.normal(size=(n, c))}, float(expected * n / c), float(expected)))
    named = [{"the batch size": float(inputs["input"].shape[0]), "the number of classes": float(inputs["input"].shape[1])}
             for inputs, _, _ in cases]
    assert explain(cases, named) == ("Every value of the result is the expected one multiplied by the batch size "
                                     "divided by the number of classes (0.667 in the first failing case).")


def test_a_constant_factor_equal_to_a_dimension_says_so():
    cases = cases_of(lambda e, n: e * 4, sizes=(4,))
    assert explain(cases) == "Every value of the result is 4 times the expected one (4 is `x.shape[0]` here)."


def test_sign_flip_and_zeros():
    assert explain(cases_of(lambda e, n: -e)) == "The result has the wrong sign: every value is minus the expected one."
    assert explain(cases_of(lambda e, n: np.zeros_like(e))) == "The result is all zeros."


def test_transpose_of_square_and_non_square_matrices():
    cases = cases_of(lambda e, n: e.T, sizes=(2, 3, 4))  # (3, 3) keeps its shape
    assert explain(cases) == "The result is the expected matrix transposed."


def test_reversed_and_permuted_along_an_axis():
    assert explain(cases_of(lambda e, n: e[::-1])) == "The result holds the expected rows in reverse order (along axis 0)."
    assert explain(cases_of(lambda e, n: e[:, [1, 2, 0]])) == (
        "The result holds the expected columns in another order (a permutation along axis 1).")
    weights = np.array([0.4, 0.7, 1.1, 1.8])
    assert explain([({"cls_num_list": [9, 5, 3, 1]}, Tensor(weights[::-1].copy()), Tensor(weights))]) == (
        "The result holds the expected entries in reverse order.")


def test_normalised_to_a_different_total():
    weights = np.array([0.4, 0.7, 1.1, 1.8])
    weights = weights * 4 / weights.sum()  # sums to the number of classes
    inputs = {"cls_num_list": [9, 5, 3, 1], "beta": 0.99}
    assert explain([(inputs, Tensor(weights / 4), Tensor(weights))], [{"the number of classes": 4.0}]) == (
        "The result sums to 1 where the expected one sums to the number of classes (4 in every failing case).")
    assert explain([(inputs, Tensor(weights), Tensor(weights / 4))]) == (
        "The result sums to `len(cls_num_list)` (4 in every failing case) where the expected one sums to 1.")


def test_softmax_over_the_wrong_axis():
    cases = []
    for n in (2, 3, 5):
        logits = RNG.normal(size=(n, 4))
        cases.append(({"logits": logits}, softmax(logits, axis=0), softmax(logits, axis=1)))
    assert explain(cases) == "Each column of the result sums to 1 where each row of the expected one does."


def test_nan_where_the_reference_is_finite_names_the_large_input():
    logits = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
    expected = softmax(logits)
    with np.errstate(all="ignore"):
        naive = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    sentence = explain([({"logits": logits}, naive, expected)])
    assert sentence.startswith("The result holds NaN where the expected values are finite, e.g. when `logits` holds "
                               "values as far from 0 as 1000 (logits = ")


def test_nan_on_some_cases_only_says_how_many():
    good = RNG.normal(size=4)
    cases = [({"n": [1, 4]}, np.array([np.nan, 1.0, 2.0, 3.0]), good), ({"n": [2, 4]}, good * 3, good)]
    assert explain(cases).startswith("The result holds NaN where the expected values are finite in 1 of 2 failing cases")


def test_shapes_one_row_short_transposed_or_reshaped():
    assert explain(cases_of(lambda e, n: e[:-1])) == (
        "The result has one row fewer than expected: it is the expected result without its last row.")
    assert explain(cases_of(lambda e, n: RNG.normal(size=(3, n)))) == (
        "The result has the transposed shape, (3, 2) where (2, 3) is expected.")
    assert explain(cases_of(lambda e, n: e.reshape(-1))) == (
        "The result holds the expected values in another shape ((6,) where (2, 3) is expected).")


def test_one_entry_wrong_and_float16_rounding():
    def bump(e, n):
        changed = e.copy()
        changed.flat[-1] += 0.5
        return changed

    assert explain(cases_of(bump)) == (
        "Only the last entry of the result is wrong in every failing case; every other value is right.")
    rounded = explain(cases_of(lambda e, n: e.astype(np.float16).astype(np.float64)))
    assert rounded == ("The result agrees with the expected one to only about three significant figures, "
                       "about the precision of float16.")


# ---- structured results ---------------------------------------------------------


def test_tuple_components_each_related_and_the_right_one_named():
    cases = []
    for n in (2, 3):
        dW, db = RNG.normal(size=(3, 4)), RNG.normal(size=4)
        cases.append((batch(n), (dW * n, db), (dW, db)))
    assert explain(cases) == ("Every value of element 0 of the result is the expected one multiplied by `x.shape[0]` "
                              "(2 in the first failing case), while element 1 of the result is right.")


def test_dict_components_sharing_a_relation_are_named_together():
    expected = {key: RNG.normal(size=(2, 3)) for key in ("Wh", "bh", "Wy", "by")}
    got = {key: -value for key, value in expected.items()}
    got["by"] = expected["by"]
    got["bh"] = expected["bh"] * 3
    assert explain([({}, got, expected)]) == (
        "Each of the result['Wh'] and the result['Wy'] has the wrong sign: every value is minus the expected one; "
        "every value of the result['bh'] is 3 times the expected one; the result['by'] is right.")


def test_a_component_related_to_nothing_is_said_to_be_wrong_in_another_way():
    a, b = RNG.normal(size=(2, 2)), RNG.normal(size=3)
    assert explain([({}, (-a, RNG.normal(size=3)), (a, b))]) == (
        "Element 0 of the result has the wrong sign: every value is minus the expected one, "
        "while element 1 of the result is wrong in another way.")


# ---- nothing false --------------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (3,), (2, 2), (4, 3)])
def test_unrelated_values_are_not_explained(shape):
    for trial in range(30):
        cases = [(batch(n), RNG.normal(size=shape), RNG.normal(size=shape)) for n in (2, 3, 4)[: 1 + trial % 3]]
        quantities = [{"the batch size": float(inputs["x"].shape[0])} for inputs, _, _ in cases]
        assert explain(cases, quantities) is None, cases


def test_a_single_wrong_number_gets_no_invented_factor():
    assert explain([({"x": np.ones((3, 2))}, 2.37, 1.0)]) is None
    assert explain([({}, np.array([2.0, -2.0]) * 3.38, np.array([2.0, -2.0]))]) is None  # one value, two entries
    assert explain([({"x": np.ones((3, 2))}, 3.0, 1.0)]) is not None  # 3 is `x.shape[0]`


def test_a_relation_that_fails_on_one_case_is_not_claimed():
    cases = cases_of(lambda e, n: -e)
    cases.append((batch(3), RNG.normal(size=(3, 3)), RNG.normal(size=(3, 3))))
    assert explain(cases) is None


# ---- hostile values ----------------------------------------------------------------


class Exploding:
    def __eq__(self, other):
        raise RuntimeError("no")

    __hash__ = None


HOSTILE = [
    [({}, np.full((3, 3), np.nan), np.full((3, 3), np.nan))],
    [({}, np.full((3, 3), np.inf), np.full((3, 3), -np.inf))],
    [({}, Other("builtins.object"), np.ones(3))],
    [({}, "a string", np.ones(3))],
    [({}, None, None), ({}, Exploding(), None)],
    [({}, np.zeros(MAX_ENTRIES + 1), np.ones(MAX_ENTRIES + 1))],
    [({}, np.ones((2, 3)), np.ones((4, 5, 6)))],
    [({}, np.ones((0, 3)), np.ones((0, 4)))],
    [({}, 10 ** 400, 1.0)],
    [({}, np.array([1 + 2j]), np.array([1.0]))],
    [({}, (np.ones(2),), (np.ones(2), np.ones(2)))],
    [({}, {"a": np.ones(2)}, {"b": np.ones(2)})],
    [({}, np.ones(2), (np.ones(2),)), ({}, np.ones(2), np.ones(2))],
    [({"x": Exploding()}, np.ones(3) * np.nan, np.ones(3))],
    [({"x": torch.ones(2, 3)}, np.ones(3) * 2, np.ones(3))],
    [([1, 2], np.ones(3), np.zeros(3))],
    [({}, [[1, 2], [3]], np.ones((2, 2)))],
    [({}, True, 1.5)],
    [],
    None,
    [(1, 2)],
]


@pytest.mark.parametrize("cases", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_values_never_raise(cases):
    quantities = [{"weird": "text", "huge": 10 ** 400, "none": None, "nan": float("nan")}] * 2
    result = explain(cases, quantities)
    assert result is None or isinstance(result, str)


def test_nested_too_deeply_is_no_sentence():
    deep_got, deep_expected = np.ones(2), np.zeros(2) + 1.5
    for _ in range(40):
        deep_got, deep_expected = (deep_got,), (deep_expected,)
    assert explain([({}, deep_got, deep_expected)]) is None


def test_large_inputs_stay_fast():
    cases = [(batch(n), RNG.normal(size=(250, 250)), RNG.normal(size=(250, 250))) for n in range(2, 5)]
    started = time.perf_counter()
    assert explain(cases) is None
    assert explain([(inputs, e.T, e) for inputs, _, e in cases]) == "The result is the expected matrix transposed."
    assert time.perf_counter() - started < 2.0  # a loaded 2-core machine; typically well under 0.2 s
    more = cases + [(batch(5), RNG.normal(size=(250, 250)), RNG.normal(size=(250, 250)))]
    assert explain([(inputs, e.T, e) for inputs, _, e in more]) is None  # beyond MAX_TOTAL: not examined


def test_the_same_cases_give_the_same_sentence():
    cases = cases_of(lambda e, n: e * n)
    assert len({explain(cases) for _ in range(5)}) == 1


def test_the_same_result_in_a_shape_of_its_own_whatever_the_input():
    """reweight returning the published weights whatever the class counts: its shape never follows the input."""
    fixed = np.array([0.4, 0.7, 1.1, 1.8])
    cases = [({"cls_num_list": list(range(1, c + 1))}, fixed, RNG.normal(size=c)) for c in (2, 3, 5)]
    assert explain(cases) == "The result is the same on every failing case, whatever the input."
