"""A rubric's visible checks, recorded: what a student's self-check needs, without the reference.

For each visible code item the record holds its inputs (the fixed cases, or the
property tables of the public draw), and on every input the reference's answer
and each named mistake's answer. Graded from the record, an item calls no
reference code: its verdict, the mistake named and the relation found are those
the reference would give, and the counterexample is the smallest failing input of
the table (there is no reference to shrink against).

Written answers are left out (an answer cannot be checked without being given
away), and so is every item that is not visible: only their number and points are
kept, so that the self-check can say what it does not check.

The record is one file: a codec frame (JSON header and .npy blobs, never pickle),
compressed.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import re
import zlib
from pathlib import Path

import torch

from grader import __version__
from grader.boundary.codec import CodecError, Decoder, Encoder, frame, read_frame
from grader.kit import MAGIC, encode_summary, read_summary
from grader.rubric import Item, Part, Rubric, Target

FORMAT = 2
REFERENCE = "kit:reference"  # what a recorded item names as its reference; its mistakes are kit:<id>
QUANTITIES = "kit:quantities"  # an answer entry's key for the input's named quantities
LOADER = "grader.kit.record:kit_data"
RECORDED_KINDS = ("cases", "property", "training")
MAX_KIT_BYTES = 512 * 1024 * 1024  # inflated


class KitError(ValueError):
    """A kit that cannot be built from this rubric, or a file that is not a kit."""


class NotRecorded(LookupError):
    """An input the kit holds no answer for (or on which that code raised when the kit was built)."""


def digest(inputs) -> str:
    """The identity of one input, as the codec writes it: equal inputs, equal digests, in any process."""
    encoder = Encoder(torch)
    header = encoder.encode(inputs)
    hasher = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    for blob in encoder.blobs:
        hasher.update(hashlib.sha256(blob).digest())
    return hasher.hexdigest()


class Recording:
    """One item's record: its tables (per part) and every recorded answer, decoded when first asked for."""

    def __init__(self, tables: dict, answers: dict, blobs: list[bytes]):
        self._tables, self._answers, self._blobs = tables, answers, blobs
        self._decoded: dict = {}

    def table(self, item_id: str) -> list:
        """[(inputs, reference's answer)] of the item (or one part's item), in the order drawn."""
        if item_id not in self._tables:
            raise NotRecorded(f"no table for {item_id}")
        return [(self._decode(["table", item_id, index], node[0], torch), self._decode(["expected", item_id, index], node[1]))
                for index, node in enumerate(self._tables[item_id])]

    def quantities(self, inputs) -> dict:
        """The rubric's named quantities of `inputs`, as evaluated when the kit was built."""
        key = digest(inputs)
        entry = self._answers.get(key)
        if entry is None or QUANTITIES not in entry:
            return {}
        values = self._decode(["quantities", key], entry[QUANTITIES])
        return {str(name): float(value) for name, value in values.items() if type(value) in (int, float)} \
            if isinstance(values, dict) else {}

    def answer(self, inputs, who: str):
        """What `who` (REFERENCE, or kit:<mistake id>) returned on `inputs`."""
        name, key = who.removeprefix("kit:"), digest(inputs)
        entry = self._answers.get(key)
        if entry is None or name not in entry:
            raise NotRecorded(name)
        return self._decode(["answer", key, name], entry[name])

    def _decode(self, key: list, node, torch_module=None):
        cache_key = json.dumps(key)
        if cache_key not in self._decoded:
            self._decoded[cache_key] = Decoder(self._blobs, torch_module).decode(node)
        return self._decoded[cache_key]


# ---- writing ---------------------------------------------------------------------


class _Writer:
    def __init__(self):
        self.blobs: list[bytes] = []

    def encode(self, value, torch_module=torch):
        encoder = Encoder(torch_module)
        encoder.blobs = self.blobs  # one blob list for the whole file; the item count is per value
        return encoder.encode(value)


def _answers(item: Item, inputs, expected, writer: _Writer) -> dict:
    from grader.checks.common import evaluate, quantities

    # The rubric's quantities are expressions: evaluated here, so that no kit string is ever evaluated.
    entry = {"reference": writer.encode(expected), QUANTITIES: writer.encode(quantities(item, inputs))}
    for mistake_id, replacement in item.mistakes.items():
        try:
            entry[mistake_id] = writer.encode(evaluate(item, inputs, replacement))
        except Exception:  # the mutant cannot compute this input: left out, as raising is
            continue
    return entry


def _recorded_item(rubric: Rubric, item: Item, writer: _Writer, progress) -> dict:
    from grader.checks.cases import case_inputs
    from grader.checks.common import evaluate
    from grader.checks.property import part_items, replay

    spec = {"item": _item_spec(item), "tables": {}, "answers": {}}
    if item.kind == "training":
        return spec
    if item.kind == "cases":
        drawn = [("", case_inputs(item, case)) for case in item.cases]
        try:
            drawn = [(table_id, inputs, evaluate(item, inputs)) for table_id, inputs in drawn]
        except Exception as error:
            raise KitError(f"{item.id}: the reference fails on one of its cases ({type(error).__name__}: {error})") from None
    else:
        drawn = []
        for _, alone in part_items(item):
            table = replay(rubric, alone)
            if table is None:
                raise KitError(f"{alone.id}: the reference fails on one of its generated inputs; "
                               f"`grader check` with the rubric shows which")
            spec["tables"][alone.id] = [[writer.encode(inputs), writer.encode(expected)] for inputs, expected in table]
            drawn += [(alone.id, inputs, expected) for inputs, expected in table]
    for number, (_, inputs, expected) in enumerate(drawn):
        spec["answers"].setdefault(digest(inputs), _answers(item, inputs, expected, writer))
        if progress and number % 25 == 0:
            progress(item.id, number, len(drawn))
    return spec


def _item_spec(item: Item) -> dict:
    """The item as plain JSON, its references replaced by the record's names."""
    spec = {}
    for field in dataclasses.fields(Item):
        if field.name == "recording":
            continue
        value = getattr(item, field.name)
        if isinstance(value, Target):
            value = {"file": value.file, "symbol": value.symbol}
        elif field.name == "parts":
            value = [{**dataclasses.asdict(part), "strategy": ""} for part in value]  # the tables are recorded
        spec[field.name] = value
    spec["reference"] = REFERENCE
    spec["mistakes"] = {mistake_id: f"kit:{mistake_id}" for mistake_id in item.mistakes}
    spec["quantities"] = {}  # recorded per input instead
    for name in ("strategy", "reader", "writer"):
        spec[name] = ""
    return json.loads(json.dumps(spec))  # tuples become lists, and anything not JSON fails here


def withheld_groups(items) -> list:
    written = [item for item in items if item.visibility == "visible" and item.kind not in RECORDED_KINDS]
    unseen = [item for item in items if item.visibility != "visible"]
    groups = [("written answer", written), ("hidden item", unseen)]
    return [[what, len(group), sum(item.points for item in group)] for what, group in groups if group]


def kit_bytes(rubric: Rubric, data: dict | None = None, progress=None) -> bytes:
    """The record of `rubric`'s visible checks, drawn with the public seed (never the secret).

    `data` maps each training item's data spec (JSON text) to the dataset it loads; missing
    ones are loaded here.
    """
    from grader.checks.training import dataset

    public = dataclasses.replace(rubric, secret=None)
    writer = _Writer()
    chosen = [item for item in public.items if item.visibility == "visible" and item.kind in RECORDED_KINDS]
    kept = {item.id for item in chosen}
    items = [_recorded_item(public, item, writer, progress) for item in chosen]
    datasets = {}
    for spec, item in zip(items, chosen):
        spec["item"]["depends_on"] = [other for other in item.depends_on if other in kept]
        if item.kind == "training":
            key = json.dumps(item.data, sort_keys=True)
            loaded = (data or {}).get(key) or dataset(item)
            datasets.setdefault(key, writer.encode({name: loaded[name] for name in sorted(loaded)}))
            spec["item"]["data"] = {"loader": LOADER, "key": hashlib.sha256(key.encode()).hexdigest()[:16]}
            datasets[spec["item"]["data"]["key"]] = datasets.pop(key)
    used = {part for item in chosen for mistake_id in item.mistakes for part in mistake_id.split("+")}
    header = {
        "format": FORMAT, "grader": __version__, "title": public.title, "rubric_sha256": public.sha256,
        "submission_timeout_s": public.submission_timeout_s, "memory_mb": public.memory_mb,
        "mistake_hints": {key: value for key, value in public.mistake_hints.items() if key in used},
        "mistake_errors": dict(public.mistake_errors),
        "withheld": withheld_groups(public.items), "items": items, "data": datasets,
    }
    return seal(header, writer.blobs)


def seal(header: dict, blobs: list[bytes]) -> bytes:
    """The record's bytes: MAGIC, its summary (read without inflating anything), the compressed frame."""
    summary = {"format": header.get("format"), "trains": any(spec.get("item", {}).get("kind") == "training"
                                                            for spec in header.get("items", ()) if isinstance(spec, dict))}
    return MAGIC + encode_summary(summary) + zlib.compress(frame(header, blobs), 6)


def unseal(raw: bytes, path: str = "the self-check file") -> tuple[dict, list[bytes]]:
    """The header and blobs of a record, checked for size; KitError when it is not one."""
    summary = read_summary(raw)
    if summary is None:
        raise KitError(f"{path} is not a self-check file")
    try:
        inflater = zlib.decompressobj()
        body = inflater.decompress(raw[summary["end"]:], MAX_KIT_BYTES)
        if inflater.unconsumed_tail:
            raise KitError(f"{path} is larger than {MAX_KIT_BYTES >> 20} MiB inflated")
        position = [0]

        def read(size: int) -> bytes:
            chunk = body[position[0]:position[0] + size]
            position[0] += size
            return chunk

        return read_frame(read)
    except (zlib.error, CodecError, EOFError, ValueError) as error:
        raise KitError(f"{path} is damaged ({error}); download the kit again") from None


# ---- reading ---------------------------------------------------------------------


def _trusted_only_as_data(fields: dict) -> None:
    """Refuse an item that would have this process import, resolve or evaluate anything the kit names.

    A kit is a file anyone can pass around; the strings the engine evaluates in the trusted process
    (references, strategies, readers, quantities, a data loader) must be the record's own. The call
    and the loss are evaluated in the student's child only, as the student's own code is.
    """
    names = [fields.get("reference"), *dict(fields.get("mistakes") or {}).values()]
    if any(type(name) is not str or not name.startswith("kit:") for name in names):
        raise KitError("an item names code to run outside the record")
    if fields.get("strategy") or fields.get("reader") or fields.get("writer") or fields.get("quantities") \
            or any(part.get("strategy") for part in fields.get("parts") or ()):
        raise KitError("an item names code to run outside the record")
    if fields.get("kind") == "training" and (fields.get("data") or {}).get("loader") != LOADER:
        raise KitError("a training item loads its data other than from the record")
    if fields.get("kind") not in RECORDED_KINDS:
        raise KitError(f"an item of kind {fields.get('kind')!r} cannot be self-checked")
    target = fields.get("target") or {}
    symbol, filename = target.get("symbol"), target.get("file")
    if type(filename) is not str or "/" in filename or filename.startswith(".") or \
            not (symbol is None or (type(symbol) is str and symbol.isidentifier())):
        raise KitError("an item's target is not a plain file and name")
    calls = [fields.get("call") or ""] + ([(fields.get("loss") or {}).get("call", "")] if fields.get("loss") else [])
    if any(call and not _plain_call(call) for call in calls):
        raise KitError("an item's call is more than a call of the student's code")


_kit_data: dict[str, dict] = {}  # data key -> the dataset, for kit_data


def kit_data(key: str) -> dict:
    """A training item's data, as the kit loaded it (the loader a recorded training item names)."""
    if key not in _kit_data:
        raise KeyError(f"the kit holds no data {key!r}")
    return _kit_data[key]


def load_kit(raw: bytes, path: str) -> Rubric:
    """A rubric whose items are graded from the record `raw` (as kit_bytes wrote it)."""
    header, blobs = unseal(raw, path)
    if header.get("format") != FORMAT:
        raise KitError(f"{path} was written by another version of the grader (format {header.get('format')!r}); "
                       f"install the grader the kit's README names")
    try:
        return _rubric(header, blobs, path)
    except KitError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, CodecError) as error:  # a file no kit build wrote
        raise KitError(f"{path} is not a kit this grader wrote ({type(error).__name__}: {str(error)[:200]})") from None


def _rubric(header: dict, blobs: list[bytes], path: str) -> Rubric:
    withheld = tuple((str(what), int(count), float(points)) for what, count, points in header["withheld"])
    errors = {str(key): _pattern(value) for key, value in dict(header["mistake_errors"]).items()}
    data = {str(key): Decoder(blobs).decode(node) for key, node in dict(header["data"]).items()}
    items = tuple(_item(spec, blobs) for spec in header["items"])
    _kit_data.update(data)
    return Rubric(path=path, sha256=str(header["rubric_sha256"]), title=str(header["title"]), items=items,
                  mistake_hints={str(key): str(value) for key, value in dict(header["mistake_hints"]).items()},
                  mistake_errors=errors, submission_timeout_s=float(header["submission_timeout_s"]),
                  memory_mb=int(header["memory_mb"]), requires=("process",), withheld=withheld)


# A catalogue's `raises` patterns are searched in the trusted process: short, and without a
# quantified group inside a quantified group, where backtracking can take forever.
_NESTED_QUANTIFIER = re.compile(r"\([^)]*[*+}][^)]*\)\s*[*+{]")


def _pattern(value) -> str:
    if type(value) is not str or len(value) > 200 or _NESTED_QUANTIFIER.search(value):
        raise KitError("a mistake's error pattern is not one a rubric would hold")
    re.compile(value)
    return value


# What a call may be: names, constants, calls, keywords, indexing and tuples, nothing else (no
# attribute, lambda or comprehension), so that a kit's call can only call the student's own code.
_CALL_NODES = (ast.Expression, ast.Call, ast.Name, ast.Load, ast.Constant, ast.keyword, ast.Subscript, ast.Tuple,
               ast.List, ast.Slice, ast.UnaryOp, ast.USub)


def _plain_call(text) -> bool:
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, TypeError):
        return False
    return all(isinstance(node, _CALL_NODES) for node in ast.walk(tree)) and \
        not any(isinstance(node, ast.Name) and node.id.startswith("_") for node in ast.walk(tree))


def _item(spec: dict, blobs: list[bytes]) -> Item:
    fields = dict(spec["item"])
    _trusted_only_as_data(fields)
    fields["target"] = Target(**fields["target"])
    fields["parts"] = tuple(Part(**{**part, "hints": tuple(part["hints"])}) for part in fields["parts"])
    fields["tiers"] = tuple(tuple(tier) for tier in fields["tiers"])
    for name in ("hints", "cases", "depends_on"):
        fields[name] = tuple(fields[name])
    if fields["kind"] != "training":
        fields["recording"] = Recording(spec["tables"], spec["answers"], blobs)
    return Item(**fields)


def load_kit_file(path) -> Rubric:
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise KitError(f"{path}: cannot read the self-check file ({error.strerror or error})") from None
    return load_kit(raw, str(path))


def self_check_rubric(rubric: Rubric, progress=None) -> Rubric:
    """The rubric as a student's kit holds it, recorded from the reference (kept in the disk cache)."""
    import hypothesis
    import numpy as np

    from grader import cache

    packages = sorted(rubric.reference_roots())
    name = "kit-" + cache.key(rubric.sha256, [item.id for item in rubric.items], FORMAT, __version__,
                              {p: cache.source_digest(p) for p in [*packages, "grader"]},
                              hypothesis.__version__, np.__version__, torch.__version__)
    stored = cache.load(name)
    raw = stored[1][0] if stored and stored[1] else None
    if raw is not None:
        try:
            return load_kit(raw, rubric.path)
        except KitError:
            pass
    raw = kit_bytes(rubric, progress=progress)
    cache.store(name, {"kit": FORMAT}, [raw])
    return load_kit(raw, rubric.path)
