"""Correct implementations by another route, with the signatures of the reference's.

A rubric audit grades each one: an item that takes points from one would fail
a correct student.
"""

from reference.linear_region import _linear_region


def kink_active(weights, biases, x0):
    """relu'(0) = 1: a unit whose pre-activation is exactly 0 counts as active. Only a kink tells."""
    return _linear_region(weights, biases, x0, kink_active=True)
