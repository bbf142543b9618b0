"""A submission: a folder named after the student, or a .zip of one.

Its files are copied into a fresh scratch folder that only the student's child
sees; the original location is never shown to student code. Caps on size and
count, no links, and no path that leaves the folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_FILES = 200
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
IGNORED_PARTS = {"__pycache__", "__MACOSX", ".git", ".ipynb_checkpoints"}
IGNORED_NAMES = {".DS_Store", "Thumbs.db"}
# What zip tools write by default. zipfile inflates bzip2 and lzma without a bound on the
# output, so a tiny entry lying about its size could fill the grader's memory: refused.
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}


class SubmissionError(ValueError):
    """A submission that cannot be opened at all (a broken zip, too large, unsafe paths)."""


@dataclass
class Submission:
    student: str
    source: str
    files: dict[str, bytes]

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(self.files[name]).digest())
        return digest.hexdigest()

    def materialise(self, base: str | None = None) -> str:
        """Write the files into a new private folder and return its path."""
        scratch = tempfile.mkdtemp(prefix="grader-", dir=base)
        self.write_into(scratch)
        return scratch

    def write_into(self, folder) -> None:
        """Write the files under `folder`, which may not exist yet."""
        Path(folder).mkdir(parents=True, exist_ok=True)
        for name, data in self.files.items():
            path = Path(folder, *PurePosixPath(name).parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def _keep(relative: PurePosixPath) -> bool:
    return not (set(relative.parts) & IGNORED_PARTS) and relative.name not in IGNORED_NAMES


def _add(files: dict, name: str, data: bytes, total: list) -> None:
    if len(files) >= MAX_FILES:
        raise SubmissionError(f"more than {MAX_FILES} files")
    if len(data) > MAX_FILE_BYTES:
        raise SubmissionError(f"{name} is larger than {MAX_FILE_BYTES >> 20} MiB")
    total[0] += len(data)
    if total[0] > MAX_TOTAL_BYTES:
        raise SubmissionError(f"the submission is larger than {MAX_TOTAL_BYTES >> 20} MiB")
    files[name] = data


def _from_folder(folder: Path) -> dict[str, bytes]:
    files, total = {}, [0]
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_PARTS and not os.path.islink(os.path.join(root, d)))
        for name in sorted(names):
            path = Path(root, name)
            relative = PurePosixPath(path.relative_to(folder).as_posix())
            info = os.lstat(path)
            if _keep(relative) and stat.S_ISREG(info.st_mode):  # links and devices are skipped
                if info.st_size > MAX_FILE_BYTES:  # checked before reading: a sparse file costs no disk
                    raise SubmissionError(f"{relative} is larger than {MAX_FILE_BYTES >> 20} MiB")
                with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as handle:
                    _add(files, str(relative), handle.read(info.st_size + 1), total)
    return files


def _safe_member(name: str) -> PurePosixPath | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise SubmissionError(f"the zip holds an unsafe path {name!r}")
    return path if _keep(path) else None


def _from_zip(archive: Path) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.infolist() if not m.is_dir()]
            paths = {}
            for member in members:
                if stat.S_ISLNK(member.external_attr >> 16):
                    continue
                path = _safe_member(member.filename)
                if path is not None:
                    if member.compress_type not in ZIP_METHODS:
                        raise SubmissionError(f"{member.filename} is compressed with method {member.compress_type}; "
                                              f"only {' and '.join(ZIP_METHODS.values())} are accepted: "
                                              f"zip the folder again with the default settings")
                    paths[member.filename] = path
            if sum(bundle.getinfo(name).file_size for name in paths) > MAX_TOTAL_BYTES:
                raise SubmissionError(f"the zip unpacks to more than {MAX_TOTAL_BYTES >> 20} MiB")
            # A zip of the student's folder holds one top folder: strip it.
            tops = {path.parts[0] for path in paths.values()}
            strip = len(tops) == 1 and all(len(path.parts) > 1 for path in paths.values())
            files, total = {}, [0]
            for name, path in sorted(paths.items(), key=lambda pair: str(pair[1])):
                relative = PurePosixPath(*path.parts[1:]) if strip else path
                with bundle.open(name) as handle:
                    data = handle.read(MAX_FILE_BYTES + 1)
                _add(files, str(relative), data, total)
            return files
    except SubmissionError:
        raise
    except Exception as error:  # zipfile raises many kinds on a corrupt archive (zlib.error, RuntimeError, ...)
        raise SubmissionError(f"{archive.name} is not a readable zip ({error})") from None


def open_submission(path) -> Submission:
    path = Path(path)
    if path.is_dir():
        return Submission(path.name, str(path), _from_folder(path))
    if path.is_file() and path.suffix.lower() == ".zip":
        return Submission(path.stem, str(path), _from_zip(path))
    raise SubmissionError(f"{path} is neither a folder nor a .zip")


def discard(scratch: str) -> None:
    shutil.rmtree(scratch, ignore_errors=True)
