"""Training checks: the child trains or loads the student's model; accuracy is scored here.

Small models and one epoch keep most of these fast; the bundled rubric's items
are exercised with the reference model and the bundled submissions.
"""

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from grader.api import grade_submission
from grader.boundary import session
from grader.boundary.session import WALL_FACTOR, WALL_GRACE_S
from grader.checks import training
from reference.data import training_data

ROOT = Path(__file__).resolve().parents[2]
SUBMISSIONS = ROOT / "submissions"

TINY_MODEL = """
import torch
from torch import nn

class MyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.AvgPool2d(4), nn.Flatten(), nn.Linear(3 * 8 * 8, 10))

    def forward(self, x):
{forward}
"""


def tiny_rubric(tmp_path, **overrides) -> Path:
    item = {
        "id": "cnn.tiny", "name": "tiny", "points": 2, "kind": "training",
        "target": {"file": "my_model.py", "symbol": "MyModel"}, "reference": "reference.my_model:MyModel",
        "data": {"loader": "reference.data:training_data", "source": "digits"},
        "recipe": {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "epochs": 1, "batch_size": 64},
        "tiers": [{"above": 0.5, "points": 1}, {"above": 0.8, "points": 1}], "timeout_s": 60,
    }
    item.update(overrides)
    path = tmp_path / "rubric.yaml"
    path.write_text(yaml.safe_dump({"title": "T", "submission_timeout_s": 120, "items": [item]}))
    return path


def submission(tmp_path, forward="        return self.net(x)", files=None, name="student") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "my_model.py").write_text(TINY_MODEL.format(forward=forward))
    for relative, content in (files or {}).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (folder / relative).write_bytes(content)
        else:
            (folder / relative).write_text(content)
    return folder


def reference_submission(tmp_path) -> Path:
    """The reference model and loss, submitted as a student would, with no config."""
    folder = tmp_path / "reference_student"
    folder.mkdir()
    shutil.copyfile(ROOT / "reference" / "my_model.py", folder / "my_model.py")
    shutil.copyfile(ROOT / "reference" / "focal_loss.py", folder / "focal_loss.py")
    return folder


def test_tiny_model_trains_and_is_scored_in_the_trusted_process(tmp_path, zygote):
    result = grade_submission(submission(tmp_path), tiny_rubric(tmp_path), zygote=zygote)
    item = result.items[0]
    assert item.status == "passed", item.output
    run = item.details["runs"]["train"]
    assert run["accuracy"] > 0.8 and len(run["per_class"]) == 10 and len(run["loss_curve"]) == 1
    assert item.details["device"] == "cpu" and item.details["parameters"] == 3 * 8 * 8 * 10 + 10
    assert "Accuracy per class" in item.output and "on cpu" in item.output


def test_reference_model_passes_every_tier_of_the_bundled_rubric(tmp_path, rubric, zygote):
    result = grade_submission(reference_submission(tmp_path), rubric, zygote=zygote, items=["cnn.accuracy"])
    item = result.item("cnn.accuracy")
    assert item.status == "passed" and item.score == 6, item.output
    assert all(tier["reached"] for tier in item.details["tiers"])


def test_reference_model_and_loss_pass_the_long_tail(tmp_path, rubric, zygote):
    """`grader audit --training` grades the reference this way and requires every point."""
    item = grade_submission(reference_submission(tmp_path), rubric, zygote=zygote, items=["cnn.long_tail"]).item("cnn.long_tail")
    assert item.status == "passed" and item.score == 4, item.output
    assert item.details["runs"]["your loss"]["balanced_accuracy"] >= item.details["floor"] + 0.3


def test_focal_loss_that_ignores_its_weights_is_denied(tmp_path, rubric, zygote):
    student = tmp_path / "olga"
    shutil.copytree(SUBMISSIONS / "ada_lovelace", student)
    source = (student / "focal_loss.py").read_text()
    ignored = source.replace("        if self.weight is not None:", "        if False:")
    assert ignored != source
    (student / "focal_loss.py").write_text(ignored)
    result = grade_submission(student, rubric, zygote=zygote, items=["cnn.long_tail"])
    item = result.item("cnn.long_tail")
    assert item.status == "failed" and item.score == 0, item.output
    assert item.details["gain"] < item.details["margin"]
    assert item.details["minority"] == [5, 6, 7, 8, 9] and item.details["train_counts"][0] > item.details["train_counts"][9]
    assert "cross-entropy" in item.output and "your loss" in item.output


def test_long_tail_is_judged_on_balanced_accuracy_not_the_rare_half(tmp_path, rubric, zygote):
    """Jack's loss lets the class weight into p_t: the rare half rises, the frequent classes collapse."""
    item = grade_submission(SUBMISSIONS / "jack_weighted_pt", rubric, zygote=zygote, items=["cnn.long_tail"]).item("cnn.long_tail")
    runs = item.details["runs"]
    assert item.details["minority_gain"] >= item.details["margin"], "the rare half alone would credit it"
    assert item.status == "failed" and item.details["gain"] < 0, item.output
    for label, run in runs.items():
        per_class = run["per_class"]
        assert run["balanced_accuracy"] == pytest.approx(sum(per_class) / len(per_class), abs=1e-6)
        assert run["minority_accuracy"] == pytest.approx(sum(per_class[5:]) / 5, abs=1e-6)
    assert f"{100 * runs['your loss']['minority_accuracy']:.1f}% with your loss." in item.output


def test_constant_model_gets_nothing(tmp_path, zygote):
    forward = "        return torch.zeros(x.shape[0], 10) + 0 * self.net(x)"
    item = grade_submission(submission(tmp_path, forward), tiny_rubric(tmp_path), zygote=zygote).items[0]
    assert item.status == "failed" and item.score == 0
    assert item.details["runs"]["train"]["accuracy"] == pytest.approx(0.1, abs=0.02)


def test_partial_credit_from_tiers(tmp_path, zygote):
    rubric = tiny_rubric(tmp_path, tiers=[{"above": 0.5, "points": 1}, {"above": 0.999, "points": 1}])
    item = grade_submission(submission(tmp_path), rubric, zygote=zygote).items[0]
    assert item.status == "partial" and item.score == 1 and item.max_score == 2


def test_forward_that_raises_is_an_error(tmp_path, zygote):
    forward = "        raise RuntimeError('shape mismatch in my head')"
    item = grade_submission(submission(tmp_path, forward), tiny_rubric(tmp_path), zygote=zygote).items[0]
    assert item.status == "error" and "shape mismatch in my head" in item.output and item.score == 0


def test_slow_model_times_out_instead_of_hanging(tmp_path, zygote):
    forward = "        import time; time.sleep(0.5)\n        return self.net(x)"
    rubric = tiny_rubric(tmp_path, timeout_s=1)
    result = grade_submission(submission(tmp_path, forward), rubric, zygote=zygote)
    item = result.items[0]
    assert item.status == "timeout" and item.score == 0, item.output
    # Training counts CPU time: a model that sleeps is stopped by the wall-clock backstop, unless its
    # setup alone already projects past the limit; either way it says so.
    assert "waited rather than computed" in item.output or "training stopped: at this pace" in item.output
    assert result.timing["total_s"] < WALL_FACTOR * 1 + WALL_GRACE_S + 5


def test_model_over_max_params_is_refused_untrained(tmp_path, zygote):
    rubric = tiny_rubric(tmp_path, max_params=500)
    reports = []
    result = grade_submission(submission(tmp_path), rubric, zygote=zygote, progress=lambda *report: reports.append(report))
    item = result.items[0]
    assert item.status == "failed" and "1,930 parameters" in item.output and "limit of 500" in item.output
    assert reports == [], "refused before any training"


def test_wrong_output_shape_is_explained(tmp_path, zygote):
    forward = "        return self.net(x)[:, :3]"
    item = grade_submission(submission(tmp_path, forward), tiny_rubric(tmp_path, recipe={"epochs": 1}), zygote=zygote).items[0]
    assert item.status == "error"
    assert "forward returned shape (64, 3) for a batch of 64 images; expected (64, 10)" in item.output


def _checkpoint_bytes(state: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def _trained_state(tmp_path) -> dict:
    namespace: dict = {}
    exec(TINY_MODEL.format(forward="        return self.net(x)"), namespace)
    torch.manual_seed(0)
    return namespace["MyModel"]().state_dict()


def checkpoint_rubric(tmp_path, **overrides):
    return tiny_rubric(tmp_path, mode="checkpoint", checkpoint="checkpoints/model.pt", recipe={},
                       tiers=[{"above": 0.0, "points": 1}, {"above": 0.99, "points": 1}], **overrides)


def test_checkpoint_is_loaded_and_evaluated(tmp_path, zygote):
    state = _trained_state(tmp_path)
    folder = submission(tmp_path, files={"checkpoints/model.pt": _checkpoint_bytes(state)})
    item = grade_submission(folder, checkpoint_rubric(tmp_path), zygote=zygote).items[0]
    assert item.status == "partial" and item.details["runs"]["checkpoint"]["loss_curve"] == [], item.output
    assert "Loaded checkpoints/model.pt" in item.output


def test_checkpoint_with_wrong_keys_names_them(tmp_path, zygote):
    state = _trained_state(tmp_path)
    state["head.weight"] = state.pop("net.2.weight")
    folder = submission(tmp_path, files={"checkpoints/model.pt": _checkpoint_bytes(state)})
    item = grade_submission(folder, checkpoint_rubric(tmp_path), zygote=zygote).items[0]
    assert item.status == "error"
    assert "missing from the checkpoint: net.2.weight" in item.output and "not in the model: head.weight" in item.output


def test_checkpoint_that_runs_code_is_refused(tmp_path, zygote):
    class Payload:
        def __reduce__(self):
            return (open, ("pwned", "w"))

    buffer = io.BytesIO()
    torch.save({"net.2.weight": Payload()}, buffer)
    folder = submission(tmp_path, files={"checkpoints/model.pt": buffer.getvalue()})
    item = grade_submission(folder, checkpoint_rubric(tmp_path), zygote=zygote).items[0]
    assert item.status == "error" and "weights_only" in item.output.lower() or "Unpickl" in item.output
    assert not any(p.name == "pwned" for p in tmp_path.rglob("*"))


def test_missing_checkpoint_is_missing(tmp_path, zygote):
    item = grade_submission(submission(tmp_path), checkpoint_rubric(tmp_path), zygote=zygote).items[0]
    assert item.status == "missing" and item.output == \
        "Not graded: checkpoints/model.pt was not submitted (see the submission's problems)."


def test_config_values_are_taken_within_bounds(tmp_path, zygote):
    config = "optimizer: RMSprop\nlr: 5\nepochs: 1\nbatch_size: 32.5\n"
    rubric = tiny_rubric(tmp_path, config="config.yaml", recipe={
        "optimizer": {"default": "sgd", "choices": ["sgd", "adam"]}, "lr": {"default": 0.1, "min": 0.001, "max": 0.2},
        "epochs": {"default": 1, "min": 1, "max": 1}, "batch_size": {"default": 64, "min": 8, "max": 128}})
    item = grade_submission(submission(tmp_path, files={"config.yaml": config}), rubric, zygote=zygote).items[0]
    recipe = item.details["recipe"]
    assert recipe["optimizer"] == "sgd" and recipe["lr"] == 0.2 and recipe["batch_size"] == 64
    assert "optimizer 'RMSprop' is not one of sgd, adam" in item.output
    assert "lr 5 is outside the rubric's range [0.001, 0.2]; 0.2 used" in item.output
    assert "batch_size 32.5 is not a whole number" in item.output


def test_broken_config_falls_back_to_defaults_and_says_so(tmp_path, zygote):
    rubric = tiny_rubric(tmp_path, config="config.yaml")
    item = grade_submission(submission(tmp_path, files={"config.yaml": "lr: [unclosed\n"}), rubric, zygote=zygote).items[0]
    assert item.status == "passed" and "config.yaml is not valid YAML" in item.output and "defaults were used" in item.output


def test_training_is_deterministic_on_cpu(tmp_path, zygote):
    rubric = tiny_rubric(tmp_path, recipe={"optimizer": "adam", "lr": 0.01, "epochs": 2, "batch_size": 50})
    folder = submission(tmp_path)
    first = grade_submission(folder, rubric, zygote=zygote).items[0]
    second = grade_submission(folder, rubric, zygote=zygote).items[0]
    assert first.details == second.details and first.output == second.output


def test_progress_is_reported_by_epoch(tmp_path, zygote):
    reports = []
    rubric = tiny_rubric(tmp_path, recipe={"epochs": 2, "batch_size": 64})
    grade_submission(submission(tmp_path), rubric, zygote=zygote, progress=lambda item, report: reports.append((item, report)))
    assert reports and all(item == "cnn.tiny" for item, _ in reports)
    last = reports[-1][1]
    assert last["epoch"] == 2 and last["epochs"] == 2 and last["batch"] == last["batches"] and last["left_s"] == pytest.approx(0, abs=0.5)
    assert all(np.isfinite(report["loss"]) for _, report in reports)


def test_test_labels_never_cross_the_boundary(tmp_path, zygote, monkeypatch):
    sent = []
    original = session.send_message

    def spy(channel, header, blobs=()):
        sent.append((header, [bytes(blob) for blob in blobs]))
        return original(channel, header, blobs)

    monkeypatch.setattr(session, "send_message", spy)
    result = grade_submission(submission(tmp_path), tiny_rubric(tmp_path), zygote=zygote)
    assert result.items[0].status == "passed"
    data = training_data("digits")
    test_labels = np.asarray(data["test_labels"])
    assert [header.get("op") for header, _ in sent].count("train") == 1
    # Every message to the child, not only the training request: its JSON header and every array.
    arrays = [np.load(io.BytesIO(blob), allow_pickle=False) for _, blobs in sent for blob in blobs]
    arrays += [np.asarray(numbers) for header, _ in sent for numbers in _lists(header)
               if all(type(number) in (int, float) for number in numbers)]
    assert any(a.shape == np.asarray(data["test_images"]).shape for a in arrays), "the test images are sent"
    assert not any("test_labels" in json.dumps(header) for header, _ in sent)
    for array in arrays:
        assert not (array.size == test_labels.size and np.array_equal(array.ravel(), test_labels)), "the test labels are sent"
        assert not (array.ndim == 1 and array.size == len(test_labels) and array.dtype.kind in "iu"
                    and np.isin(test_labels, array).all()), "an integer array the size of the test labels is sent"


def _lists(value):
    """Every list in a message's JSON header, however deep."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        yield value
        for entry in value:
            yield from _lists(entry)


def test_bad_data_source_stops_with_a_clear_error(tmp_path, zygote):
    rubric = tiny_rubric(tmp_path, data={"loader": "reference.data:training_data", "source": f"cifar10:{tmp_path}/none"})
    with pytest.raises(training.DataError, match="no CIFAR-10 python batches"):
        grade_submission(submission(tmp_path), rubric, zygote=zygote)


def test_batch_relays_training_progress_from_its_workers(tmp_path):
    from grader.batch import grade_folder
    from grader.rubric import load_rubric

    folder = tmp_path / "batch"
    folder.mkdir()
    for name in ("ann", "bob"):
        submission(folder, name=name)
    reports = []
    batch = grade_folder(folder, load_rubric(tiny_rubric(tmp_path)), tmp_path / "out", jobs=2,
                         on_progress=lambda name, item_id, report: reports.append((name, item_id, report)))
    assert sorted(r.student for r in batch.results) == ["ann", "bob"]
    assert {name for name, _, _ in reports} == {"ann", "bob"}
    assert all(item_id == "cnn.tiny" and report["epochs"] == 1 for _, item_id, report in reports)


def test_progress_line_names_the_run_epoch_loss_and_time_left():
    from grader.cli import describe_progress

    line = describe_progress("cnn.long_tail", {"run": "cross-entropy", "epoch": 2.0, "epochs": 5.0, "loss": 0.41234, "left_s": 7.6})
    assert line == "cnn.long_tail (cross-entropy), epoch 2/5, loss 0.412, about 8 s left"


def test_model_that_exhausts_memory_gets_an_error_and_the_next_item_still_runs(tmp_path, zygote):
    forward = "        self.hoard = torch.empty(30 * 2**30, dtype=torch.uint8)\n        return self.net(x)"
    rubric = tiny_rubric(tmp_path)
    data = yaml.safe_load(rubric.read_text())
    second = {**data["items"][0], "id": "cnn.again", "target": {"file": "other.py", "symbol": "MyModel"}}
    data["items"].append(second)
    rubric.write_text(yaml.safe_dump(data))
    folder = submission(tmp_path, forward, files={"other.py": TINY_MODEL.format(forward="        return self.net(x)")})
    first, again = grade_submission(folder, rubric, zygote=zygote).items
    assert first.status == "error" and ("memory" in first.output.lower()), first.output
    assert again.status == "passed", again.output


def test_trains_on_a_local_cifar10_copy_sent_as_bytes(tmp_path, zygote):
    import pickle

    root = tmp_path / "cifar" / "cifar-10-batches-py"
    root.mkdir(parents=True)
    rng = np.random.RandomState(0)

    def batch(count):  # class c lights up row block c: learnable in one epoch
        labels = rng.randint(0, 10, count)
        images = rng.randint(0, 60, (count, 3, 32, 32)).astype(np.uint8)
        for index, label in enumerate(labels):
            images[index, :, 3 * label:3 * label + 3, :] = 250
        return {b"data": images.reshape(count, -1), b"labels": labels.tolist()}

    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
        (root / name).write_bytes(pickle.dumps(batch(100), protocol=2))
    source = f"cifar10:{tmp_path / 'cifar'}"
    data = training_data(source)
    assert data["train_images"].dtype == np.uint8 and data["classes"][0] == "airplane"
    rubric = tiny_rubric(tmp_path, data={"loader": "reference.data:training_data", "source": source},
                         recipe={"epochs": 3, "batch_size": 50, "lr": 0.05})
    item = grade_submission(submission(tmp_path), rubric, zygote=zygote).items[0]
    assert item.status == "passed", item.output
    assert "cifar10" in item.output and "airplane" in item.output


def test_floor_is_validated_with_the_training_keys(tmp_path):
    from grader.rubric import RubricError, load_rubric

    compare = {"mode": "compare", "loss": {"file": "focal_loss.py", "call": "FocalLoss()"}, "margin": 0.1, "floor": 1.5}
    data = yaml.safe_load(tiny_rubric(tmp_path).read_text())
    data["items"] = [{**data["items"][0], "floor": 0.3},
                     {**data["items"][0], "id": "cnn.compare", "tiers": None, **compare}]
    del data["items"][1]["tiers"]
    path = tmp_path / "floors.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RubricError) as raised:
        load_rubric(path)
    text = str(raised.value)
    assert "items[0].floor: only mode: compare uses floor" in text
    assert "items[1].floor: floor is a balanced accuracy, between 0 and 1" in text
    data["items"] = [data["items"][1] | {"floor": 0.3}]
    path.write_text(yaml.safe_dump(data))
    assert load_rubric(path).items[0].floor == 0.3
