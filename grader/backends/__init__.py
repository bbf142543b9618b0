"""Where a batch's submissions are graded besides the local process pool (grader/batch.py)."""
