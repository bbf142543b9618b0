"""Students' code as students write it, graded end to end by the engine with the bundled rubric.

Each file under students/<module>/ is one student's version of <module>.py (its docstring says
whether it is right and, if not, its mistake). It is graded inside a copy of a complete correct
submission, so that only its own question can lose points. A correct version keeps every point,
a wrong one loses some and is told why; code that is right except that it crashes on a documented
default argument loses only the points that pass that default.
"""

import ast
import functools
import itertools
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader.api import grade_submission
from grader.rubric import load_rubric

ROOT = Path(__file__).resolve().parents[2]
ADA = ROOT / "submissions" / "ada_lovelace"
STUDENTS = Path(__file__).resolve().parent / "students"

CORRECT = "correct"
CRASHES_ON_NONE = "none crash"  # the formula right for every given weight; crashes when weight is None
WRONG = "wrong"

EXPECTED = {
    "focal_loss/correct_gather": CORRECT,
    "focal_loss/correct_ce_weight_float32": CORRECT,
    "focal_loss/correct_one_hot": CORRECT,
    "focal_loss/correct_loop": CORRECT,
    "focal_loss/correct_nll_loss_none": CORRECT,
    "focal_loss/none_crash_indexing": CRASHES_ON_NONE,
    "focal_loss/none_crash_float": CRASHES_ON_NONE,
    "focal_loss/weight_normalised_mean": WRONG,
    "focal_loss/divide_by_classes": WRONG,
    "focal_loss/mean_over_entries": WRONG,
    "focal_loss/sum_over_batch": WRONG,
    "focal_loss/weighted_pt": WRONG,
    "focal_loss/weights_not_normalised": WRONG,
    "focal_loss/effective_number_not_inverted": WRONG,
    "focal_loss/n_power_beta": WRONG,
    "focal_loss/sigmoid_bce": WRONG,
    "focal_loss/classes_hard_coded": WRONG,
    "focal_loss/one_hot_without_num_classes": WRONG,
    "focal_loss/cuda_in_reweight": WRONG,
    "focal_loss/constant_weights": WRONG,
    "focal_loss/none_crash_and_sum": WRONG,
    "focal_loss/log_of_softmax": WRONG,
    "focal_loss/weight_mean_scalar": WRONG,
    "focal_loss/pt_power_gamma": WRONG,
    "softmax_classifier/correct_loop": CORRECT,
    "softmax_classifier/correct_vectorised": CORRECT,
    "softmax_classifier/no_max_subtraction": WRONG,
    "softmax_classifier/batch_wide_max": WRONG,
    "softmax_classifier/wrong_class_subtracted": WRONG,
    "softmax_classifier/sum_not_mean": WRONG,
    "softmax_classifier/fancy_index_copy": WRONG,
    "softmax_classifier/true_class_inside_class_loop": WRONG,
    "softmax_classifier/misindented_loop": WRONG,
    "softmax_classifier/db_mean_twice": WRONG,
    "softmax_classifier/db_no_onehot": WRONG,
    "mlp/correct": CORRECT,
    "mlp/correct_loop": CORRECT,
    "mlp/summed_loss": WRONG,
    "mlp/softmax_batch_axis": WRONG,
    "mlp/tanh_of_preactivation": WRONG,
    "mlp/no_max_subtraction": WRONG,
    "mlp/transposed_gradients": WRONG,
    "mlp/sigmoid_derivative": WRONG,
    "conv_matrix/correct_impulse": CORRECT,
    "conv_matrix/correct_padded_grid": CORRECT,
    "conv_matrix/flipped_kernel": WRONG,
    "conv_matrix/textbook_toeplitz": WRONG,
    "conv_matrix/ignores_stride": WRONG,
    "conv_matrix/column_major": WRONG,
    "conv_matrix/transposed": WRONG,
    "conv_matrix/off_by_one_size": WRONG,
    "conv_matrix/true_division": WRONG,
}
# On small inputs two mistakes often give one value (db divided by N twice looks like keeping only the last
# sample; one mean weight looks like a weight-normalised mean): those fixtures make none the catalogue names.
# The catalogue's mistakes each wrong fixture does make: a named diagnosis must be made of these (a
# combination may name some of them). A fixture left out makes none the catalogue names, so any name
# given to it sends the student after a mistake they did not make.
MAKES = {
    "focal_loss/weight_normalised_mean": {"weight_normalised_mean"},
    "focal_loss/divide_by_classes": {"divided_by_classes"},
    "focal_loss/mean_over_entries": {"mean_over_entries"},
    "focal_loss/sum_over_batch": {"sum_reduction"},
    "focal_loss/weighted_pt": {"weighted_pt"},
    "focal_loss/weights_not_normalised": {"weights_not_normalised"},
    "focal_loss/effective_number_not_inverted": {"effective_number_not_inverted"},
    "focal_loss/n_power_beta": {"n_to_the_beta"},
    "focal_loss/sigmoid_bce": {"sigmoid_focal"},
    "focal_loss/none_crash_and_sum": {"sum_reduction"},
    "softmax_classifier/no_max_subtraction": {"no_max_subtraction"},
    "softmax_classifier/batch_wide_max": {"batch_max_subtraction"},
    "softmax_classifier/wrong_class_subtracted": {"wrong_class_subtracted"},
    "softmax_classifier/sum_not_mean": {"sum_not_mean"},
    "mlp/summed_loss": {"sum_not_mean"},
    "mlp/softmax_batch_axis": {"softmax_over_batch"},
    "mlp/tanh_of_preactivation": {"tanh_derivative_of_preactivation"},
    "mlp/no_max_subtraction": {"no_max_subtraction"},
    "mlp/transposed_gradients": {"transposed"},
    "conv_matrix/flipped_kernel": {"flipped_kernel"},
    "conv_matrix/textbook_toeplitz": {"flipped_kernel", "full_size"},
    "conv_matrix/ignores_stride": {"ignores_stride"},
    "conv_matrix/column_major": {"column_major"},
    "conv_matrix/transposed": {"transposed"},
    "conv_matrix/off_by_one_size": {"off_by_one_size"},
    "focal_loss/pt_power_gamma": {"modulator_of_pt"},
    "mlp/sigmoid_derivative": {"sigmoid_derivative"},
    "conv_matrix/true_division": {"true_division"},
    "focal_loss/one_hot_without_num_classes": {"one_hot_without_num_classes"},
    "focal_loss/cuda_in_reweight": {"cuda_call"},
    "softmax_classifier/fancy_index_copy": {"onehot_not_subtracted"},
    "softmax_classifier/true_class_inside_class_loop": {"true_class_in_class_loop"},
    "softmax_classifier/misindented_loop": {"last_sample_only"},
}
WRONG_EXPLAINED_AT_LEAST = 0.9
# How a part's crash on a documented argument value is reported: "raises TypeError when `weight` is None".
CRASH_ON_ARGUMENT = re.compile(r"raises \w+ when `\w+`")



@functools.cache
def rubric():
    return load_rubric(ROOT / "rubrics" / "assignment2.yaml")


def items_of(filename: str) -> list:
    """The rubric's items on one file, training left out: the question a fixture answers."""
    return [item for item in rubric().items if item.target.file == filename and item.kind != "training"]


def defined_names(source: str) -> set[str]:
    return {node.name for node in ast.parse(source).body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def student_source(fixture: str) -> str:
    """The fixture's file; one that defines only some of its module's graded symbols is appended to
    the correct module, so the others stay right (its definitions replace theirs)."""
    module = fixture.split("/")[0]
    source = (STUDENTS / f"{fixture}.py").read_text()
    graded = {item.target.symbol for item in items_of(f"{module}.py")}
    if graded <= defined_names(source):
        return source
    return (ADA / f"{module}.py").read_text() + "\n\n" + source


def groups() -> list[list[str]]:
    """Fixtures graded together: at most one per module, since each module's items read only its file."""
    by_module = {}
    for name in EXPECTED:
        by_module.setdefault(name.split("/")[0], []).append(name)
    return [[name for name in group if name] for group in itertools.zip_longest(*by_module.values())]


@dataclass
class Marks:
    """One fixture's share of its group's result: the items of its own file."""

    items: list

    @property
    def score(self) -> float:
        return sum(item.score for item in self.items)

    @property
    def max_score(self) -> float:
        return sum(item.max_score for item in self.items)


class Graded:
    """Each group of fixtures graded once, on first use, in a copy of the correct submission."""

    def __init__(self, root: Path, zygote):
        self.root, self.zygote, self.marks, self.seconds = root, zygote, {}, 0.0

    def __call__(self, fixture: str) -> Marks:
        if fixture not in self.marks:
            group = next(group for group in groups() if fixture in group)
            folder = self.root / f"group{groups().index(group)}"
            shutil.copytree(ADA, folder)
            items = {}
            for name in group:
                module = name.split("/")[0]
                (folder / f"{module}.py").write_text(student_source(name))
                items[name] = [item.id for item in items_of(f"{module}.py")]
            started = time.monotonic()
            result = grade_submission(folder, rubric(), zygote=self.zygote, items=sum(items.values(), []))
            self.seconds += time.monotonic() - started
            for name, ids in items.items():
                self.marks[name] = Marks([result.item(i) for i in ids])
        return self.marks[fixture]


@pytest.fixture(scope="module")
def graded(tmp_path_factory, zygote):
    return Graded(tmp_path_factory.mktemp("realcode"), zygote)


def explanation(item) -> str:
    return " | ".join(filter(None, [item.diagnosis, getattr(item, "relation", None)]))


def explained(result) -> bool:
    """A visible lost item names the mistake, states a relation, or says which documented argument crashed."""
    return any(item.status != "passed" and item.visibility != "hidden"
               and (item.diagnosis or getattr(item, "relation", None) or CRASH_ON_ARGUMENT.search(item.output or ""))
               for item in result.items)


def row(fixture: str, result) -> str:
    scores = ", ".join(f"{item.id.split('.', 1)[1]} {item.score:g}/{item.max_score:g}"
                       + ("" if item.status in ("passed", "failed", "partial") else f" {item.status}")
                       for item in result.items)
    why = "; ".join(f"{item.id.split('.', 1)[1]}: {explanation(item)}" for item in result.items if explanation(item))
    crash = next((m.group(0) for item in result.items for m in [CRASH_ON_ARGUMENT.search(item.output or "")] if m), "")
    lost = result.score < result.max_score
    return f"{fixture:<48} {EXPECTED[fixture]:<10} {scores}  [{why or crash or ('not explained' if lost else '-')}]"


def none_exposed_points(filename: str) -> float:
    """Points that pass weight=None: cases items with such a case, and the parts that cover it."""
    points = 0.0
    for item in items_of(filename):
        if any(isinstance(case, dict) and "weight" in case and case["weight"] is None for case in item.cases):
            points += item.points
        points += sum(part.points for part in getattr(item, "parts", ()) if "None" in part.name)
    return points


def fixtures(outcome: str) -> list[str]:
    return [name for name, expected in EXPECTED.items() if expected == outcome]


def test_the_table_lists_every_fixture():
    on_disk = {f"{path.parent.name}/{path.stem}" for path in STUDENTS.glob("*/*.py")}
    assert on_disk == set(EXPECTED)
    for name in EXPECTED:
        docstring = ast.get_docstring(ast.parse((STUDENTS / f"{name}.py").read_text())) or ""
        assert docstring.startswith(("Correct", "Formula right") if EXPECTED[name] != WRONG else "Wrong"), name


@pytest.mark.parametrize("fixture", fixtures(CORRECT))
def test_correct_code_keeps_full_marks(graded, fixture):
    result = graded(fixture)
    lost = [(item.id, item.output) for item in result.items if item.score < item.max_score]
    assert lost == [], row(fixture, result)


@pytest.mark.parametrize("fixture", fixtures(WRONG))
def test_wrong_code_never_keeps_full_marks(graded, fixture):
    result = graded(fixture)
    assert result.score < result.max_score, row(fixture, result)


@pytest.mark.parametrize("fixture", fixtures(CRASHES_ON_NONE))
def test_a_crash_on_the_default_costs_only_what_passes_the_default(graded, fixture):
    result = graded(fixture)
    exposed = none_exposed_points(f"{fixture.split('/')[0]}.py")
    assert exposed > 0, "no item or part of the rubric passes weight=None"
    assert result.score < result.max_score, row(fixture, result)
    assert result.max_score - result.score <= exposed + 1e-9, row(fixture, result)
    assert explained(result), row(fixture, result)


@pytest.mark.parametrize("fixture", fixtures(WRONG) + fixtures(CRASHES_ON_NONE))
def test_a_named_mistake_is_one_the_code_makes(graded, fixture):
    result = graded(fixture)
    named = {item.id: item.diagnosis for item in result.items if item.diagnosis}
    misnamed = {i: name for i, name in named.items() if not set(name.split("+")) <= MAKES.get(fixture, set())}
    assert misnamed == {}, row(fixture, result)


def test_wrong_code_is_told_why(graded):
    wrong = fixtures(WRONG) + fixtures(CRASHES_ON_NONE)
    table = "\n".join(row(name, graded(name)) for name in EXPECTED)
    print(f"\n{table}\ngraded {len(EXPECTED)} fixtures in {graded.seconds:.1f} s")
    unexplained = [name for name in wrong if not explained(graded(name))]
    assert len(unexplained) <= (1 - WRONG_EXPLAINED_AT_LEAST) * len(wrong), (unexplained, table)


# The rows of README.md's table under "Fair to real students' code", by the folder of fixtures.
README_ROWS = {"focal_loss": "`reweight` / `FocalLoss`", "softmax_classifier": "`softmax_gradients`",
               "mlp": "`mlp_forward` / `mlp_backward`", "conv_matrix": "`conv_as_matrix`"}


def test_the_readme_states_this_corpus_as_it_grades(graded):
    """The table's counts, "N implementations" and "N of the M wrong ones are told why" in README.md."""
    readme = re.sub(r"\s+", " ", (ROOT / "README.md").read_text())

    def told(name: str) -> str:
        lost = [item for item in graded(name).items if item.status != "passed" and item.visibility != "hidden"]
        if any(item.diagnosis for item in lost):
            return "named"
        return "related" if explained(graded(name)) else "nothing"

    for folder, label in README_ROWS.items():
        found = re.search(re.escape(f"| {label} | ") + r"(\d+)[^|]*\| (\d+) \| (\d+) \| (\d+) \| (\d+) \|", readme)
        assert found, f"README.md has no row for {label}"
        mine = [name for name in EXPECTED if name.startswith(f"{folder}/")]
        wrong = [name for name in mine if EXPECTED[name] == WRONG]
        counts = [sum(EXPECTED[name] == CORRECT for name in mine), len(wrong)]
        counts += [sum(told(name) == kind for name in wrong) for kind in ("named", "related", "nothing")]
        assert tuple(int(group) for group in found.groups()) == tuple(counts), label
    (held,) = re.search(r"`tests/realcode/` holds (\d+) implementations", readme).groups()
    assert int(held) == len(EXPECTED)
    wrong = fixtures(WRONG)
    told_why, of = re.search(r"(\d+) of the (\d+) wrong ones are told why", readme).groups()
    assert (int(told_why), int(of)) == (sum(explained(graded(name)) for name in wrong), len(wrong))
