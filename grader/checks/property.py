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

import hashlib
from contextlib import contextmanager

import hypothesis
import numpy as np
import torch
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis.errors import HypothesisException

from grader import cache, judge
from grader.boundary.codec import CodecError, Decoder, encode_value
from grader.checks.common import Context, Verdict, evaluate, judge_call, shown
from grader.rubric import Item, Rubric, resolve

try:  # releases before local constants have nothing to turn off
    from hypothesis.internal.conjecture import providers as _providers
    from hypothesis.internal.constants_ast import Constants as _Constants
except ImportError:
    _providers = None

# Part of the table's cache key: tables drawn with local constants are not reused.
_DRAWING = "no-local-constants"

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


def search(item: Item, test) -> None:
    """Run Hypothesis over the item's strategy; test(inputs) raises to report a failure."""
    digest = hashlib.sha256(f"{item.id}\0{item.strategy}".encode()).digest()

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

    None when the reference itself fails on one: the live search then reports it.
    """
    key = (rubric.sha256, item.id)
    if key not in _replays:
        name = _cache_name(rubric, item)
        _replays[key] = _load(name)
        if _replays[key] is None:
            _replays[key] = _record(item)
            if _replays[key] is not None:
                _store(name, _replays[key])
    return _replays[key]


def _record(item: Item) -> list | None:
    recorded = []
    try:
        search(item, lambda inputs: recorded.append((inputs, evaluate(item, inputs))))
    except Exception:
        return None
    return recorded


def prepare(rubric: Rubric, item: Item) -> None:
    """Draw the item's table into the disk cache, so that a batch's workers share one drawing."""
    replay(rubric, item)


def _cache_name(rubric: Rubric, item: Item) -> str:
    packages = sorted({ref.split(":")[0].split(".")[0] for ref in (item.strategy, item.reference)})
    return "examples-" + cache.key(
        rubric.sha256, item.id, item.strategy, item.reference, item.call, item.examples,
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


def run(ctx: Context, item: Item) -> Verdict:
    problem = ctx.target_problem(item)
    if problem:
        return problem
    table = replay(ctx.rubric, item)
    if table is None:
        return live_search(ctx, item)
    for inputs, expected in table:
        verdict = judge_call(ctx, item, inputs, explain=False, expected=expected)
        if verdict is None:
            continue
        if verdict.fatal:  # what the live search would report: it stops at the same input
            verdict.counterexample = {"input": shown(inputs)}
            return verdict
        if not ctx.explain:  # the live search would fail at this input too, then shrink it
            return verdict
        return live_search(ctx, item, known=(inputs, expected, verdict))
    return Verdict("passed", f"{len(table)} generated inputs passed.")


def live_search(ctx: Context, item: Item, known: tuple | None = None) -> Verdict:
    """Search for a failing input and shrink it.

    `known` is (inputs, expected, verdict) of a failure the replayed table found:
    should the search not find one (a student function that behaves differently
    now, or a draw that differs), that failure is reported, never a pass.
    """
    state: dict = {"failing_inputs": None, "stop": None, "examples": 0}

    def test(inputs):
        if state["stop"] is not None:
            return
        state["examples"] += 1
        verdict = judge_call(ctx, item, inputs, explain=False)
        if verdict is None:
            return
        if verdict.fatal:
            state["stop"] = (inputs, verdict)
            return
        state["failing_inputs"] = inputs  # the last failure recorded is Hypothesis's final, shrunk one
        raise _Wrong()

    try:
        search(item, test)
    except _Wrong:
        pass
    except HypothesisException as error:  # e.g. a flaky student function: keep the failure it showed
        if state["failing_inputs"] is None:
            if known is not None:
                return _known_failure(ctx, item, *known)
            return Verdict("error", f"grader error: the property check could not run ({type(error).__name__})")
    if state["stop"] is not None:
        inputs, verdict = state["stop"]
        verdict.counterexample = {"input": shown(inputs)}
        return verdict
    if state["failing_inputs"] is None:
        if known is not None:
            return _known_failure(ctx, item, *known)
        return Verdict("passed", f"{state['examples']} generated inputs passed.")
    # Judged once more, now with rendering and diagnosis; a student function that
    # no longer fails on its own counterexample is flaky, and that is a failure too.
    verdict = judge_call(ctx, item, state["failing_inputs"]) or Verdict(
        "failed", "The result changed between two calls with the same input; it must be deterministic."
    )
    verdict.output = f"Failed on this input (the smallest found):\n{verdict.output}"
    return verdict


def _known_failure(ctx: Context, item: Item, inputs: dict, expected, verdict: Verdict) -> Verdict:
    """The replayed table's failure, explained: judged again, or as first judged if it now passes."""
    explained = judge_call(ctx, item, inputs, expected=expected)
    if explained is None:
        verdict.counterexample = {"input": shown(inputs)}
        return verdict
    if not explained.fatal:
        explained.output = f"Failed on this input:\n{explained.output}"
    return explained
