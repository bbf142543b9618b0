"""A submission: a folder named after the student, or a .zip of one.

Its files are copied into a fresh scratch folder that only the student's child
sees; the original location is never shown to student code. Caps on size and
count, depth and name length; no links, no path that leaves the folder, and no
name that is both a file and a folder. Every check is made before anything is
written, and a write that fails anyway leaves no scratch folder behind.

A name that is not valid UTF-8 (a byte string the file system allows, which no
module can be imported as) is left out with everything under it, and the
submission says so in its problems, the name written with \\xNN escapes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_FILES = 200
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
# Entries looked at, kept or not (folders, links, __MACOSX): bounds the work before MAX_FILES applies.
MAX_ENTRIES = 20_000
MAX_CENTRAL_DIRECTORY_BYTES = MAX_ENTRIES * 512
MAX_DEPTH = 32  # parts of one relative path, the file's name included
MAX_NAME_BYTES = 255  # one part: what most file systems allow
MAX_PATH_BYTES = 1024  # a whole relative path: the scratch folder's path in front stays under PATH_MAX
IGNORED_PARTS = {"__pycache__", "__MACOSX", ".git", ".ipynb_checkpoints", ".pytest_cache", ".selfcheck"}  # .selfcheck: a kit's record
IGNORED_NAMES = {".DS_Store", "Thumbs.db"}
# What zip tools write by default. zipfile inflates bzip2 and lzma without a bound on the
# output, so a tiny entry lying about its size could fill the grader's memory: refused.
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
BAD_NAMES_LISTED = 5  # names not valid UTF-8 reported one by one; the rest in one count
# What tools leave beside the students' entries; any other folder or zip is someone's submission,
# whatever its name (a student may well call theirs "..." or ".me").
NOT_SUBMISSIONS = {"__MACOSX", "__pycache__", ".git", ".hg", ".svn", ".ipynb_checkpoints", ".DS_Store", ".Trashes",
                   ".Spotlight-V100", ".fseventsd"}


class SubmissionError(ValueError):
    """A submission that cannot be opened at all (a broken zip, too large, unsafe paths)."""


@dataclass
class Submission:
    student: str
    source: str
    files: dict[str, bytes]
    # Submission-level problems found while reading it ({"kind", "file", "message"}): names left out.
    problems: list[dict] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.files):
            digest.update(name.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(self.files[name]).digest())
        return digest.hexdigest()

    def materialise(self, base: str | None = None) -> str:
        """Write the files into a new private folder and return its path; on failure, remove it."""
        scratch = tempfile.mkdtemp(prefix="grader-", dir=base)
        try:
            self.write_into(scratch)
        except BaseException:
            discard(scratch)
            raise
        return scratch

    def write_into(self, folder) -> None:
        """Write the files under `folder`, which may not exist yet; SubmissionError if they cannot be."""
        check_layout(self.files)
        root = Path(folder)
        try:
            root.mkdir(parents=True, exist_ok=True)
            for name, data in self.files.items():
                path = root.joinpath(*PurePosixPath(name).parts)
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "xb") as handle:  # never through a link, never over another file
                    handle.write(data)
        except OSError as error:
            raise SubmissionError(f"the files could not be written to the grader's scratch folder "
                                  f"({error.strerror or error})") from None


def is_utf8(name: str) -> bool:
    """Whether a name read from the file system was valid UTF-8 (Python keeps other bytes as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown_name(name: str) -> str:
    """`name` quoted for a message: each byte that is not UTF-8 written \\xNN, control characters escaped."""
    return "'" + "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else repr(c)[1:-1] for c in name) + "'"


def _shown(name: str) -> str:
    return shown_name(name if len(name) <= 80 else name[:60] + "..." + name[-17:])


def _bad_names(names: list[str]) -> list[dict]:
    """The problems that report entries left out because their names are not valid UTF-8 (a folder's ends in /)."""
    problems = [{"kind": "bad_name", "file": _shown(name)[1:-1],
                 "message": f"{'the folder' if name.endswith('/') else 'the file'} {_shown(name)} was not graded"
                            f"{', nor anything in it' if name.endswith('/') else ''}: its name is not valid UTF-8; "
                            f"rename it (letters, numerals, . _ -) and submit again"}
                for name in names[:BAD_NAMES_LISTED]]
    if len(names) > BAD_NAMES_LISTED:
        rest = len(names) - BAD_NAMES_LISTED
        problems.append({"kind": "bad_name", "file": None,
                         "message": f"{rest} more {'entries were' if rest > 1 else 'entry was'} left out for a name "
                                    f"that is not valid UTF-8; rename them and submit again"})
    return problems


def check_path(name: str) -> PurePosixPath:
    """`name` as a relative path that stays inside a folder and that any file system can hold."""
    if "\0" in name:
        raise SubmissionError(f"the name {_shown(name)} holds a NUL character")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise SubmissionError(f"the submission holds an unsafe path {_shown(name)}")
    if len(path.parts) > MAX_DEPTH:
        raise SubmissionError(f"{_shown(name)} is nested {len(path.parts)} levels deep; at most {MAX_DEPTH} are accepted")
    for part in path.parts:
        if len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            raise SubmissionError(f"the name {_shown(part)} is longer than {MAX_NAME_BYTES} bytes: rename it")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        raise SubmissionError(f"the path {_shown(name)} is longer than {MAX_PATH_BYTES} bytes: rename or move it")
    return path


def check_layout(names) -> None:
    """Each name is a safe path, none twice, and none both a file and the folder of another."""
    files, folders = set(), set()
    for name in names:
        parts = check_path(name).parts
        if parts in files:
            raise SubmissionError(f"the submission holds {_shown('/'.join(parts))} twice")
        files.add(parts)
        folders.update(parts[:end] for end in range(1, len(parts)))
    clash = files & folders
    if clash:
        raise SubmissionError(f"{_shown('/'.join(min(clash)))} is both a file and a folder in the submission")


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


def _from_folder(folder: Path, bad: list[str]) -> dict[str, bytes]:
    """The folder's files; `bad` gets the relative names left out for not being valid UTF-8."""
    files, total, seen = {}, [0], 0

    def unreadable(error: OSError):
        raise SubmissionError(f"a folder in the submission could not be read ({error.strerror or error})")

    for root, dirs, names in os.walk(folder, followlinks=False, onerror=unreadable):
        here = PurePosixPath(Path(root).relative_to(folder).as_posix())
        seen += len(dirs) + len(names)
        if seen > MAX_ENTRIES:
            raise SubmissionError(f"more than {MAX_FILES} files: the folder holds more than {MAX_ENTRIES:,} entries")
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_PARTS and not os.path.islink(os.path.join(root, d)))
        bad += [f"{here / name}/" for name in dirs if not is_utf8(name)]
        dirs[:] = [name for name in dirs if is_utf8(name)]
        for name in dirs:  # checked before going in: nothing deeper or longer is ever opened
            check_path(str(here / name))
            if len(here.parts) + 2 > MAX_DEPTH:
                raise SubmissionError(f"{_shown(str(here / name))} holds folders or files more than {MAX_DEPTH} levels deep")
        for name in sorted(names):
            relative = here / name
            if not _keep(relative):
                continue
            if not is_utf8(name):
                bad.append(str(relative))
                continue
            path = Path(root, name)
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):  # links and devices are skipped
                check_path(str(relative))
                if info.st_size > MAX_FILE_BYTES:  # checked before reading: a sparse file costs no disk
                    raise SubmissionError(f"{relative} is larger than {MAX_FILE_BYTES >> 20} MiB")
                _add(files, str(relative), _read_regular(path, relative, info.st_size), total)
    return files


def _read_regular(path: Path, relative: PurePosixPath, size: int) -> bytes:
    try:
        # O_NONBLOCK: a file swapped for a FIFO since lstat must not hang the grader.
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise SubmissionError(f"{_shown(str(relative))} could not be read ({error.strerror or error})") from None
    with open(handle, "rb") as reader:
        if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
            raise SubmissionError(f"{_shown(str(relative))} changed while it was read")
        return reader.read(size + 1)


def _safe_member(name: str) -> PurePosixPath | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise SubmissionError(f"the zip holds an unsafe path {_shown(name)}")
    return path if _keep(path) else None


def _central_directory(archive: Path) -> None:
    """Refuse a zip whose index alone is too large, before zipfile parses every entry of it."""
    try:
        with open(archive, "rb") as handle:
            end = zipfile._EndRecData(handle)
    except Exception:  # zipfile says what is wrong when it opens the archive
        return
    if end and (end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ENTRIES or end[zipfile._ECD_SIZE] > MAX_CENTRAL_DIRECTORY_BYTES):
        raise SubmissionError(f"more than {MAX_FILES} files: the zip holds {end[zipfile._ECD_ENTRIES_TOTAL]:,} entries "
                              f"in an index of {end[zipfile._ECD_SIZE]:,} bytes")


def _from_zip(archive: Path) -> dict[str, bytes]:
    _central_directory(archive)
    try:
        with zipfile.ZipFile(archive) as bundle:
            if len(bundle.infolist()) > MAX_ENTRIES:
                raise SubmissionError(f"more than {MAX_FILES} files: the zip holds {len(bundle.infolist()):,} entries")
            members = []
            for member in bundle.infolist():
                if member.is_dir() or stat.S_ISLNK(member.external_attr >> 16):
                    continue
                path = _safe_member(member.filename)
                if path is not None:
                    if member.compress_type not in ZIP_METHODS:
                        raise SubmissionError(f"{member.filename} is compressed with method {member.compress_type}; "
                                              f"only {' and '.join(ZIP_METHODS.values())} are accepted: "
                                              f"zip the folder again with the default settings")
                    members.append((member, path))
            if len(members) > MAX_FILES:
                raise SubmissionError(f"more than {MAX_FILES} files")
            if sum(member.file_size for member, _ in members) > MAX_TOTAL_BYTES:
                raise SubmissionError(f"the zip unpacks to more than {MAX_TOTAL_BYTES >> 20} MiB")
            # A zip of the student's folder holds one top folder: strip it.
            tops = {path.parts[0] for _, path in members}
            strip = len(tops) == 1 and all(len(path.parts) > 1 for _, path in members)
            named = sorted(((str(PurePosixPath(*path.parts[1:]) if strip else path), member) for member, path in members),
                           key=lambda pair: pair[0])
            check_layout(name for name, _ in named)  # before anything is unpacked
            files, total = {}, [0]
            for name, member in named:
                with bundle.open(member) as handle:
                    data = handle.read(MAX_FILE_BYTES + 1)
                _add(files, name, data, total)
            return files
    except SubmissionError:
        raise
    except UnicodeDecodeError as error:  # the zip says its names are UTF-8, and one is not
        name = _shown(error.object.decode("utf-8", "surrogateescape")) if isinstance(error.object, bytes) else "a file"
        raise SubmissionError(f"{archive.name} is not a readable zip: it names {name}, which is not valid UTF-8 "
                              f"though the zip says its names are; rename that file and zip the folder again") from None
    except Exception as error:  # zipfile raises many kinds on a corrupt archive (zlib.error, RuntimeError, ...)
        raise SubmissionError(f"{archive.name} is not a readable zip: the upload is damaged or incomplete; zip the folder "
                              f"again and resubmit ({error})") from None


def open_submission(path) -> Submission:
    path = Path(path)
    if path.is_dir():
        bad: list[str] = []
        try:
            files = _from_folder(path, bad)
        except OSError as error:  # a file removed or made unreadable while it was walked
            raise SubmissionError(f"the folder could not be read ({error.strerror or error})") from None
        return Submission(path.name, str(path), files, _bad_names(bad))
    if path.is_file() and path.suffix.lower() == ".zip":
        return Submission(path.stem, str(path), _from_zip(path))
    raise SubmissionError(f"{path} is neither a folder nor a .zip")


def discard(scratch: str) -> None:
    shutil.rmtree(scratch, ignore_errors=True)


def holds_output(entry: Path, out) -> bool:
    """Whether `entry` is the folder reports go to, or holds it: `grader grade .` run inside the
    submissions folder writes results/ there, and that is no student's."""
    try:
        entry, out = entry.resolve(), Path(out).resolve()  # through links, either way
    except (OSError, RuntimeError):  # a link loop: no folder it could be
        return False
    return entry == out or entry in out.parents


def find_submissions(folder, out=None) -> list[Path]:
    """The student folders and .zip files directly inside `folder`, by name; never the output folder `out`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder of submissions")
    found = [p for p in folder.iterdir() if p.name not in NOT_SUBMISSIONS and (p.is_dir() or p.suffix.lower() == ".zip")
             and not (out is not None and holds_output(p, out))]
    return sorted(found, key=lambda p: p.name)
