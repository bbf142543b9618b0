"""Hypothesis property checks: many generated inputs, a shrunk counterexample on failure.

Inputs are drawn and judged in the trusted process; only single calls cross
the boundary. A timeout or a dead process stops the search at once rather than
shrinking through restarts.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis.errors import HypothesisException

from grader.checks.common import Context, Verdict, judge_call, shown
from grader.rubric import Item, resolve


class _Wrong(Exception):
    """Raised inside the property so that Hypothesis shrinks the input."""


def run(ctx: Context, item: Item) -> Verdict:
    problem = ctx.target_problem(item)
    if problem:
        return problem
    state: dict = {"failing_inputs": None, "stop": None, "examples": 0}

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
        probe()
    except _Wrong:
        pass
    except HypothesisException as error:  # e.g. a flaky student function: keep the failure it showed
        if state["failing_inputs"] is None:
            return Verdict("error", f"grader error: the property check could not run ({type(error).__name__})")
    if state["stop"] is not None:
        inputs, verdict = state["stop"]
        verdict.counterexample = {"input": shown(inputs)}
        return verdict
    if state["failing_inputs"] is None:
        return Verdict("passed", f"{state['examples']} generated inputs passed.")
    # Judged once more, now with rendering and diagnosis; a student function that
    # no longer fails on its own counterexample is flaky, and that is a failure too.
    verdict = judge_call(ctx, item, state["failing_inputs"]) or Verdict(
        "failed", "The result changed between two calls with the same input; it must be deterministic."
    )
    verdict.output = f"Failed on this input (the smallest found):\n{verdict.output}"
    return verdict
