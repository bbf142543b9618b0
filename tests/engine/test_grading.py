"""Every bundled submission grades as its README says, item by item, and reruns are identical."""

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from grader.api import grade_submission
from grader.results import result_from_dict

SUBMISSIONS = Path(__file__).resolve().parents[2] / "submissions"

CONV = ("conv_matrix.published", "conv_matrix.property")
LINEAR = ("linear_region.published", "linear_region.property")
MISSING_FOR_MIA = [
    "linear_region.published", "linear_region.property", "linear_region.deep", "mlp.forward", "mlp.backward",
    "focal_loss.reweight_published", "focal_loss.reweight", "focal_loss.one_per_class", "focal_loss.focal",
    "focal_loss.long_tail", "theory.conv_matrix.shape", "theory.conv_matrix.entries",
    "theory.linear_region.at_2", "theory.linear_region.at_minus_1", "theory.linear_region.at_1",
    "cnn.accuracy", "cnn.checkpoint", "cnn.long_tail",
]

# item id -> (status, diagnosis) for every item that must NOT pass; all others must pass.
# Hidden items carry theirs too: result.json is the instructor's copy (a student never sees them).
EXPECTED = {
    "ada_lovelace": {},
    "ben_okafor": {},
    "carl_flipped_kernel": {
        **{item: ("failed", "flipped_kernel") for item in CONV},
        "conv_matrix.rectangular": ("failed", "flipped_kernel"),
        "theory.conv_matrix.entries": ("failed", "flipped_kernel"),
    },
    "dana_column_major": {
        **{item: ("failed", "column_major") for item in CONV},
        "conv_matrix.rectangular": ("failed", "column_major"),
    },
    "eve_bias_is_output": {
        **{item: ("failed", "bias_is_output") for item in LINEAR},
        "linear_region.deep": ("failed", None),
        "theory.linear_region.at_2": ("failed", "bias_is_output"),
        "theory.linear_region.at_minus_1": ("failed", "bias_is_output"),
        "theory.linear_region.at_1": ("failed", "bias_is_output"),
    },
    "finn_all_units_active": {
        **{item: ("failed", "all_units_active") for item in LINEAR},
        "linear_region.deep": ("failed", None),
    },
    "gina_unstable_softmax": {
        "softmax.softmax": ("failed", "no_max_subtraction"),
        "softmax.stability": ("failed", "no_max_subtraction"),
        # Her gradients call her own softmax, which overflows at the large logits they are given.
        "softmax.gradients": ("failed", "no_max_subtraction"),
        "softmax.gradients_batch": ("failed", "no_max_subtraction"),
    },
    "hugo_gradient_sum": {
        "softmax.gradients": ("failed", "sum_not_mean"),
        "softmax.gradients_batch": ("failed", "sum_not_mean"),
    },
    "iris_tanh_preactivation": {"mlp.backward": ("failed", "tanh_derivative_of_preactivation")},
    "jack_weighted_pt": {
        "focal_loss.focal": ("partial", "weighted_pt"),
        "focal_loss.long_tail": ("failed", "weighted_pt"),
        # The weight inside p_t starves the frequent classes: balanced accuracy falls, though the rare half rises.
        "cnn.long_tail": ("failed", None),
    },
    "kate_weights_sum_to_one": {
        "focal_loss.reweight_published": ("failed", "weights_sum_to_one"),
        "focal_loss.reweight": ("failed", "weights_sum_to_one"),
        # Weights summing to 1 scale the loss down C-fold: in 8 epochs of SGD the model learns less than with cross-entropy.
        "cnn.long_tail": ("failed", None),
    },
    "leo_weight_normalised_mean": {
        "focal_loss.focal": ("partial", "weight_normalised_mean"),
        "focal_loss.long_tail": ("failed", "weight_normalised_mean"),
    },
    "mia_missing_files": {item: ("missing", None) for item in MISSING_FOR_MIA},
    "noah_syntax_error": {"mlp.forward": ("error", None), "mlp.backward": ("error", None)},
}


KEPT_BY_PARTIAL = {"focal_loss.focal": 1.0}  # the default_weight part


@pytest.fixture(scope="module")
def graded(bundled_run):
    """The results `grader grade submissions` wrote, read back."""
    return {name: result_from_dict(json.loads((bundled_run / name / "result.json").read_text())) for name in sorted(EXPECTED)}


def test_every_example_is_expected():
    assert {p.name for p in SUBMISSIONS.iterdir() if p.is_dir()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_grades_item_by_item(graded, rubric, name):
    result = graded[name]
    actual = {item.id: (item.status, item.diagnosis) for item in result.items if item.status != "passed"}
    assert actual == EXPECTED[name], "\n\n".join(f"{i.id}: {i.output}" for i in result.items if i.status != "passed")
    # A partial item keeps the points of the parts its mistake cannot show on: weight=None has no weight to misuse.
    kept = {item_id: KEPT_BY_PARTIAL[item_id] for item_id, (status, _) in EXPECTED[name].items() if status == "partial"}
    lost = sum(item.points - kept.get(item.id, 0.0) for item in rubric.items if item.id in EXPECTED[name])
    assert result.score == pytest.approx(rubric.max_score - lost)
    assert result.max_score == pytest.approx(rubric.max_score)


def test_correct_examples_get_full_marks(graded, rubric):
    for name in ("ada_lovelace", "ben_okafor"):
        assert graded[name].score == rubric.max_score


def test_failures_explain_themselves(graded):
    carl = graded["carl_flipped_kernel"].item("conv_matrix.property")
    assert carl.counterexample["input"]["kernel"] and carl.counterexample["expected"] and carl.counterexample["got"]
    assert "known mistake (flipped_kernel)" in carl.output and "cross-correlation" in carl.output
    gina = graded["gina_unstable_softmax"].item("softmax.stability")
    assert "nan" in gina.output.lower()
    # A file that cannot be imported is the submission's problem, told once; its items point to it.
    noah = graded["noah_syntax_error"]
    assert [(found["kind"], found["file"]) for found in noah.problems] == [("syntax", "mlp.py")]
    assert "line 27" in noah.problems[0]["message"] and "SyntaxError" in noah.problems[0]["message"]
    assert noah.item("mlp.forward").output == "Not graded: mlp.py has a syntax error (see the submission's problems)."
    mia = graded["mia_missing_files"]
    assert mia.item("mlp.forward").output == "Not graded: mlp.py was not submitted (see the submission's problems)."
    assert {found["file"] for found in mia.problems} == {"linear_region.py", "mlp.py", "focal_loss.py", "answers.yaml",
                                                         "my_model.py", "checkpoints/my_model.pt"}
    assert all(found["kind"] == "missing" for found in mia.problems)
    assert not any(graded[name].problems for name in graded if name not in ("noah_syntax_error", "mia_missing_files"))


def test_result_json_keeps_hidden_items_in_full_and_feedback_names_none(graded, rubric, bundled_run):
    # Carl's flipped kernel fails the hidden rectangular cases: the instructor's copy says how.
    carl = graded["carl_flipped_kernel"].item("conv_matrix.rectangular")
    assert carl.visibility == "hidden" and carl.status == "failed" and carl.counterexample and len(carl.output) > 100
    hidden = [item for item in rubric.items if item.visibility == "hidden"]
    for name in graded:
        feedback = (bundled_run / name / "feedback.md").read_text()
        assert not any(item.id in feedback or item.name in feedback for item in hidden), name
        assert f"{len(hidden)} hidden items worth" in feedback


def test_property_counterexamples_are_shrunk(graded):
    hugo = graded["hugo_gradient_sum"].item("softmax.gradients")
    # Sum and mean agree for one sample, so the smallest failing batch has two.
    assert hugo.counterexample["input"]["labels"].startswith("array(2,)"), hugo.counterexample
    assert hugo.counterexample["input"]["x"].startswith("array(2, 1)"), "and shrunk to one feature"


def test_isolation_is_recorded(graded):
    layers = graded["ada_lovelace"].isolation
    assert layers["process"] and layers["rlimits"]


def test_regrading_gives_identical_results_apart_from_timing(graded, rubric, zygote, bundled_run):
    # In-process this time, with the same folders hidden as in the batch.
    again = grade_submission(SUBMISSIONS / "ada_lovelace", rubric, zygote=zygote, hide=[str(bundled_run.resolve())])
    assert again.to_json(with_timing=False) == graded["ada_lovelace"].to_json(with_timing=False)
    assert again.timing and again.timing != graded["ada_lovelace"].timing
    quick = [item.id for item in rubric.items if item.kind != "training"]
    for name in ("carl_flipped_kernel", "hugo_gradient_sum", "noah_syntax_error"):
        again = grade_submission(SUBMISSIONS / name, rubric, zygote=zygote, items=quick)
        assert [asdict(i) for i in again.items] == [asdict(i) for i in graded[name].items if i.id in quick]
