"""Relation diagnosis: how many of the audit's systematic mutants `grader.relations.explain` explains.

Run from the repository root:

    .venv/bin/python benchmarks/relations.py [--rubric rubrics/assignment2.yaml] [--examples 3]

For each cases and property item of the rubric and each systematic mutant the audit builds for
its target (result operators that change the target's result, each argument dropped, each pair
of adjacent arguments swapped), the mutant is evaluated in this process on the item's inputs
(the replayed table of a property item, all its parts' together; the cases of a cases item). The inputs on which it
returns a wrong value are its failing cases, given to `explain` with the item's quantities, as
the grader would. A mutant is counted per item: one symbol's mutant seen by three items counts
three times. Raising is not a wrong value: a mutant that only raises is not counted as failing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402
import torch  # noqa: E402

from grader import judge, mutants  # noqa: E402
from grader.checks.cases import case_inputs  # noqa: E402
from grader.checks.common import MAX_RELATED, evaluate, quantities  # noqa: E402
from grader.checks.property import replay  # noqa: E402
from grader.relations import explain  # noqa: E402
from grader.rubric import load_rubric, resolve  # noqa: E402


def table(rubric, item) -> list[tuple[dict, object]]:
    """The (inputs, expected) an item is judged on: its cases, or its replayed table (its parts' together)."""
    if item.kind == "cases":
        return [(inputs, evaluate(item, inputs)) for inputs in (case_inputs(item, case) for case in item.cases)]
    return replay(rubric, item) or []


def operators(item, table) -> list[tuple[str, tuple]]:
    """(operator, parameters) of the systematic mutants the audit builds for the item's target."""
    reference = resolve(item.reference)
    seen: list = []
    if table:
        try:
            evaluate(item, table[0][0], mutants.observe(reference, seen))
        except Exception:
            pass
    found = [(name, ()) for name in mutants.RESULT_OPERATORS
             if any(mutants.change_result(name, result, mutants.batch_size(args, kwargs))[1] for args, kwargs, result in seen)]
    parameters = mutants.parameters(reference)
    found += [("dropped", (p.name,)) for p in parameters]
    positional = [p for p in parameters if p.kind != p.KEYWORD_ONLY]
    found += [("swapped", (a.name, b.name)) for a, b in zip(positional, positional[1:])]
    return found


def failing_cases(item, table, mutant) -> tuple[list, list]:
    cases, named = [], []
    for inputs, expected in table:
        try:
            got = evaluate(item, inputs, mutant)
        except Exception:  # raising is reported as such, not related
            continue
        if judge.compare(got, expected, item.rtol, item.atol) is not None:
            cases.append((judge.plain(inputs, torch), got, expected))  # as the grader passes them
            named.append(quantities(item, inputs))
    return cases[:MAX_RELATED], named[:MAX_RELATED]  # as many as the grader gives


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rubric", default=str(benchlib.BUNDLED_RUBRIC))
    parser.add_argument("--examples", type=int, default=3, help="sentences shown per operator")
    options = parser.parse_args()
    rubric = load_rubric(options.rubric)
    print(benchlib.machine())
    counts: dict[str, list[int]] = {}  # operator -> [mutants, failing, explained]
    examples: dict[str, list[str]] = {}
    missed: dict[str, list[str]] = {}
    timings = []
    for item in rubric.items:
        if item.kind not in ("cases", "property"):
            continue
        inputs = table(rubric, item)
        for name, params in operators(item, inputs):
            label = name if not params else f"{name}:{','.join(params)}"
            mutant = mutants.mutate(resolve(item.reference), name, *params)
            cases, named = failing_cases(item, inputs, mutant)
            row = counts.setdefault(name, [0, 0, 0])
            row[0] += 1
            if not cases:
                continue
            row[1] += 1
            started = time.perf_counter()
            sentence = explain(cases, named)
            timings.append((time.perf_counter() - started, f"{item.id} / {label}"))
            if sentence:
                row[2] += 1
                examples.setdefault(name, []).append(f"{item.id} / {label} ({len(cases)} cases): {sentence}")
            else:
                missed.setdefault(name, []).append(f"{item.id} / {label}")
    print(f"\n{'operator':<12} {'mutants':>8} {'failing':>8} {'explained':>10}")
    for name, (total, failing, explained) in counts.items():
        print(f"{name:<12} {total:>8} {failing:>8} {explained:>10}")
    total_failing = sum(row[1] for row in counts.values())
    total_explained = sum(row[2] for row in counts.values())
    print(f"{'total':<12} {sum(row[0] for row in counts.values()):>8} {total_failing:>8} {total_explained:>10}"
          f"  ({total_explained / max(1, total_failing):.0%} of the failing mutants explained)")
    if timings:
        slowest = max(timings)
        print(f"explain: median {benchlib.median(t for t, _ in timings) * 1e3:.2f} ms, "
              f"slowest {slowest[0] * 1e3:.1f} ms ({slowest[1]}) per call")
    for name in counts:
        print(f"\n== {name}")
        for line in examples.get(name, [])[: options.examples]:
            print(f"  {line}")
        if missed.get(name):
            print(f"  not explained: {', '.join(missed[name])}")


if __name__ == "__main__":
    main()
