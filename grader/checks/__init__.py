"""One module per check kind; each turns an item into a Verdict."""

from grader.checks import answers, cases, property, training
from grader.checks.common import Context, Verdict

RUNNERS = {"cases": cases.run, "property": property.run, "answers": answers.run, "training": training.run}
# Work that depends on the rubric alone, done once before a batch (into the disk cache) rather than per submission.
PREPARERS = {"property": property.prepare}

__all__ = ["Context", "Verdict", "RUNNERS", "PREPARERS"]
