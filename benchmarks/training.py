"""The harness's training check against a bare torch loop doing the same work, in the same run.

Run from the repository root:

    .venv/bin/python benchmarks/training.py [--epochs 3] [--repeats 3] [--submission FOLDER]

Harness side: a one-item rubric (kind: training, mode: train, digits, a fixed SGD recipe and no
config file, so the recipe is exactly the one below) is written to a temporary folder, and
`grader.api.grade_submission` grades a submission against it: by default a temporary folder
holding a copy of reference/my_model.py as my_model.py. Its wall time is taken around the call,
and the item's own time is read from result.timing["items_s"]; the difference is the harness's
fixed cost per submission (opening and copying the submission, starting the sandboxed child).

Bare side: the same epochs in this process, single-threaded like the child, with the same seed,
data, optimizer, batch order, per-batch normalisation and evaluation as
grader/boundary/trainer.py, on the model imported with importlib from the same my_model.py.

The sides alternate, --repeats times each, and the medians are compared: the ratio harness/bare
and the overhead in percent (the target is at most 5%). Both sides' test accuracies are printed
and compared; on the CPU they are identical when the two loops do the same thing. Nothing here
asserts a timing: the figures depend on the machine, so they are printed, with its core count.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make `grader` and `reference` importable from a checkout

from grader.api import grade_submission, probe_isolation, shared_zygote  # noqa: E402
from grader.checks.training import dataset  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402

ITEM_ID = "training.benchmark"
RECIPE = {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0005, "batch_size": 64, "seed": 0}
EVAL_BATCH = 256  # as in grader/boundary/trainer.py
TARGET_OVERHEAD = 0.05

RUBRIC = """\
title: Training benchmark
version: 1
submission_timeout_s: 900
items:
  - id: {item_id}
    name: MyModel trained on digits
    points: 1
    kind: training
    mode: train
    target: {{file: my_model.py, symbol: MyModel}}
    reference: reference.my_model:MyModel
    data: {{loader: "reference.data:training_data", source: digits}}
    recipe: {{optimizer: {optimizer}, lr: {lr}, momentum: {momentum}, weight_decay: {weight_decay}, epochs: {epochs}, batch_size: {batch_size}, seed: {seed}}}
    tiers: [{{above: 0.5, points: 1}}]
    timeout_s: 600
"""


# ---- the harness ---------------------------------------------------------------


def write_rubric(folder: Path, epochs: int) -> Path:
    path = folder / "training.yaml"
    path.write_text(RUBRIC.format(item_id=ITEM_ID, epochs=epochs, **RECIPE))
    return path


def harness_run(submission: Path, rubric) -> dict:
    """One grading call: wall time, item time, accuracy, and when each epoch ended (seen from here)."""
    epoch_ends: dict[int, float] = {}

    def progress(item_id, report):
        if report.get("batch") == report.get("batches"):  # always reported: the last batch of an epoch
            epoch_ends[int(report["epoch"])] = time.perf_counter()

    started = time.perf_counter()
    result = grade_submission(submission, rubric, progress=progress)
    wall = time.perf_counter() - started
    item = result.items[0]
    if item.details is None or "runs" not in item.details:
        raise SystemExit(f"the harness did not train: {item.status}\n{item.output}")
    marks = [started] + [epoch_ends[e] for e in sorted(epoch_ends)]
    return {
        "wall_s": wall,
        "item_s": result.timing["items_s"][ITEM_ID],
        "accuracy": item.details["runs"]["train"]["accuracy"],
        "status": item.status,
        "until_first_epoch_end_s": marks[1] - marks[0] if len(marks) > 1 else float("nan"),
        "later_epochs_s": [b - a for a, b in zip(marks[1:], marks[2:])],
        "after_last_epoch_s": started + wall - marks[-1],
    }


# ---- the bare loop ----------------------------------------------------------


def import_model_class(model_file: Path):
    folder = str(model_file.parent)
    sys.path.insert(0, folder)  # a submission may import its own helper modules
    try:
        spec = importlib.util.spec_from_file_location("_benchmark_my_model", model_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(folder)
    return module.MyModel


def bare_run(model_class, data: dict, epochs: int) -> dict:
    """trainer.train_and_predict and _read_run's accuracy, step for step, without the harness."""
    images, test_images = data["train_images"], data["test_images"]
    labels = torch.from_numpy(np.asarray(data["train_labels"], dtype=np.int64))
    test_labels = np.asarray(data["test_labels"])
    mean_t = torch.tensor(data["mean"], dtype=torch.float32).view(1, -1, 1, 1)
    std_t = torch.tensor(data["std"], dtype=torch.float32).view(1, -1, 1, 1)

    def prepare(source, index):
        scale = 255.0 if source.dtype == np.uint8 else 1.0
        return (torch.from_numpy(source[index]).to(dtype=torch.float32) / scale - mean_t) / std_t

    started = time.perf_counter()
    seed = RECIPE["seed"]
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    model = model_class()
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=RECIPE["lr"], momentum=RECIPE["momentum"],
                                weight_decay=RECIPE["weight_decay"])
    order = torch.Generator().manual_seed(seed)
    size, count = RECIPE["batch_size"], len(labels)
    batches = (count + size - 1) // size
    marks = [started]
    for _ in range(epochs):
        model.train()
        permutation = torch.randperm(count, generator=order)
        total, seen = 0.0, 0
        for number in range(batches):
            index = permutation[number * size:(number + 1) * size]
            if len(index) < 2 and seen:
                continue
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(prepare(images, index.numpy())), labels[index])
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(index)
            seen += len(index)
        marks.append(time.perf_counter())
    model.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(test_images), EVAL_BATCH):
            outputs.append(model(prepare(test_images, np.arange(start, min(start + EVAL_BATCH, len(test_images)))))
                           .detach().to("cpu", torch.float32).numpy())
    logits = np.concatenate(outputs)
    finite = np.isfinite(logits).all(axis=1)
    predicted = np.where(finite, np.argmax(np.where(np.isfinite(logits), logits, 0), axis=1), -1)
    accuracy = float(np.mean(predicted == test_labels))
    wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "accuracy": accuracy,
        "until_first_epoch_end_s": marks[1] - marks[0] if epochs else float("nan"),
        "later_epochs_s": [b - a for a, b in zip(marks[1:], marks[2:])],
        "after_last_epoch_s": started + wall - marks[-1],
    }


# ---- the report -------------------------------------------------------------

FRESH_START = (
    "import sys, time, torch\n"
    "started = time.perf_counter()\n"
    "torch.use_deterministic_algorithms(True, warn_only=True)\n"
    "torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)\n"
    "print(time.perf_counter() - started, 'torch._dynamo' in sys.modules)\n"
)


def fresh_interpreter_start() -> tuple[float, bool]:
    """What the first deterministic-mode switch and optimizer cost a new interpreter that has imported torch.

    Lazy imports (torch._dynamo among them) are paid once per process: this process pays them
    before timing, and a sandboxed child pays them inside the item unless its zygote preloaded them.
    """
    out = subprocess.run([sys.executable, "-c", FRESH_START], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"}).stdout.split()
    return float(out[0]), out[1] == "True"


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs of training on each side (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side, alternating (default 3)")
    parser.add_argument("--submission", type=Path, default=None,
                        help="a submission folder with my_model.py (default: a copy of reference/my_model.py)")
    args = parser.parse_args()
    if args.epochs < 1 or args.repeats < 1:
        parser.error("--epochs and --repeats must be at least 1")

    load_before = os.getloadavg()
    torch.set_num_threads(1)  # the child is single-threaded
    torch.use_deterministic_algorithms(True, warn_only=True)  # as the child sets it

    with tempfile.TemporaryDirectory(prefix="grader-bench-") as temp:
        temp = Path(temp)
        (temp / "rubric").mkdir()
        rubric_path = write_rubric(temp / "rubric", args.epochs)
        if args.submission is None:
            submission = temp / "submissions" / "reference_model"
            submission.mkdir(parents=True)
            shutil.copy(ROOT / "reference" / "my_model.py", submission / "my_model.py")
            described = "a copy of reference/my_model.py"
        else:
            submission = args.submission.resolve()
            described = str(args.submission)
        model_file = submission / "my_model.py"
        if not model_file.is_file():
            raise SystemExit(f"{model_file} does not exist")

        rubric = load_rubric(rubric_path)
        # One-time costs of a grading process, paid once and not per submission: the zygote's
        # start and the data set's load. Both are warmed here, outside the timings; starting one
        # probe child starts the zygote and says which isolation layers the children get.
        tick = time.perf_counter()
        isolation = probe_isolation(shared_zygote(training=True))  # the zygote a training grade uses
        zygote_s = time.perf_counter() - tick
        tick = time.perf_counter()
        data = dataset(rubric.items[0])  # the very arrays the harness sends to the child
        data_s = time.perf_counter() - tick
        model_class = import_model_class(model_file)

        print(f"Training benchmark: {args.epochs} epoch{'s' if args.epochs > 1 else ''} on {len(data['train_labels'])} digits images "
              f"(test {len(data['test_labels'])}), sgd lr {RECIPE['lr']} momentum {RECIPE['momentum']} "
              f"weight decay {RECIPE['weight_decay']} batch {RECIPE['batch_size']} seed {RECIPE['seed']}; "
              f"model {described}, {sum(p.numel() for p in model_class().parameters()):,} parameters")
        print(f"Machine: {os.cpu_count()} cores ({platform.machine()}, {platform.python_implementation()} "
              f"{platform.python_version()}, torch {torch.__version__}); both sides single-threaded")
        layers = [name for name in ("namespaces", "network", "filesystem", "no_new_privs", "unprivileged_uid", "seccomp")
                  if isolation.get(name)] + (["landlock"] if isolation.get("landlock") else [])
        print(f"Sandbox layers on this machine: {', '.join(layers) or 'none'}")
        print(f"Warm-up, not timed below: zygote start with one probe child {zygote_s:.2f} s, data load {data_s:.2f} s")
        print()

        harness, bare = [], []
        print(f"{'repeat':>6}  {'harness wall':>12}  {'harness item':>12}  {'bare loop':>9}  "
              f"{'acc harness':>11}  {'acc bare':>8}")
        for repeat in range(args.repeats):
            harness.append(harness_run(submission, rubric))
            bare.append(bare_run(model_class, data, args.epochs))
            h, b = harness[-1], bare[-1]
            print(f"{repeat + 1:>6}  {h['wall_s']:>10.3f} s  {h['item_s']:>10.3f} s  {b['wall_s']:>7.3f} s  "
                  f"{100 * h['accuracy']:>10.2f}%  {100 * b['accuracy']:>7.2f}%")

    load_after = os.getloadavg()
    first_s, dynamo = fresh_interpreter_start()
    wall = median([h["wall_s"] for h in harness])
    item = median([h["item_s"] for h in harness])
    fixed = median([h["wall_s"] - h["item_s"] for h in harness])
    loop = median([b["wall_s"] for b in bare])
    ratio = wall / loop
    print()
    print(f"Medians of {args.repeats}: harness {wall:.3f} s per submission (item {item:.3f} s, "
          f"fixed costs {fixed:.3f} s: opening the submission, starting the sandboxed child), bare loop {loop:.3f} s")
    print(f"Ratio harness/bare {ratio:.3f}: overhead {100 * (ratio - 1):+.1f}% "
          f"(target at most {100 * TARGET_OVERHEAD:.0f}%: {'met' if ratio - 1 <= TARGET_OVERHEAD else 'NOT met'}); "
          f"item only {item / loop:.3f} ({100 * (item / loop - 1):+.1f}%)")

    print()
    print("Where the time goes (medians; harness times seen from the grading process through its progress reports):")
    rows = [
        ("start to end of epoch 1", "until_first_epoch_end_s"),
        ("each later epoch", "later_epochs_s"),
        ("after the last epoch (eval, reply, scoring)", "after_last_epoch_s"),
    ]
    print(f"  {'':<44}  {'harness':>9}  {'bare':>9}  {'ratio':>6}")
    for label, key in rows:
        if key == "later_epochs_s" and args.epochs < 2:
            continue
        if key == "later_epochs_s":
            h_value = median([t for run in harness for t in run[key]])
            b_value = median([t for run in bare for t in run[key]])
        else:
            h_value, b_value = median([run[key] for run in harness]), median([run[key] for run in bare])
        print(f"  {label:<44}  {h_value:>7.3f} s  {b_value:>7.3f} s  {h_value / b_value:>6.3f}")

    print(f"  A fresh interpreter's first use_deterministic_algorithms() and SGD(): {first_s:.3f} s"
          f"{' (it imports torch._dynamo)' if dynamo else ''}; this process paid it before timing")

    accuracies = {(h["accuracy"], b["accuracy"]) for h, b in zip(harness, bare)}
    same = all(h == b for h, b in accuracies)
    print()
    print(f"Test accuracy: harness {', '.join(f'{100 * h:.2f}%' for h in sorted({h for h, _ in accuracies}))}, "
          f"bare {', '.join(f'{100 * b:.2f}%' for b in sorted({b for _, b in accuracies}))}: "
          f"{'identical in every repeat' if same else 'DIFFERENT: the two loops do not do the same thing'}")
    print(f"Load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} cores: "
          f"other work on the machine slows either side")
    print()
    print(f"Reproduce: .venv/bin/python benchmarks/training.py --epochs {args.epochs} --repeats {args.repeats}"
          + (f" --submission {args.submission}" if args.submission else ""))


if __name__ == "__main__":
    main()
