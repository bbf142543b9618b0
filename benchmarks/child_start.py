"""Child start: the time from asking the zygote for a child to that child ready and fully sandboxed.

Run from the repository root:

    .venv/bin/python benchmarks/child_start.py [--rounds 4] [--starts 10]

A measuring process is one grading process, as a batch worker is: a zygote is started (its
own start is timed apart: the first child includes it), then `--starts` children are started
one after the other over a copy of a bundled submission, with the plan the bundled rubric
gives a child, each closed (its close timed too) before the next. The other side is the same
process on a kernel that answers ENOSYS for Landlock and seccomp (a filter installed before
exec, as on a kernel without them), so the difference is what those two layers cost. The sides alternate,
`--rounds` times each, so that a change in the machine's load falls on both; the figures are
medians over every warm start of a side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import benchlib  # noqa: E402
from tests.machine import WITHOUT_LANDLOCK_OR_SECCOMP  # noqa: E402  (the kernel without the two layers)



def measure(starts: int) -> dict:
    """Start `starts` children under the bundled rubric's plan; seconds of each, and the zygote's first."""
    from grader.api import sandbox_plan, scratch_base
    from grader.boundary import StudentProcess, Zygote
    from grader.rubric import load_rubric
    from grader.submission import discard, open_submission

    rubric = load_rubric(benchlib.BUNDLED_RUBRIC)
    submission = open_submission(benchlib.SUBMISSIONS / "ada_lovelace")
    zygote = Zygote()
    seconds, closing, isolation, rules = [], [], {}, 0
    try:
        for number in range(starts + 1):
            scratch = submission.materialise(scratch_base())
            try:
                plan = sandbox_plan(rubric, scratch, submission.source)
                # apply() grants the plan's read-only paths, the scratch folder and /dev/null (root, with namespaces)
                rules = len(plan.read_only) + 2
                process = StudentProcess(zygote, plan, sorted(rubric.reference_roots()))
                started = time.perf_counter()
                isolation = process.start()
                seconds.append(time.perf_counter() - started)
                started = time.perf_counter()
                process.close()  # kills the child and removes its cgroup
                closing.append(time.perf_counter() - started)
            finally:
                discard(scratch)
    finally:
        zygote.close()
    return {"first_s": seconds[0], "warm_s": seconds[1:], "close_s": closing[1:], "isolation": isolation, "rules": rules}


def run_child(starts: int, without_layers: bool) -> dict:
    command = [sys.executable, __file__, "--starts", str(starts), "--json"]
    if without_layers:
        command = [sys.executable, "-c", WITHOUT_LANDLOCK_OR_SECCOMP, *command]
    done = subprocess.run(command, capture_output=True, text=True, cwd=benchlib.ROOT, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="measuring processes of each side (default 4)")
    parser.add_argument("--starts", type=int, default=10, help="children started after each process's first (default 10)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one measuring process's figures
    args = parser.parse_args(argv)
    if args.json:
        print(json.dumps(measure(args.starts)))
        return
    print(benchlib.machine())
    print(benchlib.load_average())
    full, bare = ({"first_s": [], "warm_s": [], "close_s": []} for _ in range(2))
    for _ in range(args.rounds):
        for side, without_layers in ((full, False), (bare, True)):
            measured = run_child(args.starts, without_layers)
            side["first_s"].append(measured["first_s"])
            side["warm_s"] += measured["warm_s"]
            side["close_s"] += measured["close_s"]
            side["isolation"], side["rules"] = measured["isolation"], measured["rules"]
    layers = [name for name in ("namespaces", "hidden_paths", "cgroup", "unprivileged_uid", "filesystem", "seccomp")
              if full["isolation"].get(name)]
    print(f"Layers of the timed children: {', '.join(layers)}; Landlock rules: {full['rules']}")
    print(f"Without Landlock and seccomp: filesystem {bare['isolation'].get('filesystem')}, "
          f"seccomp {bare['isolation'].get('seccomp')}")
    with_ms, without_ms = 1000 * benchlib.median(full["warm_s"]), 1000 * benchlib.median(bare["warm_s"])
    print(f"Zygote start (first child, zygote included): {benchlib.median(full['first_s']):.2f} s median of {args.rounds}")
    print(f"Child start, warm zygote: {with_ms:.0f} ms median of {len(full['warm_s'])} "
          f"(slowest {1000 * max(full['warm_s']):.0f} ms); closing one: {1000 * benchlib.median(full['close_s']):.0f} ms median")
    print(f"Without Landlock and seccomp: {without_ms:.0f} ms median of {len(bare['warm_s'])}; the two layers cost "
          f"{with_ms - without_ms:.0f} ms (ratio {with_ms / without_ms:.2f})")
    print(benchlib.load_average())
    print(f"Reproduce: .venv/bin/python benchmarks/child_start.py --rounds {args.rounds} --starts {args.starts}")


if __name__ == "__main__":
    main()
