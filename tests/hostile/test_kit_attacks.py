"""A student kit attacked: what a motivated student, or a classmate handing round an "improved" kit, tries.

The kit's record is a file anyone can read and anyone can forge. Read, it must teach nothing of final
grading beyond the visible checks (no expression to evaluate, no secret draw); forged, it must stay data
in the trusted process, and its texts must reach the terminal as text. Final grading's secret must stay
out of reach of the student code it grades.
"""

import dataclasses
import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from grader.api import grade_submission
from grader.boundary.codec import CodecError
from grader.checks.cases import case_inputs
from grader.kit import record
from grader.kit.record import LOADER, KitError, digest, kit_bytes, load_kit
from grader.rubric import load_rubric
from tests.hostile.conftest import ADA, RUBRIC

# A visible property item, a visible cases item, a hidden cases item and a written answer: a kit of
# each kind of thing it records or leaves out, built in about a second.
CHOSEN = ("softmax.softmax", "softmax.stability", "softmax.gradients_batch", "theory.conv_matrix.shape")


@pytest.fixture(scope="module")
def small_rubric():
    rubric = load_rubric(RUBRIC, secret=False)
    return dataclasses.replace(rubric, items=tuple(item for item in rubric.items if item.id in CHOSEN))


@pytest.fixture(scope="module")
def raw_kit(small_rubric) -> bytes:
    return kit_bytes(small_rubric)


def opened(raw: bytes) -> tuple[dict, list[bytes]]:
    """The record's header and blobs, as anyone inflating the file sees them."""
    return record.unseal(raw)


def sealed(header: dict, blobs: list[bytes]) -> bytes:
    return record.seal(header, blobs)


def strings(node):
    """Every string in a JSON tree, keys included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


# ---- reading the kit ---------------------------------------------------------------------------


def test_the_record_names_no_code_and_holds_only_numeric_arrays(raw_kit):
    """Inflated, the record is JSON and .npy arrays: no reference, strategy, reader or quantity expression
    to learn from, and no blob that np.load would need pickle for."""
    header, blobs = opened(raw_kit)
    text = json.dumps(header)
    assert "reference." not in text and "strategies" not in text and "__import__" not in text
    named = {s for s in strings(header) if re.fullmatch(r"[\w.]+:[\w.+]+", s)}
    assert named and all(s.startswith("kit:") or s == LOADER for s in named), named
    for spec in header["items"]:
        item = spec["item"]
        assert item["reference"] == "kit:reference" and item["quantities"] == {}
        assert not item["strategy"] and not item["reader"] and not item["writer"]
    assert blobs
    for blob in blobs:
        array = np.load(io.BytesIO(blob), allow_pickle=False)
        assert array.dtype.kind in "biuf"


def test_the_record_holds_no_hidden_item_and_no_written_answer(raw_kit, small_rubric):
    header, blobs = opened(raw_kit)
    assert [spec["item"]["id"] for spec in header["items"]] == ["softmax.softmax", "softmax.stability"]
    everything = json.dumps(header) + "".join(blob.decode("latin-1") for blob in blobs)
    for item in small_rubric.items:
        if item.visibility != "visible" or item.kind == "answers":
            assert item.id not in everything and item.name not in everything
    hidden = next(item for item in small_rubric.items if item.id == "softmax.gradients_batch")
    recorded = {key for spec in header["items"] for key in spec["answers"]}
    assert not recorded & {digest(case_inputs(hidden, case)) for case in hidden.cases}
    assert [count for _, count, _ in header["withheld"]] == [1, 1]  # only how many, and their points


def test_the_grading_secret_never_reaches_a_kit(small_rubric, raw_kit):
    """A kit built from a rubric that holds the secret is the kit built without it, byte for byte."""
    assert kit_bytes(dataclasses.replace(small_rubric, secret=b"the instructor's grading secret")) == raw_kit


# ---- a forged kit in the trusted process -------------------------------------------------------------


@pytest.mark.parametrize("change", [
    lambda item: item.update(reader="subprocess:getoutput"),
    lambda item: item.update(writer="subprocess:getoutput"),
    lambda item: item.update(reference=["kit:reference"]),
    lambda item: item.update(reference="kitx:reference"),
    lambda item: item["mistakes"].update(no_max_subtraction="builtins:exec"),
    lambda item: item.update(parts=[{"id": "p", "name": "p", "points": 1.0, "strategy": "os:getcwd", "examples": 1,
                                     "hints": []}]),
    lambda item: item.update(kind="training", data={"loader": LOADER + "x", "key": "k"}),
    lambda item: item.update(kind="answers"),
])
def test_a_forged_item_naming_code_is_refused(raw_kit, change):
    header, blobs = opened(raw_kit)
    change(header["items"][0]["item"])
    with pytest.raises(KitError):
        load_kit(sealed(header, blobs), "forged")


PICKLED = "pathlib.Path.touch on unpickling"


class _Touch:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return Path.touch, (Path(self.path),)


def test_a_pickled_array_in_a_forged_kit_is_refused_unread(raw_kit, tmp_path):
    """Every blob swapped for an object array whose unpickling creates a file: decoding refuses it."""
    touched = tmp_path / "PWNED"
    evil = io.BytesIO()
    np.save(evil, np.array([_Touch(str(touched))], dtype=object), allow_pickle=True)
    header, blobs = opened(raw_kit)
    rubric = load_kit(sealed(header, [evil.getvalue()] * len(blobs)), "forged")
    item = next(item for item in rubric.items if item.id == "softmax.softmax")
    with pytest.raises(CodecError):
        item.recording.table(item.id)
    assert not touched.exists()


def test_a_kit_that_inflates_past_the_limit_is_refused(raw_kit, monkeypatch):
    monkeypatch.setattr(record, "MAX_KIT_BYTES", 1024)
    with pytest.raises(KitError, match="larger than"):
        load_kit(raw_kit, "inflated")


# ---- a forged kit's texts on the student's terminal ----------------------------------------------

OSC = "\x1b]0;OWNED\x07"  # sets the terminal's title; any escape sequence would do
MARKUP = "[bold red]markup[/bold red]"
NO_MAX = '''import numpy as np


def softmax(logits):
    e = np.exp(np.asarray(logits, dtype=float))
    return e / e.sum(axis=1, keepdims=True)
'''


def test_a_forged_kit_s_texts_are_printed_as_text(raw_kit, tmp_path, zygote):
    from rich.console import Console

    from grader.reports.terminal import print_check

    header, blobs = opened(raw_kit)
    header["title"] = f"Title {OSC} {MARKUP}"
    header["mistake_hints"]["no_max_subtraction"] = f"Hint {OSC} {MARKUP}"
    for spec in header["items"]:
        spec["item"]["hints"] = [f"Item hint {OSC} {MARKUP}"]
        spec["item"]["call"] = f"(softmax(logits), '{OSC}')[0]"  # a kit's call may hold text, never more code
    rubric = load_kit(sealed(header, blobs), str(tmp_path / ".selfcheck" / "checks.bin"))
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "softmax_classifier.py").write_text(NO_MAX)
    result = grade_submission(folder, rubric, zygote=zygote)
    assert result.item("softmax.stability").diagnosis == "no_max_subtraction"
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, color_system="standard", width=160)
    print_check(console, result, {item.id: item.call for item in rubric.items}, title=rubric.title)
    shown = screen.getvalue()
    assert "\x1b]" not in shown and "\x07" not in shown
    for text in ("Title", "Hint", "Item hint"):
        assert f"{text} \\x1b]0;OWNED\\x07 {MARKUP}" in shown, text
    assert "'\\x1b]0;OWNED\\x07'" in shown  # the call


# ---- final grading's secret, hunted by the code it grades ------------------------------------------

MARK = "grading-secret-3f9a61"
HUNT = '''

import glob
import os

SENSITIVE = {sensitive!r}


def _readable(path):
    try:
        if os.path.isdir(path):
            return bool(os.listdir(path))
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a pipe's descriptor must not block
        try:
            return bool(os.read(descriptor, 4096))
        finally:
            os.close(descriptor)
    except (OSError, ValueError):
        return False


def softmax(logits):
    own = str(os.getpid())
    candidates = list(SENSITIVE)
    for folder in SENSITIVE:
        candidates += glob.glob(os.path.join(folder, "*"))
    for pattern in ("/tmp/*/*.secret", "/tmp/*/*/*.secret", "/tmp/grader-test-secret-*/*", "/tmp/*/cache/*.msg",
                    os.path.expanduser("~/.cache/grader/*")):
        candidates += glob.glob(pattern)
    for pid in [p for p in os.listdir("/proc") if p.isdigit() and p != own]:
        candidates += [f"/proc/{{pid}}/environ", f"/proc/{{pid}}/cmdline", f"/proc/{{pid}}/mem"]
        try:
            candidates += [f"/proc/{{pid}}/fd/{{fd}}" for fd in os.listdir(f"/proc/{{pid}}/fd")]
        except OSError:
            pass
    found = [path for path in candidates if _readable(path)]
    print(f"HUNTED {{len(candidates)}} paths")
    if found:
        print("STOLEN", found[:10])
        return _correct(logits)
    return np.zeros((1, 1))
'''


@pytest.mark.layers("filesystem")
@pytest.mark.parametrize("where", ["beside the rubric", "GRADER_SECRET_FILE"])
def test_student_code_finds_neither_the_secret_nor_the_tables_drawn_with_it(tmp_path, monkeypatch, zygote, where):
    """The attack reads the secret, the cache that holds the inputs and answers drawn with it, and the
    trusted process's environment, command line, memory and descriptors; anything it reads passes the item."""
    course, elsewhere, cache = tmp_path / "course", tmp_path / "elsewhere", tmp_path / "cache"
    course.mkdir()
    elsewhere.mkdir()
    shutil.copyfile(RUBRIC, course / "assignment2.yaml")
    secret = course / "assignment2.secret" if where == "beside the rubric" else elsewhere / "grading.secret"
    secret.write_text(f"{MARK} {where}\n")  # a secret of its own: a table drawn before is kept in memory
    if where == "beside the rubric":
        monkeypatch.delenv("GRADER_SECRET_FILE", raising=False)
    else:
        monkeypatch.setenv("GRADER_SECRET_FILE", str(secret))
    monkeypatch.setenv("GRADER_CACHE_DIR", str(cache))
    rubric = load_rubric(course / "assignment2.yaml")
    assert rubric.secret == f"{MARK} {where}".encode()
    student = tmp_path / "student"
    shutil.copytree(ADA, student)
    source = (ADA / "softmax_classifier.py").read_text().replace("def softmax(", "def _correct(")
    sensitive = [str(secret), str(course), str(elsewhere), str(cache)]
    (student / "softmax_classifier.py").write_text(source + HUNT.format(sensitive=sensitive))
    result = grade_submission(student, rubric, zygote=zygote, items=["softmax.softmax"])
    item = result.item("softmax.softmax")
    assert item.status == "failed" and "has shape (1, 1)" in item.output, item.output
    assert "HUNTED" in item.output and "STOLEN" not in item.output, item.output
    assert MARK not in result.to_json() and str(elsewhere) not in result.to_json()
    # What it looked for was there: the secret, and a table drawn with it in the cache.
    assert secret.read_text().startswith(MARK)
    assert [path.name for path in cache.iterdir() if path.name.startswith("examples-")]
