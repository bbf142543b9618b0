"""Rubric validation: every mistake is found before any student code runs, with file:line and a fix."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.rubric import RubricError, load_rubric

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "rubrics" / "assignment2.yaml"

GOOD_ITEM = """\
  - id: q.one
    name: one
    points: 1
    kind: cases
    target: {file: conv_matrix.py, symbol: conv_as_matrix}
    reference: reference.conv_matrix:conv_as_matrix
    inputs: {kernel: array, input_shape: tuple}
    cases:
      - {kernel: [[1]], input_shape: [2, 2]}
    returns: array
"""


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "rubric.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, text: str) -> list[str]:
    with pytest.raises(RubricError) as caught:
        load_rubric(write(tmp_path, text))
    return caught.value.problems


def test_the_bundled_rubric_validates():
    rubric = load_rubric(BUNDLED)
    prefixes = ("conv_matrix.", "linear_region.", "softmax.", "mlp.", "focal_loss.", "theory.conv_matrix.", "theory.linear_region.", "cnn.")
    assert all(item.id.startswith(prefixes) for item in rubric.items)
    assert {item.kind for item in rubric.items} == {"cases", "property", "answers", "training"}
    assert {item.mode for item in rubric.items if item.kind == "training"} == {"train", "checkpoint", "compare"}
    assert any(item.visibility == "hidden" for item in rubric.items)
    diagnosed = {mistake for item in rubric.items for mistake in item.mistakes}
    assert {"flipped_kernel", "ignores_padding", "ignores_stride", "transposed", "bias_is_output", "all_units_active",
            "no_max_subtraction", "wrong_class_subtracted", "sum_not_mean", "tanh_derivative_of_preactivation",
            "weights_sum_to_one", "weighted_pt", "sum_reduction", "not_a_tensor"} <= diagnosed


def test_a_good_minimal_rubric_loads_with_defaults(tmp_path):
    rubric = load_rubric(write(tmp_path, "title: T\nitems:\n" + GOOD_ITEM))
    (item,) = rubric.items
    assert item.call == "conv_as_matrix(kernel, input_shape)"
    assert (item.rtol, item.atol, item.timeout_s, item.visibility) == (1e-4, 1e-6, 10.0, "visible")
    assert len(rubric.sha256) == 64


@pytest.mark.parametrize(
    "change, line, expected",
    [
        (("points: 1", "pionts: 1"), 5, "unknown key 'pionts'; fix: did you mean 'points'?"),
        (("kind: cases\n", "kind: cases\n    visibility: secret\n"), 7, "visibility 'secret' is not allowed"),
        (("points: 1", "points: lots"), 5, "expected a number, got str 'lots'"),
        (("conv_matrix:conv_as_matrix", "conv_matrix:conv_as_matrx"), 8, "cannot be resolved"),
        (("reference.conv_matrix:", "reference.no_such_module:"), 8, "cannot be resolved"),
        (("returns: array", "returns: matrix"), 12, "unknown return kind 'matrix'"),
        (("input_shape: tuple}", "input_shape: shape}"), 9, "input type 'shape' is unknown"),
        (("{kernel: [[1]], input_shape: [2, 2]}", "{kernel: [[1]]}"), 11, "missing required key 'input_shape'"),
        (("kind: cases", "kind: quiz"), 6, "kind 'quiz' is not one of cases, property, answers"),
        (("file: conv_matrix.py", "file: ../conv_matrix.py"), 7, "is not a plain top-level"),
    ],
)
def test_each_problem_names_the_line_and_the_fix(tmp_path, change, line, expected):
    found = problems(tmp_path, "title: T\nitems:\n" + GOOD_ITEM.replace(*change))
    assert any(f"rubric.yaml:{line}:" in p and expected in p and "fix:" in p for p in found), found


def test_all_problems_are_reported_at_once(tmp_path):
    bad = GOOD_ITEM.replace("points: 1", "points: -1").replace("name: one", "name: 3")
    found = problems(tmp_path, "title: T\nextra: 1\nitems:\n" + bad + bad)
    text = "\n".join(found)
    assert "unknown key 'extra'" in text and "out of range" in text and "used twice" in text
    assert "expected a short name" in text


def test_unknown_mistakes_and_bad_calls_are_caught(tmp_path):
    item = GOOD_ITEM + "    call: conv_as_matrix(kernel, shape)\n    mistakes: {nope: reference.conv_matrix:conv_as_matrix}\n"
    found = "\n".join(problems(tmp_path, "title: T\nitems:\n" + item))
    assert "the call uses shape, which no input provides" in found
    assert "mistake 'nope' is not in the top-level mistakes" in found


def test_yaml_syntax_errors_name_the_line(tmp_path):
    found = problems(tmp_path, "title: T\nitems:\n  - id: [unclosed\n")
    assert found[0].startswith(f"{tmp_path / 'rubric.yaml'}:") and "not valid YAML" in found[0]


def test_cli_validate_exit_codes(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "grader", "rubric", "validate", str(BUNDLED)], capture_output=True, text=True)
    assert ok.returncode == 0 and "valid" in ok.stdout
    bad = write(tmp_path, "title: T\nitems:\n" + GOOD_ITEM.replace("hidden", "x").replace("points: 1", "points: x"))
    failed = subprocess.run([sys.executable, "-m", "grader", "rubric", "validate", str(bad)], capture_output=True, text=True)
    assert failed.returncode == 2 and "rubric.yaml:5:" in failed.stderr and "1 problem in" in failed.stderr


def test_training_items_are_checked_completely(tmp_path):
    found = problems(tmp_path, """\
        title: T
        items:
          - id: cnn.a
            name: a
            points: 5
            kind: training
            target: {file: my_model.py, symbol: MyModel}
            reference: reference.my_model:MyModel
            data: {source: digits}
            recipe:
              optimizer: rmsprop
              epochs: 2.5
              lr: {default: 1.0, min: 0.001, max: 0.1}
            tiers: [{above: 0.7, points: 2}, {above: 0.6, points: 2}]
            margin: 0.1
          - id: cnn.b
            name: b
            points: 1
            kind: training
            mode: compare
            target: {file: my_model.py, symbol: MyModel}
            reference: reference.my_model:MyModel
            data: {loader: reference.data:nothing_here}
            loss: {file: ../losses.py}
            recipe:
              optimizer: {default: sgd, choices: [sgd, rmsprop]}
            margin: 2
            device: tpu
          - id: cnn.c
            name: c
            points: 1
            kind: training
            mode: checkpoint
            target: {file: my_model.py, symbol: MyModel}
            reference: reference.my_model:MyModel
            data: {loader: reference.data:training_data}
            checkpoint: ../../secret.pt
            tiers: [{above: 0.5, points: 1}]
        """)
    text = "\n".join(found)
    for expected in (
        "items[0].data: missing required key 'loader'",
        "items[0].recipe.optimizer: optimizer 'rmsprop' is not supported",
        "items[0].recipe.epochs: epochs must be a whole number",
        "items[0].recipe.lr: default 1.0 lies outside [0.001, 0.1]",
        "items[0].tiers[1].above: 0.6 is not above the previous tier",
        "items[0].points: points 5 differ from the tiers' total 4",
        "items[0].margin: only mode: compare uses margin",
        "items[1].data.loader: data loader 'reference.data:nothing_here' cannot be resolved",
        "items[1].loss: missing required key 'call'",
        "items[1].loss.file: '../losses.py' is not a plain top-level .py file name",
        "items[1].margin: margin is a difference of accuracies, at most 1",
        "items[1].device: device 'tpu' is not allowed",
        "items[1].recipe.optimizer.choices: optimizer 'rmsprop' is not supported",
        "items[2].checkpoint: '../../secret.pt' leaves the submission",
    ):
        assert expected in text, f"{expected!r} not in:\n{text}"
    assert all(":" in line.split(" ")[0] for line in found), "every problem names file:line"


def test_audit_settings_are_checked(tmp_path):
    audit = ("audit:\n  must_kill: [flipped_kernel, 3]\n  equivalent: {'x/negated': ''}\n  extra: 1\n"
             "  alternatives:\n    other: {target: conv_matrix.py, use: reference.conv_matrix:nothing}\n")
    found = "\n".join(problems(tmp_path, "title: T\n" + audit + "items:\n" + GOOD_ITEM))
    assert "audit.must_kill[1]: expected a mutant name or id, got int 3" in found
    assert "audit.equivalent.x/negated: no reason given" in found
    assert "unknown key 'extra'" in found
    assert "audit.alternatives.other: missing required key 'reason'" in found
    assert "'conv_matrix.py' names no symbol or answer" in found
    assert "alternative 'reference.conv_matrix:nothing' cannot be resolved" in found
