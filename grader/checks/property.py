"""Hypothesis property checks: many generated inputs, a shrunk counterexample on failure.

Inputs are drawn and judged in the trusted process; only single calls cross
the boundary. A timeout or a dead process stops the search at once rather than
shrinking through restarts.

Each item's search is seeded from its id, so Hypothesis tries the same inputs,
in the same order, on every implementation until one fails. Those inputs and the
reference's answers are therefore drawn once per process and replayed for every
submission; only a failure runs the live search again, which reaches the same
failing input and shrinks it. The table is also kept in the disk cache, so a
self-check run again, or a batch's next worker, skips drawing it.

Hypothesis also mixes into generation constants it finds in the source of
"local" modules, i.e. whatever the process imported from outside site-packages.
That differs between `grader check`, the Python API and a batch worker (and
between an editable and a regular install), so the grader's draws turn it off.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import textwrap
from contextlib import contextmanager

import hypothesis
import numpy as np
import torch
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis.errors import HypothesisException

from grader import cache, judge
from grader.boundary.codec import CodecError, Decoder, encode_value
from grader.checks.common import (Attempt, Context, Verdict, attempt, diagnose, evaluate, explained, mutant_matches,
                                  relation, shown, visible_on)
from grader.rubric import Item, Part, Rubric, resolve
from grader.secret import draw_key

try:  # releases before local constants have nothing to turn off
    from hypothesis.internal.conjecture import providers as _providers
    from hypothesis.internal.constants_ast import Constants as _Constants
except ImportError:
    _providers = None

# Part of the table's cache key: tables drawn with local constants are not reused.
_DRAWING = "no-local-constants"

MAX_FAILURES = 20  # failing inputs of the table a diagnosis looks at
_replays: dict[tuple, list | None] = {}  # (rubric sha256, item id) -> [(inputs, expected)], or None


class _Wrong(Exception):
    """Raised inside the property so that Hypothesis shrinks the input."""


@contextmanager
def _without_local_constants():
    """Generation from the seed and Hypothesis's built-in constants only, whatever this process imported.

    Process-wide while it lasts; the constants cache is emptied on both sides so
    that no entry built with (or without) local constants crosses over.
    """
    original = getattr(_providers, "_get_local_constants", None)
    if original is None:  # a rename shows in tests/engine/test_draw_determinism.py
        yield
        return
    _providers._get_local_constants = _Constants  # an empty set of constants for each test case
    _providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        _providers._get_local_constants = original
        _providers.CONSTANTS_CACHE.cache.clear()


def search(item: Item, test, key: bytes = b"") -> None:
    """Run Hypothesis over the item's strategy; test(inputs) raises to report a failure.

    `key` (grader.secret.draw_key) is mixed into the seed: empty for the public draw a kit holds.
    """
    digest = hashlib.sha256(key + f"{item.id}\0{item.strategy}".encode()).digest()

    @seed(int.from_bytes(digest[:8], "big"))
    @settings(
        max_examples=item.examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
    )
    @given(resolve(item.strategy)())
    def probe(inputs):
        test(inputs)

    with _without_local_constants():
        probe()


def replay(rubric: Rubric, item: Item) -> list | None:
    """The inputs a passing implementation is called with, each with the reference's answer.

    None when the reference itself fails on one: the live search then reports it. An item's
    parts have a table each; the item's is theirs put together.
    """
    if item.parts:
        tables = [replay(rubric, alone) for _, alone in part_items(item)]
        return None if any(table is None for table in tables) else [entry for table in tables for entry in table]
    if item.recording is not None:  # a student kit's item: its table was drawn when the kit was built
        return item.recording.table(item.id)
    draw = draw_key(rubric.secret)
    key = (rubric.sha256, draw, item.id)
    if key not in _replays:
        name = _cache_name(rubric, item, draw)
        _replays[key] = _load(name)
        if _replays[key] is None:
            _replays[key] = _record(item, draw)
            if _replays[key] is not None:
                _store(name, _replays[key])
    return _replays[key]


def _record(item: Item, draw: bytes) -> list | None:
    recorded = []
    try:
        search(item, lambda inputs: recorded.append((inputs, evaluate(item, inputs))), draw)
    except Exception:
        return None
    return recorded


def prepare(rubric: Rubric, item: Item) -> None:
    """Draw the item's table into the disk cache, so that a batch's workers share one drawing."""
    replay(rubric, item)


def _cache_name(rubric: Rubric, item: Item, draw: bytes) -> str:
    packages = sorted({ref.split(":")[0].split(".")[0] for ref in (item.strategy, item.reference)})
    return "examples-" + cache.key(
        rubric.sha256, hashlib.sha256(draw).hexdigest(), item.id, item.strategy, item.reference, item.call, item.examples,
        {package: cache.source_digest(package) for package in packages},
        hypothesis.__version__, np.__version__, torch.__version__, _DRAWING,
    )


def _load(name: str) -> list | None:
    message = cache.load(name)
    if message is None:
        return None
    try:
        entries = Decoder(message[1], torch).decode(message[0])
        return [(inputs, judge.plain(expected, torch)) for inputs, expected in entries]
    except (CodecError, TypeError, ValueError):
        return None


def _store(name: str, table: list) -> None:
    try:
        header, blobs = encode_value([[inputs, expected] for inputs, expected in table], torch)
    except CodecError:  # too large to keep: it is drawn again next time
        return
    cache.store(name, header, blobs)


def part_items(item: Item) -> list[tuple[Part | None, Item]]:
    """(part, the item as that part alone) for each part; (None, item) for an item without parts.

    Each part is its own search: its own seed (from its id), table and counterexample.
    """
    if not item.parts:
        return [(None, item)]
    return [(part, dataclasses.replace(item, id=f"{item.id}.{part.id}", name=part.name, points=part.points,
                                       strategy=part.strategy, examples=part.examples,
                                       hints=item.hints + part.hints, parts=()))
            for part in item.parts]


def run(ctx: Context, item: Item) -> Verdict:
    problem = ctx.target_problem(item)
    if problem:
        return problem
    if not item.parts:
        return _run_one(ctx, item)
    return _combined(item, [(part, _run_one(ctx, alone)) for part, alone in part_items(item)])


def _run_one(ctx: Context, item: Item) -> Verdict:
    table = replay(ctx.rubric, item)
    if table is None:
        return live_search(ctx, item)
    failures: list[Attempt] = []
    tried_count = 0
    for inputs, expected in table:
        tried = attempt(ctx, item, inputs, expected)
        tried_count += 1
        if tried.verdict is None:
            continue
        if tried.verdict.fatal or tried.unwritten:
            if failures and not tried.unwritten:  # explained with the failures seen before it: calling again costs a restart
                break
            tried.verdict.counterexample = {"input": shown(inputs, item)}  # where the live search would stop too
            return tried.verdict
        if not ctx.explain:  # the live search would fail at this input too, then shrink it
            return tried.verdict
        failures.append(tried)
        if len(failures) >= MAX_FAILURES:
            break
    if not failures:
        return Verdict("passed", f"{len(table)} generated inputs passed.")
    verdict = _explained_search(ctx, item, failures)
    if not verdict.fatal:
        verdict.output += f"\nFailed on {len(failures)} of the first {tried_count} generated inputs tried."
    return verdict


def _explained_search(ctx: Context, item: Item, failures: list[Attempt]) -> Verdict:
    """Shrink a counterexample that still shows what explains the table's failures.

    A named mistake is diagnosed on every failure first; the shrunk input must then be one
    the mistake is seen on, so that shrinking cannot trade it for a simpler failure.
    """
    mistake = diagnose(item, failures)
    diagnosis, matched = mistake
    relation_text = None if diagnosis else relation(item, failures)
    if not diagnosis:  # a relation was found among wrong values: the counterexample is one of them
        wrong = [tried for tried in failures if tried.wrong_value] if relation_text else []
        keep = (lambda tried: tried.wrong_value) if wrong else None
        known = (wrong or failures)[0]
        candidates = wrong or failures
    else:
        def keep(tried: Attempt) -> bool:
            return tried.wrong_value and mutant_matches(item, diagnosis, tried) is True and visible_on(item, diagnosis, tried.inputs)

        visible = [tried for tried in matched if visible_on(item, diagnosis, tried.inputs)]
        known = (visible or matched)[0]
        candidates = visible or matched
    if item.recording is not None:  # no reference to shrink against: the smallest input the table failed on
        shown_attempt = min(candidates, key=lambda tried: _size(tried.inputs))
        return _known_failure(ctx, item, shown_attempt, failures, mistake, relation_text)
    return live_search(ctx, item, known=known, keep=keep, failures=failures, mistake=mistake, relation_text=relation_text)


def _size(inputs) -> tuple:
    """How hard an input is to read: its number of values, each value that is not a short number
    (a multiple of 1/4 below 100) counting as three more; then their magnitude (ties keep table order)."""
    values = _values(judge.plain(inputs, torch))
    finite = values[np.isfinite(values)]
    short = np.isfinite(values) & (np.abs(values) < 100) & (np.mod(values * 4, 1) == 0)
    return values.size + 3 * int((~short).sum()), float(np.abs(finite).sum())


def _values(value) -> np.ndarray:
    """Every number in a plain value, flattened."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        parts = [_values(inner) for inner in value]
        return np.concatenate(parts) if parts else np.zeros(0)
    value = getattr(value, "array", value)  # a tensor's plain wrapper
    if isinstance(value, (np.ndarray, int, float)) and not isinstance(value, bool):
        return np.asarray(value, dtype=np.float64).ravel()
    return np.zeros(0)


def live_search(ctx: Context, item: Item, known: Attempt | None = None, keep=None, failures=(),
                mistake=None, relation_text: str | None = None) -> Verdict:
    """Search for a failing input and shrink it.

    `known` is a failure the replayed table found: should the search not find one (a
    student function that behaves differently now, or a draw that differs), that failure
    is reported, never a pass. `keep(attempt)` says which failures count while shrinking.
    """
    state: dict = {"failing": None, "stop": None, "examples": 0}

    def test(inputs):
        if state["stop"] is not None:
            return
        state["examples"] += 1
        tried = attempt(ctx, item, inputs)
        if tried.verdict is None:
            return
        if tried.verdict.fatal:
            state["stop"] = tried
            return
        if keep is not None and not keep(tried):
            return
        state["failing"] = inputs  # the last failure recorded is Hypothesis's final, shrunk one
        raise _Wrong()

    try:
        search(item, test, draw_key(ctx.rubric.secret))
    except _Wrong:
        pass
    except HypothesisException as error:  # e.g. a flaky student function: keep the failure it showed
        if state["failing"] is None:
            if known is not None:
                return _known_failure(ctx, item, known, failures, mistake, relation_text)
            return Verdict("error", f"grader error: the property check could not run ({type(error).__name__})")
    if state["stop"] is not None:
        verdict = state["stop"].verdict
        verdict.counterexample = {"input": shown(state["stop"].inputs, item)}
        return verdict
    if state["failing"] is None:
        if known is not None:
            return _known_failure(ctx, item, known, failures, mistake, relation_text)
        return Verdict("passed", f"{state['examples']} generated inputs passed.")
    # Judged once more, now with rendering and diagnosis; a student function that
    # no longer fails on its own counterexample is flaky, and that is a failure too.
    again = attempt(ctx, item, state["failing"])
    if again.verdict is None:
        return Verdict("failed", "The result changed between two calls with the same input; it must be deterministic.")
    verdict = explained(ctx, item, again, list(failures) or [again], mistake, relation_text)
    if not verdict.fatal:
        verdict.output = f"Failed on this input (the smallest found):\n{verdict.output}"
    return verdict


def _known_failure(ctx: Context, item: Item, known: Attempt, failures, mistake, relation_text) -> Verdict:
    """The replayed table's failure, explained: judged again, or as first judged if it now passes."""
    again = attempt(ctx, item, known.inputs, known.expected)
    shown_attempt = again if again.verdict is not None else known
    verdict = explained(ctx, item, shown_attempt, list(failures) or [shown_attempt], mistake, relation_text)
    if not verdict.fatal:
        verdict.output = f"Failed on this input:\n{verdict.output}"
    return verdict


def _combined(item: Item, results: list[tuple[Part, Verdict]]) -> Verdict:
    """One verdict for an item split into parts: each part scores its own points and keeps its own
    counterexample, so one edge case can neither hide nor zero the rest. A hint shown for one lost
    part is not repeated for the next."""
    score = sum(part.points for part, verdict in results if verdict.status == "passed")
    lost = [(part, verdict) for part, verdict in results if verdict.status != "passed"]
    lines, details, hinted = [], [], set()
    for part, verdict in results:
        head = f"Part '{part.id}', {part.name} ({part.points:g} of {item.points:g} points):"
        details.append({"id": part.id, "name": part.name, "points": part.points, "status": verdict.status,
                        "score": part.points if verdict.status == "passed" else 0.0,
                        "diagnosis": verdict.diagnosis, "counterexample": verdict.counterexample})
        if verdict.status == "passed":
            lines.append(f"{head} {verdict.output}")
            continue
        cause = f"{item.call} raises {verdict.raised} when {part.name}.\n" \
            if verdict.raised and verdict.raised != "NotImplementedError" else ""
        hints = "".join(f"\n{hint}" for hint in part.hints if hint not in verdict.output)  # a wrong value has them already
        body = _once(cause + verdict.output + hints, set(item.hints) | set(part.hints), hinted)
        lines.append(f"{head} lost.\n{textwrap.indent(body, '  ')}")
        if verdict is not lost[0][1] and verdict.counterexample:
            lines += _counterexample_lines(verdict.counterexample)
    if not lost:
        return Verdict("passed", "\n".join(lines), details={"parts": details})
    explained_part = next((verdict for _, verdict in lost if verdict.diagnosis), lost[0][1])
    status = "partial" if score > 0 else lost[0][1].status
    return Verdict(status, "\n".join(lines), explained_part.diagnosis, lost[0][1].counterexample,
                   score=score, details={"parts": details}, relation=explained_part.relation,
                   raised=lost[0][1].raised)


_NAMED = re.compile(r"^This looks like a known mistake \((?P<id>[^)]+)\)")


def _once(text: str, hints: set[str], hinted: set[str]) -> str:
    """`text` without the hints already in `hinted` (which it adds to); a mistake named again is said briefly."""
    kept = []
    for line in text.splitlines():
        named = _NAMED.match(line)
        if line in hinted:
            if named:
                kept.append(f"The same known mistake ({named.group('id')}) as above.")
            continue
        if named or line in hints:
            hinted.add(line)
        kept.append(line)
    return "\n".join(kept)


def _counterexample_lines(counterexample: dict) -> list[str]:
    """A part's counterexample, one value to a line; a multi-line array stays aligned under its first row."""
    lines = []
    for key, value in counterexample.items():
        values = value.items() if isinstance(value, dict) else [(None, value)]
        if isinstance(value, dict):
            lines.append(f"  {key}:")
        for name, text in values:
            prefix = f"    {name} = " if name is not None else f"  {key}: "
            rows = str(text).splitlines() or [""]
            lines.append(prefix + rows[0])
            lines += [" " * len(prefix) + row for row in rows[1:]]
    return lines
