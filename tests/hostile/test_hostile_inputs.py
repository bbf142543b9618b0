"""Student data built to cost the trusted process: answers that YAML aliases blow up, config values
no float can hold, and archives or folders whose names no file system can.

Each must end in one item's clear verdict, or in a SubmissionError that says why, quickly, with no
other exception and no scratch folder left behind.
"""

import errno
import math
import os
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

import grader.submission as submission_module
from grader.api import grade_submission
from grader.boundary.codec import Other, Tensor
from grader.checks import answers, training
from grader.checks.common import Verdict
from grader.rubric import load_rubric
from grader.submission import MAX_DEPTH, Submission, SubmissionError, open_submission
from reference.theory import AnswerFormatError, read_conv_grid, read_linear_region_answer

from tests.engine.test_training import TINY_MODEL as TRAINING_MODEL

from .conftest import RUBRIC, assert_contained, grade, plant

# ---- answers.yaml: aliases that repeat a piece thousands of times ------------------------------


def alias_bomb(pieces: int, width: int) -> str:
    """A 60 KB answers.yaml whose conv answer is one row of `pieces` unclosed brackets, each `width` long."""
    return (f's: &s "{"(" * width}"\n'
            "conv_matrix:\n  A:\n    - [" + ", ".join(["*s"] * pieces) + "]\n"
            "linear_region:\n  - {x0: 2, W: 6, b: 3}\n  - {x0: -1, W: 1.5, b: 3}\n  - {x0: 1, W: 6, b: 3}\n")


BOMBS = {
    "14,000 pieces of 1,000 brackets": (alias_bomb(14_000, 1_000), "too large to read"),
    "9,000 single brackets": (alias_bomb(9_000, 1), "unclosed bracket"),
    "14,000 single brackets": (alias_bomb(14_000, 1), "more than the 10,000 read"),
}
ATTACKED = ["theory.conv_matrix.shape", "theory.conv_matrix.entries"]


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_an_alias_bomb_in_answers_costs_its_items_under_a_second_of_trusted_cpu(tmp_path, bundled, zygote, bomb):
    text, message = BOMBS[bomb]
    assert len(text) < 64 * 1024
    folder = plant(tmp_path, {"answers.yaml": text})
    others = ["theory.linear_region.at_2", "conv_matrix.published"]
    started = time.process_time()
    result = grade(folder, bundled, zygote, ATTACKED, others)
    spent = time.process_time() - started
    assert spent < 0.5 * len(ATTACKED), f"{spent:.2f} s of the grader's own CPU"
    assert_contained(result, ATTACKED, others, statuses=("failed",), message=message)
    for item_id in ATTACKED:
        assert len(result.item(item_id).output) < 1_000, "the message quotes a bounded piece, not the answer"


def test_readers_stop_at_their_caps_on_aliased_data():
    """In-process aliases share one object many times: the readers still look at a bounded amount."""
    document = yaml.safe_load(alias_bomb(14_000, 1_000))
    started = time.process_time()
    problem = answers.too_large(document["conv_matrix"]["A"])
    with pytest.raises(AnswerFormatError, match="more than the 10,000 read"):
        read_conv_grid(document["conv_matrix"]["A"])
    with pytest.raises(AnswerFormatError, match="unclosed bracket"):
        read_conv_grid([["("] * 9_999])
    with pytest.raises(AnswerFormatError, match="more than any kernel element needs"):
        read_conv_grid([["w(1,1)" + " " * 10_000_000]])
    network = {"weights": [[[1.5], [0.5]], [[1, 2], [2, 1]], [[1, 1]]], "biases": [[0, 1], [0, 1], [-1]]}
    huge = [list(range(1_000))] * 1_000
    with pytest.raises(AnswerFormatError, match="W has far more numbers, expected 1"):
        read_linear_region_answer([{"x0": huge, "W": 1, "b": 1}] * 999 + [{"x0": 2, "W": huge, "b": 3}], x0=2, **network)
    with pytest.raises(AnswerFormatError, match="more than the 1,000 read"):
        read_linear_region_answer([{"x0": 2, "W": 6, "b": 3}] * 1_001, x0=2, **network)
    with pytest.raises(AnswerFormatError, match="W must be a number"):
        read_linear_region_answer([{"x0": 2, "W": 10 ** 401, "b": 3}], x0=2, **network)
    assert time.process_time() - started < 0.5
    assert problem == "its text is longer than 200,000 characters"


@pytest.mark.parametrize("value, problem", [
    ([[0] * 100] * 300, "more than 20,000 values"),
    (np.zeros((300, 300)), "more than 20,000 values"),
    ([[[[[[[[[[[[0]]]]]]]]]]]], "nested more than 10 levels deep"),
    ({"k" * 300_000: 0}, "longer than 200,000 characters"),
    ([["w(0,0)", 0, 0], [0, "w_11", 0]], None),
])
def test_answer_size_limits(value, problem):
    found = answers.too_large(value)
    assert found == problem or (problem and problem in found), found


# ---- config.yaml: values the recipe cannot use -----------------------------------------------

HOSTILE_VALUES = [10 ** 400, -10 ** 400, 10 ** 5000, math.nan, math.inf, -math.inf, 1e308, 5e-324, "1e-3", "abc" * 10_000,
                  [1] * 100_000, {"a": [1, 2]}, [[[[]]]], True, Other("x.Y"), Tensor(np.zeros(3)), np.zeros((1000, 1000))]
CONFIG_NAMES = ["optimizer", "lr", "momentum", "weight_decay", "epochs", "batch_size", "seed", "focal_beta", "focal_gamma"]


class _Config:
    """A context whose config.yaml is `document`, as the child would send it back."""

    def __init__(self, document):
        self.doc = document

    def document(self, item, filename):
        return self.doc


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=[f"{type(value).__name__}{n}" for n, value in enumerate(HOSTILE_VALUES)])
@pytest.mark.parametrize("item_id", ["cnn.accuracy", "cnn.long_tail"])
def test_any_config_value_becomes_a_default_and_a_short_note(value, item_id):
    item = next(item for item in load_rubric(RUBRIC).items if item.id == item_id)
    chosen, notes = training.recipe(_Config({name: value for name in CONFIG_NAMES}), item)
    defaults, _ = training.recipe(_Config({}), item)
    assert chosen.keys() == defaults.keys()
    for name, setting in chosen.items():
        assert type(setting) is type(defaults[name]), (name, setting)
        assert type(setting) is str or math.isfinite(setting)
        spec = item.recipe.get(name)
        if isinstance(spec, dict) and "min" in spec:
            assert spec["min"] <= setting <= spec["max"]
    assert notes and all(note.startswith("config.yaml: ") and len(note) < 300 for note in notes), notes


def test_numbers_beyond_floats_are_clamped_and_shown_short():
    item = next(item for item in load_rubric(RUBRIC).items if item.id == "cnn.accuracy")
    chosen, notes = training.recipe(_Config({"lr": 10 ** 400, "momentum": -10 ** 400, "epochs": 2.0, "batch_size": "32"}), item)
    assert chosen["lr"] == 0.5 and chosen["momentum"] == 0.0 and chosen["epochs"] == 2 and chosen["batch_size"] == 64
    assert "config.yaml: lr 10000000... (a whole number 401 figures long) is outside the rubric's range [0.0001, 0.5]; 0.5 used." in notes
    assert any("batch_size '32' is text to YAML, not a whole number" in note for note in notes), notes
    for broken in (Verdict("failed", ""), Verdict("error", "x" * 100_000)):
        _, notes = training.recipe(_Config(broken), item)
        assert len(notes) == 1 and len(notes[0]) < 600 and notes[0].endswith("The rubric's defaults were used.")


TINY_MODEL = TRAINING_MODEL.format(forward="        return self.net(x)")
HOSTILE_CONFIG = f"""optimizer: {{nested: [junk, 1]}}
lr: {'9' * 401}
momentum: .nan
weight_decay: -.inf
epochs: [1, 2]
batch_size: "64"
seed: {'1' * 500}
"""


def test_a_config_of_hostile_values_trains_with_defaults_and_says_why(tmp_path, zygote):
    item = {"id": "cnn.tiny", "name": "tiny", "points": 2, "kind": "training", "config": "config.yaml",
            "target": {"file": "my_model.py", "symbol": "MyModel"}, "reference": "reference.my_model:MyModel",
            "data": {"loader": "reference.data:training_data", "source": "digits"},
            "recipe": {"optimizer": {"default": "sgd", "choices": ["sgd", "adam"]}, "lr": {"default": 0.1, "min": 0.001, "max": 0.2},
                       "momentum": {"default": 0.9, "min": 0.0, "max": 0.99}, "weight_decay": {"default": 0.0, "min": 0.0, "max": 0.01},
                       "epochs": {"default": 1, "min": 1, "max": 1}, "batch_size": {"default": 64, "min": 8, "max": 128}},
            "tiers": [{"above": 0.5, "points": 1}, {"above": 0.8, "points": 1}], "timeout_s": 60}
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(yaml.safe_dump({"title": "T", "submission_timeout_s": 120, "items": [item]}))
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "my_model.py").write_text(TINY_MODEL)
    (folder / "config.yaml").write_text(HOSTILE_CONFIG)
    result = grade_submission(folder, rubric, zygote=zygote).items[0]
    assert result.status in ("passed", "partial", "failed"), result.output  # trained and scored, whatever the accuracy
    assert result.details["recipe"] == {"optimizer": "sgd", "lr": 0.2, "momentum": 0.9, "weight_decay": 0.0,
                                        "epochs": 1, "batch_size": 64, "seed": 0}
    for note in ("optimizer {'nested': ['junk', 1]} is not one of sgd, adam; 'sgd' used",
                 "lr 99999999... (a whole number 401 figures long) is outside the rubric's range [0.001, 0.2]; 0.2 used",
                 "momentum nan is not a number; 0.9 used", "weight_decay -inf is not a number; 0.0 used",
                 "epochs [1, 2] is not a whole number; 1 used", "batch_size '64' is text to YAML",
                 "seed is fixed at 0 by the rubric; 11111111... (a whole number 500 figures long) was not used"):
        assert f"config.yaml: {note}" in result.output, result.output


# ---- archives and folders ------------------------------------------------------------------


@pytest.fixture
def scratch_root(tmp_path, monkeypatch):
    """A private temporary folder for scratch folders, so that a left-over one shows."""
    root = tmp_path / "scratch"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    monkeypatch.setenv("TMPDIR", str(root))
    return root


def make_zip(path: Path, entries, renames=()) -> Path:
    """A zip of (name, data) entries; `renames` then swaps name bytes for same-length raw ones."""
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in entries:
            bundle.writestr(name, data)
    raw = path.read_bytes()
    for old, new in renames:
        assert len(old) == len(new) and raw.count(old) == 2  # local header and central directory
        raw = raw.replace(old, new)
    path.write_bytes(raw)
    return path


def refused(path, scratch_root, message: str) -> SubmissionError:
    """Opening and writing out `path` ends in a SubmissionError naming `message`, and leaves no scratch folder."""
    started = time.monotonic()
    with pytest.raises(SubmissionError) as caught:
        open_submission(path).materialise()
    assert time.monotonic() - started < 5
    assert message in str(caught.value), str(caught.value)
    assert len(str(caught.value)) < 300
    assert not list(scratch_root.iterdir()), "a scratch folder was left behind"
    return caught.value


@pytest.mark.parametrize("order", ["file first", "folder first"])
def test_a_zip_entry_that_is_both_a_file_and_a_folder_is_refused(tmp_path, scratch_root, order):
    entries = [("s/a.py", b"x = 1\n"), ("s/a.py/x.py", b"y = 2\n")]
    archive = make_zip(tmp_path / "student.zip", entries if order == "file first" else entries[::-1])
    refused(archive, scratch_root, "'a.py' is both a file and a folder")


def test_a_zip_entry_name_longer_than_a_file_system_allows_is_refused(tmp_path, scratch_root):
    archive = make_zip(tmp_path / "student.zip", [("s/conv_matrix.py", b""), ("s/" + "a" * 300 + ".py", b"x = 1\n")])
    refused(archive, scratch_root, "is longer than 255 bytes")


def test_a_zip_path_longer_than_1024_bytes_is_refused(tmp_path, scratch_root):
    archive = make_zip(tmp_path / "student.zip", [("s/" + "/".join(["d" * 200] * 6) + "/x.py", b"")])
    refused(archive, scratch_root, "is longer than 1024 bytes")


def test_a_zip_1100_folders_deep_is_refused(tmp_path, scratch_root):
    archive = make_zip(tmp_path / "student.zip", [("s/" + "d/" * 1_100 + "x.py", b"x = 1\n")])
    refused(archive, scratch_root, f"is nested 1101 levels deep; at most {MAX_DEPTH} are accepted")


def test_a_zip_as_deep_as_allowed_is_opened_and_written(tmp_path, scratch_root):
    name = "/".join(["d"] * (MAX_DEPTH - 1)) + "/x.py"
    archive = make_zip(tmp_path / "student.zip", [(f"s/{name}", b"x = 1\n"), ("s/a.py", b"")])
    scratch = open_submission(archive).materialise()
    assert Path(scratch, name).read_bytes() == b"x = 1\n"


def test_a_zip_of_many_tiny_entries_is_refused_before_they_are_parsed(tmp_path, scratch_root):
    archive = make_zip(tmp_path / "student.zip", [(f"s/junk/{n}", b"") for n in range(25_000)])
    refused(archive, scratch_root, "more than 200 files: the zip holds 25,000 entries")


def test_a_nul_in_a_zip_name_cannot_hide_a_second_copy(tmp_path, scratch_root):
    # zipfile ends a name at NUL: "a.py<NUL>.txt" becomes a second "a.py".
    archive = make_zip(tmp_path / "student.zip", [("s/a.py", b"x = 1\n"), ("s/a.pyX.txt", b"x = 2\n")],
                       renames=[(b"s/a.pyX.txt", b"s/a.py\0.txt")])
    refused(archive, scratch_root, "the submission holds 'a.py' twice")


def test_zip_names_that_are_not_utf8(tmp_path, scratch_root):
    # Flagged UTF-8 but not: refused. Not flagged: read as cp437, as zip tools do, and written safely.
    flagged = make_zip(tmp_path / "flagged.zip", [("s/caf\u00e9.py", b"")], renames=[("caf\u00e9".encode(), b"caf\xff\xfe")])
    refused(flagged, scratch_root, "not a readable zip")
    plain = make_zip(tmp_path / "plain.zip", [("s/cafX.py", b"x = 1\n")], renames=[(b"cafX", b"caf\x82")])
    scratch = open_submission(plain).materialise()
    assert [p.name for p in Path(scratch).iterdir()] == ["caf\u00e9.py"]


def make_deep_folder(root: Path, levels: int) -> None:
    """`levels` nested folders with a file at the bottom, made through directory descriptors:
    the whole path is longer than PATH_MAX."""
    current = os.open(root, os.O_RDONLY)
    for _ in range(levels):
        os.mkdir("d", dir_fd=current)
        deeper = os.open("d", os.O_RDONLY, dir_fd=current)
        os.close(current)
        current = deeper
    handle = os.open("x.py", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=current)
    os.write(handle, b"x = 1\n")
    os.close(handle)
    os.close(current)


def remove_deep_folder(root: Path) -> None:
    """Undo make_deep_folder without recursion (shutil.rmtree recurses once per level)."""
    chain = [os.open(root, os.O_RDONLY)]
    while "d" in os.listdir(chain[-1]):
        chain.append(os.open("d", os.O_RDONLY, dir_fd=chain[-1]))
    os.unlink("x.py", dir_fd=chain[-1])
    while len(chain) > 1:
        os.close(chain.pop())
        os.rmdir("d", dir_fd=chain[-1])
    os.close(chain[0])


def test_a_folder_1100_levels_deep_is_refused_without_walking_it(tmp_path, scratch_root):
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "conv_matrix.py").write_text("x = 1\n")
    make_deep_folder(folder, 1_100)
    try:
        refused(folder, scratch_root, f"holds folders or files more than {MAX_DEPTH} levels deep")
    finally:
        remove_deep_folder(folder)


def test_a_folder_of_many_tiny_files_is_refused(tmp_path, scratch_root):
    folder = tmp_path / "student"
    (folder / "links").mkdir(parents=True)
    for number in range(20_001):  # links are skipped, but still counted as entries looked at
        os.symlink("/nonexistent", folder / "links" / str(number))
    refused(folder, scratch_root, "more than 200 files: the folder holds more than 20,000 entries")


def test_a_folder_with_names_that_are_not_utf8_is_copied_without_them_and_says_so(tmp_path, scratch_root):
    # No rubric can name such a file, and no report could show it as it is: it is left out, and named.
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "a.py").write_text("")
    handle = os.open(os.fsencode(folder) + b"/notes_\xff.txt", os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(handle)
    submission = open_submission(folder)
    scratch = submission.materialise()
    assert sorted(os.listdir(os.fsencode(scratch))) == [b"a.py"]
    assert [(found["kind"], found["file"]) for found in submission.problems] == [("bad_name", "notes_\\xff.txt")]


@pytest.mark.parametrize("files, message", [
    ({"a.py": b"", "a.py/x.py": b""}, "is both a file and a folder"),
    ({"a.py": b"", "./a.py": b""}, "holds 'a.py' twice"),
    ({"../escape.py": b""}, "unsafe path"),
    ({"/etc/escape.py": b""}, "unsafe path"),
    ({"a\0b.py": b""}, "NUL character"),
    ({"d/" * 40 + "x.py": b""}, "levels deep"),
])
def test_files_made_elsewhere_are_checked_before_anything_is_written(scratch_root, files, message):
    with pytest.raises(SubmissionError, match=message):
        Submission("student", "elsewhere", files).materialise()
    assert not list(scratch_root.iterdir())


def test_a_write_that_fails_halfway_removes_the_scratch_folder(scratch_root, monkeypatch):
    written = []

    def failing_open(path, mode="r", *args, **kwargs):
        if written:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        written.append(path)
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(submission_module, "open", failing_open, raising=False)
    files = {"a.py": b"x = 1\n", "sub/b.py": b"y = 2\n", "sub/c.py": b""}
    with pytest.raises(SubmissionError, match=r"could not be written .*\(No space left on device\)"):
        Submission("student", "elsewhere", files).materialise()
    assert written and not list(scratch_root.iterdir())
