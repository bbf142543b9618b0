"""Calibration of the training items' defaults on a panel of sound architectures.

Run from the repository root:

    .venv/bin/python benchmarks/calibrate_training.py [--models GapCNN,LeNet] [--rubric R] [--no-weightless] [--seed N]

Each model of tests/engine/panel_models.py is submitted as a student would (my_model.py with
`MyModel = <class>`, the reference focal_loss.py, no config.yaml) and graded through
`grader.api.grade_submission` on the rubric's `cnn.accuracy` and `cnn.long_tail`, so the child
trains single-threaded on the CPU under the rubric's limits exactly as in grading. With
--weightless (the default) `cnn.long_tail` is graded once more with a FocalLoss that ignores its
weights, which the item must deny. Prints one row per model: parameters, test accuracy and
points, the long tail's balanced accuracy with cross-entropy and with the focal loss, the gain,
the weightless loss's gain, and the items' time. Nothing is asserted: the figures are printed
with the conditions (cores, load average), since timings depend on the machine.

--seed replaces the training items' seed: another seed stands for another model's luck. The
model `Reference` is reference/my_model.py itself.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.api import grade_submission  # noqa: E402
from grader.boundary import TRAINING_PRELOAD, Zygote  # noqa: E402
from grader.rubric import load_rubric  # noqa: E402
from tests.engine import panel_models  # noqa: E402
from tests.engine.test_training_panel import panel_submission, weightless_focal_loss  # noqa: E402


REFERENCE = "Reference"  # reference/my_model.py, rather than a panel model


def submission(folder: Path, name: str, loss_source: str | None = None) -> Path:
    if name != REFERENCE:
        return panel_submission(folder, name, loss_source)
    folder.mkdir(parents=True)
    (folder / "my_model.py").write_text((ROOT / "reference" / "my_model.py").read_text())
    (folder / "focal_loss.py").write_text(loss_source or (ROOT / "reference" / "focal_loss.py").read_text())
    return folder


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def grade(folder: Path, rubric, zygote, items: list[str]):
    result = grade_submission(folder, rubric, zygote=zygote, items=items)
    return result, sum(result.timing["items_s"].values()) if isinstance(result.timing.get("items_s"), dict) else result.timing["total_s"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(panel_models.SOUND + panel_models.LEARN_NOTHING))
    parser.add_argument("--rubric", default=str(ROOT / "rubrics" / "assignment2.yaml"))
    parser.add_argument("--no-weightless", dest="weightless", action="store_false")
    parser.add_argument("--seed", type=int, default=None, help="the training items' seed (default: the rubric's)")
    options = parser.parse_args()
    rubric = load_rubric(options.rubric)
    if options.seed is not None:
        rubric = dataclasses.replace(rubric, items=tuple(
            dataclasses.replace(item, recipe={**item.recipe, "seed": options.seed}) if item.kind == "training" else item
            for item in rubric.items))
    long_tail = next(item for item in rubric.items if item.id == "cnn.long_tail")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())} at the start; the child trains on 1 CPU thread")
    print(f"cnn.long_tail: margin {long_tail.margin:g}, floor {long_tail.floor:g}; training seed "
          f"{long_tail.recipe.get('seed')}\n")
    header = ("model", "parameters", "accuracy", "points", "CE balanced", "focal balanced", "gain", "long tail",
              "weightless gain", "wall time")
    rows = []
    zygote = Zygote(TRAINING_PRELOAD)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for name in options.models.split(","):
                folder = submission(Path(scratch) / name, name)
                result, seconds = grade(folder, rubric, zygote, ["cnn.accuracy", "cnn.long_tail"])
                accuracy, compare = result.item("cnn.accuracy"), result.item("cnn.long_tail")
                runs = (compare.details or {}).get("runs", {})
                weightless = "-"
                if options.weightless:
                    other = submission(Path(scratch) / f"{name}-weightless", name, weightless_focal_loss())
                    graded, extra = grade(other, rubric, zygote, ["cnn.long_tail"])
                    item = graded.item("cnn.long_tail")
                    seconds += extra
                    gain = (item.details or {}).get("gain")
                    weightless = f"{100 * gain:+.1f} ({item.status})" if gain is not None else item.status
                gain = (compare.details or {}).get("gain")
                rows.append((name, f"{(accuracy.details or {}).get('parameters', 0):,}",
                             _percent(next(iter((accuracy.details or {}).get("runs", {"": {}}).values())).get("accuracy")),
                             f"{accuracy.score:g}/{accuracy.max_score:g}",
                             _percent(runs.get("cross-entropy", {}).get("balanced_accuracy")),
                             _percent(runs.get("your loss", {}).get("balanced_accuracy")),
                             "-" if gain is None else f"{100 * gain:+.1f}", f"{compare.score:g}/{compare.max_score:g}",
                             weightless, f"{seconds:.0f} s"))
                print("  ".join(rows[-1]), flush=True)
    finally:
        zygote.close()
    print(f"\nload average {' '.join(f'{v:.1f}' for v in os.getloadavg())} at the end\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
