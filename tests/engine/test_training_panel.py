"""The bundled rubric's training items on the calibration panel, graded through the real engine.

A model that learns nothing earns nothing on any training item; a textbook CNN with no
config.yaml earns everything, and only the weighted focal loss earns the long-tail item.
The whole panel (five architectures) is run by benchmarks/calibrate_training.py; here the two
cheapest sound ones keep the suite's cost down.
"""

import io
from pathlib import Path

import pytest
import torch
import yaml

from grader.api import grade_submission
from tests.engine import panel_models

ROOT = Path(__file__).resolve().parents[2]
PANEL_SOURCE = Path(panel_models.__file__).read_text()
TRAINING_ITEMS = ["cnn.accuracy", "cnn.checkpoint", "cnn.long_tail"]


def panel_submission(folder: Path, architecture: str, loss_source: str | None = None) -> Path:
    """my_model.py is the panel with `MyModel = <architecture>`; focal_loss.py the reference's, or the one given."""
    folder.mkdir(parents=True)
    (folder / "my_model.py").write_text(f"{PANEL_SOURCE}\n\nMyModel = {architecture}\n")
    (folder / "focal_loss.py").write_text(loss_source or (ROOT / "reference" / "focal_loss.py").read_text())
    return folder


def weightless_focal_loss() -> str:
    """The reference FocalLoss with its weights ignored: the mistake the long-tail item exists to catch."""
    source = (ROOT / "reference" / "focal_loss.py").read_text()
    ignored = source.replace("        if self.weight is not None:", "        if False:")
    assert ignored != source
    return ignored


@pytest.mark.parametrize("architecture", panel_models.LEARN_NOTHING)
def test_a_model_that_learns_nothing_earns_nothing(tmp_path, rubric, zygote, architecture):
    folder = panel_submission(tmp_path / architecture, architecture)
    model = getattr(panel_models, architecture)()
    with torch.no_grad():  # a checkpoint that prefers one class, as a trained constant does
        next(iter(model.parameters())).copy_(torch.arange(float(next(iter(model.parameters())).numel())))
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "my_model.pt").write_bytes(buffer.getvalue())
    result = grade_submission(folder, rubric, zygote=zygote, items=TRAINING_ITEMS)
    for item in result.items:
        assert item.score == 0 and item.status == "failed", f"{item.id}: {item.output}"
    for item_id in ("cnn.accuracy", "cnn.checkpoint"):
        run = next(iter(result.item(item_id).details["runs"].values()))
        assert run["balanced_accuracy"] == pytest.approx(0.1), "one class for every image"
    long_tail = result.item("cnn.long_tail")
    runs = long_tail.details["runs"]
    assert [runs[label]["balanced_accuracy"] for label in ("cross-entropy", "your loss")] == pytest.approx([0.1, 0.1])
    assert long_tail.details["gain"] == pytest.approx(0.0) and long_tail.details["floor"] > 0.1
    assert "below the 30.0% this item asks of it (chance is 10.0%)" in long_tail.output


@pytest.mark.parametrize("architecture", ["GapCNN", "LeNet"])
def test_a_sound_model_with_no_config_earns_full_marks(tmp_path, rubric, zygote, architecture):
    result = grade_submission(panel_submission(tmp_path / architecture, architecture), rubric, zygote=zygote,
                              items=["cnn.accuracy", "cnn.long_tail"])
    accuracy, long_tail = result.item("cnn.accuracy"), result.item("cnn.long_tail")
    assert accuracy.status == "passed" and accuracy.score == accuracy.max_score, accuracy.output
    assert long_tail.status == "passed" and long_tail.score == long_tail.max_score, long_tail.output
    # Room on both sides: the gain is well over the margin, the run well over the floor.
    assert long_tail.details["gain"] >= 1.5 * long_tail.details["margin"]
    assert long_tail.details["runs"]["your loss"]["balanced_accuracy"] >= long_tail.details["floor"] + 0.2
    assert "Balanced accuracy" in long_tail.output and "On the rarest half of the classes (5, 6, 7, 8, 9)" in long_tail.output


def test_the_textbook_model_tells_a_weightless_focal_loss_apart(tmp_path, rubric, zygote):
    folder = panel_submission(tmp_path / "weightless", "GapCNN", weightless_focal_loss())
    item = grade_submission(folder, rubric, zygote=zygote, items=["cnn.long_tail"]).item("cnn.long_tail")
    assert item.status == "failed" and item.score == 0, item.output
    assert item.details["gain"] < item.details["margin"] / 2
    assert item.details["runs"]["your loss"]["balanced_accuracy"] >= item.details["floor"], "it fails on the margin alone"



def test_the_learned_constant_that_gamed_the_rare_half_is_denied(tmp_path, zygote):
    """Under the former recipe (SGD at 0.05, 5 epochs) the bias-only model's weighted run answers a
    rare class: +20 points on the rare half, which the former rule credited. Balanced accuracy stays at chance."""
    data = yaml.safe_load((ROOT / "rubrics" / "assignment2.yaml").read_text())
    data["items"] = [item for item in data["items"] if item["id"] == "cnn.long_tail"]
    data["items"][0]["recipe"].update(optimizer="sgd", lr=0.05, epochs=5)
    path = tmp_path / "former.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    folder = panel_submission(tmp_path / "bias", "BiasOnly")
    item = grade_submission(folder, path, zygote=zygote).item("cnn.long_tail")
    assert item.details["minority_gain"] >= 0.2, "the former rule's margin is met"
    assert item.status == "failed" and item.score == 0 and item.details["gain"] == pytest.approx(0.0), item.output
