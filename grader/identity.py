"""A submission's identity: the name its reports are filed under.

The entry's own name (a folder or a zip in the submissions folder) is chosen by
the student, so it is never used as it is: it is mapped once, where submissions
are found, to one plain component that cannot be a path, a hidden file, a report
the batch writes, a spreadsheet formula, markup or a control sequence. Two
entries never share an identity.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

MAX_BYTES = 100
FALLBACK = "submission"
KEPT_PUNCTUATION = "._-"
# What the batch writes beside the students' folders: no student may be filed under one of them.
RESERVED = {"gradebook.csv", "grading.log", "report.html", "results.json"}


def entry_name(path) -> str:
    """The name the student gave the entry: a folder's name, or a zip's without .zip."""
    path = Path(os.path.abspath(path))  # "." names the folder it is
    return path.name[:-4] if path.name.lower().endswith(".zip") and not path.is_dir() else path.name


def safe_name(raw: str) -> str:
    """Letters, numerals and . _ - only, starting with a letter or numeral, at most MAX_BYTES of UTF-8."""
    text = unicodedata.normalize("NFC", raw)
    kept = "".join(c if c.isalnum() or c in KEPT_PUNCTUATION else "_" for c in text)
    kept = kept.lstrip(KEPT_PUNCTUATION)  # no hidden file, no "..", no leading "-" (a formula or an option)
    while len(kept.encode("utf-8")) > MAX_BYTES:
        kept = kept[:-1]
    return kept or FALLBACK


def _free(name: str, taken: set[str]) -> bool:
    # Compared without case: the reports may be copied to a file system that ignores it.
    return name.lower() not in taken and name.lower() not in RESERVED


def identities(paths) -> dict[Path, str]:
    """Each entry's identity. In name order, an entry takes its safe name if free, else the safe
    form of its whole file name (ada.zip beside a folder ada), else that with -2, -3, ..."""
    taken: set[str] = set()
    chosen: dict[Path, str] = {}
    for path in sorted((Path(p) for p in paths), key=lambda p: p.name):
        base = safe_name(entry_name(path))
        candidates = [base, safe_name(path.name)]
        name = next((c for c in candidates if _free(c, taken)), None)
        number = 2
        while name is None:
            suffix = f"-{number}"
            trimmed = candidates[-1]
            while len((trimmed + suffix).encode("utf-8")) > MAX_BYTES:
                trimmed = trimmed[:-1]
            name = trimmed + suffix if _free(trimmed + suffix, taken) else None
            number += 1
        taken.add(name.lower())
        chosen[path] = name
    return chosen


def is_identity(name: str) -> bool:
    """Whether `name` could have been given by identities(): a writer's last check before a path."""
    return safe_name(name) == name and name.lower() not in RESERVED


def report_folder(out, student: str) -> Path:
    """out/<student>: refused for a name identities() could not have given, so no report lands elsewhere."""
    if not is_identity(student):
        raise ValueError(f"{student!r} is not a submission identity; it cannot name a report folder")
    return Path(out) / student
