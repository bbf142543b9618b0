"""Broken and booby-trapped submissions: poisoned checkpoints, bombs, escaping paths, links, odd encodings.

Each case must cost the attacked items their points with a clear status, reach nothing
outside the submission, and leave the grader quick and alive for everything else.
"""

import base64
import bz2
import collections
import io
import os
import pickle
import stat
import struct
import tempfile
import time
import tracemalloc
import uuid
import zipfile
from pathlib import Path

import pytest
import torch
import yaml

from grader.api import grade_submission
from grader.results import stopped_output
from grader.rubric import load_rubric
from grader.submission import open_submission

from .conftest import (
    ADA,
    BYSTANDERS,
    RUBRIC,
    assert_contained,
    bystanders,
    grade,
    plant,
)

CHECKPOINT = "checkpoints/my_model.pt"
EVERY_FILE = list(BYSTANDERS.values())  # one quick item per file


def marker_path() -> Path:
    return Path(tempfile.gettempdir()) / f"grader-hostile-{uuid.uuid4().hex}"


def assert_refused(result, message: str) -> None:
    """The submission was not opened at all: one problem that says why, every item an error pointing to it, nothing scored."""
    assert result.score == 0
    assert [found["kind"] for found in result.problems] == ["unreadable"], result.problems
    said = result.problems[0]["message"]
    assert "could not be opened" in said and message in said, said
    for item in result.items:
        assert item.status == "error", f"{item.id}: {item.status}\n{item.output}"
        assert item.output == stopped_output(result.problems[0]), item.output


def patch_zip(raw: bytes, name: str, **fields) -> bytes:
    """Rewrite fields of `name`'s local header and central directory entry: method, crc, size (uncompressed)."""
    offsets = {b"PK\x03\x04": {"method": 8, "crc": 14, "size": 22, "_name": 30, "_len": 26},
               b"PK\x01\x02": {"method": 10, "crc": 16, "size": 24, "_name": 46, "_len": 28}}
    data, encoded, patched = bytearray(raw), name.encode(), 0
    for signature, at in offsets.items():
        index = 0
        while (index := data.find(signature, index)) >= 0:
            length = struct.unpack_from("<H", data, index + at["_len"])[0]
            if bytes(data[index + at["_name"]:index + at["_name"] + length]) == encoded:
                for field, value in fields.items():
                    struct.pack_into("<H" if field == "method" else "<I", data, index + at[field], value)
                patched += 1
            index += 4
    assert patched == 2, f"{name} not found in both headers"
    return bytes(data)


def zip_of_ada(path: Path, extra=()) -> Path:
    """ada_lovelace's submission zipped as its folder, plus `extra` (name, bytes) entries."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for file in sorted(ADA.rglob("*")):
            if file.is_file():
                bundle.write(file, f"ada_lovelace/{file.relative_to(ADA).as_posix()}")
        for name, data in extra:
            bundle.writestr(name, data)
    return path


# ---- malicious checkpoints -----------------------------------------------------


class _RunsCommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _OpensFile:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _code_checkpoints(marker: Path) -> dict[str, bytes]:
    saved = io.BytesIO()
    torch.save({"conv.weight": torch.zeros(3), "payload": _RunsCommand(f"touch {marker}")}, saved)
    return {
        "torch.save zip, os.system": saved.getvalue(),
        "legacy raw pickle, open()": pickle.dumps({"payload": _OpensFile(str(marker))}, protocol=2),
        "protocol 0 pickle, os.system": pickle.dumps(_RunsCommand(f"touch {marker}"), protocol=0),
    }


@pytest.mark.parametrize("variant", ["torch.save zip, os.system", "legacy raw pickle, open()",
                                     "protocol 0 pickle, os.system"])
def test_a_checkpoint_whose_pickle_runs_code_is_refused(tmp_path, bundled, zygote, variant):
    marker = marker_path()
    folder = plant(tmp_path, {CHECKPOINT: _code_checkpoints(marker)[variant]})
    result = grade(folder, bundled, zygote, ["cnn.checkpoint"], bystanders("my_model.py"))
    assert_contained(result, ["cnn.checkpoint"], bystanders("my_model.py"), statuses=("error",),
                     message="UnpicklingError")
    assert "Weights only load failed" in result.item("cnn.checkpoint").output
    assert not marker.exists(), "the checkpoint's pickle ran code on the grading machine"
    assert not list(tmp_path.rglob(marker.name))


# ---- pickle bombs --------------------------------------------------------------


def _torch_file(pickled: bytes, records=(), method=zipfile.ZIP_STORED) -> bytes:
    """The layout torch.save writes: archive/data.pkl, archive/data/<key> records, a version."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as bundle:
        bundle.writestr("archive/data.pkl", pickled)
        bundle.writestr("archive/byteorder", "little")
        for key, data in records:
            bundle.writestr(f"archive/data/{key}", data, compress_type=method)
        bundle.writestr("archive/version", "3\n")
    return out.getvalue()


class _Storage:
    def __init__(self, nbytes):
        self.nbytes = nbytes


class _Tensor:
    """Pickles as torch._utils._rebuild_tensor_v2 over storage '0', with whatever size and stride it claims."""

    def __init__(self, nbytes, size, stride):
        self.storage, self.size, self.stride = _Storage(nbytes), size, stride

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                (self.storage, 0, self.size, self.stride, False, collections.OrderedDict()))


class _TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", torch.FloatStorage, "0", "cpu", obj.nbytes // 4)
        return None


def _state_dict_of(tensor: _Tensor) -> bytes:
    pickled = io.BytesIO()
    _TorchPickler(pickled, protocol=2).dump({"conv1.weight": tensor})
    return pickled.getvalue()


def _claims_a_terabyte() -> bytes:
    return _torch_file(_state_dict_of(_Tensor(1 << 40, (1 << 38,), (1,))), [("0", bytes(16))])


def _inflates_to_4_gib() -> bytes:
    """A storage record whose zip header says it inflates to 4 GiB: torch allocates all of it up front."""
    nbytes = (1 << 32) - 16
    raw = _torch_file(_state_dict_of(_Tensor(nbytes, (nbytes // 4,), (1,))), [("0", bytes(1024))], zipfile.ZIP_DEFLATED)
    return patch_zip(raw, "archive/data/0", size=nbytes)


def _stride_zero_view() -> bytes:
    """Four bytes of storage seen as a 2**30 x 2**30 tensor."""
    return _torch_file(_state_dict_of(_Tensor(4, (1 << 30, 1 << 30), (0, 0))), [("0", bytes(4))])


def _hash_bomb(depth: int = 64) -> bytes:
    """{((x, x), (x, x))...: 1}: 200 bytes of pickle; hashing the key walks 2**64 leaves."""
    ops = [b"\x80\x02}X\x01\x00\x00\x00x"]  # PROTO 2, EMPTY_DICT, 'x'
    ops += [b"q\x01h\x01\x86"] * depth  # BINPUT 1, BINGET 1, TUPLE2: a pair of the same object
    ops.append(b"K\x01s.")  # 1, SETITEM, STOP
    return _torch_file(b"".join(ops))


BOMBS = {
    "a tensor claiming a terabyte": (_claims_a_terabyte, ("error",), "does not match expected size"),
    "a record that inflates to 4 GiB": (_inflates_to_4_gib, ("error",), "RuntimeError"),
    "a stride-0 view of 2**60 elements": (_stride_zero_view, ("error",), "(1073741824, 1073741824)"),
    "a key whose hash walks 2**64 leaves": (_hash_bomb, ("timeout",), "5 s"),
}


@pytest.fixture(scope="module")
def quick_checkpoint(tmp_path_factory):
    """The bundled rubric with cnn.checkpoint allowed 5 s instead of 60, so a bomb that spins costs little."""
    data = yaml.safe_load(RUBRIC.read_text())
    for item in data["items"]:
        if item["id"] == "cnn.checkpoint":
            item["timeout_s"] = 5
    path = tmp_path_factory.mktemp("quick-rubric") / "assignment2.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_rubric(path)


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_a_pickle_bomb_checkpoint_is_contained_quickly(tmp_path, quick_checkpoint, zygote, bomb):
    build, statuses, message = BOMBS[bomb]
    data = build()
    assert len(data) < 4096  # the bomb is small on disk
    folder = plant(tmp_path, {CHECKPOINT: data})
    started = time.monotonic()
    result = grade(folder, quick_checkpoint, zygote, ["cnn.checkpoint"], bystanders("my_model.py"))
    elapsed = time.monotonic() - started
    assert_contained(result, ["cnn.checkpoint"], bystanders("my_model.py"), statuses=statuses, message=message)
    assert elapsed < 25, f"grading took {elapsed:.1f} s"
    # The grader is still whole: the same zygote grades the correct checkpoint next.
    again = grade(ADA, quick_checkpoint, zygote, ["cnn.checkpoint"], [])
    assert again.item("cnn.checkpoint").status == "passed", again.item("cnn.checkpoint").output


# ---- zip bombs -----------------------------------------------------------------

# bz2 of 1 GiB of zeros: 785 bytes (made once with bz2.compress(bytes(1 << 30), 9)).
BZ2_GIGABYTE = base64.b64decode(
    "QlpoOTFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kO"
    "CeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAA"
    "CCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWp"
    "CoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J"
    "4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAI"
    "IAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakK"
    "gJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni"
    "3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAgg"
    "ADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqA"
    "lzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1lIfF/J"
    "AIpSyADAAAAEAAggADDMBSmmkSJDYUSJDxdyRThQkPaI5AI="
)


def _honest_300_mb(path: Path) -> Path:
    """One 300 MB entry of zeros, deflated to about 1 MB; its header tells the truth."""
    zip_of_ada(path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
        with bundle.open("ada_lovelace/data.bin", "w") as handle:
            block = bytes(1 << 20)
            for _ in range(300):
                handle.write(block)
    return path


def _deflate_that_lies(path: Path) -> Path:
    """The same 300 MB of zeros under a header that says 1000 bytes."""
    raw = _honest_300_mb(path).read_bytes()
    path.write_bytes(patch_zip(raw, "ada_lovelace/data.bin", size=1000))
    return path


def _bzip2_that_lies(path: Path) -> Path:
    """785 bytes of bzip2 that unpack to 1 GiB, under a header that says 785 bytes."""
    zip_of_ada(path, [("ada_lovelace/data.bin", BZ2_GIGABYTE)])
    path.write_bytes(patch_zip(path.read_bytes(), "ada_lovelace/data.bin", method=zipfile.ZIP_BZIP2))
    return path


def _ten_thousand_entries(path: Path) -> Path:
    zip_of_ada(path, [(f"ada_lovelace/junk/{n}.txt", b"") for n in range(10_000)])
    return path


ZIP_BOMBS = {
    "one 300 MB entry": (_honest_300_mb, "unpacks to more than 200 MiB"),
    "a deflate size that lies": (_deflate_that_lies, "Bad CRC-32"),
    "a bzip2 size that lies": (_bzip2_that_lies, "only stored and deflate are accepted"),
    "10,000 entries": (_ten_thousand_entries, "more than 200 files"),
}


def test_the_bzip2_bomb_is_a_real_bomb():
    """What the bzip2 case defends against: 785 bytes that unpack past every cap."""
    unpacker = bz2.BZ2Decompressor()
    head = unpacker.decompress(BZ2_GIGABYTE, max_length=64 << 20)
    assert len(head) == 64 << 20 and not unpacker.eof and not any(head[-4096:])


@pytest.mark.parametrize("bomb", sorted(ZIP_BOMBS))
def test_a_zip_bomb_is_refused_without_unpacking_it(tmp_path, bundled, zygote, bomb):
    build, message = ZIP_BOMBS[bomb]
    archive = build(tmp_path / "student.zip")
    assert archive.stat().st_size < 4 << 20
    tracemalloc.start()
    try:
        started = time.monotonic()
        result = grade_submission(archive, bundled, zygote=zygote, items=EVERY_FILE)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_refused(result, message)
    assert elapsed < 5, f"{elapsed:.1f} s to refuse it"
    # Bounded by the 50 MiB cap on one file (zipfile inflates up to the read size, then joins), never by the
    # 300 MB or 1 GiB the entry unpacks to.
    assert peak < 128 << 20, f"{peak >> 20} MiB allocated to refuse it"


# ---- paths that leave the folder -----------------------------------------------


def _left_in_scratch(name: str) -> list[str]:
    """Files called `name` under the grader's scratch folders. os.walk skips a folder that another
    grading run removes while it looks (a glob raises), so a busy machine cannot fail this check."""
    base = tempfile.gettempdir()
    scratch = [entry.path for entry in os.scandir(base) if entry.name.startswith("grader-")]
    return [os.path.join(root, name) for top in scratch for root, _, files in os.walk(top) if name in files]


@pytest.mark.parametrize("template", ["../{name}", "ada_lovelace/../../{name}", "/tmp/{name}", "..\\..\\{name}",
                                      "ada_lovelace/checkpoints/../../../{name}"])
def test_a_zip_with_paths_that_leave_the_folder_is_refused(tmp_path, bundled, zygote, template):
    name = f"escaped-{uuid.uuid4().hex}.py"
    (tmp_path / "deep" / "er").mkdir(parents=True)
    archive = zip_of_ada(tmp_path / "deep" / "er" / "student.zip", [(template.format(name=name), b"print('out')\n")])
    result = grade_submission(archive, bundled, zygote=zygote, items=EVERY_FILE)
    assert_refused(result, "unsafe path")
    for folder in [tmp_path / "deep" / "er", *(tmp_path / "deep" / "er").parents, Path(tempfile.gettempdir())]:
        assert not (folder / name).exists(), f"{name} was written into {folder}"
    assert not _left_in_scratch(name)
    assert not list(tmp_path.rglob(name))


# ---- links ---------------------------------------------------------------------

LINKS = ["passwd_link", "rubric_link.yaml", "etc_dir/passwd", "solutions/conv_matrix.py", "notes_link.txt"]

PROBING_CONV = (ADA / "conv_matrix.py").read_text().replace("def conv_as_matrix(kernel, input_shape, stride=1, padding=0):\n", '''
import os as _os

_HERE = _os.path.dirname(_os.path.abspath(__file__))


def _read(name):
    try:
        with open(_os.path.join(_HERE, name), "rb") as handle:
            return handle.read(64)
    except OSError:
        return None


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    if _read("notes.txt") != b"a plain file\\n":  # reading works: the probe below is no blind test
        return np.zeros((0, 1))
    leaked = [name for name in %r if _read(name) is not None]
    try:
        from solutions.conv_matrix import conv_as_matrix as _reference  # the reference, through a linked folder
        leaked.append("solutions")
    except ImportError:
        pass
    if leaked:
        return np.zeros((0, len(leaked)))
''' % (LINKS,), 1)


def test_links_in_a_submission_folder_never_reach_the_child(tmp_path, bundled, zygote):
    folder = plant(tmp_path, {"conv_matrix.py": PROBING_CONV, "notes.txt": "a plain file\n"})
    os.symlink("/etc/passwd", folder / "passwd_link")
    os.symlink(RUBRIC, folder / "rubric_link.yaml")
    os.symlink(folder / "notes.txt", folder / "notes_link.txt")  # even a link to the student's own file
    os.symlink("/etc", folder / "etc_dir", target_is_directory=True)
    os.symlink(RUBRIC.parents[1] / "reference", folder / "solutions", target_is_directory=True)
    opened = open_submission(folder).files
    assert "notes.txt" in opened
    assert not {name for name in opened if name.split("/")[0] in {path.split("/")[0] for path in LINKS}}
    result = grade(folder, bundled, zygote, [], list(BYSTANDERS.values()))
    assert_contained(result, [], list(BYSTANDERS.values()))  # conv_matrix.published passing means nothing leaked


def test_link_entries_in_a_zip_are_skipped(tmp_path, bundled, zygote):
    archive = zip_of_ada(tmp_path / "student.zip")
    with zipfile.ZipFile(archive, "a") as bundle:
        for name, target in (("passwd_link", "/etc/passwd"), ("rubric_link.yaml", str(RUBRIC))):
            info = zipfile.ZipInfo(f"ada_lovelace/{name}")
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            bundle.writestr(info, target)
    files = open_submission(archive).files
    assert "passwd_link" not in files and "rubric_link.yaml" not in files and "conv_matrix.py" in files
    result = grade_submission(archive, bundled, zygote=zygote, items=EVERY_FILE)
    assert_contained(result, [], EVERY_FILE)


# ---- encodings -----------------------------------------------------------------


def test_file_names_that_are_not_utf8_do_not_crash_the_grader(tmp_path, bundled, zygote):
    folder = plant(tmp_path, {})
    for raw in (b"notes_\xff\xfe.txt", b"checkpoints/\xe9t\xe9.pt", b"caf\xe9.py"):
        handle = os.open(os.fsencode(folder) + b"/" + raw, os.O_CREAT | os.O_WRONLY, 0o644)
        os.write(handle, b"x = 1\n")
        os.close(handle)
    result = grade(folder, bundled, zygote, [], list(BYSTANDERS.values()))
    assert_contained(result, [], list(BYSTANDERS.values()))
    assert len(result.submission_sha256) == 64


def test_a_zip_whose_names_claim_utf8_but_are_not_is_refused(tmp_path, bundled, zygote):
    archive = zip_of_ada(tmp_path / "student.zip", [("ada_lovelace/caf\u00e9.py", b"x = 1\n")])
    # The name is flagged UTF-8 (zipfile sets the flag for non-ASCII names); make its bytes invalid UTF-8.
    archive.write_bytes(archive.read_bytes().replace("caf\u00e9".encode(), b"caf\xff\xfe"))
    result = grade_submission(archive, bundled, zygote=zygote, items=EVERY_FILE)
    assert_refused(result, "'ada_lovelace/caf\\xff\\xfe.py', which is not valid UTF-8 though the zip says its names are")


LATIN1_CONV = ("# -*- coding: latin-1 -*-\n# Größe der Ausgabe: (Ho*Wo, H*W); Straße, naïve, façade\n"
               + (ADA / "conv_matrix.py").read_text()
               + "\nEINHEIT = 'µm'\n").encode("latin-1")
# Python 3.11 lets bad bytes pass in a comment, so they go in a string.
UNDECLARED_SOFTMAX = b'TITLE = "Gr\xf6\xdfe", latin-1 with no coding line\n' + (ADA / "softmax_classifier.py").read_bytes()


def test_source_files_in_other_encodings(tmp_path, bundled, zygote):
    folder = plant(tmp_path, {"conv_matrix.py": LATIN1_CONV, "softmax_classifier.py": UNDECLARED_SOFTMAX,
                              "answers.yaml": b"conv_matrix: \xff\xfe\x00\n"})
    attacked = ["softmax.stability", "theory.conv_matrix.shape"]
    result = grade(folder, bundled, zygote, attacked, bystanders("softmax_classifier.py", "answers.yaml"))
    # A declared encoding is Python's own business: that file grades like the UTF-8 one.
    assert result.item("conv_matrix.published").status == "passed"
    assert_contained(result, ["softmax.stability"], bystanders("softmax_classifier.py", "answers.yaml"),
                     statuses=("error",), message="SyntaxError")
    # The encoding is named once, in the submission's problem, which the stopped item points to.
    syntax = [found for found in result.problems if found["kind"] == "syntax"]
    assert [found["file"] for found in syntax] == ["softmax_classifier.py"], result.problems
    assert "utf-8" in syntax[0]["message"] and "problems" in result.item("softmax.stability").output
    assert_contained(result, ["theory.conv_matrix.shape"], [], message="answers.yaml is not valid YAML")


# ---- a folder bomb ---------------------------------------------------------------


def test_a_sparse_file_in_a_folder_is_refused_without_reading_it(tmp_path, bundled, zygote):
    """A file that says 64 GiB but costs no disk: refused from its size, never read into memory."""
    folder = plant(tmp_path, {})
    with open(folder / "data.bin", "wb") as handle:
        handle.truncate(64 << 30)
    tracemalloc.start()
    try:
        started = time.monotonic()
        result = grade_submission(folder, bundled, zygote=zygote, items=EVERY_FILE)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_refused(result, "data.bin is larger than 50 MiB")
    assert elapsed < 5 and peak < 20 << 20, (elapsed, peak)


# ---- archives the zip module cannot read -----------------------------------------


def _corrupt_deflate(path):
    zip_of_ada(path, [("ada_lovelace/notes.txt", b"".join(b"line %d\n" % n for n in range(2000)))])
    raw = bytearray(path.read_bytes())
    start = raw.find(b"ada_lovelace/notes.txt") + len("ada_lovelace/notes.txt")
    raw[start + 20:start + 60] = b"\xff" * 40  # garbage in the Huffman-coded deflate stream
    path.write_bytes(bytes(raw))


def _unknown_method(path):
    zip_of_ada(path)
    path.write_bytes(patch_zip(path.read_bytes(), "ada_lovelace/conv_matrix.py", method=99))


def _encrypted(path):
    zip_of_ada(path)
    raw = bytearray(path.read_bytes())
    for signature, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        index = raw.find(signature)
        struct.pack_into("<H", raw, index + flags, struct.unpack_from("<H", raw, index + flags)[0] | 1)
    path.write_bytes(bytes(raw))


def _empty_name(path):
    zip_of_ada(path, [("ada_lovelace/x", b"")])
    raw = path.read_bytes()
    index = raw.rfind(b"PK\x01\x02")
    length = struct.unpack_from("<H", raw, index + 28)[0]
    raw = raw[:index + 28] + struct.pack("<H", 0) + raw[index + 30:index + 46] + raw[index + 46 + length:]
    end = raw.rfind(b"PK\x05\x06")  # the central directory is shorter now
    size = struct.unpack_from("<I", raw, end + 12)[0] - length
    path.write_bytes(raw[:end + 12] + struct.pack("<I", size) + raw[end + 16:])


BROKEN_ZIPS = {
    "a corrupt deflate stream": (_corrupt_deflate, "not a readable zip"),
    "an unknown compression method": (_unknown_method, "compressed with method 99"),
    "an encrypted entry": (_encrypted, "encrypted"),
    "an entry with an empty name": (_empty_name, "not a readable zip"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_ZIPS))
def test_a_zip_the_zip_module_chokes_on_is_refused_not_a_crash(tmp_path, bundled, zygote, case):
    build, message = BROKEN_ZIPS[case]
    archive = tmp_path / "student.zip"
    build(archive)
    result = grade_submission(archive, bundled, zygote=zygote, items=EVERY_FILE)
    assert_refused(result, message)
