"""What a wrong value's message says: an index only where the result has entries."""

import numpy as np

from grader.judge import compare


def test_a_wrong_scalar_is_told_as_one_number():
    # A loss comes back as a 0-d array: there is no index to name, and one entry to count.
    assert compare(np.array(0.498161), np.array(0.490129), 1e-5, 1e-6) \
        == "the result is 0.498161, expected 0.490129"
    assert compare(0.498161, 0.490129, 1e-5, 1e-6) == "the result is 0.498161, expected 0.490129"
    assert compare(np.array(np.nan), np.array(0.5), 1e-5, 1e-6) == "the result is nan, expected 0.5"


def test_a_wrong_array_names_the_first_wrong_index_and_the_count():
    got, expected = np.array([[1.0, 2.0], [3.0, 9.0]]), np.array([[1.0, 2.0], [3.0, 4.0]])
    assert compare(got, expected, 1e-5, 1e-6) == \
        "the result differs at index (1, 1): got 9, expected 4 (1 of 4 entries wrong, largest error 5)"
