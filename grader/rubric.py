"""Rubrics: a YAML file validated completely, with file:line errors, before any student code runs."""

from __future__ import annotations

import ast
import builtins
import dataclasses
import difflib
import hashlib
import importlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from grader.boundary.sandbox import LAYERS
from grader.secret import SecretError, read_secret

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
KINDS = ("cases", "property", "answers", "training")
TRAINING_MODES = ("train", "checkpoint", "compare")
DEVICES = ("cpu", "auto")
# The recipe every training item has; a rubric fixes a value or bounds what config.yaml may choose.
RECIPE_DEFAULTS = {"optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0, "epochs": 1,
                   "batch_size": 64, "seed": 0}
OPTIMIZERS = ("sgd", "adam", "adamw")
COMPARES = ("close", "exact", "shape")
INPUT_TYPES = ("array", "int_array", "tensor", "float32_tensor", "long_tensor", "int", "float", "tuple", "list",
               "arrays", "array_dict", "any")
RETURN_KINDS = ("array", "tensor", "number", "any")
ID_PATTERN = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
DEFAULTS = {"rtol": 1e-4, "atol": 1e-6, "timeout_s": 10.0, "examples": 100, "memory_mb": 4096}

_TOP_KEYS = {"title", "version", "defaults", "submission_timeout_s", "hide", "requires", "mistakes", "items", "audit", "kit"}
_DEFAULT_KEYS = set(DEFAULTS)
_ITEM_KEYS = {
    "common": {"id", "name", "points", "visibility", "kind", "target", "reference", "hints", "mistakes",
               "rtol", "atol", "timeout_s", "quantities", "depends_on"},
    "cases": {"call", "inputs", "cases", "returns"},
    "property": {"call", "strategy", "examples", "returns", "parts"},
    "answers": {"answer", "args", "reader", "writer", "compare"},
    "training": {"mode", "data", "config", "recipe", "tiers", "max_params", "checkpoint", "loss", "margin", "floor", "device"},
}
_REQUIRED = {
    "cases": {"target", "reference", "inputs", "cases", "returns"},
    "property": {"target", "reference", "call", "returns"},  # and a strategy, or parts with theirs
    "answers": {"target", "reference", "answer", "reader"},
    "training": {"target", "reference", "data"},
}


class RubricError(ValueError):
    """Every problem found in a rubric, each naming the file, the line and the fix."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Target:
    file: str
    symbol: str | None = None

    @property
    def module(self) -> str:
        return self.file[:-3] if self.file.endswith(".py") else self.file


@dataclass(frozen=True)
class Part:
    """A named share of a property item: its own inputs, points and counterexample."""

    id: str
    name: str  # what the part covers, e.g. "`weight` is None, its documented default"
    points: float
    strategy: str
    examples: int
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Item:
    id: str
    name: str
    points: float
    kind: str
    target: Target
    reference: str
    visibility: str = "visible"
    hints: tuple[str, ...] = ()
    mistakes: dict = field(default_factory=dict)  # mistake id -> "module:symbol" replacing the reference
    rtol: float = DEFAULTS["rtol"]
    atol: float = DEFAULTS["atol"]
    timeout_s: float = DEFAULTS["timeout_s"]
    call: str = ""
    inputs: dict = field(default_factory=dict)
    cases: tuple = ()
    strategy: str = ""
    examples: int = DEFAULTS["examples"]
    returns: object = "any"
    answer: str = ""
    args: dict = field(default_factory=dict)
    reader: str = ""
    writer: str = ""  # answer -> what a student would write at `answer`; lets an audit build a submission
    compare: str = "close"
    mode: str = "train"
    data: dict = field(default_factory=dict)  # loader: 'module:function', and its keyword arguments
    config: str = ""
    recipe: dict = field(default_factory=dict)  # name -> fixed value, or {default, min, max} / {default, choices}
    tiers: tuple = ()  # ((accuracy above which, points), ...), ascending
    max_params: int | None = None
    checkpoint: str = ""
    loss: dict = field(default_factory=dict)  # file and call of the student's loss
    margin: float = 0.0
    floor: float = 0.0  # the balanced accuracy the student's loss's run must reach in mode: compare
    device: str = "cpu"
    parts: tuple[Part, ...] = ()  # a property item split into separately scored parts
    quantities: dict = field(default_factory=dict)  # readable name -> expression over the inputs, to name factors
    depends_on: tuple[str, ...] = ()  # items grading code this item's call runs first (e.g. the student's forward)
    # A student kit's item: the reference's and the named mistakes' answers on its inputs, recorded (grader.kit)
    recording: object = field(default=None, repr=False, compare=False)

    @property
    def reference_symbol(self) -> str:
        return self.reference.split(":")[1]


@dataclass(frozen=True)
class Rubric:
    path: str
    sha256: str
    title: str
    items: tuple[Item, ...]
    mistake_hints: dict
    submission_timeout_s: float
    memory_mb: int
    hide: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()  # isolation layers without which nothing is graded
    must_kill: tuple[str, ...] = ()  # mutants the audit must see lose points (patterns)
    equivalent: dict = field(default_factory=dict)  # mutant pattern -> why it is a correct alternative
    alternatives: dict = field(default_factory=dict)  # name -> {target, use, reason}: correct code that must pass
    mistake_errors: dict = field(default_factory=dict)  # mistake id -> pattern over "ErrorType: message" that names it
    secret: bytes | None = field(default=None, repr=False, compare=False)  # seeds final grading's draws (grader.secret)
    withheld: tuple = ()  # (what, count, points) of items a student kit does not hold
    kit_documents: tuple[str, ...] = ()  # files a student kit carries (the assignment's text), as paths

    @property
    def max_score(self) -> float:
        return sum(item.points for item in self.items)

    def hint(self, mistake_id: str) -> str:
        """A mistake's hint; a combination 'a+b' has each of its mistakes' hints."""
        return " ".join(self.mistake_hints.get(part, "") for part in mistake_id.split("+")).strip()

    def reference_roots(self) -> set[str]:
        """Top-level packages of everything the rubric resolves: they must stay out of the child's reach."""
        names = set()
        for item in self.items:
            for ref in (item.reference, item.strategy, item.reader, item.writer, item.data.get("loader", ""),
                        *item.mistakes.values(), *(part.strategy for part in item.parts)):
                if ref and not ref.startswith("kit:"):  # a kit's recorded answers name no package
                    names.add(ref.split(":")[0].split(".")[0])
        for spec in self.alternatives.values():
            names.add(spec["use"].split(":")[0].split(".")[0])
        return names


def resolve(reference: str):
    """'package.module:symbol' -> the object."""
    module_name, _, symbol = reference.partition(":")
    return getattr(importlib.import_module(module_name), symbol)


# ---- line numbers ----------------------------------------------------------


def _line_map(node, path=(), lines=None) -> dict:
    """Maps each path in the document (keys and indices) to its 1-based line."""
    lines = {} if lines is None else lines
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                lines[path + (key.value,)] = key.start_mark.line + 1
                _line_map(value, path + (key.value,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            _line_map(value, path + (index,), lines)
    return lines


class _Checker:
    def __init__(self, file: str, lines: dict):
        self.file = file
        self.lines = lines
        self.problems: list[str] = []

    def line(self, path) -> int:
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def fail(self, path, message: str, fix: str) -> None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        self.problems.append(f"{self.file}:{self.line(path)}: {where or 'rubric'}: {message}; fix: {fix}")

    def keys(self, mapping: dict, path, allowed: set, required: set = frozenset()) -> None:
        for key in mapping:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                fix = f"did you mean '{close[0]}'?" if close else f"remove it (known keys: {', '.join(sorted(allowed))})"
                self.fail((*path, key), f"unknown key '{key}'", fix)
        for key in sorted(required - set(mapping)):
            self.fail(path, f"missing required key '{key}'", f"add '{key}:'")

    def typed(self, value, path, kinds, description: str) -> bool:
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            self.fail(path, f"expected {description}, got {type(value).__name__} {value!r}"[:200], f"write {description}")
            return False
        return True

    def number(self, value, path, minimum=0.0, positive=False) -> bool:
        if not self.typed(value, path, (int, float), "a number"):
            return False
        if not math.isfinite(value) or value < minimum or (positive and value <= 0):
            self.fail(path, f"{value!r} is out of range", f"use a {'positive' if positive else 'non-negative'} number")
            return False
        return True

    def reference(self, value, path, what: str) -> bool:
        if not self.typed(value, path, str, "'package.module:symbol'"):
            return False
        if ":" not in value:
            self.fail(path, f"{value!r} names no symbol", "write it as 'package.module:symbol'")
            return False
        try:
            obj = resolve(value)
        except (ImportError, AttributeError) as error:
            self.fail(path, f"{what} {value!r} cannot be resolved ({error})", "check the module path and the symbol's name")
            return False
        if not callable(obj):
            self.fail(path, f"{what} {value!r} is not callable", "point at a function or class")
            return False
        return True


# ---- the schema --------------------------------------------------------------


def _check_returns(check: _Checker, spec, path) -> None:
    if isinstance(spec, str):
        if spec not in RETURN_KINDS:
            check.fail(path, f"unknown return kind {spec!r}", f"use one of {', '.join(RETURN_KINDS)}, a list of them, or a mapping")
    elif isinstance(spec, list):
        for index, inner in enumerate(spec):
            _check_returns(check, inner, (*path, index))
    elif isinstance(spec, dict):
        for key, inner in spec.items():
            _check_returns(check, inner, (*path, key))
    else:
        check.fail(path, f"unknown return spec {spec!r}", f"use one of {', '.join(RETURN_KINDS)}, a list of them, or a mapping")


def _check_call(check: _Checker, item: dict, path, names) -> None:
    call = item.get("call")
    if call is None:
        return
    if not check.typed(call, (*path, "call"), str, "a Python call expression"):
        return
    try:
        compile(call, "<call>", "eval")
    except SyntaxError as error:
        check.fail((*path, "call"), f"not a Python expression ({error.msg})", "write e.g. 'f(x, y)'")
        return
    symbol = (item.get("target") or {}).get("symbol")
    if symbol and not re.search(rf"\b{re.escape(symbol)}\b", call):
        check.fail((*path, "call"), f"the call never uses the target symbol '{symbol}'", f"call {symbol}(...)")
    if names is not None:
        used = {node.id for node in ast.walk(ast.parse(call, mode="eval")) if isinstance(node, ast.Name)}
        try:
            module = importlib.import_module(str(item.get("reference")).split(":")[0])
        except ImportError:
            module = None  # reported where the reference is checked
        unknown = sorted(n for n in used if n not in names and not (module and hasattr(module, n)) and not hasattr(builtins, n))
        if unknown:
            check.fail((*path, "call"), f"the call uses {', '.join(unknown)}, which no input provides", "name them under inputs")


def _check_item(check: _Checker, item, path, mistake_ids: set, seen: set) -> None:
    if not check.typed(item, path, dict, "a mapping"):
        return
    kind = item.get("kind")
    if kind not in KINDS:
        what = (f"kind is {'missing' if 'kind' not in item else 'empty'} (one of {', '.join(KINDS)})" if kind is None
                else f"kind {kind!r} is not one of {', '.join(KINDS)}")
        check.fail((*path, "kind"), what, f"set kind to one of {', '.join(KINDS)}")
        return
    check.keys(item, path, _ITEM_KEYS["common"] | _ITEM_KEYS[kind], {"id", "name", "points", "kind"} | _REQUIRED[kind])
    item_id = item.get("id")
    if check.typed(item_id, (*path, "id"), str, "an id such as 'question.part'"):
        if not ID_PATTERN.match(item_id):
            check.fail((*path, "id"), f"id {item_id!r} has characters other than a-z, 0-9, _ and .", "use lowercase dotted words")
        elif item_id in seen:
            check.fail((*path, "id"), f"id {item_id!r} is used twice", "give every item its own id")
        seen.add(item_id)
    check.typed(item.get("name", ""), (*path, "name"), str, "a short name")
    if "points" in item:
        check.number(item["points"], (*path, "points"))
    if item.get("visibility", "visible") not in VISIBILITIES:
        check.fail((*path, "visibility"), f"visibility {item.get('visibility')!r} is not allowed", f"use one of {', '.join(VISIBILITIES)}")
    for key in ("rtol", "atol"):
        if key in item:
            check.number(item[key], (*path, key))
    if "timeout_s" in item:
        check.number(item["timeout_s"], (*path, "timeout_s"), positive=True)
    target = item.get("target")
    if "target" in item and check.typed(target, (*path, "target"), dict, "a mapping with file and symbol"):
        needs_symbol = kind != "answers"
        check.keys(target, (*path, "target"), {"file", "symbol"}, {"file", "symbol"} if needs_symbol else {"file"})
        filename = target.get("file")
        if check.typed(filename, (*path, "target", "file"), str, "a file name") and (
            "/" in filename or filename.startswith(".") or (needs_symbol and not filename.endswith(".py"))
        ):
            check.fail((*path, "target", "file"), f"{filename!r} is not a plain top-level {'.py ' if needs_symbol else ''}file name", "write e.g. 'question1.py'")
        if needs_symbol and "symbol" in target:
            symbol = target["symbol"]
            if check.typed(symbol, (*path, "target", "symbol"), str, "a Python name") and not symbol.isidentifier():
                check.fail((*path, "target", "symbol"), f"{symbol!r} is not a Python name", "write the function or class name")
    if "reference" in item:
        check.reference(item["reference"], (*path, "reference"), "reference")
    hints = item.get("hints", [])
    if check.typed(hints, (*path, "hints"), list, "a list of strings"):
        for index, hint in enumerate(hints):
            check.typed(hint, (*path, "hints", index), str, "a string")
    mistakes = item.get("mistakes", {})
    if check.typed(mistakes, (*path, "mistakes"), dict, "a mapping of mistake id to 'module:symbol'"):
        for mistake_id, ref in mistakes.items():
            # 'a+b' names a combination: its mutant makes both mistakes at once
            for component in str(mistake_id).split("+"):
                if component not in mistake_ids:
                    check.fail((*path, "mistakes", mistake_id), f"mistake {component!r} is not in the top-level mistakes", f"add '{component}: {{hint: ...}}' under mistakes")
            check.reference(ref, (*path, "mistakes", mistake_id), "mistake")
    _check_quantities(check, item.get("quantities", {}), (*path, "quantities"))
    if kind in ("cases", "property") and "returns" in item:
        _check_returns(check, item["returns"], (*path, "returns"))
    if kind == "cases":
        _check_cases(check, item, path)
    elif kind == "property":
        if "strategy" in item:
            check.reference(item["strategy"], (*path, "strategy"), "strategy")
        _check_examples(check, item, path)
        _check_parts(check, item, path)
        _check_call(check, item, path, None)
    elif kind == "training":
        _check_training(check, item, path)
    else:
        for key in ("reader", "writer"):
            if key in item:
                check.reference(item[key], (*path, key), key)
        check.typed(item.get("answer", ""), (*path, "answer"), str, "a dotted path into answers.yaml such as 'question.A'")
        check.typed(item.get("args", {}), (*path, "args"), dict, "a mapping of the reference's arguments")
        if item.get("compare", "close") not in COMPARES:
            check.fail((*path, "compare"), f"compare {item.get('compare')!r} is not allowed", f"use one of {', '.join(COMPARES)}")


def _check_examples(check: _Checker, spec: dict, path) -> None:
    if "examples" in spec and check.typed(spec["examples"], (*path, "examples"), int, "a whole number") and spec["examples"] < 1:
        check.fail((*path, "examples"), "examples must be at least 1", "set examples to e.g. 100")


def _check_parts(check: _Checker, item: dict, path) -> None:
    """A property item has one strategy, or parts that each have theirs and share its points."""
    if "parts" not in item:
        if "strategy" not in item:
            check.fail(path, "missing required key 'strategy'", "add 'strategy:', or split the item into 'parts:'")
        return
    parts = item["parts"]
    if "strategy" in item:
        check.fail((*path, "strategy"), "an item with parts draws its inputs from each part's strategy",
                   "move the strategy into the parts, or remove 'parts:'")
    if not check.typed(parts, (*path, "parts"), list, "a list of {id, name, points, strategy}") or not parts:
        if isinstance(parts, list):
            check.fail((*path, "parts"), "no parts", "add at least one part, or remove 'parts:'")
        return
    total, seen = 0.0, set()
    for index, part in enumerate(parts):
        where = (*path, "parts", index)
        if not check.typed(part, where, dict, "a mapping {id, name, points, strategy}"):
            continue
        check.keys(part, where, {"id", "name", "points", "strategy", "examples", "hints"}, {"id", "name", "points", "strategy"})
        part_id = part.get("id")
        if check.typed(part_id, (*where, "id"), str, "an id such as 'default_weight'"):
            if not re.fullmatch(r"[a-z0-9_]+", part_id):
                check.fail((*where, "id"), f"part id {part_id!r} has characters other than a-z, 0-9 and _", "use a lowercase word")
            elif part_id in seen:
                check.fail((*where, "id"), f"part id {part_id!r} is used twice", "give every part its own id")
            seen.add(part_id)
        check.typed(part.get("name", ""), (*where, "name"), str, "what the part covers")
        if "points" in part and check.number(part["points"], (*where, "points")):
            total += part["points"]
        if "strategy" in part:
            check.reference(part["strategy"], (*where, "strategy"), "strategy")
        _check_examples(check, part, where)
        hints = part.get("hints", [])
        if check.typed(hints, (*where, "hints"), list, "a list of strings"):
            for number, hint in enumerate(hints):
                check.typed(hint, (*where, "hints", number), str, "a string")
    if isinstance(item.get("points"), (int, float)) and abs(total - item["points"]) > 1e-9:
        check.fail((*path, "points"), f"points {item['points']!r} differ from the parts' total {total:g}", f"set points to {total:g}")


def _check_dependencies(check: _Checker, items: list, ids: set) -> None:
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "depends_on" not in item:
            continue
        where = ("items", index, "depends_on")
        if check.typed(item["depends_on"], where, list, "a list of item ids"):
            for number, other in enumerate(item["depends_on"]):
                if other not in ids or other == item.get("id"):
                    check.fail((*where, number), f"{other!r} is not another item's id", "name an item of this rubric")


def _check_quantities(check: _Checker, quantities, path) -> None:
    if not check.typed(quantities, path, dict, "a mapping of a readable name to an expression over the inputs"):
        return
    for name, expression in quantities.items():
        if check.typed(expression, (*path, name), str, "a Python expression over the call's inputs"):
            try:
                compile(expression, "<quantity>", "eval")
            except SyntaxError as error:
                check.fail((*path, name), f"not a Python expression ({error.msg})", "write e.g. 'len(target)'")


def _check_recipe(check: _Checker, recipe, path) -> None:
    if not check.typed(recipe, path, dict, "a mapping of recipe name to a value or {default, min, max}"):
        return
    for name, spec in recipe.items():
        where = (*path, name)
        if not str(name).isidentifier():
            check.fail(where, f"{name!r} is not a Python name", "rename it; it is also the key read from config.yaml")
            continue
        if isinstance(spec, dict):
            check.keys(spec, where, {"default", "min", "max", "choices"}, {"default"})
            default = spec.get("default")
            if "choices" in spec:
                if check.typed(spec["choices"], (*where, "choices"), list, "a list of allowed values") and default not in spec["choices"]:
                    check.fail((*where, "default"), f"default {default!r} is not among the choices", "add it to choices")
                unknown = [c for c in spec["choices"] if name == "optimizer" and c not in OPTIMIZERS] if isinstance(spec["choices"], list) else []
                if unknown:
                    check.fail((*where, "choices"), f"optimizer {', '.join(map(repr, unknown))} is not supported", f"use some of {', '.join(OPTIMIZERS)}")
            elif check.number(default, (*where, "default")):
                low, high = spec.get("min", default), spec.get("max", default)
                if check.number(low, (*where, "min")) and check.number(high, (*where, "max")) and not low <= default <= high:
                    check.fail(where, f"default {default!r} lies outside [{low!r}, {high!r}]", "make min <= default <= max")
            value = default
        else:
            value = spec
        if name == "optimizer" and value not in OPTIMIZERS:
            check.fail(where, f"optimizer {value!r} is not supported", f"use one of {', '.join(OPTIMIZERS)}")
        if name in ("epochs", "batch_size", "seed") and not (isinstance(value, int) and not isinstance(value, bool)):
            check.fail(where, f"{name} must be a whole number, got {value!r}", f"write e.g. {RECIPE_DEFAULTS[name]}")
        if name == "batch_size" and isinstance(value, int) and value < 1:
            check.fail(where, "batch_size must be at least 1", "write e.g. 64")


def _check_training(check: _Checker, item: dict, path) -> None:
    mode = item.get("mode", "train")
    if mode not in TRAINING_MODES:
        check.fail((*path, "mode"), f"mode {mode!r} is not one of {', '.join(TRAINING_MODES)}", f"use one of {', '.join(TRAINING_MODES)}")
        return
    data = item.get("data")
    if "data" in item and check.typed(data, (*path, "data"), dict, "a mapping with loader: 'module:function' and its arguments"):
        if "loader" not in data:
            check.fail((*path, "data"), "missing required key 'loader'", "add loader: 'package.module:function'")
        else:
            check.reference(data["loader"], (*path, "data", "loader"), "data loader")
    if item.get("device", "cpu") not in DEVICES:
        check.fail((*path, "device"), f"device {item.get('device')!r} is not allowed", "use cpu, or auto to use a GPU when there is one")
    if "config" in item and check.typed(item["config"], (*path, "config"), str, "a file name such as config.yaml"):
        if "/" in item["config"] or item["config"].startswith("."):
            check.fail((*path, "config"), f"{item['config']!r} is not a plain top-level file name", "write e.g. 'config.yaml'")
    _check_recipe(check, item.get("recipe", {}), (*path, "recipe"))
    if "max_params" in item and check.typed(item["max_params"], (*path, "max_params"), int, "a whole number") and item["max_params"] < 1:
        check.fail((*path, "max_params"), "max_params must be at least 1", "write e.g. 500000")
    if mode == "checkpoint":
        if check.typed(item.get("checkpoint"), (*path, "checkpoint"), str, "the checkpoint's path inside the submission"):
            if item["checkpoint"].startswith("/") or ".." in item["checkpoint"].split("/"):
                check.fail((*path, "checkpoint"), f"{item['checkpoint']!r} leaves the submission", "write a relative path such as checkpoints/model.pt")
    elif "checkpoint" in item:
        check.fail((*path, "checkpoint"), "only mode: checkpoint reads a checkpoint", "remove it, or set mode: checkpoint")
    if mode == "compare":
        loss = item.get("loss")
        if check.typed(loss, (*path, "loss"), dict, "a mapping with file and call"):
            check.keys(loss, (*path, "loss"), {"file", "call"}, {"file", "call"})
            if isinstance(loss.get("file"), str) and ("/" in loss["file"] or not loss["file"].endswith(".py")):
                check.fail((*path, "loss", "file"), f"{loss['file']!r} is not a plain top-level .py file name", "write e.g. 'losses.py'")
            if isinstance(loss.get("call"), str):
                try:
                    compile(loss["call"], "<loss>", "eval")
                except SyntaxError as error:
                    check.fail((*path, "loss", "call"), f"not a Python expression ({error.msg})", "write e.g. 'MyLoss(weight=w)'")
        if check.number(item.get("margin"), (*path, "margin")) and item["margin"] > 1:
            check.fail((*path, "margin"), "margin is a difference of accuracies, at most 1", "write e.g. 0.1")
        if "floor" in item and check.number(item["floor"], (*path, "floor")) and not 0 <= item["floor"] <= 1:
            check.fail((*path, "floor"), "floor is a balanced accuracy, between 0 and 1", "write e.g. 0.3")
        if "tiers" in item:
            check.fail((*path, "tiers"), "mode: compare credits a margin, not tiers", "remove tiers")
    else:
        for key in ("loss", "margin", "floor"):
            if key in item:
                check.fail((*path, key), f"only mode: compare uses {key}", "remove it, or set mode: compare")
        tiers = item.get("tiers")
        if check.typed(tiers, (*path, "tiers"), list, "a list of {above: accuracy, points: n}") and not tiers:
            check.fail((*path, "tiers"), "no tiers", "add at least one {above: 0.5, points: 1}")
        total, last = 0.0, -1.0
        for index, tier in enumerate(tiers if isinstance(tiers, list) else []):
            where = (*path, "tiers", index)
            if not check.typed(tier, where, dict, "a mapping {above: accuracy, points: n}"):
                continue
            check.keys(tier, where, {"above", "points"}, {"above", "points"})
            above, points = tier.get("above"), tier.get("points")
            if check.number(above, (*where, "above")):
                if above >= 1 or above <= last:
                    check.fail((*where, "above"), f"{above!r} is not above the previous tier and below 1", "list tiers in rising order of accuracy")
                last = above
            if check.number(points, (*where, "points")):
                total += points
        if isinstance(tiers, list) and tiers and isinstance(item.get("points"), (int, float)) and abs(total - item["points"]) > 1e-9:
            check.fail((*path, "points"), f"points {item['points']!r} differ from the tiers' total {total:g}", f"set points to {total:g}")


def _check_cases(check: _Checker, item: dict, path) -> None:
    inputs = item.get("inputs", {})
    if not check.typed(inputs, (*path, "inputs"), dict, "a mapping of input name to type"):
        return
    for name, kind in inputs.items():
        if not str(name).isidentifier():
            check.fail((*path, "inputs", name), f"{name!r} is not a Python name", "rename the input")
        if kind not in INPUT_TYPES:
            check.fail((*path, "inputs", name), f"input type {kind!r} is unknown", f"use one of {', '.join(INPUT_TYPES)}")
    cases = item.get("cases", [])
    if check.typed(cases, (*path, "cases"), list, "a list of mappings") and "cases" in item and not cases:
        check.fail((*path, "cases"), "no cases", "add at least one case")
    for index, case in enumerate(cases if isinstance(cases, list) else []):
        if check.typed(case, (*path, "cases", index), dict, "a mapping of input name to value"):
            check.keys(case, (*path, "cases", index), set(inputs), set(inputs))
    _check_call(check, item, path, set(inputs))


def _check_audit(check: _Checker, audit) -> None:
    if not check.typed(audit, ("audit",), dict, "a mapping with must_kill and equivalent"):
        return
    check.keys(audit, ("audit",), {"must_kill", "equivalent", "alternatives"})
    must_kill = audit.get("must_kill", [])
    if check.typed(must_kill, ("audit", "must_kill"), list, "a list of mutant names, or ids such as '*/named/*'"):
        for index, pattern in enumerate(must_kill):
            check.typed(pattern, ("audit", "must_kill", index), str, "a mutant name or id")
    equivalent = audit.get("equivalent", {})
    if check.typed(equivalent, ("audit", "equivalent"), dict, "a mapping of mutant id to the reason it is correct"):
        for pattern, reason in equivalent.items():
            if not isinstance(reason, str) or not reason.strip():
                check.fail(("audit", "equivalent", pattern), "no reason given",
                           "say why this mutant is still correct code")
    alternatives = audit.get("alternatives", {})
    if check.typed(alternatives, ("audit", "alternatives"), dict, "a mapping of name to {target, use, reason}"):
        for name, spec in alternatives.items():
            where = ("audit", "alternatives", name)
            if not check.typed(spec, where, dict, "a mapping with target, use and reason"):
                continue
            check.keys(spec, where, {"target", "use", "reason"}, {"target", "use", "reason"})
            if isinstance(spec.get("target"), str) and ":" not in spec["target"]:
                check.fail((*where, "target"), f"{spec['target']!r} names no symbol or answer",
                           "write 'file.py:symbol', or 'answers.yaml:path' for a written answer")
            if "use" in spec:
                check.reference(spec["use"], (*where, "use"), "alternative")
            if "reason" in spec and (not isinstance(spec["reason"], str) or not spec["reason"].strip()):
                check.fail((*where, "reason"), "no reason given", "say why this implementation is correct")


def _check_kit(check: _Checker, kit) -> None:
    if not check.typed(kit, ("kit",), dict, "a mapping with documents"):
        return
    check.keys(kit, ("kit",), {"documents"})
    documents = kit.get("documents", [])
    if check.typed(documents, ("kit", "documents"), list, "a list of file paths, relative to the rubric"):
        for index, document in enumerate(documents):
            check.typed(document, ("kit", "documents", index), str, "a file path, relative to the rubric")


def _build(data: dict, path: str, digest: str) -> Rubric:
    defaults = {**DEFAULTS, **(data.get("defaults") or {})}
    items = []
    for raw in data["items"]:
        target = raw["target"]
        kind = raw["kind"]
        symbol = target.get("symbol")
        inputs = raw.get("inputs", {})
        call = raw.get("call") or (f"{symbol}({', '.join(inputs)})" if kind == "cases" else "")
        items.append(Item(
            id=raw["id"], name=raw["name"], points=float(raw["points"]), kind=kind,
            target=Target(target["file"], symbol), reference=raw["reference"],
            visibility=raw.get("visibility", "visible"), hints=tuple(raw.get("hints", ())),
            mistakes=dict(raw.get("mistakes", {})),
            rtol=float(raw.get("rtol", defaults["rtol"])), atol=float(raw.get("atol", defaults["atol"])),
            timeout_s=float(raw.get("timeout_s", defaults["timeout_s"])),
            call=call, inputs=dict(inputs), cases=tuple(raw.get("cases", ())),
            strategy=raw.get("strategy", ""), examples=int(raw.get("examples", defaults["examples"])),
            returns=raw.get("returns", "any"), answer=raw.get("answer", ""), args=dict(raw.get("args", {})),
            reader=raw.get("reader", ""), writer=raw.get("writer", ""), compare=raw.get("compare", "close"),
            mode=raw.get("mode", "train"), data=dict(raw.get("data", {})), config=raw.get("config", ""),
            recipe=dict(raw.get("recipe", {})),
            tiers=tuple((float(t["above"]), float(t["points"])) for t in raw.get("tiers", ())),
            max_params=raw.get("max_params"), checkpoint=raw.get("checkpoint", ""), loss=dict(raw.get("loss", {})),
            margin=float(raw.get("margin", 0.0)), floor=float(raw.get("floor", 0.0)), device=raw.get("device", "cpu"),
            parts=tuple(Part(id=part["id"], name=part["name"], points=float(part["points"]), strategy=part["strategy"],
                             examples=int(part.get("examples", raw.get("examples", defaults["examples"]))),
                             hints=tuple(part.get("hints", ()))) for part in raw.get("parts", ())),
            quantities=dict(raw.get("quantities", {})),
            depends_on=tuple(raw.get("depends_on", ())),
        ))
    hints = {key: (value or {}).get("hint", "") for key, value in (data.get("mistakes") or {}).items()}
    errors = {key: value["raises"] for key, value in (data.get("mistakes") or {}).items() if (value or {}).get("raises")}
    return Rubric(path=path, sha256=digest, title=data["title"], items=tuple(items), mistake_hints=hints,
                  mistake_errors=errors,
                  submission_timeout_s=float(data.get("submission_timeout_s", 600)),
                  memory_mb=int(defaults["memory_mb"]), hide=tuple(data.get("hide", ())),
                  requires=tuple(data.get("requires", ())),
                  must_kill=tuple((data.get("audit") or {}).get("must_kill", ())),
                  equivalent=dict((data.get("audit") or {}).get("equivalent", {})),
                  alternatives=dict((data.get("audit") or {}).get("alternatives", {})),
                  kit_documents=tuple(str((Path(path).parent / document).resolve())
                                      for document in (data.get("kit") or {}).get("documents", ())))


def trains(path, visible_only: bool = False) -> bool:
    """Whether the rubric file has a training item, read without validating (and so without torch).

    Only a guess at which zygote to start early; load_rubric is the authority.
    """
    try:
        items = yaml.safe_load(Path(path).read_text(encoding="utf-8")).get("items", [])
        return any(item.get("kind") == "training" and (not visible_only or item.get("visibility", "visible") == "visible")
                   for item in items)
    except Exception:  # an unreadable rubric is reported by load_rubric
        return False


def load_rubric(path, *, secret: bool = True) -> Rubric:
    """Read and validate a rubric; raise RubricError listing every problem.

    secret=False leaves the grading secret unread: the rubric draws the public inputs a kit holds.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise RubricError([f"{path}: cannot read the rubric ({error.strerror}); fix: pass --rubric with the rubric's path"]) from None
    text = raw.decode("utf-8", "replace")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise RubricError([f"{path}:{line}: not valid YAML ({getattr(error, 'problem', error)}); fix: check indentation and quoting"]) from None
    check = _Checker(str(path), _line_map(node) if node is not None else {})
    if not isinstance(data, dict):
        check.fail((), "the rubric is not a mapping", "start with 'title:' and 'items:'")
        raise RubricError(check.problems)
    check.keys(data, (), _TOP_KEYS, {"title", "items"})
    check.typed(data.get("title", ""), ("title",), str, "a title")
    defaults = data.get("defaults") or {}
    if check.typed(defaults, ("defaults",), dict, "a mapping"):
        check.keys(defaults, ("defaults",), _DEFAULT_KEYS)
        for key, value in defaults.items():
            if key in _DEFAULT_KEYS:
                check.number(value, ("defaults", key), positive=key in ("timeout_s", "examples", "memory_mb"))
    if "submission_timeout_s" in data:
        check.number(data["submission_timeout_s"], ("submission_timeout_s",), positive=True)
    hide = data.get("hide", [])
    if check.typed(hide, ("hide",), list, "a list of paths"):
        for index, entry in enumerate(hide):
            check.typed(entry, ("hide", index), str, "a path")
    requires = data.get("requires", [])
    if check.typed(requires, ("requires",), list, "a list of isolation layers"):
        for index, layer in enumerate(requires):
            if layer not in LAYERS:
                check.fail(("requires", index), f"unknown isolation layer {layer!r}", f"use some of {', '.join(LAYERS)}")
    mistakes = data.get("mistakes") or {}
    if check.typed(mistakes, ("mistakes",), dict, "a mapping of mistake id to {hint: ...}"):
        for key, value in mistakes.items():
            if check.typed(value, ("mistakes", key), dict, "a mapping with a hint"):
                check.keys(value, ("mistakes", key), {"hint", "raises"}, {"hint"})
                if "raises" in value and check.typed(value["raises"], ("mistakes", key, "raises"), str,
                                                     "a regular expression over 'ErrorType: message'"):
                    try:
                        re.compile(value["raises"])
                    except re.error as error:
                        check.fail(("mistakes", key, "raises"), f"not a regular expression ({error})", "fix the pattern")
    _check_audit(check, data.get("audit") or {})
    _check_kit(check, data.get("kit") or {})
    items = data.get("items", [])
    if check.typed(items, ("items",), list, "a list of items"):
        if not items and "items" in data:
            check.fail(("items",), "the rubric has no items", "add at least one item")
        seen: set = set()
        for index, item in enumerate(items):
            _check_item(check, item, ("items", index), set(mistakes) if isinstance(mistakes, dict) else set(), seen)
        _check_dependencies(check, items, seen)
    if check.problems:
        raise RubricError(check.problems)
    rubric = _build(data, str(path), hashlib.sha256(raw).hexdigest())
    if not secret:
        return rubric
    try:
        return dataclasses.replace(rubric, secret=read_secret(path))
    except SecretError as error:
        raise RubricError([f"{error}; fix: make it readable, or delete it"]) from None
