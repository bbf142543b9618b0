"""A property item's drawn inputs depend on the rubric, the item and the library versions only.

Hypothesis mixes constants found in the source of "local" modules (anything
loaded from outside site-packages and the standard library) into generation.
Which modules are loaded differs between `grader check`, the Python API and a
batch worker, and between an editable and a regular install, so the grader
turns that off for its own draws. These tests draw the bundled rubric's tables
in fresh processes that imported different things and compare them byte for byte.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUBRIC = ROOT / "rubrics" / "assignment2.yaml"

# Prints {item id: sha256 of the encoded table (inputs and reference answers)} for every property item.
DRAW = r"""
import hashlib, importlib, json, sys
for name in filter(None, sys.argv[1].split(",")):
    importlib.import_module(name)
import torch
from grader.boundary.codec import encode_value
from grader.checks import property as prop
from grader.rubric import load_rubric

rubric = load_rubric(sys.argv[2])
digests = {}
for item in rubric.items:
    if item.kind == "property":
        table = prop.replay(rubric, item)
        header, blobs = encode_value([[inputs, expected] for inputs, expected in table], torch)
        hasher = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
        for blob in blobs:
            hasher.update(len(blob).to_bytes(8, "big") + blob)
        digests[item.id] = hasher.hexdigest()
print(json.dumps(digests))
"""

# Constants of the kinds the bundled strategies draw (small ints, floats in their ranges), and odd ones.
ODD = """
SIZES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97)
NEGATIVE = (-2, -3, -4, -5, -6, -7, -9, -11, -13, -17, -19, -23)
SCALES = (0.017, 0.123456789, 0.3333, 0.7071, 1.4142, 2.718281828, 3.14159, 4.669201, 6.02e23, 1e-07, -0.577215, -1.618034)
WORDS = ("penguin", "zebra", "quokka", "axolotl")
"""

OTHER = """
PRIMES = (101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193, 197)
SMALL = (2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28)
FLOATS = (0.0625, 0.271828, 0.4142, 0.8660254, 1.2020569, 1.7320508, 2.5029, 9.81, 299792458.0, -0.25, -3.5, -42.0)
"""


def _start(modules: list[str], path: Path) -> subprocess.Popen:
    env = dict(os.environ, GRADER_CACHE_DIR="off",
               PYTHONPATH=os.pathsep.join(filter(None, [str(path), os.environ.get("PYTHONPATH")])))
    return subprocess.Popen([sys.executable, "-c", DRAW, ",".join(modules), str(RUBRIC)], cwd=path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _digests(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return json.loads(out)


@pytest.fixture
def rubric(bundled):  # the hostile suite's name for the bundled rubric
    return bundled


def test_every_process_draws_the_same_tables(tmp_path):
    """The CLI's, the API's and a batch worker's imports, each with local modules of their own."""
    folders = {}
    for variant, source in [("cli", ODD), ("api", ""), ("batch", OTHER)]:
        folders[variant] = tmp_path / variant
        folders[variant].mkdir()
        if source:
            (folders[variant] / "course_constants.py").write_text(source)
    running = {
        "cli": _start(["rich", "rich.progress", "grader.cli", "course_constants"], folders["cli"]),
        "api": _start(["grader.api"], folders["api"]),
        "batch": _start(["grader.batch", "course_constants"], folders["batch"]),
    }
    drawn = {variant: _digests(process) for variant, process in running.items()}
    assert len(drawn["api"]) == 9  # every property item of the bundled rubric
    differing = sorted(item for item in drawn["api"] if len({d[item] for d in drawn.values()}) > 1)
    assert not differing, f"{len(differing)} of {len(drawn['api'])} tables depend on the process's imports: {differing}"
    assert not (tmp_path / "cli" / ".hypothesis").exists()  # no constants were harvested (and cached) there


def test_the_draw_ignores_local_constants_in_process(rubric, tmp_path, monkeypatch):
    """In one process: importing a module full of constants changes nothing the grader draws.

    Fails if a Hypothesis release moves the local-constants machinery the grader turns off.
    """
    from grader.checks import property as prop

    item = next(item for item in rubric.items if item.id == "softmax.softmax")
    monkeypatch.setenv("GRADER_CACHE_DIR", "off")
    monkeypatch.setattr(prop, "_replays", {})
    before = _table_digest(prop, rubric, item)
    (tmp_path / "many_constants_here.py").write_text(ODD + OTHER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    __import__("many_constants_here")
    try:
        monkeypatch.setattr(prop, "_replays", {})
        assert _table_digest(prop, rubric, item) == before
    finally:
        sys.modules.pop("many_constants_here", None)


def _table_digest(prop, rubric, item) -> str:
    import torch

    from grader.boundary.codec import encode_value

    header, blobs = encode_value([[inputs, expected] for inputs, expected in prop.replay(rubric, item)], torch)
    hasher = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    for blob in blobs:
        hasher.update(len(blob).to_bytes(8, "big") + blob)
    return hasher.hexdigest()


class _FailsOnlyOnTheReplayedInput:
    """A student function judged wrong on one replayed input object, and right on anything the live search draws."""

    def __init__(self, table, index: int, again: bool):
        self.inputs, self.expected = table[index]
        self.again = again  # whether it is still wrong when that input is judged once more
        self.calls = []

    def __call__(self, ctx, item, inputs, expected=None):
        import numpy as np

        from grader.checks.common import Attempt, Verdict

        self.calls.append(inputs is self.inputs)
        if inputs is not self.inputs or (self.calls.count(True) > 1 and not self.again):
            return Attempt(inputs, expected, None)
        return Attempt(inputs, expected, Verdict("failed", "the result differs at index (0,)"), np.zeros(3))


def _property_run(rubric, monkeypatch, judge):
    import dataclasses
    import types

    from grader.checks import property as prop

    item = dataclasses.replace(next(item for item in rubric.items if item.id == "softmax.softmax"), examples=10)
    monkeypatch.setenv("GRADER_CACHE_DIR", "off")
    monkeypatch.setattr(prop, "_replays", {})
    table = prop.replay(rubric, item)
    judge = judge(table)
    monkeypatch.setattr(prop, "attempt", judge)
    ctx = types.SimpleNamespace(rubric=rubric, explain=True, target_problem=lambda item: None)
    return prop.run(ctx, item), judge, table


def test_a_replayed_failure_the_live_search_misses_is_reported_not_passed(rubric, monkeypatch):
    from grader.checks.common import shown

    verdict, judge, table = _property_run(rubric, monkeypatch, lambda table: _FailsOnlyOnTheReplayedInput(table, 3, True))
    assert verdict.status == "failed", verdict.output
    assert verdict.output.startswith("Failed on this input:\nThe result differs at index (0,).")
    assert verdict.counterexample["input"] == shown(table[3][0])
    assert judge.calls.count(False) > 4  # the rest of the replay, then a live search that found nothing
    assert judge.calls[-1] is True  # and the table's failure judged once more


def test_a_replayed_failure_that_does_not_recur_keeps_its_first_verdict(rubric, monkeypatch):
    from grader.checks.common import shown

    verdict, judge, table = _property_run(rubric, monkeypatch, lambda table: _FailsOnlyOnTheReplayedInput(table, 3, False))
    assert verdict.status == "failed", verdict.output
    assert verdict.output.startswith("Failed on this input:\nThe result differs at index (0,).")
    assert verdict.counterexample["input"] == shown(table[3][0])
    assert judge.calls.count(True) == 2
