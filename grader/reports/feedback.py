"""feedback.md: what an instructor can forward to a student as it is."""

from __future__ import annotations

from pathlib import Path

from grader.files import write_text_atomically
from grader.results import SubmissionResult

_MARK = {"passed": "passed", "failed": "FAILED", "error": "ERROR", "timeout": "TIMED OUT", "missing": "MISSING"}


def _fence(text: str) -> str:
    return "```\n" + text.replace("```", "'''") + "\n```"


def feedback_markdown(result: SubmissionResult, title: str) -> str:
    lines = [f"# {title}: feedback for {result.student}", "", f"**Score: {result.score:g} / {result.max_score:g}**", ""]
    for item in result.items:
        lines += [f"## {item.id}: {item.name}", "",
                  f"{_MARK[item.status]} ({item.score:g} / {item.max_score:g})", ""]
        if item.output:
            lines += [_fence(item.output), ""]
        if item.counterexample:
            for key in ("input", "expected", "got"):
                if key in item.counterexample:
                    value = item.counterexample[key]
                    text = "\n".join(f"{k} = {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
                    lines += [f"**{key}**", "", _fence(text), ""]
    return "\n".join(lines).rstrip() + "\n"


def write_feedback(result: SubmissionResult, title: str, out: Path) -> Path:
    return write_text_atomically(Path(out) / result.student / "feedback.md", feedback_markdown(result, title))
