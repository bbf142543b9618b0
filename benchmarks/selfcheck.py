"""Self-check: the wall time of `grader check` on a correct submission, against `import torch`.

Run from the repository root:

    .venv/bin/python benchmarks/selfcheck.py [--repeats 3] [--submission submissions/ada_lovelace]

A student's self-check is a fresh process: it pays for Python, torch and the sandbox's zygote
before any check runs. Its cost beyond the checks' own compute (the sum of the items' seconds,
which `grader check --json` records) is compared with a bare `python -c "import torch"`;
the target is at most 1.5 times that.

Two rubrics: the bundled one (its visible items train CNNs, so the zygote also imports what
torch's optimizers need) and the same rubric without its training items. With a rubric, the
first run with an empty cache records the reference's answers (what a kit holds) and is shown
apart: every later run reads the cache. Each is also measured as a student runs it: the
`grader` command inside a kit built from that rubric.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

TARGET = 1.5


def wall(command: list[str], environment: dict, cwd=benchlib.ROOT) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=cwd)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: some visible check failed, which is still a run
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds


def check_run(submission: Path, rubric: Path | None, cache: str, folder: Path) -> tuple[float, float]:
    """(wall seconds, the checks' own seconds) of one `grader check`; rubric None: inside the kit `submission` is."""
    report = folder / "check.json"
    if rubric is None:  # as a student runs it: the command, in the kit's folder
        command = [str(Path(sys.executable).parent / "grader"), "check", "--json", str(report)]
    else:
        command = [sys.executable, "-m", "grader", "check", str(submission), "--rubric", str(rubric), "--json", str(report)]
    seconds = wall(command, {**os.environ, "GRADER_CACHE_DIR": cache}, cwd=submission if rubric is None else benchlib.ROOT)
    return seconds, sum(json.loads(report.read_text())["timing"]["items_s"].values())


def kit_of(rubric: Path, submission: Path, folder: Path) -> Path:
    """A student kit of `rubric` with `submission`'s files written into it."""
    import shutil

    from grader.kit.build import write_kit
    from grader.rubric import load_rubric

    write_kit(load_rubric(rubric, secret=False), folder, [])
    for path in submission.iterdir():
        (shutil.copytree if path.is_dir() else shutil.copyfile)(path, folder / path.name)
    return folder


def measure(submission: Path, repeats: int) -> dict:
    environment = {**os.environ}
    torch_s = benchlib.median(wall([sys.executable, "-c", "import torch"], environment) for _ in range(repeats))
    rows = {}
    with tempfile.TemporaryDirectory(prefix="grader-selfcheck-") as temp:
        temp = Path(temp)
        rubrics = {"bundled rubric (visible items, 2 trained CNNs)": benchlib.BUNDLED_RUBRIC,
                   "bundled rubric without training items": benchlib.numeric_rubric(temp / "rubric")}
        for label, rubric in rubrics.items():
            cache = str(temp / f"cache-{len(rows)}")
            first = check_run(submission, rubric, cache, temp)
            later = [check_run(submission, rubric, cache, temp) for _ in range(repeats)]
            rows[f"{label}, first run (empty cache: records the reference)"] = first
            rows[f"{label}, later runs"] = (benchlib.median(w for w, _ in later), benchlib.median(c for _, c in later))
            kit = kit_of(rubric, submission, temp / f"kit-{len(rows)}")
            runs = [check_run(kit, None, cache, temp) for _ in range(repeats)]
            rows[f"{label}, in a student kit, later runs"] = (benchlib.median(w for w, _ in runs),
                                                              benchlib.median(c for _, c in runs))
    return {"torch_s": torch_s, "rows": rows}


def report(result: dict, repeats: int) -> None:
    torch_s = result["torch_s"]
    print(f'python -c "import torch": {torch_s:.2f} s (median of {repeats})')
    print(f"{'':<72} {'wall':>7} {'checks':>7} {'start-up':>8} {'x import torch':>14}")
    verdicts = []
    for label, (seconds, checks) in result["rows"].items():
        startup = seconds - checks
        ratio = startup / torch_s
        print(f"{label:<72} {seconds:>5.2f} s {checks:>5.2f} s {startup:>6.2f} s {ratio:>14.2f}")
        if "later runs" in label:
            verdicts.append(ratio)
    met = all(ratio <= TARGET for ratio in verdicts)
    print(f"Start-up = wall minus the checks' own compute; target at most {TARGET:g}x import torch for later runs: "
          f"{'met' if met else 'NOT met'} (later runs are medians of {repeats})")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measurement (default 3)")
    parser.add_argument("--submission", type=Path, default=benchlib.SUBMISSIONS / "ada_lovelace",
                        help="the submission to check (default: the correct submissions/ada_lovelace)")
    args = parser.parse_args(argv)
    print(f"Self-check: grader check {args.submission.relative_to(benchlib.ROOT) if args.submission.is_absolute() else args.submission}")
    print(f"Machine: {benchlib.machine()}; {benchlib.load_average()} before")
    report(measure(args.submission.resolve(), args.repeats), args.repeats)
    print(f"{benchlib.load_average()} after. Reproduce: .venv/bin/python benchmarks/selfcheck.py --repeats {args.repeats}")


if __name__ == "__main__":
    main()
