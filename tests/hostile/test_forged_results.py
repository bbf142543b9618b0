"""Code that forges result files or prints a verdict changes no score.

Grading goes through the batch path, so that there is a real output folder to aim at: the
forger knows its absolute path (as if it had guessed it), and tries it, the folders above its
working directory, /proc's view of other processes' folders, and Gradescope's results path.
"""

import csv
import dataclasses
import json
import os
from pathlib import Path

import pytest

import grader.boundary.zygote
from grader.api import grade_submission
from grader.batch import grade_folder
from tests.hostile.conftest import ADA, ROOT, plant

pytestmark = pytest.mark.layers("filesystem")

MARKER = "FORGED-BY-MALLORY"
PRINTED = "PRINTED-BY-MALLORY"
ATTACKED = "softmax.stability"
ITEMS = ("conv_matrix.published", "softmax.stability", "focal_loss.reweight_published", "theory.conv_matrix.shape")
NAMES = ("result.json", "results.json", "gradebook.csv")


def forger(out: Path) -> str:
    """softmax_classifier.py whose softmax is wrong but writes and prints full marks everywhere it can."""
    targets = [".", "..", "../..", "../../..", str(out), str(out / "mallory"), str(out / "bob"),
               "/autograder/results", "/autograder", "/tmp", "/", str(ROOT),
               "/proc/self/cwd/..", "/proc/1/cwd", "/proc/1/root/tmp"]
    return f'''import json, os
import numpy as np

MARKER = {MARKER!r}
TARGETS = {targets!r}
FAKE = {{"score": 999, "max_score": 6, "student": "mallory", "note": MARKER,
         "items": [{{"id": {ATTACKED!r}, "score": 999, "status": "passed", "output": MARKER}}],
         "tests": [{{"name": "everything", "score": 999, "max_score": 1, "output": MARKER}}]}}


def forge():
    written = []
    targets = TARGETS + ["/proc/%d/cwd" % os.getppid()]
    for folder in targets:
        for name in ("result.json", "results.json", "gradebook.csv"):
            path = os.path.join(folder, name)
            text = json.dumps(FAKE) if name.endswith(".json") else "student,score,max_score\\nmallory,999,6\\n" + MARKER
            try:
                os.makedirs(folder, exist_ok=True)
                with open(path, "w") as handle:
                    handle.write(text)
                written.append(path)
            except OSError:
                pass
    return written


forge()  # at import time too


def softmax(logits):
    written = forge()
    print("All tests passed")
    print(json.dumps({{"score": 999, "status": "passed", "id": {ATTACKED!r}, "note": {PRINTED!r}}}))
    print("wrote", written)
    return np.zeros(np.shape(logits))
'''


@pytest.fixture
def small(bundled):
    return dataclasses.replace(bundled, items=tuple(item for item in bundled.items if item.id in ITEMS))


def forged_files(*roots: Path) -> list[Path]:
    """Files under `roots` (searched recursively) that hold the forger's marker, but for its own source."""
    found = []
    for root in roots:
        paths = [root] if root.is_file() else root.rglob("*") if root.is_dir() else []
        for path in paths:
            try:
                if path.is_file() and path.suffix != ".py" and MARKER.encode() in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


def test_forged_result_files_and_printed_verdicts_change_no_score(tmp_path, small, zygote, monkeypatch):
    monkeypatch.setattr(grader.boundary.zygote, "_shared", zygote)  # the batch grades with the suite's zygote
    out = tmp_path / "out"
    folder = tmp_path / "submissions"
    mallory = plant(folder, {"softmax_classifier.py": forger(out)}, name="mallory")
    bob = plant(folder, {}, name="bob")

    batch = grade_folder(folder, small, out)

    # What the engine computes for each, graded directly (mallory forges again, to no effect).
    engine = {path.name: grade_submission(path, small, zygote=zygote) for path in (mallory, bob)}
    assert engine["mallory"].item(ATTACKED).score == 0 and engine["bob"].score == engine["bob"].max_score
    assert {r.student: r.score for r in batch.results} == {name: r.score for name, r in engine.items()}

    for name, expected in engine.items():
        written = json.loads((out / name / "result.json").read_text())
        assert written["student"] == name
        assert written["score"] == expected.score and written["max_score"] == expected.max_score
        assert [(i["id"], i["score"], i["status"]) for i in written["items"]] == \
               [(i.id, i.score, i.status) for i in expected.items]
    attacked = json.loads((out / "mallory" / "result.json").read_text())["items"]
    attacked = next(item for item in attacked if item["id"] == ATTACKED)
    assert (attacked["score"], attacked["status"]) == (0.0, "failed")

    with open(out / "gradebook.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {"mallory", "bob"}
    for name, expected in engine.items():
        assert float(rows[name]["score"]) == expected.score
        assert all(float(rows[name][item.id]) == item.score for item in expected.items)

    # No forged file anywhere the grader, Gradescope or a TA would look.
    places = [out, tmp_path, ROOT / "result.json", ROOT / "results.json", ROOT / "gradebook.csv",
              Path("/autograder"), *(Path("/tmp", name) for name in NAMES), *(Path("/", name) for name in NAMES),
              *(Path(os.getcwd(), name) for name in NAMES), ADA]
    assert forged_files(*places) == []
    assert not Path("/autograder/results/results.json").exists()

    # The printed verdict is only the student's printed output, shown with the failure.
    output = next(item for item in batch.results if item.student == "mallory").item(ATTACKED).output
    assert output.startswith("The result") and "Your code printed:\nAll tests passed" in output
    assert PRINTED in output
    # Of all its targets, the forger could write only in its own scratch folder, which is then discarded.
    assert "wrote ['./result.json', './results.json', './gradebook.csv']\n" in output
    for name in ("mallory", "bob"):
        feedback = (out / name / "feedback.md").read_text()
        assert MARKER not in feedback


def test_a_forger_that_answers_right_gets_exactly_the_points_it_earns(tmp_path, small, zygote, monkeypatch):
    """The forgery is not punished either: a right answer beside it earns the item, no more."""
    monkeypatch.setattr(grader.boundary.zygote, "_shared", zygote)
    out = tmp_path / "out"
    folder = tmp_path / "submissions"
    source = forger(out).replace("return np.zeros(np.shape(logits))",
                                 "z = np.asarray(logits, dtype=np.float64)\n"
                                 "    e = np.exp(z - z.max(axis=1, keepdims=True))\n"
                                 "    return e / e.sum(axis=1, keepdims=True)")
    plant(folder, {"softmax_classifier.py": source}, name="mallory")
    batch = grade_folder(folder, small, out)
    written = json.loads((out / "mallory" / "result.json").read_text())
    assert written["score"] == written["max_score"] == small.max_score == batch.results[0].score
    assert forged_files(out, tmp_path) == []
