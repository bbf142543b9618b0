"""Rubric audit: how strong a rubric is, measured by grading mutants of its reference.

A mutant is a submission built from the reference with one thing wrong: a
mistake the rubric names, or a systematic mutation (grader.mutants). Mutants are
graded as students are, by the batch, in the sandbox; a mutant that loses points
is killed. The reference, graded the same way, must earn every point, or the
items it fails are broken.

The reference packages are hidden from student code, so each submission carries
a copy of them under another name (`_audited_<package>`), its imports rewritten.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import itertools
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import yaml

from grader import judge, mutants
from grader.batch import grade_folder
from grader.checks.cases import case_inputs
from grader.checks.common import evaluate
from grader.checks.property import replay
from grader.rubric import Item, Rubric, resolve

VENDOR_PREFIX = "_audited_"
OPERATORS_MODULE = "_audit_mutations"  # grader.mutants, copied in: the child cannot read the grader's files
REFERENCE = "m000"  # the reference's folder; mutants follow as m001, m002, ...
CODE_KINDS = ("cases", "property")


@dataclass
class Mutant:
    id: str  # "<target>/<kind>/<name>", e.g. "question.py:solve/systematic/negated"
    target: str  # "<file>:<symbol>" or "<file>:<answer path>"
    name: str
    kind: str  # named, systematic, or alternative (correct code by another route)
    description: str
    file: str  # the one file it changes
    text: str  # that file's content
    items: tuple[str, ...]  # the items it is graded on: those that read the file
    equivalent: str | None = None  # why it is correct code, which must keep every point
    killers: tuple[str, ...] = ()  # items on which it scored less than the reference
    statuses: dict = field(default_factory=dict)  # item id -> status, where it lost points
    error: str | None = None  # the grader, not the mutant, failed

    @property
    def killed(self) -> bool:
        return bool(self.killers)


@dataclass
class ItemAudit:
    id: str
    kills: int = 0
    graded: int = 0  # mutants graded on it
    reference_score: float | None = None
    max_score: float = 0.0
    reference_status: str = ""
    not_audited: str | None = None  # why the audit could not include it

    @property
    def broken(self) -> bool:
        return self.reference_score is not None and self.reference_score < self.max_score - 1e-9


@dataclass
class AuditReport:
    rubric: str
    rubric_sha256: str
    mutants: list[Mutant]
    items: list[ItemAudit]
    must_kill: dict  # pattern -> ids of the mutants it names
    problems: list[str]  # the rubric's audit settings that name nothing, and grader errors
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # mutants left out, and why

    def counted(self, kind: str, target: str | None = None) -> list[Mutant]:
        """The mutants of a kind that count towards a score: not correct alternatives, not grader failures."""
        return [m for m in self.mutants if m.kind == kind and m.equivalent is None and m.error is None
                and (target is None or m.target == target)]

    def score(self, kind: str, target: str | None = None) -> tuple[int, int]:
        counted = self.counted(kind, target)
        return sum(m.killed for m in counted), len(counted)

    def survivors(self) -> list[Mutant]:
        return [m for m in self.mutants if not m.killed and m.equivalent is None and m.error is None]

    def failed_alternatives(self) -> list[Mutant]:
        """Correct code that lost points: the rubric would fail a correct student."""
        return [m for m in self.mutants if m.killed and m.equivalent is not None]

    def alternatives(self) -> list[Mutant]:
        return [m for m in self.mutants if m.equivalent is not None and m.error is None]

    def broken_items(self) -> list[ItemAudit]:
        return [item for item in self.items if item.broken]

    def useless_items(self) -> list[ItemAudit]:
        return [item for item in self.items if item.not_audited is None and item.graded and not item.kills]

    def must_kill_survivors(self) -> list[str]:
        survivors = {m.id for m in self.mutants if not m.killed}
        return sorted({mutant_id for ids in self.must_kill.values() for mutant_id in ids if mutant_id in survivors})

    def killers(self, target: str) -> list[tuple[str, int]]:
        """The items that killed the most of a target's counted mutants, most first."""
        counts: dict[str, int] = {}
        for mutant in self.counted("named", target) + self.counted("systematic", target):
            for item_id in mutant.killers:
                counts[item_id] = counts.get(item_id, 0) + 1
        return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))

    def targets(self) -> list[str]:
        return list(dict.fromkeys(m.target for m in self.mutants))

    def failed(self) -> bool:
        """What makes `grader audit` exit non-zero."""
        return bool(self.broken_items() or self.must_kill_survivors() or self.failed_alternatives() or self.problems)

    def to_dict(self) -> dict:
        def summary(kind, target=None):
            killed, total = self.score(kind, target)
            return {"killed": killed, "total": total, "score": round(killed / total, 4) if total else None}

        return {
            "rubric": self.rubric,
            "rubric_sha256": self.rubric_sha256,
            "summary": {"named": summary("named"), "systematic": summary("systematic"),
                        "alternatives": {"passed": len(self.alternatives()) - len(self.failed_alternatives()),
                                         "total": len(self.alternatives())}},
            "targets": [{"target": t, "named": summary("named", t), "systematic": summary("systematic", t),
                         "survivors": [m.id for m in self.survivors() if m.target == t],
                         "killers": dict(self.killers(t))} for t in self.targets()],
            "items": [{**asdict(item), "broken": item.broken,
                       "useless": item in self.useless_items()} for item in self.items],
            "mutants": [{key: value for key, value in asdict(m).items() if key != "text"} | {"killed": m.killed}
                        for m in self.mutants],
            "must_kill": self.must_kill,
            "must_kill_survivors": self.must_kill_survivors(),
            "failed_alternatives": [m.id for m in self.failed_alternatives()],
            "problems": self.problems,
            "notes": self.notes,
            "seconds": round(self.seconds, 1),
        }


# ---- the reference, vendored ----------------------------------------------------------


class _Renamer(ast.NodeTransformer):
    """Points imports of the reference packages at their copies."""

    def __init__(self, roots: set[str]):
        self.roots = roots

    def _ours(self, name: str | None) -> bool:
        return bool(name) and name.split(".")[0] in self.roots

    def visit_Import(self, node):
        statements = []
        for alias in node.names:
            if not self._ours(alias.name):
                statements.append(ast.Import(names=[alias]))
                continue
            statements.append(ast.Import(names=[ast.alias(VENDOR_PREFIX + alias.name, alias.asname)]))
            if alias.asname is None:  # `import pkg.mod` binds pkg: keep that name working
                root = alias.name.split(".")[0]
                statements.append(ast.Assign(targets=[ast.Name(root, ast.Store())], value=ast.Name(VENDOR_PREFIX + root, ast.Load())))
        return statements

    def visit_ImportFrom(self, node):
        if node.level == 0 and self._ours(node.module):
            node.module = VENDOR_PREFIX + node.module
        return node


def _vendored(module: str) -> str:
    return VENDOR_PREFIX + module


def _rewrite(source: str, roots: set[str]) -> str:
    tree = _Renamer(roots).visit(ast.parse(source))
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def vendor(roots: set[str], folder: Path) -> None:
    """Copy each reference package into `folder` under its audited name, imports rewritten,
    and the mutation operators beside them."""
    shutil.copyfile(mutants.__file__, folder / f"{OPERATORS_MODULE}.py")
    for root in sorted(roots):
        spec = importlib.util.find_spec(root)
        if spec is None or spec.origin is None and not spec.submodule_search_locations:
            raise ValueError(f"the reference package {root!r} cannot be found")
        if spec.submodule_search_locations:
            source = Path(list(spec.submodule_search_locations)[0])
            target = folder / _vendored(root)
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            files = sorted(target.rglob("*.py"))
        else:
            target = folder / f"{_vendored(root)}.py"
            shutil.copyfile(spec.origin, target)
            files = [target]
        for path in files:
            path.write_text(_rewrite(path.read_text(encoding="utf-8"), roots), encoding="utf-8")


# ---- the files of a submission ------------------------------------------------------


def module_text(symbols: dict[str, str], mutation: list[str] | None = None, note: str = "the reference") -> str:
    """A student module exposing each symbol (name -> 'module:symbol') from the vendored reference."""
    lines = [f'"""Written by grader audit: {note}."""']
    modules = sorted({reference.split(":")[0] for reference in symbols.values()})
    for index, module in enumerate(modules):
        lines.append(f"import {_vendored(module)} as _reference_{index}")
        lines.append(f"globals().update({{k: v for k, v in vars(_reference_{index}).items() if not k.startswith('__')}})")
    for symbol, reference in sorted(symbols.items()):
        module, attribute = reference.split(":")
        lines.append(f"{symbol} = _reference_{modules.index(module)}.{attribute}")
    return "\n".join(lines + (mutation or [])) + "\n"


def _yaml_plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, dict):
        return {str(key): _yaml_plain(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [_yaml_plain(inner) for inner in value]
    return value


def answers_text(items: list[Item], values: dict[str, object]) -> str:
    """An answers file: each item's value (by item id) written by its writer at its answer path.

    Items that share a path either write the same thing there or each add entries to a list.
    """
    document: dict = {}
    for item in items:
        raw = _yaml_plain(resolve(item.writer)(values[item.id], **item.args))
        *parents, last = item.answer.split(".")
        node = document
        for part in parents:
            node = node.setdefault(part, {})
        if last not in node:
            node[last] = raw
        elif node[last] != raw:
            if not (isinstance(node[last], list) and isinstance(raw, list)):
                raise ValueError(f"items writing {item.answer} disagree on it")
            node[last] = node[last] + raw
    return yaml.safe_dump(document, sort_keys=False)


# ---- planning -----------------------------------------------------------------------


@dataclass
class Plan:
    reference_files: dict[str, str]  # file name -> text
    mutants: list[Mutant]
    items: list[ItemAudit]
    audited: list[str]  # ids of the items graded
    notes: list[str] = field(default_factory=list)  # mutants left out, and why


def _inputs(rubric: Rubric, item: Item) -> dict | None:
    """One example input of a code item: its first case, or the first generated input."""
    if item.kind == "cases":
        return case_inputs(item, item.cases[0])
    table = replay(rubric, item)
    return table[0][0] if table else None


def _calls(rubric: Rubric, item: Item) -> list[tuple]:
    """(args, kwargs, result) of each call the item's expression makes to its target, on one input."""
    inputs = _inputs(rubric, item)
    if inputs is None:
        return []
    seen: list = []
    try:
        evaluate(item, inputs, mutants.observe(resolve(item.reference), seen))
    except Exception:  # reported as a broken item when the reference is graded
        return []
    return seen


def _same(a, b) -> bool:
    try:
        return judge.compare(judge.plain(a, torch), judge.plain(b, torch), 0.0, 0.0) is None
    except Exception:
        return False


def _hint(rubric: Rubric, mistake_id: str) -> str:
    return "; ".join(rubric.hint(part).split(". ")[0].rstrip(".") for part in mistake_id.split("+")).strip("; ") or mistake_id


def _replacements(rubric: Rubric, target: str, items: list[Item]) -> list[tuple]:
    """(name, kind, description, item reference or None, 'module:symbol'): the rubric's named
    mistakes for this target, then the alternatives it declares for it."""
    found, seen = [], set()
    for item in items:
        for mistake_id, replacement in item.mistakes.items():
            if mistake_id not in seen:
                seen.add(mistake_id)
                found.append((mistake_id, "named", _hint(rubric, mistake_id), item.reference, replacement))
    for name, spec in rubric.alternatives.items():
        if spec["target"] == target:
            found.append((name, "alternative", spec["reason"], None, spec["use"]))
    return found


def _code_mutants(rubric: Rubric, target: str, symbol: str, items: list[Item], reference: str) -> list[tuple]:
    """(name, kind, description, mutation lines) for one function or class of a code file."""
    found = []
    for name, kind, description, _, replacement in _replacements(rubric, target, items):
        module, attribute = replacement.split(":")
        found.append((name, kind, description, [f"from {_vendored(module)} import {attribute} as {symbol}"]))
    calls = [call for item in items for call in _calls(rubric, item)]
    apply = f"from {OPERATORS_MODULE} import mutate as _mutate"
    for name, description in mutants.RESULT_OPERATORS.items():
        if any(mutants.change_result(name, result, mutants.batch_size(args, kwargs))[1] for args, kwargs, result in calls):
            found.append((name, "systematic", description, [apply, f"{symbol} = _mutate({symbol}, {name!r})"]))
    for name, description in mutants.ALTERNATIVE_OPERATORS.items():
        found.append((name, "alternative", description, [apply, f"{symbol} = _mutate({symbol}, {name!r})"]))
    parameters = mutants.parameters(resolve(reference))
    for parameter in parameters:
        found.append((f"dropped:{parameter.name}", "systematic",
                      mutants.ARGUMENT_OPERATORS["dropped"].format(parameter.name, mutants.dropped_value(parameter)),
                      [apply, f"{symbol} = _mutate({symbol}, 'dropped', {parameter.name!r})"]))
    positional = [p for p in parameters if p.kind != p.KEYWORD_ONLY]
    for first, second in itertools.pairwise(positional):
        found.append((f"swapped:{first.name},{second.name}", "systematic",
                      mutants.ARGUMENT_OPERATORS["swapped"].format(first.name, second.name),
                      [apply, f"{symbol} = _mutate({symbol}, 'swapped', {first.name!r}, {second.name!r})"]))
    return found


def _answer_mutants(rubric: Rubric, target: str, at_path: list[Item]) -> list[tuple]:
    """(name, kind, description, {item id: value}) for one answer path."""
    expected = {item.id: resolve(item.reference)(**item.args) for item in at_path}
    found = []
    for name, kind, description, reference, replacement in _replacements(rubric, target, at_path):
        values = {item.id: resolve(replacement)(**item.args) if reference in (None, item.reference) else expected[item.id]
                  for item in at_path}
        found.append((name, kind, description, values))
    for name, description in mutants.RESULT_OPERATORS.items():
        values = {item_id: mutants.change_result(name, value)[0] for item_id, value in expected.items()}
        if any(not _same(values[item_id], value) for item_id, value in expected.items()):
            found.append((name, "systematic", description, values))
    return found


def _matches(pattern: str, mutant: Mutant) -> bool:
    return fnmatch.fnmatchcase(mutant.id if "/" in pattern else mutant.name, pattern)


def plan(rubric: Rubric, training: bool = False) -> Plan:
    """The reference submission's files, every mutant, and the items the audit can grade."""
    audits = {item.id: ItemAudit(item.id, max_score=item.points) for item in rubric.items}
    code: dict[str, dict[str, str]] = {}  # file -> symbol -> reference
    for item in rubric.items:
        if item.kind in CODE_KINDS:
            code.setdefault(item.target.file, {})[item.target.symbol] = item.reference
    answers = [item for item in rubric.items if item.kind == "answers"]
    for item in answers:
        if not item.writer:
            audits[item.id].not_audited = "an answers item needs a writer to be audited"
    answers = [item for item in answers if item.writer]
    for item in rubric.items:
        if item.kind != "training":
            continue
        if not training:
            audits[item.id].not_audited = "a training item is audited only with --training (each mutant trains a model)"
        elif item.mode == "checkpoint":
            audits[item.id].not_audited = "a checkpoint cannot be derived from the reference"
        elif item.loss and item.loss["file"] not in code:
            audits[item.id].not_audited = f"no code item defines {item.loss['file']}, which its loss needs"
        else:
            code.setdefault(item.target.file, {})[item.target.symbol] = item.reference
    audited = [item for item in rubric.items if audits[item.id].not_audited is None]

    def readers(file: str) -> tuple[str, ...]:
        return tuple(item.id for item in audited if item.target.file == file or item.loss.get("file") == file)

    files = {file: module_text(symbols) for file, symbols in code.items()}
    by_file: dict[str, list[Item]] = {}
    for item in answers:
        by_file.setdefault(item.target.file, []).append(item)
    for file, items in by_file.items():
        files[file] = answers_text(items, {item.id: resolve(item.reference)(**item.args) for item in items})

    found: list[Mutant] = []
    for file, symbols in code.items():
        for symbol in symbols:
            items = [item for item in audited if item.kind in CODE_KINDS and (item.target.file, item.target.symbol) == (file, symbol)]
            if not items:  # a model class that only training items use: the training items judge it whole
                continue
            target = f"{file}:{symbol}"
            for name, kind, description, lines in _code_mutants(rubric, target, symbol, items, symbols[symbol]):
                text = module_text(symbols, lines, f"the reference, with {symbol} replaced by {kind} mutant {name}: {description}")
                found.append(Mutant(f"{target}/{kind}/{name}", target, name, kind, description, file, text, readers(file)))
    notes = []
    for file, items in by_file.items():
        expected = {item.id: resolve(item.reference)(**item.args) for item in items}
        for path in dict.fromkeys(item.answer for item in items):
            at_path = [item for item in items if item.answer == path]
            target = f"{file}:{path}"
            for name, kind, description, values in _answer_mutants(rubric, target, at_path):
                try:
                    text = answers_text(items, {**expected, **values})
                except Exception as error:  # no student could write this answer either
                    notes.append(f"{target}/{kind}/{name} left out: its writer cannot write it ({error})")
                    continue
                found.append(Mutant(f"{target}/{kind}/{name}", target, name, kind, description, file, text, readers(file)))
    for mutant in found:
        declared = next((reason for pattern, reason in rubric.equivalent.items() if _matches(pattern, mutant)), None)
        mutant.equivalent = mutant.description if mutant.kind == "alternative" else declared
    return Plan(files, found, list(audits.values()), [item.id for item in audited], notes)


# ---- running ------------------------------------------------------------------------


def run(rubric: Rubric, *, jobs: int = 1, training: bool = False, keep: Path | None = None,
        on_planned=None, on_done=None) -> AuditReport:
    """Grade the reference and every mutant. on_planned(count) once the submissions are known,
    on_done(name) as each is graded. `keep`: a folder that gets the surviving mutants' submissions."""
    started = time.monotonic()
    planned = plan(rubric, training)
    if on_planned:
        on_planned(len(planned.mutants) + 1)
    problems = [f"audit.equivalent: '{pattern}' names no mutant" for pattern in rubric.equivalent
                if not any(_matches(pattern, m) for m in planned.mutants)]
    must_kill = {pattern: [m.id for m in planned.mutants if _matches(pattern, m)] for pattern in rubric.must_kill}
    problems += [f"audit.must_kill: '{pattern}' names no mutant" for pattern, ids in must_kill.items() if not ids]
    built = {(m.target, m.name) for m in planned.mutants if m.kind == "alternative"}
    problems += [f"audit.alternatives.{name}: {spec['target']} is no audited function, class or answer"
                 for name, spec in rubric.alternatives.items() if (spec["target"], name) not in built]
    names = {REFERENCE: None} | {f"m{index:03d}": mutant for index, mutant in enumerate(planned.mutants, start=1)}
    with tempfile.TemporaryDirectory(prefix="grader-audit-") as work:
        submissions, vendored = Path(work, "submissions"), Path(work, "vendored")
        vendored.mkdir()
        vendor(rubric.reference_roots(), vendored)
        for name, mutant in names.items():
            files = planned.reference_files if mutant is None else {**planned.reference_files, mutant.file: mutant.text}
            _write_submission(submissions / name, files, vendored)
        select = {name: list(planned.audited if mutant is None else mutant.items) for name, mutant in names.items()}
        batch = grade_folder(submissions, rubric, Path(work, "results"), jobs=jobs, select=select, explain=False,
                             on_done=lambda result, resumed: on_done and on_done(result.student))
    results = {result.student: result for result in batch.results}
    problems += _score(planned, results, names)
    report = AuditReport(rubric.path, rubric.sha256, planned.mutants, planned.items, must_kill, problems,
                         time.monotonic() - started, planned.notes)
    if keep is not None and report.survivors():
        with tempfile.TemporaryDirectory(prefix="grader-audit-") as vendored:
            vendor(rubric.reference_roots(), Path(vendored))
            for mutant in report.survivors():
                folder = Path(keep) / re.sub(r"[^A-Za-z0-9_.-]+", "-", mutant.id)
                shutil.rmtree(folder, ignore_errors=True)
                _write_submission(folder, {**planned.reference_files, mutant.file: mutant.text}, Path(vendored))
    return report


def _write_submission(folder: Path, files: dict[str, str], vendored: Path) -> None:
    """The reference's copy from `vendored`, and the student files over it."""
    shutil.copytree(vendored, folder)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def _score(planned: Plan, results: dict, names: dict) -> list[str]:
    """Fill in kills from the graded results; the grader's own failures come back as problems."""
    problems = []
    items = {item.id: item for item in planned.items}
    reference = results[REFERENCE]
    for graded in reference.items:
        items[graded.id].reference_score, items[graded.id].reference_status = graded.score, graded.status
        if graded.output.startswith("grader error"):
            problems.append(f"{graded.id}: {graded.output.splitlines()[0]}")
    expected = {graded.id: graded.score for graded in reference.items}
    for name, mutant in names.items():
        if mutant is None:
            continue
        result = results[name]
        # A mutant that cannot be imported shows nothing about the rubric: the audit built it wrong.
        errors = [found["message"] for found in result.problems if found["kind"] in ("syntax", "import")] + \
                 [graded.output for graded in result.items if graded.output.startswith("grader error")]
        if errors:
            mutant.error = errors[0].splitlines()[0]
            problems.append(f"{mutant.id}: {mutant.error}")
            continue
        lost = [graded for graded in result.items if graded.score < expected.get(graded.id, 0.0) - 1e-9]
        mutant.killers = tuple(graded.id for graded in lost)
        mutant.statuses = {graded.id: graded.status for graded in lost}
        for graded in result.items:
            items[graded.id].graded += 1
            items[graded.id].kills += graded in lost
    return problems
