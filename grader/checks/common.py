"""What every check kind shares: calling the student, the reference and the mutants."""

from __future__ import annotations

import ast
import copy
import importlib
import re
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from grader import judge, relations
from grader.text import sentence
from grader.boundary import Outcome, StudentProcess
from grader.problems import near_name
from grader.rubric import Item, Rubric, Target, resolve


@dataclass
class Verdict:
    status: str  # passed, failed, error, timeout or missing
    output: str = ""
    diagnosis: str | None = None
    counterexample: dict | None = None
    fatal: bool = False  # the child timed out or died: calling again costs a restart
    score: float | None = None  # points earned, when partial credit applies
    details: dict | None = None  # plain data for reports (e.g. accuracy per class, loss curves)
    relation: str | None = None  # how the wrong values relate to the expected ones, when no mistake is named
    raised: str | None = None  # the exception type the student's code raised, if it did


@dataclass
class Context:
    """One submission being graded: its child, and what is known of its files."""

    rubric: Rubric
    process: StudentProcess
    files: set[str]
    imports: dict[str, Verdict | None] = field(default_factory=dict)
    symbols: dict[tuple[str, str], bool] = field(default_factory=dict)
    documents: dict[str, object] = field(default_factory=dict)  # parsed answer files, or why not
    deadline: float = float("inf")  # time.monotonic() by which the whole submission must be done
    progress: object = None  # progress(item_id, report) for long checks, or None
    explain: bool = True  # False: a failure needs only its status (no shrinking, no diagnosis), as in an audit

    def timeout(self, item: Item) -> float:
        """The item's per-call limit, cut short by what is left of the submission's budget."""
        return max(0.001, min(item.timeout_s, self.deadline - time.monotonic()))

    def budget_cut(self, item: Item, limit: float) -> float | None:
        return self.rubric.submission_timeout_s if limit < item.timeout_s else None

    def target_problem(self, item: Item, target: Target | None = None) -> Verdict | None:
        """A verdict when the item's target (or `target`) file or symbol cannot be used, else None."""
        target = target or item.target
        if target.file not in self.files:
            return Verdict("missing", f"{target.file} was not submitted.{near_name(target.file, self.files)}")
        if target.module not in self.imports:
            limit = self.timeout(item)
            outcome = self.process.import_module(target.module, limit)
            self.imports[target.module] = None if outcome.ok else outcome_verdict(
                outcome, f"importing {target.file}", limit, self.budget_cut(item, limit)
            )
        if self.imports[target.module] is not None:
            return self.imports[target.module]
        if target.symbol is None:
            return None
        key = (target.module, target.symbol)
        if key not in self.symbols:
            outcome = self.process.call(target.module, f"{target.symbol!r} in globals()", {}, self.timeout(item))
            self.symbols[key] = outcome.ok and outcome.value is True
        if not self.symbols[key]:
            return Verdict("missing", f"{target.file} defines no {target.symbol}.")
        return None

    def document(self, item: Item, filename: str):
        """A submitted YAML file parsed in the child, as plain data, or a Verdict saying why there is none."""
        if filename not in self.documents:
            if filename not in self.files:
                self.documents[filename] = Verdict("missing", f"{filename} was not submitted.")
            else:
                limit = self.timeout(item)
                outcome = self.process.read_yaml(filename, limit)
                if outcome.ok:
                    self.documents[filename] = outcome.value
                elif outcome.error_type:
                    self.documents[filename] = Verdict("failed", f"{filename} is not valid YAML: {outcome.message}")
                else:
                    self.documents[filename] = outcome_verdict(outcome, f"reading {filename}", limit, self.budget_cut(item, limit))
        return self.documents[filename]


SANDBOX_REFUSED = ("The grading sandbox refused this: code being graded may read its own folder and the Python "
                   "libraries, write only in its own folder, and open no network connection or socket.")


def outcome_verdict(outcome: Outcome, doing: str, timeout_s: float, budget_s: float | None = None) -> Verdict:
    """The verdict for a request that did not return a value; `budget_s` when the submission's budget cut it short."""
    printed = f"\n\nYour code printed:\n{outcome.output}" if outcome.output.strip() else ""
    # What the boundary measured (CPU time used, the memory limit the kernel enforced) says why.
    measured = f" Measured: {outcome.message}." if outcome.message else ""
    if outcome.status == "timeout":
        limit = f"before the submission's time budget of {budget_s:g} s ran out" if budget_s else f"within {timeout_s:g} s"
        return Verdict("timeout", f"{doing} did not finish {limit}.{measured}{printed}", fatal=True)
    if outcome.status == "crashed":
        cause = outcome.message if outcome.message.startswith("out of memory") else "it exited, crashed or ran out of memory"
        return Verdict("error", f"The process stopped while {doing}: {cause}.{printed}", fatal=True)
    if outcome.error_type == "NotImplementedError":  # a starter's body: nothing to debug yet
        return Verdict("error", f"{doing} raised NotImplementedError: it is not written yet.{printed}")
    if outcome.error_type:
        tail = "\n".join(outcome.traceback.strip().splitlines()[-6:])
        refused = f"\n{SANDBOX_REFUSED}" if outcome.error_type == "PermissionError" else ""
        return Verdict("error", f"{doing} raised {outcome.error_type}: {outcome.message}{refused}\n{tail}{printed}")
    return Verdict("error", f"{doing} failed: {outcome.message}{printed}")


_UNKNOWN = object()
MAX_RELATED = 20  # wrong values a relation is looked for in


def namespace(item: Item, replacement=None) -> dict:
    """The reference module's names, with the target symbol bound to the reference or a replacement
    (a 'module:symbol' name, or the object itself)."""
    module = importlib.import_module(item.reference.split(":")[0])
    names = dict(vars(module))
    chosen = replacement or item.reference
    names[item.target.symbol] = resolve(chosen) if isinstance(chosen, str) else chosen
    return names


def evaluate(item: Item, inputs: dict, replacement=None):
    """The call expression evaluated in the trusted process, as plain data; a kit's item answers
    from its record (grader.kit.record), raising where nothing was recorded."""
    if item.recording is not None:
        return item.recording.answer(inputs, replacement or item.reference)
    names = namespace(item, replacement)
    names.update(copy.deepcopy(inputs))
    with np.errstate(all="ignore"):
        return judge.plain(eval(item.call, names), torch)


@dataclass(eq=False)  # compared by identity: inputs hold arrays
class Attempt:
    """One call of the student's code on one input, judged: `verdict` is None when it was right."""

    inputs: dict
    expected: object
    verdict: Verdict | None
    got: object = None
    printed: str = ""
    error: str = ""  # "ErrorType: message" when the student's code raised

    @property
    def unwritten(self) -> bool:
        """The code raised NotImplementedError, as a starter file does: one input says all there is."""
        return self.error.startswith("NotImplementedError")

    @property
    def wrong_value(self) -> bool:
        """Returned a value that is wrong (rather than raising, crashing or timing out)."""
        return self.verdict is not None and self.verdict.status == "failed" and not self.verdict.fatal


def attempt(ctx: Context, item: Item, inputs: dict, expected=_UNKNOWN) -> Attempt:
    """Call the student on `inputs` and judge the result, without rendering or diagnosis.

    `expected` is the reference's answer when it is already known.
    """
    if expected is _UNKNOWN:
        try:
            expected = evaluate(item, inputs)
        except Exception as error:
            return Attempt(inputs, None, Verdict("error", f"grader error: the reference failed on this input ({type(error).__name__}: {error})"))
    limit = ctx.timeout(item)
    outcome = ctx.process.call(item.target.module, item.call, inputs, limit, torch)
    if not outcome.ok:
        verdict = outcome_verdict(outcome, f"{item.call}", limit, ctx.budget_cut(item, limit))
        verdict.raised = outcome.error_type or None
        error = f"{outcome.error_type}: {outcome.message}" if outcome.error_type else ""
        return Attempt(inputs, expected, verdict, printed=outcome.output, error=error)
    got = outcome.value
    problem = judge.check_kind(got, item.returns) or judge.compare(got, expected, item.rtol, item.atol)
    return Attempt(inputs, expected, None if problem is None else Verdict("failed", problem), got, outcome.output)


def judge_call(ctx: Context, item: Item, inputs: dict, explain: bool = True, expected=_UNKNOWN) -> Verdict | None:
    """Call the student on `inputs` and judge the result; None when it is right.

    With explain=False a failure carries only its status: no rendering and no
    diagnosis, which matters while Hypothesis searches and shrinks.
    """
    tried = attempt(ctx, item, inputs, expected)
    if tried.verdict is None or not explain:
        return tried.verdict
    return explained(ctx, item, tried, [tried])


# ---- naming what went wrong ---------------------------------------------------------


def mutant_matches(item: Item, mistake_id: str, tried: Attempt) -> bool | None:
    """Whether the student's wrong value on this input is what the named mistake's mutant computes;
    None when the mutant cannot handle this input (padding ignored where the kernel is larger than
    the image), which neither supports nor contradicts it."""
    try:
        mutant = evaluate(item, tried.inputs, item.mistakes[mistake_id])
    except Exception:
        return None
    return judge.same_mistake(tried.got, mutant, item.rtol, item.atol)


def visible_on(item: Item, mistake_id: str, inputs: dict) -> bool:
    """Whether this input can show the mistake: its mutant differs from the reference and, for a
    combination, from each of its mistakes made alone (a 1x1 kernel cannot show a flip)."""
    others = [item.reference] + [item.mistakes[part] for part in mistake_id.split("+")
                                 if "+" in mistake_id and part in item.mistakes]
    try:
        mutant = evaluate(item, inputs, item.mistakes[mistake_id])
    except Exception:
        return False
    for other in others:
        try:
            if judge.same_mistake(evaluate(item, inputs, other), mutant, item.rtol, item.atol):
                return False
        except Exception:
            continue
    return True


def diagnose(item: Item, failures: list[Attempt]) -> tuple[str | None, list[Attempt]]:
    """The named mistake that explains the most wrong values (then the one of fewest mistakes
    combined, then the rubric's order), with the attempts it explains; (None, []) if none does.

    A mistake contradicted by any of them is not named, nor one that explains fewer than half:
    small inputs often make two different mistakes give the same value, and a name that fits
    only some of the failures would send the student after a bug they did not make.
    """
    best = None
    wrong = [tried for tried in failures if tried.wrong_value]
    for order, mistake_id in enumerate(item.mistakes):
        verdicts = [(tried, mutant_matches(item, mistake_id, tried)) for tried in wrong]
        if any(match is False for _, match in verdicts):
            continue
        matched = [tried for tried, match in verdicts if match]
        rank = (-len(matched), mistake_id.count("+"), order)
        if matched and 2 * len(matched) >= len(wrong) and (best is None or rank < best[0]):
            best = (rank, mistake_id, matched)
    return (best[1], best[2]) if best else (None, [])


def known_error(rubric: Rubric, error: str) -> str | None:
    """The catalogued mistake whose `raises` pattern the error ('ErrorType: message') matches."""
    for mistake_id, pattern in rubric.mistake_errors.items():
        if error and re.search(pattern, error[:2000]):
            return mistake_id
    return None


def relation(item: Item, failures: list[Attempt]) -> str | None:
    """How the wrong values relate to the expected ones, found without any named mistake."""
    wrong = [tried for tried in failures if tried.wrong_value][:MAX_RELATED]
    if not wrong:
        return None
    try:
        cases = [(judge.plain(tried.inputs, torch), tried.got, tried.expected) for tried in wrong]
        return relations.explain(cases, [quantities(item, tried.inputs) for tried in wrong])
    except Exception:  # a relation is a help, never a reason to lose the verdict
        return None


def quantities(item: Item, inputs: dict) -> dict[str, float]:
    """The rubric's named quantities of one input (the batch size, ...), those that evaluate to a number."""
    if item.recording is not None:
        return item.recording.quantities(inputs)
    found = {}
    for name, expression in item.quantities.items():
        try:
            with np.errstate(all="ignore"):
                value = eval(expression, {"np": np, "torch": torch, **copy.deepcopy(inputs)})
            if value is not None:
                found[name] = float(value)
        except Exception:
            continue
    return found


def explained(ctx: Context, item: Item, shown_attempt: Attempt, failures: list[Attempt],
              mistake: tuple[str | None, list[Attempt]] | None = None, relation_text: str | None = None) -> Verdict:
    """The verdict for `shown_attempt`, rendered, with what explains `failures`: the named mistake
    (`mistake` when already found), else the relation between what was returned and expected."""
    verdict = shown_attempt.verdict
    if not shown_attempt.wrong_value:
        verdict.counterexample = {"input": shown(shown_attempt.inputs, item)}
        named = known_error(ctx.rubric, shown_attempt.error)
        if named:
            verdict.diagnosis = named
            verdict.output += f"\nThis looks like a known mistake ({named}): {ctx.rubric.hint(named)}".rstrip(": ")
        return verdict
    diagnosis, matched = mistake if mistake is not None else diagnose(item, failures)
    if diagnosis is None and relation_text is None:
        relation_text = relation(item, failures)
    elif diagnosis is None and shown_attempt not in failures[:1]:
        # A relation quotes its first case's numbers: that must be the case shown.
        relation_text = relation(item, [shown_attempt, *(tried for tried in failures if tried is not shown_attempt)]) \
            or relation_text
    problem = verdict.output
    lines = [sentence(problem) + "."]
    wrong = sum(tried.wrong_value for tried in failures)
    if diagnosis:
        share = f" on {len(matched)} of the {wrong} inputs it got wrong" if 0 < len(matched) < wrong else ""
        lines.append(f"This looks like a known mistake ({diagnosis}){share}: {ctx.rubric.hint(diagnosis)}".rstrip(": "))
    elif relation_text:
        lines.append(relation_text)
    lines += list(item.hints)
    if shown_attempt.printed.strip():
        lines.append(f"Your code printed:\n{shown_attempt.printed}")
    counterexample = {"input": shown(shown_attempt.inputs, item), "expected": judge.show(shown_attempt.expected),
                      "got": judge.show(shown_attempt.got)}
    return Verdict("failed", "\n".join(lines), diagnosis, counterexample, relation=None if diagnosis else relation_text)


def shown(inputs: dict, item: Item | None = None) -> dict:
    """The inputs as feedback shows them: those `item`'s call uses (a strategy may draw more, as
    a network's draws the labels Y for its backward pass, which the forward pass never sees)."""
    used = _call_names(item.call) if item is not None and item.call else None
    return {name: judge.show(value) for name, value in judge.plain(inputs, torch).items()
            if used is None or name in used or not used & set(inputs)}


def _call_names(call: str) -> set[str]:
    try:
        return {node.id for node in ast.walk(ast.parse(call, mode="eval")) if isinstance(node, ast.Name)}
    except SyntaxError:
        return set()
