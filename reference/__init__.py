"""Trusted reference implementations of the bundled assignment.

Every grade is a comparison against this package, so each module here is
proven against an independent peer in `tests/`.
"""
