"""grader audit: the bundled rubric's mutation scores, a weak rubric's survivors, broken items,
and the mutants and copies of the reference the audit builds."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grader import audit, mutants
from grader.api import grade_submission
from grader.rubric import load_rubric

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "rubrics" / "assignment2.yaml"
# The course's own public test of the focal loss: one sample per class, gamma 0.
WEAK_RUBRIC = {
    "title": "Weak focal loss",
    "requires": ["process", "rlimits"],
    "mistakes": {name: {"hint": f"{name}."} for name in ("weighted_pt", "sum_reduction", "weight_normalised_mean")},
    "audit": {"must_kill": ["weighted_pt"]},
    "items": [{
        "id": "focal.one_per_class", "name": "FocalLoss, one sample per class, gamma 0", "points": 2, "kind": "cases",
        "target": {"file": "focal_loss.py", "symbol": "FocalLoss"},
        "reference": "reference.focal_loss:FocalLoss",
        "inputs": {"weight": "tensor", "gamma": "float", "input": "tensor", "target": "long_tensor"},
        "call": "FocalLoss(weight, gamma)(input, target)",
        "cases": [{"weight": [0.4043, 0.6652, 1.1011, 1.8294], "gamma": 0.0,
                   "input": [[2.0, 0.5, -1.0, 0.0], [0.1, 0.2, 0.3, 0.4], [-1.0, 0.0, 4.0, 1.0], [1.0, 1.0, 1.0, 3.0]],
                   "target": [0, 1, 2, 3]}],
        "returns": "tensor",
        "mistakes": {name: f"reference.mistakes.focal_loss:{name}"
                     for name in ("weighted_pt", "sum_reduction", "weight_normalised_mean")},
    }],
}


def write_rubric(folder: Path, data: dict, name: str = "rubric.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def bundled_audit():
    return audit.run(load_rubric(BUNDLED), jobs=2)


# ---- the bundled rubric ------------------------------------------------------------------


def test_bundled_rubric_kills_every_named_mistake(bundled_audit):
    rubric = load_rubric(BUNDLED)
    killed, total = bundled_audit.score("named")
    named = {mistake for item in rubric.items for mistake in item.mistakes}
    assert named and {m.name for m in bundled_audit.counted("named")} == named
    assert (killed, total) == (total, len(bundled_audit.counted("named")))
    assert bundled_audit.must_kill == {"*/named/*": [m.id for m in bundled_audit.mutants if m.kind == "named"]}
    assert bundled_audit.must_kill_survivors() == []
    # A named mistake must lose points somewhere by computing the wrong thing, not only by failing to run
    # (a part of an item lost is "partial").
    for mutant in bundled_audit.counted("named"):
        assert {"failed", "partial"} & set(mutant.statuses.values()), mutant.id


def test_bundled_rubric_kills_every_systematic_mutant(bundled_audit):
    killed, total = bundled_audit.score("systematic")
    assert total >= 100
    assert killed == total, [m.id for m in bundled_audit.survivors()]
    every_operator = {m.name.split(":")[0] for m in bundled_audit.counted("systematic")}
    assert every_operator == set(mutants.RESULT_OPERATORS) | {"dropped", "swapped"}


def _readme_figures(pattern: str) -> tuple[int, ...]:
    found = re.search(pattern.replace(" ", r"\s+"), (ROOT / "README.md").read_text())
    assert found, f"README.md no longer says {pattern!r}: update this test with the sentence"
    return tuple(int(group) for group in found.groups())


def test_the_readme_states_the_bundled_audit_as_it_is(bundled_audit):
    """The figures of README.md's "Auditing the rubric": the table and the paragraph under it."""
    named, systematic = bundled_audit.counted("named"), bundled_audit.counted("systematic")
    assert _readme_figures(r"\| named mistakes \| (\d+) / (\d+) \(100%\) \| (\d+) names over code and written "
                           r"answers, (\d+) of them two mistakes at once") == (
        bundled_audit.score("named") + (len({m.name for m in named}), len({m.name for m in named if "+" in m.name})))
    targets = bundled_audit.targets()
    assert _readme_figures(r"\| systematic mutants \| (\d+) / (\d+) \(100%\) \| over (\d+) functions and classes "
                           r"and (\d+) written answers") == (
        bundled_audit.score("systematic") + (sum(not t.startswith("answers.yaml:") for t in targets),
                                             sum(t.startswith("answers.yaml:") for t in targets)))
    alternatives = bundled_audit.alternatives()
    assert _readme_figures(r"\| correct alternatives \| (\d+) / (\d+) pass \| float32 on each of (\d+) targets") == (
        sum(not m.killed for m in alternatives), len(alternatives), sum(m.name == "float32" for m in alternatives))
    audited = [item for item in bundled_audit.items if item.not_audited is None]
    (broken,) = _readme_figures(r"\| broken or useless items \| (\d+) \|")
    assert broken == len(bundled_audit.broken_items()) + len(bundled_audit.useless_items())
    (least,) = _readme_figures(r"every numeric and answers item kills at least (\d+) mutants")
    assert min(item.kills for item in audited) >= least
    raising = [m for m in systematic if m.killed and not {"failed", "partial"} & set(m.statuses.values())]
    assert _readme_figures(r"(\d+) of the (\d+) systematic mutants die only by raising") == (len(raising), len(systematic))
    assert _readme_figures(r"the other (\d+) give wrong values") == (len(systematic) - len(raising),)
    assert _readme_figures(r"The audit grades (\d+) submissions \(the reference and (\d+) mutants\)") == (
        len(bundled_audit.mutants) + 1, len(bundled_audit.mutants))
    assert [m.id for m in bundled_audit.mutants if m.kind != "alternative" and m.equivalent] == []  # "audit.equivalent is empty"


def test_bundled_rubric_passes_correct_alternatives_and_its_own_reference(bundled_audit):
    alternatives = bundled_audit.alternatives()
    assert {m.name for m in alternatives} == {"float32", "kink_active", "float32_cross_entropy"}
    assert bundled_audit.failed_alternatives() == []
    assert bundled_audit.broken_items() == []
    assert bundled_audit.problems == []
    assert not bundled_audit.failed()
    assert all(m.error is None for m in bundled_audit.mutants)


def test_bundled_rubric_items_each_kill_at_least_two_mutants_except_training(bundled_audit):
    for target in bundled_audit.targets():
        top_item, kills = bundled_audit.killers(target)[0]
        assert kills > 0 and bundled_audit.killers(target) == sorted(bundled_audit.killers(target), key=lambda p: (-p[1], p[0]))
    for item in bundled_audit.items:
        if item.id.startswith("cnn."):
            assert item.not_audited and "--training" in item.not_audited
        else:
            assert item.kills >= 2 and item.reference_score == item.max_score, item


# ---- a weak rubric ----------------------------------------------------------------------


def test_weak_rubric_lets_focal_loss_mistakes_survive(tmp_path):
    rubric = write_rubric(tmp_path, WEAK_RUBRIC)
    out = tmp_path / "audit"
    done = subprocess.run([sys.executable, "-m", "grader", "audit", "--rubric", str(rubric), "--out", str(out), "--jobs", "2"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 1, done.stdout + done.stderr  # weighted_pt is a must_kill and survives
    assert "must_kill mutant survives: focal_loss.py:FocalLoss/named/weighted_pt" in done.stdout
    report = json.loads((out / "audit.json").read_text())
    outcome = {m["name"]: m["killed"] for m in report["mutants"]}
    assert outcome["weighted_pt"] is False and outcome["weight_normalised_mean"] is False
    assert outcome["dropped:gamma"] is False  # gamma 0 is the default: a gamma-free loss passes
    assert outcome["sum_reduction"] is True and outcome["dropped:weight"] is True
    assert report["summary"]["named"] == {"killed": 1, "total": 3, "score": 0.3333}
    assert report["must_kill_survivors"] == ["focal_loss.py:FocalLoss/named/weighted_pt"]
    killed = sum(m["killed"] for m in report["mutants"] if m["kind"] != "alternative")
    assert report["targets"][0]["killers"] == {"focal.one_per_class": killed}
    assert "weighted_pt" in (out / "audit.html").read_text()
    # A survivor is kept as a submission, and grading it as one gives it every point.
    kept = out / "survivors" / "focal_loss.py-FocalLoss-named-weighted_pt"
    assert "weighted_pt" in (kept / "focal_loss.py").read_text()
    result = grade_submission(kept, load_rubric(rubric))
    assert result.score == result.max_score == 2


def test_audit_is_the_same_when_run_again(tmp_path):
    rubric = load_rubric(write_rubric(tmp_path, WEAK_RUBRIC))
    first, second = (audit.run(rubric).to_dict() for _ in range(2))
    first.pop("seconds"), second.pop("seconds")
    assert first == second


def test_an_item_the_reference_fails_is_broken(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(WEAK_RUBRIC))
    data["audit"] = {}
    broken = dict(data["items"][0], id="focal.wrong_kind", returns="array")  # the loss is a tensor
    data["items"].append(broken)
    report = audit.run(load_rubric(write_rubric(tmp_path, data)))
    assert [item.id for item in report.broken_items()] == ["focal.wrong_kind"]
    assert report.failed()
    assert next(i for i in report.items if i.id == "focal.one_per_class").broken is False


def test_a_mutant_that_cannot_be_imported_is_an_error_not_a_kill(tmp_path, monkeypatch):
    rubric = load_rubric(write_rubric(tmp_path, {**WEAK_RUBRIC, "audit": {}}))
    real_plan = audit.plan

    def plan_with_a_broken_mutant(*args, **kwargs):
        planned = real_plan(*args, **kwargs)
        planned.mutants[0].text = "raise ImportError('built wrong')\n"
        return planned

    monkeypatch.setattr(audit, "plan", plan_with_a_broken_mutant)
    report = audit.run(rubric)
    broken = report.mutants[0]
    assert broken.error and not broken.killed and broken not in report.counted(broken.kind)
    assert any(broken.id in problem for problem in report.problems) and report.failed()


def test_a_correct_alternative_that_loses_points_fails_the_audit(tmp_path):
    # The kink convention matters at a kink: a case with a pre-activation of exactly 0 tells it apart.
    data = {
        "title": "Linear region at a kink", "requires": ["process", "rlimits"],
        "audit": {"alternatives": {"kink_active": {"target": "linear_region.py:linear_region",
                                                   "use": "reference.alternatives:kink_active", "reason": "relu'(0) = 1"}}},
        "items": [{"id": "region.kink", "name": "at a kink", "points": 1, "kind": "cases",
                   "target": {"file": "linear_region.py", "symbol": "linear_region"},
                   "reference": "reference.linear_region:linear_region",
                   "inputs": {"weights": "arrays", "biases": "arrays", "x0": "array"},
                   "cases": [{"weights": [[[1.0]], [[2.0]]], "biases": [[0.0], [0.0]], "x0": [0.0]}],
                   "returns": ["array", "array"]}],
    }
    report = audit.run(load_rubric(write_rubric(tmp_path, data)))
    assert [m.name for m in report.failed_alternatives()] == ["kink_active"]
    assert report.failed()


# ---- the pieces -----------------------------------------------------------------------


def test_the_operators_module_needs_only_numpy_and_torch():
    # It is copied into each mutant submission, where the grader's own files cannot be read.
    tree = ast.parse(Path(mutants.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "functools", "inspect", "numpy", "torch"}


def test_imports_of_the_reference_point_at_its_copy():
    source = "import reference.a\nimport reference.b as bee\nfrom reference.c import d\nfrom reference import e\nfrom . import f\nimport numpy\n"
    rewritten = audit._rewrite(source, {"reference"})
    assert rewritten.splitlines() == [
        "import _audited_reference.a", "reference = _audited_reference", "import _audited_reference.b as bee",
        "from _audited_reference.c import d", "from _audited_reference import e", "from . import f", "import numpy",
    ]


def test_answers_sharing_a_path_add_entries_or_agree(tmp_path):
    rubric = load_rubric(BUNDLED)
    items = [item for item in rubric.items if item.kind == "answers"]
    from grader.rubric import resolve

    text = audit.answers_text(items, {item.id: resolve(item.reference)(**item.args) for item in items})
    document = yaml.safe_load(text)
    assert [entry["x0"] for entry in document["linear_region"]] == [2, -1, 1]
    assert document["conv_matrix"]["A"][0][0] == "w(2,2)"
    assert document["linear_region"][0] == {"x0": 2, "W": 6.0, "b": 3.0}
