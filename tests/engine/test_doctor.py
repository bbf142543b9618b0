"""grader doctor: every layer named, what strict grading would refuse, and the rubric's requirements."""

import dataclasses
from pathlib import Path

import pytest

from grader import api, cli
from grader.api import grade_submission
from grader.boundary import IsolationError
from grader.rubric import RubricError, load_rubric

from .test_malformed import ADA

BUNDLED_RUBRIC = Path(__file__).resolve().parents[2] / "rubrics" / "assignment2.yaml"
LAYER_NAMES = ("namespaces", "network", "hidden paths", "uid drop", "no_new_privs", "rlimits", "landlock", "seccomp", "cgroups")


def test_doctor_names_every_layer_and_passes_on_this_machine(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    for name in LAYER_NAMES:
        assert name in out
    assert "grader grade --strict: would run" in out
    assert "requires process, rlimits: all present" in out


def test_doctor_fails_when_the_rubric_needs_a_missing_layer(tmp_path, capsys, monkeypatch):
    real = api.probe_isolation()
    monkeypatch.setattr(api, "probe_isolation", lambda: {**real, "network": False, "namespaces": False})
    rubric = tmp_path / "rubric.yaml"
    source = BUNDLED_RUBRIC.read_text().replace("requires: [process, rlimits]", "requires: [process, network]")
    rubric.write_text(source)
    assert cli.main(["doctor", "--rubric", str(rubric)]) == 1
    out = capsys.readouterr().out
    assert "would refuse, missing network" in out and "MISSING network; grading would refuse" in out


def test_rubric_names_only_known_layers(tmp_path):
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(BUNDLED_RUBRIC.read_text().replace("requires: [process, rlimits]", "requires: [process, apparmor]"))
    with pytest.raises(RubricError, match="unknown isolation layer 'apparmor'"):
        load_rubric(rubric)


def test_grading_refuses_when_a_required_layer_is_missing(rubric, zygote):
    demanding = dataclasses.replace(rubric, requires=("process", "cgroups"))  # no child reports cgroups
    with pytest.raises(IsolationError, match="the rubric requires every layer it names: .*cgroups"):
        grade_submission(ADA, demanding, zygote=zygote, items=["conv_matrix.published"])
