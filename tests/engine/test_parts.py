"""Property items split into parts, mistakes named from every failing input, and combined mistakes."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from grader.api import grade_submission
from grader.rubric import RubricError, load_rubric

ADA = Path(__file__).resolve().parents[2] / "submissions" / "ada_lovelace"
STRATEGIES, CONV = "reference.strategies", "reference.mistakes.conv_matrix"

RUBRIC = {
    "title": "parts",
    "mistakes": {
        "sum_reduction": {"hint": "The losses are summed over the batch."},
        "flipped_kernel": {"hint": "The kernel is flipped."},
        "ignores_stride": {"hint": "The result is what you get with stride 1."},
        "hard_coded_cuda": {"hint": "Grading runs on the CPU: keep tensors on the device of the input.",
                            "raises": "not compiled with CUDA|no NVIDIA driver"},
    },
    "items": [
        {"id": "focal", "name": "FocalLoss", "points": 4, "kind": "property",
         "target": {"file": "focal_loss.py", "symbol": "FocalLoss"}, "reference": "reference.focal_loss:FocalLoss",
         "call": "FocalLoss(weight, gamma)(input, target)", "returns": "tensor", "examples": 30,
         "mistakes": {"sum_reduction": "reference.mistakes.focal_loss:sum_reduction"},
         "parts": [
             {"id": "weighted", "name": "`weight` holds class weights", "points": 3, "strategy": f"{STRATEGIES}:focal_weighted_inputs"},
             {"id": "default_weight", "name": "`weight` is None, its documented default", "points": 1,
              "strategy": f"{STRATEGIES}:focal_default_inputs", "hints": ["weight=None means every class weighs 1."]},
         ]},
        {"id": "conv", "name": "conv_as_matrix", "points": 2, "kind": "property",
         "target": {"file": "conv_matrix.py", "symbol": "conv_as_matrix"}, "reference": "reference.conv_matrix:conv_as_matrix",
         "call": "conv_as_matrix(kernel, input_shape, stride, padding)", "returns": "array", "examples": 60,
         "strategy": f"{STRATEGIES}:conv_inputs",
         "mistakes": {"flipped_kernel": f"{CONV}:flipped_kernel", "ignores_stride": f"{CONV}:ignores_stride",
                      "flipped_kernel+ignores_stride": f"{CONV}:flipped_ignores_stride"}},
        {"id": "conv_cases", "name": "conv_as_matrix on cases", "points": 1, "kind": "cases",
         "target": {"file": "conv_matrix.py", "symbol": "conv_as_matrix"}, "reference": "reference.conv_matrix:conv_as_matrix",
         "inputs": {"kernel": "array", "input_shape": "tuple", "stride": "int", "padding": "int"}, "returns": "array",
         "cases": [{"kernel": [[1, 1], [1, 1]], "input_shape": [3, 3], "stride": 2, "padding": 0},
                   {"kernel": [[1, 2], [3, 4]], "input_shape": [4, 4], "stride": 2, "padding": 0},
                   {"kernel": [[1, 2], [3, 5]], "input_shape": [5, 5], "stride": 3, "padding": 0}],
         "mistakes": {"flipped_kernel": f"{CONV}:flipped_kernel", "ignores_stride": f"{CONV}:ignores_stride",
                      "flipped_kernel+ignores_stride": f"{CONV}:flipped_ignores_stride"}},
    ],
}

FOCAL = (ADA / "focal_loss.py").read_text()
CONV = (ADA / "conv_matrix.py").read_text()


@pytest.fixture(scope="module")
def parts_rubric(tmp_path_factory):
    path = tmp_path_factory.mktemp("rubric") / "parts.yaml"
    path.write_text(yaml.safe_dump(RUBRIC, sort_keys=False))
    return load_rubric(path)


def graded(tmp_path, rubric, zygote, files: dict, items):
    folder = tmp_path / "student"
    shutil.copytree(ADA, folder)
    for name, text in files.items():
        (folder / name).write_text(text)
    return grade_submission(folder, rubric, zygote=zygote, items=items)


def without_none(source: str) -> str:
    """The weight used unconditionally, as most real FocalLoss code does."""
    old = """        if self.weight is not None:
            w = torch.as_tensor(self.weight, dtype=input.dtype, device=input.device)
            loss = loss * w[target]"""
    assert old in source
    return source.replace(old, "        loss = loss * self.weight[target]")


def test_a_crash_on_the_documented_default_costs_only_its_part(tmp_path, parts_rubric, zygote):
    result = graded(tmp_path, parts_rubric, zygote, {"focal_loss.py": without_none(FOCAL)}, ["focal"])
    item = result.item("focal")
    assert (item.status, item.score, item.max_score) == ("partial", 3.0, 4.0), item.output
    assert "FocalLoss(weight, gamma)(input, target) raises TypeError when `weight` is None, its documented default." in item.output
    assert "weight=None means every class weighs 1." in item.output
    assert [(part["id"], part["status"], part["score"]) for part in item.details["parts"]] == [
        ("weighted", "passed", 0.0 + 3), ("default_weight", "error", 0.0)]
    assert item.counterexample["input"]["weight"] == "None"


def test_a_wrong_formula_behind_the_crash_is_still_named(tmp_path, parts_rubric, zygote):
    source = without_none(FOCAL).replace("return loss.sum() / N", "return loss.sum()")
    item = graded(tmp_path, parts_rubric, zygote, {"focal_loss.py": source}, ["focal"]).item("focal")
    assert (item.status, item.score, item.diagnosis) == ("failed", 0.0, "sum_reduction"), item.output
    assert "The losses are summed over the batch." in item.output
    assert "raises TypeError when `weight` is None" in item.output


def test_correct_code_passes_every_part(tmp_path, parts_rubric, zygote):
    item = graded(tmp_path, parts_rubric, zygote, {}, ["focal"]).item("focal")
    assert (item.status, item.score) == ("passed", 4.0), item.output
    assert item.output.count("generated inputs passed.") == 2


FLIPPED_STRIDE_ONE = CONV.replace("A[row, col] = kernel[u, v]", "A[row, col] = kernel[kh - 1 - u, kw - 1 - v]").replace(
    "i * stride + u", "i + u").replace("j * stride + v", "j + v").replace("// stride + 1", "+ 1")


def test_two_mistakes_at_once_are_named_together_on_an_input_that_shows_both(tmp_path, parts_rubric, zygote):
    item = graded(tmp_path, parts_rubric, zygote, {"conv_matrix.py": FLIPPED_STRIDE_ONE}, ["conv"]).item("conv")
    assert (item.status, item.diagnosis) == ("failed", "flipped_kernel+ignores_stride"), item.output
    assert "The kernel is flipped." in item.output and "stride 1" in item.output
    shown = item.counterexample["input"]
    kernel = np.array(eval(shown["kernel"].split(") ", 1)[1]))  # "array(2, 2) [[...]]"
    assert int(shown["stride"]) > 1, shown
    assert not np.array_equal(kernel, kernel[::-1, ::-1]), shown  # a kernel on which a flip can be seen


def test_every_failing_case_is_looked_at_and_the_shown_case_shows_the_mistake(tmp_path, parts_rubric, zygote):
    flipped = CONV.replace("A[row, col] = kernel[u, v]", "A[row, col] = kernel[kh - 1 - u, kw - 1 - v]")
    item = graded(tmp_path, parts_rubric, zygote, {"conv_matrix.py": flipped}, ["conv_cases"]).item("conv_cases")
    # case 1's kernel is symmetric: it cannot fail; cases 2 and 3 fail, and both are flips
    assert (item.status, item.diagnosis) == ("failed", "flipped_kernel"), item.output
    assert item.output.startswith("Case 2 of 3:")
    assert "Also wrong:\nCase 3: The result differs" in item.output


def test_a_part_rubric_is_checked_like_the_rest(tmp_path):
    bad = yaml.safe_load(yaml.safe_dump(RUBRIC))
    focal = bad["items"][0]
    focal["points"] = 5
    focal["strategy"] = f"{STRATEGIES}:focal_weighted_inputs"
    focal["parts"][1]["id"] = "weighted"
    bad["items"][1]["mistakes"]["flipped_kernel+full_size"] = f"{CONV}:flipped_kernel"
    bad["items"][1]["quantities"] = {"the batch size": "len(("}
    bad["items"][2]["depends_on"] = ["conv", "no_such_item"]
    bad["mistakes"]["hard_coded_cuda"]["raises"] = "(("
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad, sort_keys=False))
    with pytest.raises(RubricError) as error:
        load_rubric(path)
    text = str(error.value)
    for expected in ("differ from the parts' total 4", "draws its inputs from each part's strategy",
                     "part id 'weighted' is used twice", "mistake 'full_size' is not in the top-level mistakes",
                     "quantities.the batch size: not a Python expression", "'no_such_item' is not another item's id",
                     "mistakes.hard_coded_cuda.raises: not a regular expression"):
        assert expected in text, text


def test_a_lost_item_that_runs_code_another_item_found_wrong_says_so(tmp_path, rubric, zygote):
    """mlp.backward gets the student's own forward's cache: a forward over the wrong axis is named there."""
    mlp = (ADA / "mlp.py").read_text()
    batch_axis = mlp.replace("z = z - np.max(z, axis=1, keepdims=True)", "z = z - np.max(z, axis=0, keepdims=True)").replace(
        "return e / np.sum(e, axis=1, keepdims=True)", "return e / np.sum(e, axis=0, keepdims=True)")
    result = graded(tmp_path, rubric, zygote, {"mlp.py": batch_axis}, ["mlp.forward", "mlp.backward"])
    forward, backward = result.item("mlp.forward"), result.item("mlp.backward")
    assert forward.status == backward.status == "failed", forward.output + backward.output
    note = "This item runs your mlp_forward first, and mlp.forward found it wrong: fix that first"
    assert note in backward.output and note not in forward.output
    assert note not in graded(tmp_path / "right", rubric, zygote, {}, ["mlp.forward", "mlp.backward"]).item("mlp.backward").output


def test_a_file_that_fails_to_import_stops_its_items_with_one_problem_and_no_notes(tmp_path, rubric, zygote):
    """Both items share the one verdict of an mlp.py that does not import: the submission's problem says why,
    once; each item only points to it (a note that one runs the other would send the student the wrong way)."""
    result = graded(tmp_path, rubric, zygote, {"mlp.py": "def mlp_forward(:\n"}, ["mlp.forward", "mlp.backward"])
    forward, backward = result.item("mlp.forward"), result.item("mlp.backward")
    assert forward.status == backward.status == "error"
    assert [(found["kind"], found["file"]) for found in result.problems] == [("syntax", "mlp.py")]
    assert "mlp.py has a syntax error at line 1" in result.problems[0]["message"]
    assert forward.output == backward.output == "Not graded: mlp.py has a syntax error (see the submission's problems)."


def test_an_error_the_catalogue_knows_is_named(tmp_path, parts_rubric, zygote):
    source = FOCAL.replace("probs = torch.softmax(input, dim=1)", "probs = torch.softmax(input.cuda(), dim=1)")
    item = graded(tmp_path, parts_rubric, zygote, {"focal_loss.py": source}, ["focal"]).item("focal")
    assert (item.status, item.score, item.diagnosis) == ("error", 0.0, "hard_coded_cuda"), item.output
    assert "Grading runs on the CPU: keep tensors on the device of the input." in item.output
