"""A disk cache for values the trusted process derives from the rubric alone.

Generated inputs and the reference's answers to them are the same for every
submission, so they are worked out once and kept between runs. An entry's key
covers everything its value depends on: the rubric, the source of the packages
it names, and the versions of the libraries that compute it. A missing, stale
or unreadable entry is simply worked out again, so the cache never changes a
grade. Entries hold reference answers: the folder is hidden from student code.

GRADER_CACHE_DIR chooses the folder; set it to "off" to keep nothing on disk.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path

from grader.boundary.codec import CodecError, frame, read_frame
from grader.files import write_bytes_atomically

FORMAT = 1
_digests: dict[str, str] = {}


def cache_dir() -> Path | None:
    """The cache folder, created if need be; None when caching is off or the folder cannot be made."""
    chosen = os.environ.get("GRADER_CACHE_DIR")
    if chosen == "off":
        return None
    if chosen:
        folder = Path(chosen)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = Path(base) / "grader"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return folder


def source_digest(package: str) -> str:
    """sha256 over the Python files of an importable package (or module), by relative path."""
    if package not in _digests:
        spec = importlib.util.find_spec(package)
        hasher = hashlib.sha256()
        if spec is not None:
            roots = list(spec.submodule_search_locations or []) or [spec.origin]
            for root in roots:
                root = Path(root)
                files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
                for path in files:
                    hasher.update(str(path.relative_to(root.parent)).encode() + b"\0" + path.read_bytes() + b"\0")
        _digests[package] = hasher.hexdigest()
    return _digests[package]


def key(*parts) -> str:
    """A cache key from JSON-able parts, the Python version and the cache's format."""
    text = json.dumps([FORMAT, sys.version_info[:2], *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def load(name: str) -> tuple[dict, list[bytes]] | None:
    """The entry stored under `name` as a message (header and blobs), or None."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        with open(folder / f"{name}.msg", "rb") as handle:
            return read_frame(handle.read)
    except (OSError, EOFError, CodecError, ValueError):
        return None


def store(name: str, header: dict, blobs: list[bytes]) -> None:
    folder = cache_dir()
    if folder is None:
        return
    try:
        write_bytes_atomically(folder / f"{name}.msg", frame(header, blobs))
    except OSError:  # a full or read-only disk costs time, never a grade
        pass
