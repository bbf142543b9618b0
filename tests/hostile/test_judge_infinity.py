"""Non-finite expected values are matched exactly: an infinity must not make its own tolerance infinite."""

import numpy as np
import pytest

from grader import judge
from grader.boundary.codec import Tensor

INF, NAN = float("inf"), float("nan")


def arrays(got, expected):
    return np.array(got, dtype=np.float64), np.array(expected, dtype=np.float64)


@pytest.mark.parametrize(("got", "expected"), [
    ([5.0, 1.0], [INF, 1.0]),
    ([1e300, 1.0], [INF, 1.0]),
    ([-INF, 1.0], [INF, 1.0]),
    ([INF, 1.0], [-INF, 1.0]),
    ([NAN, 1.0], [INF, 1.0]),
    ([5.0, 1.0], [NAN, 1.0]),
    ([INF, 1.0], [NAN, 1.0]),
    ([INF, 1.0], [5.0, 1.0]),  # documented: a NaN or infinity where the reference is finite fails
    ([NAN, 1.0], [5.0, 1.0]),
])
def test_a_non_finite_expected_value_is_not_approximated(got, expected):
    problem = judge.compare(*arrays(got, expected), rtol=1e-5, atol=1e-6)
    assert problem is not None and "index (0,)" in problem


@pytest.mark.parametrize(("got", "expected"), [
    ([INF, 1.0], [INF, 1.0]),
    ([-INF, 1.0], [-INF, 1.0]),
    ([NAN, 1.0], [NAN, 1.0]),
    ([INF, 1.0 + 1e-9], [INF, 1.0]),  # finite entries keep their tolerance
])
def test_the_same_non_finite_value_matches(got, expected):
    assert judge.compare(*arrays(got, expected), rtol=1e-5, atol=1e-6) is None


def test_an_infinity_does_not_widen_the_tolerance_of_its_neighbours():
    got, expected = arrays([INF, 1.5], [INF, 1.0])
    assert "index (1,)" in judge.compare(got, expected, rtol=1e-5, atol=1e-6)


def test_scalars_tensors_and_python_floats():
    assert judge.compare(5.0, INF, 1e-5, 1e-6) is not None
    assert judge.compare(-INF, INF, 1e-5, 1e-6) is not None
    assert judge.compare(INF, INF, 1e-5, 1e-6) is None
    assert judge.compare(10**400, INF, 1e-5, 1e-6) is None  # an int beyond float64 counts as inf
    assert judge.compare(Tensor(np.array([5.0, 1.0], np.float32)), Tensor(np.array([INF, 1.0], np.float32)), 1e-5, 1e-6)


def test_a_mutant_infinity_does_not_name_a_finite_answer():
    assert not judge.same_mistake(*arrays([5.0, 1.0], [INF, 1.0]), rtol=1e-5, atol=1e-6)
    assert not judge.same_mistake(*arrays([-INF, 1.0], [INF, 1.0]), rtol=1e-5, atol=1e-6)
    assert judge.same_mistake(*arrays([INF, NAN], [INF, NAN]), rtol=1e-5, atol=1e-6)
