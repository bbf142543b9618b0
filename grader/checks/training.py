"""Training checks: the child trains (or loads) the student's model and returns test logits;
accuracy is computed here, against labels that never leave this process.

Modes: `train` credits accuracy tiers after training with the rubric's recipe;
`checkpoint` evaluates the submitted weights the same way; `compare` trains
twice with one seed, cross-entropy against the student's loss, and credits a
rise of balanced accuracy (the mean of the per-class accuracies, which holds any
constant answer at chance) when the student's run also reaches the rubric's floor.
"""

from __future__ import annotations

import json
import math
import reprlib
import time

import numpy as np

from grader.boundary.sandbox import THREADS
from grader.checks.common import Context, Verdict, outcome_verdict
from grader.rubric import RECIPE_DEFAULTS, Item, Target, resolve

# Give up early when the first tenth of training projects past the limit by this factor.
EARLY_FRACTION, EARLY_FACTOR = 0.1, 1.25

_datasets: dict[str, dict] = {}


class DataError(RuntimeError):
    """The rubric's data could not be loaded: the instructor's problem, so grading stops."""


# ---- data --------------------------------------------------------------------


def dataset(item: Item) -> dict:
    """The item's data, loaded once per process and checked for shape."""
    key = json.dumps(item.data, sort_keys=True)
    if key not in _datasets:
        arguments = {name: value for name, value in item.data.items() if name != "loader"}
        try:
            data = resolve(item.data["loader"])(**arguments)
            _validate(data)
        except Exception as error:
            raise DataError(f"{item.id}: the data from {item.data['loader']}({arguments}) could not be loaded: {error}") from None
        _datasets[key] = data
    return _datasets[key]


def _validate(data: dict) -> None:
    for name in ("train_images", "train_labels", "test_images", "test_labels", "classes"):
        if name not in data:
            raise ValueError(f"the loader returned no {name!r}")
    classes = len(data["classes"])
    for split in ("train", "test"):
        images, labels = np.asarray(data[f"{split}_images"]), np.asarray(data[f"{split}_labels"])
        if images.ndim < 2 or len(images) != len(labels) or len(labels) == 0:
            raise ValueError(f"{split}: {images.shape} images with {labels.shape} labels")
        if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= classes:
            raise ValueError(f"{split} labels must be integers in [0, {classes})")


def class_counts(labels: np.ndarray, classes: int) -> list[int]:
    return np.bincount(labels, minlength=classes).tolist()


# ---- the recipe ---------------------------------------------------------------


def _spec(item: Item, name: str) -> dict:
    spec = item.recipe.get(name, RECIPE_DEFAULTS.get(name))
    return spec if isinstance(spec, dict) else {"default": spec, "fixed": True}


def _shown(value) -> str:
    """The student's value, short enough for a note: config values can be anything YAML or the child makes."""
    if type(value) is int and abs(value) >= 10 ** 15:
        try:
            written = str(value)
        except ValueError:  # longer than Python will write out
            return "a whole number thousands of figures long"
        return f"{written[:8]}... (a whole number {len(written.lstrip('-'))} figures long)"
    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = 40
    shortener.maxlevel = 2
    try:
        return shortener.repr(value)
    except Exception:  # a value whose repr fails says only its type
        return f"a {type(value).__name__}"


def _plain(value) -> bool:
    return type(value) in (str, int, float, bool)


def _choose(name: str, spec: dict, wanted):
    """The value to use for `name` and a note when the student's wish was not taken.

    `wanted` is student data of any type and size: only plain scalars are compared, and
    numbers are compared before any conversion (a 400-digit int overflows a float).
    """
    default = spec["default"]
    if wanted is None:
        return default, None
    if spec.get("fixed"):
        same = _plain(wanted) and type(wanted) is not bool and wanted == default
        return default, None if same else f"{name} is fixed at {default!r} by the rubric; {_shown(wanted)} was not used"
    if "choices" in spec:
        value = wanted.lower() if type(wanted) is str else wanted
        if _plain(value) and value in spec["choices"]:
            return spec["choices"][spec["choices"].index(value)], None
        return default, f"{name} {_shown(wanted)} is not one of {', '.join(map(str, spec['choices']))}; {default!r} used"
    whole = isinstance(default, int)
    kind = "a whole number" if whole else "a number"
    if type(wanted) is str and _numeric_text(wanted):
        return default, (f"{name} {_shown(wanted)} is text to YAML, not {kind} (quoted numbers and 1e-3 are text: "
                         f"write 0.001 or 1.0e-3); {default!r} used")
    if type(wanted) not in (int, float) or (type(wanted) is float and not math.isfinite(wanted)) \
            or (whole and type(wanted) is float and not wanted.is_integer()):
        return default, f"{name} {_shown(wanted)} is not {kind}; {default!r} used"
    low, high = spec.get("min", default), spec.get("max", default)
    value = min(max(wanted, low), high)  # exact for ints of any size; only the clamped value is converted
    value = int(value) if whole else float(value)
    if value != wanted:
        return value, f"{name} {_shown(wanted)} is outside the rubric's range [{low:g}, {high:g}]; {value!r} used"
    return value, None


def _numeric_text(text: str) -> bool:
    if len(text) > 40:
        return False
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def recipe(ctx: Context, item: Item) -> tuple[dict, list[str]]:
    """The rubric's recipe, with the student's config values where the rubric allows them."""
    config, notes = {}, []
    if item.config:
        document = ctx.document(item, item.config)
        if isinstance(document, Verdict):
            first = document.output.splitlines()[0] if document.output.strip() else f"{item.config} could not be read."
            notes.append(f"{first[:500]} The rubric's defaults were used.")
        elif type(document) is dict:
            config = document
        elif document is not None:
            notes.append(f"{item.config} is not a mapping of name: value; the rubric's defaults were used.")
    chosen = {}
    for name in {**RECIPE_DEFAULTS, **item.recipe}:
        value, note = _choose(name, _spec(item, name), config.get(name))
        chosen[name] = value
        if note:
            notes.append(f"{item.config}: {note}.")
    return chosen, notes


# ---- one run in the child ----------------------------------------------------


def _reporter(ctx: Context, item: Item, label: str, limit: float):
    started = time.monotonic()

    def report(progress: dict):
        epochs, batches = progress.get("epochs", 0), progress.get("batches", 0)
        done = ((progress.get("epoch", 1) - 1) * batches + progress.get("batch", 0)) / max(epochs * batches, 1)
        elapsed = time.monotonic() - started
        left = elapsed / done - elapsed if done > 0 else None
        if ctx.progress:
            ctx.progress(item.id, {**progress, "run": label, "elapsed_s": elapsed, "left_s": left})
        # The pace is judged on CPU time, as the limit is: a neighbour's load slows the clock, not the work.
        cpu = progress.get("cpu_s")
        spent = cpu / THREADS if isinstance(cpu, (int, float)) and math.isfinite(cpu) else elapsed
        if done >= EARLY_FRACTION and spent / done > EARLY_FACTOR * limit:
            return (f"training stopped: at this pace it would take about {spent / done:.0f} s of CPU time, "
                    f"more than the {limit:g} s allowed; make the model or the recipe lighter")
        return None

    return report


def _train(ctx: Context, item: Item, data: dict, settings: dict, label: str, loss: dict | None = None):
    """One training (or checkpoint) run: a dict of plain results, or a Verdict."""
    request = {
        "model": {"module": item.target.module, "expr": f"{item.target.symbol}()"},
        "recipe": settings, "device": item.device, "max_params": item.max_params,
        "checkpoint": item.checkpoint if item.mode == "checkpoint" else None, "loss": loss,
        "classes": len(data["classes"]),
    }
    inputs = {name: np.asarray(data[name]) for name in ("train_images", "train_labels", "test_images")}
    inputs.update(mean=[float(v) for v in data.get("mean", [0.0])], std=[float(v) for v in data.get("std", [1.0])])
    if item.mode == "checkpoint":  # nothing to train on: send no training data at all
        inputs["train_images"], inputs["train_labels"] = inputs["train_images"][:0], inputs["train_labels"][:0]
    limit = ctx.timeout(item)
    outcome = ctx.process.train(request, inputs, limit, _reporter(ctx, item, label, limit))
    doing = f"{label}: {'evaluating' if item.mode == 'checkpoint' else 'training'} {item.target.symbol}"
    if not outcome.ok:
        if outcome.status == "timeout" and outcome.message.startswith("training stopped"):
            return Verdict("timeout", f"{doing}: {outcome.message}.", fatal=True)
        return outcome_verdict(outcome, doing, limit, ctx.budget_cut(item, limit))
    return _read_run(item, data, outcome.value, doing)


def _read_run(item: Item, data: dict, value, doing: str):
    """Check what the child sent back and score it; nothing it says about accuracy is believed."""
    if type(value) is not dict or type(value.get("parameters")) is not int:
        return Verdict("error", f"{doing}: the sandboxed process sent back something unreadable.")
    parameters = value["parameters"]
    if item.max_params is not None and parameters > item.max_params:
        return Verdict("failed", f"{item.target.symbol}() has {parameters:,} parameters, more than this item's "
                                 f"limit of {item.max_params:,}. Make the model smaller; it was not trained.")
    logits, labels = value.get("logits"), np.asarray(data["test_labels"])
    classes = len(data["classes"])
    if not isinstance(logits, np.ndarray) or logits.dtype.kind != "f" or logits.shape != (len(labels), classes):
        shape = getattr(logits, "shape", type(logits).__name__)
        return Verdict("failed", f"{doing}: the model's output for {len(labels)} test images has shape {shape}; "
                                 f"expected ({len(labels)}, {classes}), one logit per class.")
    finite = np.isfinite(logits).all(axis=1)
    predicted = np.where(finite, np.argmax(np.where(np.isfinite(logits), logits, 0), axis=1), -1)
    per_class = [float(np.mean(predicted[labels == c] == c)) if np.any(labels == c) else 0.0 for c in range(classes)]
    tested = [c for c in range(classes) if np.any(labels == c)]
    losses = value.get("losses") if type(value.get("losses")) is list else []
    return {
        "accuracy": float(np.mean(predicted == labels)),
        # The mean of the per-class accuracies: a constant answer scores 1 / classes, however skewed the data.
        "balanced_accuracy": round(float(np.mean([per_class[c] for c in tested])), 6),
        "per_class": [round(a, 6) for a in per_class],
        "loss_curve": [round(float(v), 6) for v in losses if type(v) is float and math.isfinite(v)][:1000],
        "non_finite_outputs": int((~finite).sum()),
        "parameters": parameters,
        "device": value.get("device") if value.get("device") in ("cpu", "cuda") else "unknown",
    }


# ---- verdicts ----------------------------------------------------------------


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _describe(item: Item, data: dict, settings: dict) -> str:
    if item.mode == "checkpoint":
        return f"Loaded {item.checkpoint} into {item.target.symbol}() and evaluated it on {data.get('name', 'the test set')}"
    shown = ", ".join(f"{name.replace('_', ' ')} {value:g}" if isinstance(value, float) else f"{name.replace('_', ' ')} {value}"
                      for name, value in settings.items()
                      if name != "optimizer" and not (name == "momentum" and settings["optimizer"] != "sgd"))
    return (f"Trained {item.target.symbol}() on {data.get('name', 'the training set')} "
            f"({len(data['train_labels'])} images) with {settings['optimizer']}, {shown}")


def per_class_table(classes: list[str], runs: dict[str, dict], counts: list[int] | None = None) -> str:
    """A fixed-width table: one row per class, the training images per class (when given), one column per run."""
    header = ["class"] + (["training images"] if counts else []) + list(runs)
    rows = [[name] + ([str(counts[c])] if counts else []) + [_percent(run["per_class"][c]) for run in runs.values()]
            for c, name in enumerate(classes)]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(row, widths)) for row in [header, *rows])


def _tiers_verdict(item: Item, data: dict, settings: dict, notes: list[str], run: dict) -> Verdict:
    reached = [(above, points) for above, points in item.tiers if run["accuracy"] > above]
    score = sum(points for _, points in reached)
    total = sum(points for _, points in item.tiers)
    tiers = ", ".join(f"above {_percent(above)} ({'reached' if run['accuracy'] > above else 'not reached'}, {points:g} pt)"
                      for above, points in item.tiers)
    lines = [f"{_describe(item, data, settings)}, on {run['device']}; {run['parameters']:,} parameters.",
             *notes,
             f"Test accuracy {_percent(run['accuracy'])} on {len(data['test_labels'])} images. Tiers: {tiers}."]
    if run["non_finite_outputs"]:
        lines.append(f"{run['non_finite_outputs']} test images got non-finite logits and count as wrong.")
    lines += ["Accuracy per class:", per_class_table(data["classes"], {"accuracy": run})]
    if score < total:
        lines += list(item.hints)
    status = "passed" if score >= total else "partial" if score > 0 else "failed"
    details = {"device": run["device"], "parameters": run["parameters"], "recipe": settings,
               "classes": list(data["classes"]), "runs": {item.mode: _public(run)},
               "tiers": [{"above": above, "points": points, "reached": run["accuracy"] > above} for above, points in item.tiers]}
    return Verdict(status, "\n".join(lines), score=score, details=details)


def _public(run: dict) -> dict:
    return {key: run[key] for key in ("accuracy", "balanced_accuracy", "per_class", "loss_curve", "non_finite_outputs")}


def _compare(ctx: Context, item: Item, data: dict, settings: dict, notes: list[str]) -> Verdict:
    problem = ctx.target_problem(item, Target(item.loss["file"]))
    if problem:
        return problem
    classes = len(data["classes"])
    counts = class_counts(np.asarray(data["train_labels"]), classes)
    minority = sorted(np.argsort(counts, kind="stable")[: classes // 2].tolist())
    names = {"class_counts": counts, **{k: v for k, v in settings.items() if k not in RECIPE_DEFAULTS}}
    baseline = _train(ctx, item, data, settings, "cross-entropy")
    if isinstance(baseline, Verdict):
        return baseline
    loss = {"module": Target(item.loss["file"]).module, "expr": item.loss["call"], "names": names}
    candidate = _train(ctx, item, data, settings, item.loss["call"], loss)
    if isinstance(candidate, Verdict):
        return candidate
    rare = {label: round(float(np.mean([run["per_class"][c] for c in minority])), 6)
            for label, run in (("cross-entropy", baseline), ("your loss", candidate))}
    before, after = baseline["balanced_accuracy"], candidate["balanced_accuracy"]
    gain = after - before
    runs = {"cross-entropy": {**baseline, "minority_accuracy": rare["cross-entropy"]},
            "your loss": {**candidate, "minority_accuracy": rare["your loss"]}}
    lines = [f"{_describe(item, data, settings)}, on {candidate['device']}; twice with the same seed: "
             f"cross-entropy, then {item.loss['call']}.",
             *notes,
             f"Balanced accuracy (the mean of the per-class accuracies, which an answer that ignores the image holds at chance): "
             f"{_percent(before)} with cross-entropy, {_percent(after)} with your loss, a change of {100 * gain:+.1f} points; "
             f"at least {100 * item.margin:+.1f} is needed.",
             f"On the rarest half of the classes ({', '.join(data['classes'][c] for c in minority)}): "
             f"{_percent(rare['cross-entropy'])} with cross-entropy, {_percent(rare['your loss'])} with your loss.",
             f"Overall: {_percent(baseline['accuracy'])} with cross-entropy, {_percent(candidate['accuracy'])} with your loss.",
             "Accuracy per class:", per_class_table(data["classes"], runs, counts)]
    learned = after >= item.floor
    if not learned:
        lines.insert(len(notes) + 1, f"Your loss's run reaches {_percent(after)} balanced accuracy, below the {_percent(item.floor)} "
                                     f"this item asks of it (chance is {_percent(1 / classes)}): a model that does not learn "
                                     f"the images earns nothing here, whatever the comparison.")
    passed = learned and gain >= item.margin
    if not passed:
        lines += list(item.hints)
    details = {"device": candidate["device"], "parameters": candidate["parameters"], "recipe": settings,
               "classes": list(data["classes"]), "train_counts": counts, "minority": minority,
               "runs": {label: {**_public(run), "minority_accuracy": run["minority_accuracy"]} for label, run in runs.items()},
               "gain": round(gain, 6), "margin": item.margin, "floor": item.floor,
               "minority_gain": round(rare["your loss"] - rare["cross-entropy"], 6)}
    return Verdict("passed" if passed else "failed", "\n".join(lines), details=details)


def run(ctx: Context, item: Item) -> Verdict:
    problem = ctx.target_problem(item)
    if problem:
        return problem
    data = dataset(item)
    settings, notes = recipe(ctx, item)
    if item.mode == "compare":
        return _compare(ctx, item, data, settings, notes)
    if item.mode == "checkpoint":
        if item.checkpoint not in ctx.files:
            return Verdict("missing", f"{item.checkpoint} was not submitted.")
        settings = {"seed": settings["seed"], "epochs": 0}
        notes = []
    result = _train(ctx, item, data, settings, item.mode)
    if isinstance(result, Verdict):
        return result
    return _tiers_verdict(item, data, settings, notes, result)
