"""Mutants of the reference: each computes the reference's answer with one classic mistake.

A mutant has exactly the signature of the symbol it replaces. When a student's
answer is wrong and equals a mutant's on the same input, the grader names the
mistake.
"""
