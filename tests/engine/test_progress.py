"""Progress in a log (stdout not a terminal): short for any class size, with elapsed and time left."""

from grader.progress import MAX_LINES, ProgressLines, clock_text


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_small_batch_gets_a_line_per_student_with_the_time_left():
    clock, lines = Clock(), []
    progress = ProgressLines(4, lines.append, clock=clock)
    for student in ("ada", "ben", "carl", "dana"):
        clock.now += 15
        progress.finished(student)
    assert lines == ["graded 1/4 (ada) - 00:15 elapsed",  # one result tells no rate
                     "graded 2/4 (ben) - 00:30 elapsed, about 00:30 left",
                     "graded 3/4 (carl) - 00:45 elapsed, about 00:15 left",
                     "graded 4/4 (dana) - 01:00 elapsed"]


def test_a_large_batch_stays_short_and_ends_with_the_last_student():
    clock, lines = Clock(), []
    progress = ProgressLines(503, lines.append, clock=clock)
    for number in range(503):
        clock.now += 2
        progress.finished(f"s{number}")
    assert len(lines) <= MAX_LINES + 1
    assert lines[0] == "graded 11/503 (s10) - 00:22 elapsed, about 16:24 left"
    assert lines[-1] == "graded 503/503 (s502) - 16:46 elapsed"


def test_the_estimate_leaves_out_the_start_up_before_the_first_result():
    """A batch pays its start (workers, imports, preparing items) once: 100 s before the first result,
    then 10 s each. The time left is 10 s per student to go, not the start spread over them."""
    clock, lines = Clock(), []
    progress = ProgressLines(12, lines.append, clock=clock)
    clock.now += 100
    progress.finished("s0")
    for number in range(1, 3):
        clock.now += 10
        progress.finished(f"s{number}")
    assert lines == ["graded 1/12 (s0) - 01:40 elapsed", "graded 2/12 (s1) - 01:50 elapsed, about 01:40 left",
                     "graded 3/12 (s2) - 02:00 elapsed, about 01:30 left"]


def test_kept_results_are_counted_but_do_not_speed_up_the_estimate():
    clock, lines = Clock(), []
    progress = ProgressLines(5, lines.append, clock=clock)
    progress.finished("ada", kept=True)
    progress.finished("ben", kept=True)
    for student in ("carl", "dana"):
        clock.now += 60
        progress.finished(student)
    assert lines == ["kept 1/5 (ada) - 00:00 elapsed", "kept 2/5 (ben) - 00:00 elapsed",
                     "graded 3/5 (carl) - 01:00 elapsed", "graded 4/5 (dana) - 02:00 elapsed, about 01:00 left"]


def test_a_student_name_is_printed_as_data_on_one_line():
    lines = []
    ProgressLines(1, lines.append, clock=Clock()).finished("eve\n2026 graded mallory\x1b[2J")
    assert lines == ["graded 1/1 (eve\\n2026 graded mallory\\x1b[2J) - 00:00 elapsed"]


def test_clock_text():
    assert [clock_text(s) for s in (0, 59.6, 61, 3599, 3600, 36061)] == ["00:00", "01:00", "01:01", "59:59", "1:00:00",
                                                                         "10:01:01"]
