"""The grader's engine as a wheel, written directly: what a kit installs, without any reference package.

A wheel is a zip with the package's files and a .dist-info folder (PEP 427); writing it
here needs no build tool, and gives the same bytes for the same engine.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import zipfile
from pathlib import Path

from grader import __version__

DISTRIBUTION = "dlgrader"  # the name on PyPI; "grader" there is an unrelated project
ZIP_TIME = (2026, 1, 1, 0, 0, 0)


def _requirements() -> list[str]:
    """The engine's own dependencies, as this installation declares them (no extras)."""
    try:
        declared = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        declared = ["numpy>=1.24", "torch>=2.1,<3", "pyyaml>=6", "rich>=13", "hypothesis>=6.100", "pyseccomp>=0.1.2"]
    return [requirement for requirement in declared if "extra ==" not in requirement]


def _files() -> list[tuple[str, bytes]]:
    package = Path(__file__).resolve().parents[1]
    found = []
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package.parent)
        if path.is_file() and "__pycache__" not in relative.parts and path.suffix != ".pyc":
            found.append((relative.as_posix(), path.read_bytes()))
    return found


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def write_wheel(folder) -> Path:
    """Write the engine's wheel into `folder`; its path."""
    info = f"{DISTRIBUTION}-{__version__}.dist-info"
    metadata = "\n".join(["Metadata-Version: 2.1", f"Name: {DISTRIBUTION}", f"Version: {__version__}",
                          "Summary: The grader's engine, for a student's self-check", "Requires-Python: >=3.11",
                          *(f"Requires-Dist: {requirement}" for requirement in _requirements()), ""])
    entries = _files() + [
        (f"{info}/METADATA", metadata.encode()),
        (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: grader\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        (f"{info}/entry_points.txt", b"[console_scripts]\ngrader = grader.cli:run\n"),
    ]
    record = "\n".join([*(_record_line(name, data) for name, data in entries), f"{info}/RECORD,,", ""])
    entries.append((f"{info}/RECORD", record.encode()))
    path = Path(folder) / f"{DISTRIBUTION}-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            entry = zipfile.ZipInfo(name, ZIP_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return path
