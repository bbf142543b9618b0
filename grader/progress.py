"""A batch's progress as plain lines, for a log rather than a terminal (a CI job, output piped to a file).

One line per finished submission, or one every few for a large batch so that a log of hundreds
of students stays short; each with the count, the time elapsed and, from the second graded result
on, an estimate of the time left.
"""

from __future__ import annotations

import math
import time

from grader.text import one_line

MAX_LINES = 50  # for the whole batch, whatever its size


def clock_text(seconds: float) -> str:
    """mm:ss, or h:mm:ss from an hour on."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class ProgressLines:
    """Call finished() as each submission is done; every `every`-th, and the last, writes a line."""

    def __init__(self, total: int, write, clock=time.monotonic, max_lines: int = MAX_LINES):
        self.total = total
        self.write = write
        self.clock = clock
        self.every = max(1, math.ceil(total / max_lines))
        self.started = clock()
        self.done = 0
        self.graded = 0  # not counting results kept from an earlier run, which take no time
        self.first = None  # when the first graded result came: the time before it is the batch's start-up, paid once

    def finished(self, student: str, kept: bool = False) -> None:
        self.done += 1
        self.graded += not kept
        if not kept and self.first is None:
            self.first = self.clock()
        if self.done % self.every and self.done != self.total:
            return
        now = self.clock()
        elapsed = now - self.started
        text = f"{'kept' if kept else 'graded'} {self.done}/{self.total} ({one_line(student)}) - {clock_text(elapsed)} elapsed"
        left = self.total - self.done
        if left and self.graded >= 2:  # the rate since the first result; one result alone tells no rate
            text += f", about {clock_text((now - self.first) / (self.graded - 1) * left)} left"
        self.write(text)
