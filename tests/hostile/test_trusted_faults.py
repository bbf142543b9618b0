"""A fault on the trusted side, caused by one submission, costs that submission (or item) alone.

And hidden items each get a fresh child over a fresh copy of the files, so nothing a
submission learns or leaves behind while serving one item reaches another item.
"""

import csv
import os
import tempfile

import pytest

import grader.api as api
from grader.batch import grade_folder
from grader.checks import RUNNERS

from .conftest import grade, plant

VISIBLE = ["conv_matrix.published", "softmax.stability"]
HIDDEN = ["conv_matrix.rectangular", "linear_region.deep"]


def _scratch_folders() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("grader-")}


def test_a_fault_in_one_check_costs_that_item_only(tmp_path, bundled, zygote, monkeypatch):
    real = RUNNERS["cases"]

    def overflowing(ctx, item):
        if item.id == "conv_matrix.published":
            return float(10 ** 401)  # what a student's 401-digit config value once did to trusted code
        return real(ctx, item)

    monkeypatch.setitem(RUNNERS, "cases", overflowing)
    result = grade(plant(tmp_path, {}), bundled, zygote, ["conv_matrix.published"], ["softmax.stability"])
    broken = result.item("conv_matrix.published")
    assert broken.status == "error" and broken.output.startswith("grader error: checking conv_matrix.published failed")
    assert "OverflowError" in broken.output
    assert result.item("softmax.stability").status == "passed"


@pytest.mark.parametrize("stage", ["sandbox_plan", "materialise"])
def test_a_fault_while_preparing_a_submission_is_its_result_and_leaves_no_copy(tmp_path, bundled, zygote,
                                                                                monkeypatch, stage):
    def fail(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    if stage == "materialise":
        monkeypatch.setattr("grader.submission.Submission.write_into", fail)
    else:
        monkeypatch.setattr(api, "sandbox_plan", fail)
    before = _scratch_folders()
    result = grade(plant(tmp_path, {}), bundled, zygote, VISIBLE, [])
    assert all(item.status == "error" and "RecursionError" in item.output for item in result.items)
    assert all(item.output.startswith(("grader error: grading this submission failed", "The submission could not"))
               for item in result.items)
    assert _scratch_folders() <= before


def test_one_job_grades_on_past_a_submission_that_breaks_the_grader(tmp_path, bundled, monkeypatch):
    folder = tmp_path / "class"
    folder.mkdir()
    plant(folder, {}, "ada")
    plant(folder, {}, "bob")
    real = api.open_submission

    def breaks_on_bob(path):
        if os.path.basename(path) == "bob":
            raise MemoryError("the archive listing did not fit")
        return real(path)

    monkeypatch.setattr(api, "open_submission", breaks_on_bob)
    batch = grade_folder(folder, bundled, tmp_path / "out", jobs=1, select={"ada": VISIBLE, "bob": VISIBLE})
    rows = {row["student"]: row for row in csv.DictReader(open(tmp_path / "out" / "gradebook.csv"))}
    assert set(rows) == {"ada", "bob"} and float(rows["ada"]["score"]) == 3 and float(rows["bob"]["score"]) == 0
    bob = next(result for result in batch.results if result.student == "bob")
    assert "MemoryError: the archive listing did not fit" in bob.items[0].output


# Each module keeps a trace in its folder; a function that finds another file's trace there
# (or in its own process) answers wrongly. Only a fresh child over fresh files passes both.
TRACE = '''
import os, sys
_MINE = {mine!r}
with open("trace.txt", "a") as _log:
    _log.write(_MINE + "\\n")
def _others():
    with open("trace.txt") as handle:
        seen = set(handle.read().split())
    return (seen - {{_MINE}}) or [m for m in sys.modules if m in {{"conv_matrix", "linear_region"}} - {{_MINE}}]
'''


def test_each_hidden_item_runs_in_a_fresh_child_over_fresh_files(tmp_path, bundled, zygote, monkeypatch):
    from tests.hostile.conftest import ADA

    files = {}
    for module, function in (("conv_matrix", "conv_as_matrix"), ("linear_region", "linear_region")):
        source = (ADA / f"{module}.py").read_text()
        source = source.replace(f"def {function}(", f"def _honest_{function}(", 1)
        files[f"{module}.py"] = (TRACE.format(mine=module) + source + f'''
def {function}(*args, **kwargs):
    if _others():
        return None
    return _honest_{function}(*args, **kwargs)
''')
    result = grade(plant(tmp_path, files), bundled, zygote, HIDDEN, ["softmax.stability"])
    assert [result.item(i).status for i in HIDDEN] == ["passed", "passed"], [result.item(i).output for i in HIDDEN]
    assert result.timing["process_starts"] == 1 + len(HIDDEN)
    # Served by one child, the second item would see the first: the attack is real.
    monkeypatch.setattr(api, "child_groups", lambda selected: [selected])
    shared = grade(plant(tmp_path / "again", files), bundled, zygote, HIDDEN, [])
    assert [shared.item(i).status for i in HIDDEN] == ["passed", "failed"]


STREAMER = '''
import json, os, struct, time
from softmax_honest import *  # noqa: F401,F403
from softmax_honest import softmax as _honest

def _channel():
    return next(int(fd) for fd in os.listdir("/proc/self/fd") if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"))

def softmax(*args, **kwargs):
    head = json.dumps({"progress": {"epoch": 1}}).encode()
    report, started = struct.pack("!IQ", 0, len(head)) + head, time.monotonic()
    while time.monotonic() - started < 6:  # progress reports past the call's limit, then the right answer
        os.write(_channel(), report)
        time.sleep(0.01)
    return _honest(*args, **kwargs)
'''


def test_progress_reports_do_not_outrun_a_calls_limit(tmp_path, zygote):
    import yaml

    from grader.rubric import load_rubric
    from tests.hostile.conftest import ADA, RUBRIC

    data = yaml.safe_load(RUBRIC.read_text())
    data["items"] = [item for item in data["items"] if item["id"] == "softmax.stability"]
    data["items"][0]["timeout_s"] = 1.5
    rubric_path = tmp_path / "rubric" / "r.yaml"
    rubric_path.parent.mkdir()
    rubric_path.write_text(yaml.safe_dump(data, sort_keys=False))
    folder = plant(tmp_path, {"softmax_honest.py": (ADA / "softmax_classifier.py").read_text(),
                              "softmax_classifier.py": STREAMER})
    result = api.grade_submission(folder, load_rubric(rubric_path), zygote=zygote)
    item = result.item("softmax.stability")
    assert item.status == "timeout" and item.score == 0, item.output
    assert result.timing["items_s"]["softmax.stability"] < 4
