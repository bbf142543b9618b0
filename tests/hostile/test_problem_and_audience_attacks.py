"""A submission that aims its submission-level problems at what a student reads.

A problem is told to the student at once, at the top of every report (Gradescope's summary too), so
it must say nothing a hidden item's child alone saw, nor anything an item shown only later passed in;
and what the child reports about a syntax error (file, line) is checked against the submission
before it names anything.
"""

import logging

import pytest
import yaml

from grader.batch import _OneLine, problems_line
from grader.gradescope import to_results_json
from grader.reports.feedback import feedback_markdown
from grader.reports.html import _student_html
from grader.rubric import load_rubric
from tests.hostile.conftest import ADA, RUBRIC, grade, plant

HIDDEN = "linear_region.deep"
MARKER = "ONLY-IN-A-HIDDEN-CHILD"
FORGED_FILE = "../../x.py\n2026-01-01 00:00:00,000 INFO forged entry <script>alert(1)</script>"

# Each fails on import everywhere with a syntax error it makes up: one names a file it did not come from
# (and leaves a mark for the next module imported in the same child), one an absurd line.
CONV = f'''import builtins
builtins.shared_child_mark = True


class Forged(SyntaxError):
    pass


error = Forged("not really")
error.filename, error.lineno = {FORGED_FILE!r}, 7
raise error
'''
SOFTMAX = '''error = SyntaxError("not really")
error.filename, error.lineno = "softmax_classifier.py", 10 ** 4000
raise error
'''
# Imports in the child that grades the visible items (where the mark is), fails in a hidden item's own child.
LINEAR_HEAD = f'''import builtins
if not hasattr(builtins, "shared_child_mark"):
    print({MARKER!r})
    raise ImportError({MARKER!r})
'''


@pytest.fixture(scope="module")
def attacked(tmp_path_factory, bundled, zygote):
    folder = tmp_path_factory.mktemp("problem_attacks")
    linear = (plant(folder, {}, "ada") / "linear_region.py").read_text()
    path = plant(folder, {"conv_matrix.py": CONV, "linear_region.py": LINEAR_HEAD + linear,
                          "softmax_classifier.py": SOFTMAX}, "mallory")
    result = grade(path, bundled, zygote, ["conv_matrix.published", "softmax.stability", HIDDEN],
                   ["linear_region.published"])
    return bundled, result


def student_facing(rubric, result) -> str:
    gradescope = to_results_json(result, rubric, 1.0)
    shown = [gradescope["output"]] + [test["output"] + test["name"] + test["number"]
                                      for test in gradescope["tests"] if test["visibility"] != "hidden"]
    return "\n".join([feedback_markdown(result, "A2"), _student_html(result, rubric), *shown])


def test_an_import_that_fails_only_in_a_hidden_items_child_is_not_told_to_the_student(attacked):
    rubric, result = attacked
    hidden = result.item(HIDDEN)
    assert hidden.status == "error" and hidden.score == 0 and MARKER in hidden.output  # the instructor's copy
    assert result.item("linear_region.published").status == "passed"
    assert [found["file"] for found in result.problems] == ["conv_matrix.py", "softmax_classifier.py"]
    assert MARKER not in student_facing(rubric, result)


def test_a_forged_syntax_error_names_only_a_submitted_file_and_a_line_a_file_can_have(attacked):
    rubric, result = attacked
    forged, absurd = result.problems
    assert (forged["kind"], forged["file"]) == ("syntax", "conv_matrix.py")
    assert forged["message"].startswith("conv_matrix.py has a syntax error at line 7: not really")
    assert (absurd["kind"], absurd["file"]) == ("import", "softmax_classifier.py")  # not a syntax error at that line
    assert [result.item(i).status for i in ("conv_matrix.published", "softmax.stability")] == ["error", "error"]
    html = _student_html(result, rubric)
    assert "<script>" not in html and "&lt;script&gt;" in html  # the forged name is in the traceback, as text
    record = logging.LogRecord("grader", logging.WARNING, "", 0, "%s: %s", ("mallory", problems_line(result.problems)),
                               None)
    assert "\n" not in _OneLine("%(message)s").format(record)


# Items shown after the due date. One keeps its inputs in the child, and a module first imported after it
# carries them; another is the item a visible one depends on (its forward raises).
LATER = ["linear_region.published", "softmax.stability", "mlp.forward"]
KEEPS_INPUTS = (ADA / "linear_region.py").read_text() + f'''

_kept = linear_region


def linear_region(weights, biases, x0):
    import builtins
    builtins.kept_inputs = {MARKER!r} + repr(x0)
    return _kept(weights, biases, x0)
'''
CARRIES_THEM = ("import builtins\nif hasattr(builtins, 'kept_inputs'):\n    raise ImportError(builtins.kept_inputs)\n"
                + (ADA / "softmax_classifier.py").read_text())
FORWARD_RAISES = (ADA / "mlp.py").read_text() + "\n\ndef mlp_forward(params, X):\n    raise ValueError('no forward')\n"


@pytest.fixture(scope="module")
def shown_later(tmp_path_factory, zygote):
    folder = tmp_path_factory.mktemp("shown_later")
    data = yaml.safe_load(RUBRIC.read_text())
    for item in data["items"]:
        item["visibility"] = "after_due_date" if item["id"] in LATER else item.get("visibility", "visible")
    (folder / "later.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    rubric = load_rubric(folder / "later.yaml")
    path = plant(folder, {"linear_region.py": KEEPS_INPUTS, "softmax_classifier.py": CARRIES_THEM,
                          "mlp.py": FORWARD_RAISES}, "mallory")
    return rubric, grade(path, rubric, zygote, [*LATER, "mlp.backward"], ["conv_matrix.published"])


def test_an_import_after_an_item_shown_later_is_not_told_at_once(shown_later):
    rubric, result = shown_later
    carried = result.item("softmax.stability")
    assert carried.status == "error" and MARKER in carried.output  # shown with its item, after the due date
    assert result.problems == [] and result.item("conv_matrix.published").status == "passed"
    assert MARKER not in to_results_json(result, rubric, 1.0)["output"]


def test_a_visible_item_does_not_tell_how_an_item_shown_later_went(shown_later):
    rubric, result = shown_later
    assert result.item("mlp.forward").status == "error" and result.item("mlp.backward").status == "error"
    shown_now = [test["output"] for test in to_results_json(result, rubric, 1.0)["tests"] if test["visibility"] == "visible"]
    assert "no forward" in result.item("mlp.backward").output  # its own error, as before
    assert not any("mlp.forward" in output for output in shown_now)


def test_a_missing_file_is_told_in_a_hidden_items_words_never(tmp_path, bundled, zygote):
    from grader.api import grade_submission

    # The file under a near-miss name: a check's own words point at it, and only a visible item's are told.
    path = plant(tmp_path, {"Linear_Region.py": (ADA / "linear_region.py").read_text()}, "mallory")
    (path / "linear_region.py").unlink()
    hidden_only = grade_submission(path, bundled, zygote=zygote, items=[HIDDEN, "conv_matrix.published"])
    both = grade_submission(path, bundled, zygote=zygote,
                            items=[HIDDEN, "linear_region.published", "conv_matrix.published"])
    hidden_told = [found["message"] for found in hidden_only.problems if found["kind"] == "missing"]
    both_told = [found["message"] for found in both.problems if found["kind"] == "missing"]
    assert hidden_told == ["linear_region.py was not submitted."], hidden_only.problems
    assert len(both_told) == 1 and "Linear_Region.py" in both_told[0], both.problems
