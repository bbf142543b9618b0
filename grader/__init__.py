"""Grading engine for numerical deep-learning assignments.

The engine knows no assignment: everything assignment-specific lives in
`reference/`, `rubrics/` and the submissions it grades.
"""

__version__ = "0.1.0"
