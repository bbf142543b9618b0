"""Typed results and their JSON form. Timing lives apart, so that everything
else in a result is identical when the same submission is graded again."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from grader import __version__

STATUSES = ("passed", "partial", "failed", "error", "timeout", "missing")
# What can stop a whole submission before its answers are judged, counted apart from wrong answers.
STOPPING_KINDS = ("unreadable", "no_code", "missing", "syntax", "import")
# A name that is not valid UTF-8 stops nothing itself: the file is left out (and so may be missing).
PROBLEM_KINDS = (*STOPPING_KINDS, "bad_name")


@dataclass
class ItemResult:
    id: str
    name: str
    score: float
    max_score: float
    status: str
    visibility: str
    output: str = ""
    diagnosis: str | None = None  # the named mistake ('a+b' for two at once)
    counterexample: dict | None = None
    details: dict | None = None  # plain data for charts and tables, e.g. accuracy per class
    relation: str | None = None  # how the wrong values relate to the expected ones, when no mistake is named

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")


@dataclass
class SubmissionResult:
    student: str
    items: list[ItemResult]
    isolation: dict
    rubric_sha256: str
    submission_sha256: str
    grader_version: str = __version__
    timing: dict = field(default_factory=dict)
    draw: str = ""  # whose generated inputs: "public" (a kit's) or the grading secret's fingerprint
    problems: list[dict] = field(default_factory=list)  # {"kind", "file", "message"}, see problem()

    @property
    def score(self) -> float:
        return round(sum(item.score for item in self.items), 6)

    @property
    def max_score(self) -> float:
        return round(sum(item.max_score for item in self.items), 6)

    @property
    def has_problem(self) -> bool:
        return bool(self.problems)

    def item(self, item_id: str) -> ItemResult:
        return next(item for item in self.items if item.id == item_id)

    def to_dict(self, with_timing: bool = True) -> dict:
        data = {
            "student": self.student,
            "score": self.score,
            "max_score": self.max_score,
            "problems": self.problems,
            "items": [asdict(item) for item in self.items],
            "isolation": self.isolation,
            "rubric_sha256": self.rubric_sha256,
            "draw": self.draw,
            "submission_sha256": self.submission_sha256,
            "grader_version": self.grader_version,
        }
        if with_timing:
            data["timing"] = self.timing
        return data

    def to_json(self, with_timing: bool = True) -> str:
        return json.dumps(self.to_dict(with_timing), indent=2, sort_keys=False, allow_nan=False)


def problem(kind: str, file: str | None, message: str) -> dict:
    """One submission-level problem; `message` is complete on its own (names the file and line)."""
    if kind not in PROBLEM_KINDS:
        raise ValueError(f"unknown problem kind {kind!r}")
    return {"kind": kind, "file": file, "message": message}


def stopped_output(found: dict) -> str:
    """The whole output of an item that `found` stopped: one line in the same form for every kind, since the
    problem itself (with any near-miss file name) is told once, at the top."""
    what = {"missing": f"{found['file']} was not submitted",
            "unreadable": "the submission could not be opened",
            "no_code": "none of the Python files this assignment grades was submitted",
            "syntax": f"{found['file']} has a syntax error",
            "import": f"{found['file']} failed on import"}[found["kind"]]
    return f"Not graded: {what} (see the submission's problems)."


def stopped_items(result: "SubmissionResult") -> dict[str, dict]:
    """item id -> the problem that stopped it, for the items whose output points to one."""
    pointers = {stopped_output(found): found for found in result.problems if found.get("kind") in STOPPING_KINDS}
    return {item.id: pointers[item.output] for item in result.items
            if item.status in ("error", "missing") and item.output in pointers}


def shown_status(item: ItemResult) -> str:
    """The status a student may see. A hidden item says only whether it passed (and partial credit,
    which its score shows anyway): which way it failed would be a channel out of the hidden inputs."""
    if item.visibility == "hidden" and item.status not in ("passed", "partial"):
        return "failed"
    return item.status


def result_from_dict(data: dict) -> SubmissionResult:
    """A result read back from result.json (written by this grader, never by student code)."""
    items = [ItemResult(**item) for item in data["items"]]
    return SubmissionResult(
        student=data["student"], items=items, isolation=data.get("isolation", {}),
        rubric_sha256=data["rubric_sha256"], submission_sha256=data["submission_sha256"],
        grader_version=data.get("grader_version", __version__), timing=data.get("timing", {}),
        draw=data.get("draw", ""), problems=list(data.get("problems", [])),
    )
