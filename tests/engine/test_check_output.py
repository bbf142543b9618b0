"""What `grader check` prints: a summary row per item, then a readable section per item not passed."""

import io
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from grader.api import grade_submission
from grader.checks.common import Verdict
from grader.checks.property import _combined
from grader.judge import show
from grader.reports.terminal import print_check, value_text
from grader.results import ItemResult, SubmissionResult

ROOT = Path(__file__).resolve().parents[2]
KERNEL = np.arange(1.0, 10.0).reshape(3, 3)
CONV_CALL = "conv_as_matrix(kernel, input_shape, stride, padding)"
FLIPPED_HINT = "The kernel is flipped. Deep-learning convolution is cross-correlation."
HOSTILE = "[red]boom[/red] [bold]loud[/bold] \x1b[31mred\x1b[0m"


def render(result, calls=None, width=100, **options) -> str:
    console = Console(record=True, width=width, file=io.StringIO())
    print_check(console, result, calls or {}, title="Assignment: self-check of ada", **options)
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())  # a table pads its rows


def flat(text: str) -> str:
    """The text with wrapped lines joined again."""
    return " ".join(text.split())


def submission(*items) -> SubmissionResult:
    return SubmissionResult("ada", list(items), {}, "r" * 64, "s" * 64)


def item(item_id, status, score, max_score, output="", **fields) -> ItemResult:
    return ItemResult(item_id, f"the {item_id} check", score, max_score, status, "visible", output, **fields)


def flipped_conv() -> ItemResult:
    """A property item failed as grader.checks.property writes it."""
    output = ("Failed on this input (the smallest found):\n"
              "The result differs at index (0, 0): got 9, expected 1 (8 of 9 entries wrong, largest error 8).\n"
              f"This looks like a known mistake (flipped_kernel): {FLIPPED_HINT}\n"
              "Failed on 20 of the first 41 generated inputs tried.")
    counterexample = {"input": {"kernel": show(KERNEL), "input_shape": show((3, 3)), "stride": show(1), "padding": show(1)},
                      "expected": show(KERNEL), "got": show(KERNEL[::-1, ::-1].copy())}
    return item("conv.property", "failed", 0, 4, output, diagnosis="flipped_kernel", counterexample=counterexample)


def test_the_summary_has_one_row_per_item_with_its_one_line():
    result = submission(item("conv.cases", "passed", 2, 2, "3 cases passed."),
                        flipped_conv(),
                        item("mlp.forward", "missing", 0, 2, "mlp.py was not submitted."))
    text = render(result, {"conv.property": CONV_CALL})
    summary = text[: text.index("conv.property: the conv.property check")]
    rows = [line for line in summary.splitlines() if line.startswith(("conv.", "mlp."))]
    assert [row.split()[:5] for row in rows] == [["conv.cases", "2", "/", "2", "passed"],
                                                  ["conv.property", "0", "/", "4", "failed"],
                                                  ["mlp.forward", "0", "/", "2", "missing"]]
    assert rows[0].endswith("3 cases passed.")
    # The first line that says something, not the one that announces the input.
    assert "The result differs at index (0, 0): got 9, expected 1" in rows[1]
    assert rows[2].endswith("mlp.py was not submitted.")


def test_a_failed_item_shows_the_call_each_input_and_multi_line_arrays():
    text = render(submission(flipped_conv()), {"conv.property": CONV_CALL})
    section = text[text.index("conv.property: the conv.property check"):]
    assert f"call      {CONV_CALL}" in section
    for name, value in (("kernel", "array(3, 3) [[1., 2., 3.],"), ("input_shape", "(3, 3)"), ("stride", "1"),
                        ("padding", "1")):
        assert f"{name.ljust(11)} = {value}" in section
    assert "\\n" not in text
    lines = section.splitlines()
    first = next(line for line in lines if "[[1., 2., 3.]," in line)
    second = lines[lines.index(first) + 1]
    # The second row stands under the first, inside the array's brackets.
    assert second.strip() == "[4., 5., 6.],"
    assert second.index("[4.") == first.index("[[") + 1
    got = next(line for line in lines if line.startswith("got"))
    assert got.endswith("array(3, 3) [[9., 8., 7.],")
    assert section.index("expected") < section.index("got") < section.index("The result differs")
    assert "Failed on 20 of the first 41 generated inputs tried." in section


def test_the_hint_is_printed_once_and_the_message_says_where():
    text = render(submission(flipped_conv()), {"conv.property": CONV_CALL})
    assert flat(text).count(FLIPPED_HINT) == 1
    assert "This looks like a known mistake (flipped_kernel): see the hint below." in text
    assert text.index("see the hint below") < text.index(f"Hint (flipped_kernel): {FLIPPED_HINT}")


def focal_parts(rubric) -> ItemResult:
    """focal_loss.focal with two parts lost to the same mistake, combined as grader.checks.property does."""
    focal = next(candidate for candidate in rubric.items if candidate.id == "focal_loss.focal")
    hint = rubric.hint("weighted_pt")

    def lost(got, expected, inputs):
        output = ("Failed on this input (the smallest found):\n"
                  f"The result is {got}, expected {expected}.\n"
                  f"This looks like a known mistake (weighted_pt): {hint}\n"
                  + "\n".join(focal.hints) + "\nFailed on 20 of the first 40 generated inputs tried.")
        counterexample = {"input": {"weight": show(np.array([1.31, 0.69])), "gamma": "0.5", "input": inputs,
                                    "target": "tensor([0 1])"}, "expected": f"tensor({expected})", "got": f"tensor({got})"}
        return Verdict("failed", output, "weighted_pt", counterexample)

    verdicts = [lost(0.498161, 0.490129, "tensor([[0. 0.]\n [0. 0.]])"),
                lost(0.701644, 0.642238, "tensor([[1. 2.]\n [3. 4.]\n [5. 6.]])"),
                Verdict("passed", "100 generated inputs passed.")]
    verdict = _combined(focal, list(zip(focal.parts, verdicts)))
    return item(focal.id, verdict.status, verdict.score, focal.points, verdict.output, diagnosis=verdict.diagnosis,
                counterexample=verdict.counterexample, details=verdict.details)


def test_a_part_scored_item_shows_each_lost_part_readably_and_its_hints_once(rubric):
    focal = focal_parts(rubric)
    hint = rubric.hint("weighted_pt")
    assert focal.output.count(hint) == 1  # what the check writes: once, then "the same known mistake"
    assert "The same known mistake (weighted_pt) as above." in focal.output
    text = render(submission(focal), {"focal_loss.focal": "FocalLoss(weight, gamma)(input, target)"})
    assert flat(text).count(hint) == 1
    assert text.count("as a 0-d tensor") == 1
    assert text.count("This looks like a known mistake (weighted_pt): see the hint below.") == 1
    assert "\\n" not in text and "{'weight'" not in text
    assert text.count("call      FocalLoss(weight, gamma)(input, target)") == 2
    lines = text.splitlines()
    for first, rest in (("input  = tensor([[0. 0.]", ["[0. 0.]])"]),
                        ("input  = tensor([[1. 2.]", ["[3. 4.]", "[5. 6.]])"])):
        start = next(index for index, line in enumerate(lines) if line.endswith(first))
        for offset, row in enumerate(rest, start=1):
            assert lines[start + offset].strip() == row
            assert lines[start + offset].index("[") == lines[start].index("[[") + 1
    assert "got       tensor(0.701644)" in text
    assert "1 / 4  partial  2 of 3 parts lost: weighted, absent_class." in text
    assert "(1 of 4 points): 100 generated inputs passed." in flat(text)


def test_student_markup_and_escape_codes_are_printed_as_text():
    output = f"conv_as_matrix(kernel, input_shape, stride, padding) raised ValueError: {HOSTILE}\n\nYour code printed:\n{HOSTILE}"
    hostile = item("conv.property", "error", 0, 4, output,
                   counterexample={"input": {"kernel": show(KERNEL)}, "got": HOSTILE})
    console = Console(record=True, width=120, file=io.StringIO(), force_terminal=True)
    print_check(console, submission(hostile), {"conv.property": CONV_CALL}, title=f"self-check of {HOSTILE}",
                notes=[HOSTILE])
    text = console.export_text()
    assert "\x1b" not in text
    # The title, the note, the got value, the error message and what the code printed.
    assert flat(text).count("[red]boom[/red] [bold]loud[/bold] \\x1b[31mred\\x1b[0m") == 5
    assert "raised ValueError: [red]boom[/red]" in text.splitlines()[3]  # its row in the summary
    # Styled output too: the student's escape codes reach the terminal only as their printable spelling.
    styled = console.export_text(styles=True)
    assert "\x1b[31mred" not in styled


def test_notes_come_before_the_summary_and_unseen_items_before_the_score():
    result = submission(item("conv.cases", "passed", 2, 2, "3 cases passed."))
    note = "Linux namespaces are not available here: your code runs without them"
    text = render(result, notes=[note], unseen=[("hidden item", 3, 7.5)])
    assert text.count(note) == 1
    assert text.index(note) < text.index("conv.cases")
    assert "Not run here: 3 hidden items, graded only in final grading, worth 7.5 points." in flat(text)
    assert "Passing every visible check does not mean they pass." in flat(text)
    assert text.rstrip().splitlines()[-1] == "Visible checks: 2 of 2 points - every visible check passes."
    assert "Not run here" not in render(result, unseen=[("hidden item", 0, 0.0)])


def test_the_last_line_says_what_is_not_passed():
    text = render(submission(item("conv.cases", "passed", 2, 2, "3 cases passed."), flipped_conv()),
                  {"conv.property": CONV_CALL})
    assert text.rstrip().splitlines()[-1] == "Visible checks: 2 of 6 points - 1 item not passed."


def test_an_answer_matrix_is_shown_one_row_a_line():
    expected = [[(2, 2), 0, 0], [0, (2, 0), 0]]
    answer = item("theory.entries", "failed", 0, 2, "Your answer at 'conv_matrix.A' is not right.",
                  counterexample={"expected": show(expected), "got": show([[0, 0, 0], [0, 0, 0]])})
    text = render(submission(answer))
    assert "expected  [[(2, 2),      0, 0],\n           [     0, (2, 0), 0]]" in text
    assert "call" not in text.split("theory.entries: the theory.entries check")[1]  # no call was made


def test_values_of_every_shape_keep_their_rows_together():
    pair = value_text(show((np.zeros((2, 2)), np.ones(2))))
    assert pair.splitlines() == ["(array(2, 2) [[0., 0.],", "              [0., 0.]],", " array(2,) [1., 1.])"]
    params = value_text(show({"Wh": np.zeros((2, 2)), "bh": np.ones(2)}))
    assert params.splitlines() == ["{'Wh': array(2, 2) [[0., 0.],", "                    [0., 0.]],",
                                   " 'bh': array(2,) [1., 1.]}"]
    cut = show(np.arange(400.0).reshape(2, 200), limit=60)  # cut short: shown as it is, rows still indented
    assert value_text(cut).startswith("array(2, 200) [[")


@pytest.fixture(scope="module")
def jack(zygote, rubric):
    """The bundled weighted-p_t submission graded on its part-scored item only."""
    return grade_submission(ROOT / "submissions" / "jack_weighted_pt", rubric, zygote=zygote, items=["focal_loss.focal"])


def test_a_real_part_scored_result_reads_as_sections(jack, rubric):
    focal = jack.item("focal_loss.focal")
    assert focal.status == "partial" and focal.diagnosis == "weighted_pt", focal.output
    text = render(jack, {"focal_loss.focal": "FocalLoss(weight, gamma)(input, target)"}, width=110)
    assert flat(text).count(rubric.hint("weighted_pt")) == 1
    assert "\\n" not in text and "{'weight'" not in text
    assert text.count("call      FocalLoss(weight, gamma)(input, target)") == 2
    assert text.count("            target = tensor(") == 2
