"""A submission-level problem (an unreadable archive, a missing file, a syntax error) is told once in every
report, counted apart from wrong answers; and one result serves two audiences: result.json keeps a hidden
item in full for the instructor, while what a student reads names no hidden item."""

import io
import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from grader.api import grade_submission
from grader.batch import grade_folder
from grader.boundary.session import student_traceback
from grader.gradescope import to_results_json
from grader.reports.audience import stopped_note
from grader.reports.audience import hidden_summary, student_items
from grader.reports.feedback import feedback_markdown
from grader.reports.terminal import batch_table
from grader.results import ItemResult, SubmissionResult, problem, result_from_dict, stopped_output
from grader.rubric import load_rubric

SUBMISSIONS = Path(__file__).resolve().parents[2] / "submissions"
HIDDEN = "linear_region.deep"  # hidden in the bundled rubric, and one of the cheap items


@pytest.fixture(scope="module")
def graded(small_rubric, tmp_path_factory):
    """The cheap items graded on: a corrupt zip, Ada without mlp.py, Noah's syntax error, Eve's wrong b."""
    folder = tmp_path_factory.mktemp("problems") / "submissions"
    folder.mkdir()
    (folder / "zoe_corrupt.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    shutil.copytree(SUBMISSIONS / "ada_lovelace", folder / "mia_no_mlp")
    (folder / "mia_no_mlp" / "mlp.py").unlink()
    for name in ("noah_syntax_error", "eve_bias_is_output"):
        shutil.copytree(SUBMISSIONS / name, folder / name)
    rubric, out = load_rubric(small_rubric), folder.parent / "out"
    batch = grade_folder(folder, rubric, out, jobs=1)
    return rubric, out, {result.student: result for result in batch.results}


def reports(out: Path, rubric, student: str):
    result = result_from_dict(json.loads((out / student / "result.json").read_text()))
    return result, (out / student / "feedback.md").read_text(), to_results_json(result, rubric, 1.0)


@pytest.mark.parametrize("student, kind, file, words", [
    ("zoe_corrupt", "unreadable", None, "zoe_corrupt.zip is not a readable zip: the upload is damaged or incomplete; "
                                        "zip the folder again and resubmit ("),
    ("mia_no_mlp", "missing", "mlp.py", "mlp.py was not submitted."),
    ("noah_syntax_error", "syntax", "mlp.py", "mlp.py has a syntax error at line 27"),
])
def test_a_problem_is_told_once_in_every_report(graded, student, kind, file, words):
    rubric, out, _ = graded
    result, feedback, gradescope = reports(out, rubric, student)
    assert [(found["kind"], found["file"]) for found in result.problems] == [(kind, file)]
    message = result.problems[0]["message"]
    assert words in message
    assert feedback.count(message) == 1 and feedback.index(message) < feedback.index("## ", feedback.index(message))
    log = [line for line in (out / "grading.log").read_text().splitlines() if f"WARNING {student}: " in line]
    assert len(log) == 1 and log[0].endswith(f"{kind}{' ' + file if file else ''}: {message.splitlines()[0]}")
    assert gradescope["output"].count(message) == 1
    note = stopped_note(result, result.problems[0])  # the items it stopped, named as feedback.md names them
    assert note and gradescope["output"].count(note) == 1
    # The items it stopped point to it in one line of the same form, whatever the kind; they do not repeat it.
    stopped = [test for test in gradescope["tests"] if test["extra_data"]["status"] in ("error", "missing")]
    pointer = stopped_output(result.problems[0])
    assert pointer.startswith("Not graded: ") and pointer.endswith("(see the submission's problems).")
    assert stopped and all(pointer in test["output"] and message not in test["output"] for test in stopped)
    assert all(item.output == pointer for item in result.items if item.status in ("error", "missing"))
    if kind != "unreadable":  # the other files are graded as usual
        assert result.item("conv_matrix.published").status == "passed"


def test_the_batch_table_says_the_problem_instead_of_each_item(graded):
    rubric, out, results = graded
    console = Console(file=io.StringIO(), width=200, record=True, color_system=None)
    console.print(batch_table(sorted(results.values(), key=lambda r: r.student), "T"))
    rows = {line.split()[1]: line for line in console.export_text().splitlines() if line.startswith("│")}
    assert "Syntax error: mlp.py (1 item not graded)" in rows["noah_syntax_error"]
    assert "mlp.forward" not in rows["noah_syntax_error"]
    assert f"The submission could not be opened ({len(rubric.items)} items not graded)" in rows["zoe_corrupt"]
    assert "Missing file: mlp.py (1 item not graded)" in rows["mia_no_mlp"]
    assert "linear_region.deep (failed" in rows["eve_bias_is_output"]  # a wrong answer is not a problem


def test_result_json_is_the_instructors_full_copy_and_students_see_no_hidden_item(graded):
    rubric, out, _ = graded
    result, feedback, gradescope = reports(out, rubric, "eve_bias_is_output")
    item = result.item(HIDDEN)
    assert item.visibility == "hidden" and item.status == "failed"
    assert item.counterexample and "expected" in item.counterexample and len(item.output) > 100
    name = next(i.name for i in rubric.items if i.id == HIDDEN)
    assert HIDDEN not in feedback and name not in feedback and item.output not in feedback
    assert HIDDEN not in [i.id for i in student_items(result)] and hidden_summary(result) == (1, 2.0, 0.0)
    assert "1 hidden item worth 2 points: 0 earned" in feedback
    # Gradescope shows a test whose visibility is "hidden" to staff only: it may hold the item in full.
    test = next(t for t in gradescope["tests"] if t["number"] == HIDDEN)
    assert test["visibility"] == "hidden" and item.output in test["output"]
    shown = [gradescope["output"]] + [t["output"] + t["name"] for t in gradescope["tests"] if t["visibility"] != "hidden"]
    assert not any(HIDDEN in text or name in text for text in shown)


def test_a_problem_whose_items_another_stopped_first_says_so_everywhere():
    """A checkpoint absent with the module that loads it: the module's absence stops the item, and the
    checkpoint's problem says it stopped nothing on its own, in feedback.md and the grade table alike."""
    code = problem("missing", "model.py", "model.py was not submitted. There is 'Model.py': the grader reads 'model.py' exactly, so rename it.")
    weights = problem("missing", "model.pt", "model.pt was not submitted.")
    item = ItemResult("model.loaded", "the checkpoint", 0.0, 3.0, "missing", "visible", stopped_output(code))
    result = SubmissionResult("kim", [item], {}, "", "", problems=[code, weights])
    feedback = feedback_markdown(result, "T")
    assert feedback.count("There is 'Model.py'") == 1  # the near-miss name, once, at the top
    assert "Not graded because of it: model.loaded (0 / 3)." in feedback
    assert feedback.count("It stopped no item on its own: another problem above stopped the items that need it. "
                          "Fix it too.") == 1
    assert "## model.loaded" not in feedback  # listed under its problem, not again as an item
    console = Console(file=io.StringIO(), width=200, record=True, color_system=None)
    console.print(batch_table([result], "T"))
    text = console.export_text()
    assert "Missing file: model.py (1 item not graded)" in text and "Missing file: model.pt (no item on its own)" in text


def test_an_import_failure_shows_the_students_frames_only(tmp_path, rubric, zygote):
    folder = tmp_path / "lee"
    shutil.copytree(SUBMISSIONS / "ada_lovelace", folder)
    (folder / "mlp.py").write_text("import numpy as np\nraise ValueError('weights not set')\n")
    result = grade_submission(folder, rubric, zygote=zygote, items=["mlp.forward"])
    [found] = result.problems
    assert found["kind"] == "import" and "ValueError: weights not set" in found["message"]
    assert "<frozen" not in found["message"] and 'File "mlp.py", line 2, in <module>' in found["message"]


def test_only_whole_frozen_frame_lines_above_the_first_frame_are_dropped():
    frozen = '  File "<frozen importlib._bootstrap>", line 1204, in _gcd_import'
    text = "\n".join(["Traceback (most recent call last):", frozen, frozen.replace("1204", "1176"),
                      '  File "mlp.py", line 2, in <module>', "    f()", '  File "mlp.py", line 1, in f', frozen,
                      "ValueError: " + frozen, frozen + " and more"])
    assert student_traceback(text).split("\n") == [
        "Traceback (most recent call last):", '  File "mlp.py", line 2, in <module>', "    f()",
        '  File "mlp.py", line 1, in f', frozen, "ValueError: " + frozen, frozen + " and more"]
