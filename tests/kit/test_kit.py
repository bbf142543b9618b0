"""The student kit: no solution in it, the same verdicts from it, and nothing of final grading learned from it."""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.api import grade_submission
from grader.checks.cases import case_inputs
from grader.kit import KIT_FILE, KIT_FOLDER
from grader.kit.build import write_kit
from grader.kit.record import digest, load_kit_file, seal, self_check_rubric
from grader.kit.starter import function_bodies
from grader.results import stopped_output
from grader.rubric import load_rubric

ROOT = Path(__file__).resolve().parents[2]
SUBMISSIONS = ROOT / "submissions"
RUBRIC = ROOT / "rubrics" / "assignment2.yaml"


def without_training(rubric):
    """The bundled rubric without its training items: a kit checked in seconds."""
    return dataclasses.replace(rubric, items=tuple(item for item in rubric.items if item.kind != "training"))


@pytest.fixture(scope="module")
def rubric():
    return without_training(load_rubric(RUBRIC))


@pytest.fixture(scope="module")
def kit(rubric, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("kit") / "assignment2"
    write_kit(rubric, folder, [Path(p) for p in rubric.kit_documents])
    return folder


def record_header(kit: Path) -> tuple[dict, list[bytes]]:
    from tests.hostile.test_kit_attacks import opened  # the record as anyone inflating it sees it

    return opened((kit / KIT_FOLDER / KIT_FILE).read_bytes())


def kit_texts(kit: Path) -> dict[str, str]:
    """Every text the kit holds: its files, the wheel's members, and its record's header."""
    texts = {}
    for path in kit.rglob("*"):
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as wheel:
                texts.update({f"{path.name}/{name}": wheel.read(name).decode("utf-8", "replace") for name in wheel.namelist()})
        elif path.name == KIT_FILE:
            header, blobs = record_header(kit)
            texts[str(path)] = json.dumps(header) + "".join(blob.decode("latin-1") for blob in blobs)
        elif path.is_file():
            texts[str(path)] = path.read_text(encoding="utf-8")
    return texts


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_kit_holds_no_reference_code(kit):
    texts = {name: squeezed(text) for name, text in kit_texts(kit).items()}
    assert not [name for name in texts if "/reference/" in name or name.split("/", 1)[-1].startswith("reference")]
    bodies = [body for source in sorted((ROOT / "reference").rglob("*.py"))
              for body in function_bodies(source.read_text()) if len(squeezed(body)) > 25]
    assert len(bodies) > 50
    leaked = [(body[:60], name) for body in bodies for name, text in texts.items() if squeezed(body) in text]
    assert not leaked


def test_the_kit_holds_no_hidden_item_and_no_written_answer(kit, rubric):
    header, _ = record_header(kit)
    recorded = {spec["item"]["id"] for spec in header["items"]}
    withheld = [item for item in rubric.items if item.visibility != "visible" or item.kind == "answers"]
    assert withheld and recorded == {item.id for item in rubric.items} - {item.id for item in withheld}
    everything = "".join(kit_texts(kit).values())
    for item in withheld:
        if item.visibility != "visible":
            assert item.id not in everything
    answers = {key for spec in header["items"] for key in spec["answers"]}
    hidden_inputs = [case_inputs(item, case) for item in withheld if item.kind == "cases" for case in item.cases]
    assert hidden_inputs and not answers & {digest(inputs) for inputs in hidden_inputs}
    assert header["withheld"] == [["written answer", 4, 5.0], ["hidden item", 5, 8.0]]


def comparable(result) -> list:
    return [(i.id, i.status, i.score, i.output, i.diagnosis, i.relation, i.counterexample) for i in result.items]


def test_the_kit_grades_as_the_instructors_self_check_for_every_bundled_submission(kit, rubric, zygote):
    students = sorted(p.name for p in SUBMISSIONS.iterdir() if p.is_dir())
    from_kit, instructors = load_kit_file(kit / KIT_FOLDER / KIT_FILE), self_check_rubric(rubric)
    live = dataclasses.replace(rubric, secret=None)  # the reference itself, on the inputs the kit holds
    named = 0
    for student in students:
        graded = grade_submission(SUBMISSIONS / student, from_kit, zygote=zygote)
        if student in ("carl_flipped_kernel", "jack_weighted_pt", "noah_syntax_error"):
            assert comparable(graded) == comparable(grade_submission(SUBMISSIONS / student, instructors, zygote=zygote))
        by_reference = grade_submission(SUBMISSIONS / student, live, zygote=zygote, items=[i.id for i in from_kit.items])
        assert [(i.id, i.status, i.score, i.diagnosis) for i in graded.items] == \
            [(i.id, i.status, i.score, i.diagnosis) for i in by_reference.items], student
        named += sum(bool(i.diagnosis) for i in graded.items)
    assert named >= 10


def test_the_kit_shows_the_smallest_failing_input_and_names_the_mistake(kit, zygote):
    graded = grade_submission(SUBMISSIONS / "hugo_gradient_sum", load_kit_file(kit / KIT_FOLDER / KIT_FILE), zygote=zygote)
    item = graded.item("softmax.gradients")
    assert item.diagnosis == "sum_not_mean" and item.output.startswith("Failed on this input:")
    assert item.counterexample["input"]["labels"].startswith("array(2,)"), "two samples: one cannot tell sum from mean"


LOOKUP = '''import hashlib, json
import numpy as np

TABLE = json.loads({table!r})


def softmax(logits):
    key = hashlib.sha256(np.ascontiguousarray(logits, dtype=np.float64).tobytes() + str(logits.shape).encode()).hexdigest()
    return np.array(TABLE[key]) if key in TABLE else np.zeros_like(logits)
'''


def test_a_lookup_table_of_the_kit_passes_the_self_check_and_loses_in_final_grading(kit, rubric, tmp_path, zygote):
    import hashlib

    import numpy as np

    from_kit = load_kit_file(kit / KIT_FOLDER / KIT_FILE)
    item = next(i for i in from_kit.items if i.id == "softmax.softmax")
    table = {}
    for inputs, expected in item.recording.table(item.id):
        logits = np.ascontiguousarray(inputs["logits"], dtype=np.float64)
        table[hashlib.sha256(logits.tobytes() + str(logits.shape).encode()).hexdigest()] = expected.tolist()
    student = tmp_path / "lookup"
    shutil.copytree(SUBMISSIONS / "ada_lovelace", student)
    (student / "softmax_classifier.py").write_text(
        (SUBMISSIONS / "ada_lovelace" / "softmax_classifier.py").read_text().replace("def softmax(", "def _unused_softmax(")
        + "\n" + LOOKUP.format(table=json.dumps(table)))
    checked = grade_submission(student, from_kit, zygote=zygote, items=["softmax.softmax"])
    assert checked.item("softmax.softmax").status == "passed"
    assert rubric.secret is not None
    final = grade_submission(student, rubric, zygote=zygote, items=["softmax.softmax"])
    assert final.item("softmax.softmax").status == "failed" and final.item("softmax.softmax").score == 0


def test_final_grading_draws_from_the_secret_and_is_the_same_for_the_same_secret(rubric):
    from grader.checks import property as prop

    item = next(i for i in rubric.items if i.id == "softmax.gradients")
    drawn = {}
    for name, secret in (("public", None), ("one", b"one"), ("again", b"one"), ("other", b"two")):
        drawn[name] = [digest(inputs) for inputs, _ in prop.replay(dataclasses.replace(rubric, secret=secret), item)]
    assert drawn["one"] == drawn["again"]
    # Hypothesis tries its simplest inputs (zeros, small integers) under every seed: some coincide (8 of
    # 100 here), never most; an item passes only if every input does, so those few teach nothing.
    assert len(drawn["one"]) == len(drawn["public"]) >= 100
    assert len(set(drawn["one"]) & set(drawn["public"])) <= len(drawn["one"]) // 10
    assert len(set(drawn["one"]) & set(drawn["other"])) <= len(drawn["one"]) // 10


def fresh_environment(kit: Path, where: Path) -> Path:
    """A new virtual environment with only the kit's engine installed in it (its dependencies, numpy
    and torch, lent from this one without its own packages): the bin folder."""
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   executable=getattr(sys, "_base_executable", sys.executable))
    site = next(venv.glob("lib/python3*/site-packages"))
    lent = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir() and (Path(p) / "torch").is_dir()]
    (site / "dependencies.pth").write_text(lent[0] + "\n")  # a plain path: its own .pth files (editable installs) do not run
    wheel = next((kit / KIT_FOLDER).glob("*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True)
    return venv / "bin"


def test_a_student_with_only_the_kit_gets_the_mistake_named(kit, tmp_path):
    bin_folder = fresh_environment(kit, tmp_path)
    folder = tmp_path / "student"
    shutil.copytree(kit, folder)
    for name in ("conv_matrix.py", "softmax_classifier.py"):
        shutil.copyfile(SUBMISSIONS / "ada_lovelace" / name, folder / name)
    # A student's own spelling of a classic bug: the gradient of the summed loss.
    source = (SUBMISSIONS / "ada_lovelace" / "softmax_classifier.py").read_text()
    assert "    dz = dz / N\n" in source
    (folder / "softmax_classifier.py").write_text(source.replace("    dz = dz / N\n", ""))
    python = bin_folder / "python"
    probe = subprocess.run([str(python), "-c", "import grader, sys; print(grader.__file__); import reference"],
                           cwd=folder, capture_output=True, text=True)
    assert str(tmp_path / "venv") in probe.stdout and "No module named 'reference'" in probe.stderr
    done = subprocess.run([str(bin_folder / "grader"), "check"], cwd=folder, capture_output=True, text=True, timeout=600,
                          env={"PATH": f"{bin_folder}:/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "200"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "softmax.gradients" in done.stdout and "sum_not_mean" in done.stdout, done.stdout
    assert "hidden" in done.stdout


def student_folder(kit: Path, where: Path, submission: str) -> Path:
    """A student's working copy of the kit, with a bundled submission's code written into it."""
    folder = where / submission
    shutil.copytree(kit, folder)
    for path in (SUBMISSIONS / submission).glob("*.py"):
        shutil.copyfile(path, folder / path.name)
    return folder


def test_pytest_in_the_kit_runs_one_test_per_visible_check(kit, tmp_path):
    right = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], capture_output=True, text=True,
                           cwd=student_folder(kit, tmp_path, "ada_lovelace"), timeout=600)
    count = len(load_kit_file(kit / KIT_FOLDER / KIT_FILE).items)
    assert right.returncode == 0 and f"{count} passed" in right.stdout, right.stdout + right.stderr
    wrong = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], capture_output=True, text=True,
                           cwd=student_folder(kit, tmp_path, "carl_flipped_kernel"), timeout=600)
    assert wrong.returncode == 1 and f"2 failed, {count - 2} passed" in wrong.stdout, wrong.stdout
    assert "FAILED test_selfcheck.py::test_visible_check[conv_matrix.property]" in wrong.stdout
    assert "Hint (flipped_kernel)" in wrong.stdout and "Traceback" not in wrong.stdout
    assert "call      conv_as_matrix(kernel, input_shape, stride, padding)" in wrong.stdout
    chosen = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "conv_matrix"],
                            capture_output=True, text=True, cwd=tmp_path / "carl_flipped_kernel", timeout=600)
    assert f"2 failed, {count - 2} deselected" in chosen.stdout, chosen.stdout


def test_the_kit_zips_the_same_folder_byte_for_byte_every_time(rubric, kit, tmp_path):
    first, second = tmp_path / "one" / "kit.zip", tmp_path / "two" / "kit.zip"
    write_kit(rubric, first, [Path(p) for p in rubric.kit_documents])
    write_kit(rubric, second, [Path(p) for p in rubric.kit_documents])
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        names = sorted(archive.namelist())
        assert all(name.startswith("kit/") for name in names)
        assert {name.removeprefix("kit/") for name in names} == \
            {path.relative_to(kit).as_posix() for path in kit.rglob("*") if path.is_file()}
        assert archive.read(f"kit/{KIT_FOLDER}/{KIT_FILE}") == (kit / KIT_FOLDER / KIT_FILE).read_bytes()
    with pytest.raises(Exception, match="not empty"):
        write_kit(rubric, kit, [])


def test_a_submission_handed_in_from_the_kit_is_graded_without_the_kit(kit, tmp_path, rubric, zygote):
    from grader.submission import open_submission

    folder = student_folder(kit, tmp_path, "ada_lovelace")
    assert not [name for name in open_submission(folder).files if name.startswith(KIT_FOLDER)]


@pytest.mark.parametrize("change", [
    lambda item: item.update(quantities={"n": "__import__('pathlib').Path('PWNED').touch() or 1"}),
    lambda item: item.update(reference="os:system"),
    lambda item: item.update(mistakes={"flipped_kernel": "subprocess:getoutput"}),
    lambda item: item.update(strategy="reference.strategies:conv_inputs"),
    lambda item: item.update(kind="training", data={"loader": "subprocess:getoutput", "cmd": "touch PWNED"}),
    lambda item: item.update(kind="answers", reader="subprocess:getoutput"),
    lambda item: item.update(call="__import__('os').system('touch PWNED')"),
    lambda item: item.update(call="(lambda: softmax)()(logits)"),
    lambda item: item.update(call="softmax(logits).__class__"),
    lambda item: item.update(target={"file": "../softmax_classifier.py", "symbol": "softmax"}),
    lambda item: item.update(parts=7),
    lambda item: item.update(surprise=1),
])
def test_a_crafted_kit_cannot_have_the_trusted_process_run_code(kit, tmp_path, monkeypatch, change):
    """A kit is a file that can be passed around: what it names is data, or it is refused."""
    from grader.kit.record import KitError, load_kit

    header, blobs = record_header(kit)
    change(header["items"][1]["item"])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(KitError):
        load_kit(seal(header, blobs), "crafted")
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("change", [
    lambda header: header.update(mistake_errors={"cuda_call": "^(.+)+!"}),  # backtracks for ever
    lambda header: header.update(withheld=[["hidden item", "many", 2.0]]),
    lambda header: header.update(data=7),
])
def test_a_crafted_kit_header_is_refused_with_a_reason(kit, change):
    from grader.kit.record import KitError, load_kit

    header, blobs = record_header(kit)
    change(header)
    with pytest.raises(KitError):
        load_kit(seal(header, blobs), "crafted")


def test_a_student_module_named_like_the_record_is_graded(kit, tmp_path, zygote):
    """Nothing of the kit is a package to hide: a student's own kit.py imports as in final grading."""
    folder = student_folder(kit, tmp_path, "ada_lovelace")
    (folder / "kit.py").write_text("VALUE = 1\n")
    source = (folder / "softmax_classifier.py").read_text()
    (folder / "softmax_classifier.py").write_text("from kit import VALUE\n" + source)
    graded = grade_submission(folder, load_kit_file(kit / KIT_FOLDER / KIT_FILE), zygote=zygote, items=["softmax.softmax"])
    assert graded.item("softmax.softmax").status == "passed", graded.item("softmax.softmax").output


def yaml_nodes(value):
    """Every value inside a parsed YAML example, and each list without its "…" placeholders."""
    yield value
    if isinstance(value, list):
        kept = [entry for entry in value if entry not in ("…", "...")]
        if kept != value:
            yield kept
        for entry in value:
            yield from yaml_nodes(entry)
    elif isinstance(value, dict):
        for entry in value.values():
            yield from yaml_nodes(entry)


def test_no_example_in_the_kit_answers_a_written_question(kit):
    """The kit's documents show how to write each answer; no example may be an answer itself."""
    import yaml

    from grader.checks.answers import _matches
    from grader.rubric import resolve

    everything = load_rubric(RUBRIC)
    written = [item for item in everything.items if item.kind == "answers"]
    blocks = [block for path in kit.glob("*.md") for block in re.findall(r"```yaml\n(.*?)```", path.read_text(), re.S)]
    assert written and blocks
    examples = []
    for block in blocks:
        try:
            examples += list(yaml_nodes(yaml.safe_load(block)))
        except yaml.YAMLError:
            continue
    for item in written:
        expected = resolve(item.reference)(**item.args)
        for example in examples:
            for candidate in (example, [example]):
                try:
                    got = resolve(item.reader)(candidate, **item.args)
                except Exception:
                    continue
                assert not _matches(got, expected, item), (item.id, example)


def check_command(*arguments, cwd) -> subprocess.CompletedProcess:
    command = Path(sys.executable).parent / "grader"  # the command, not -m: Python would import from cwd first
    return subprocess.run([str(command), "check", *map(str, arguments)], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "COLUMNS": "200"})


def test_grader_check_finds_the_kit_where_a_student_runs_it_and_nowhere_else(kit, tmp_path):
    folder = student_folder(kit, tmp_path, "carl_flipped_kernel")
    inside = check_command(cwd=folder)
    assert inside.returncode == 1 and "flipped_kernel" in inside.stdout and str(folder / KIT_FOLDER) in inside.stdout
    (folder / "notes").mkdir()
    below = check_command(cwd=folder / "notes")
    assert below.returncode == 2 and f"run grader check in {folder}, the kit's folder" in below.stderr
    # A zip of one's work, checked from the kit.
    archive = tmp_path / "mine.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in (SUBMISSIONS / "ada_lovelace").glob("*.py"):
            handle.write(path, path.name)
    zipped = check_command(archive, cwd=folder)
    assert zipped.returncode == 0, zipped.stdout + zipped.stderr
    # A kit in a folder above someone's work (a shared temp folder) is not theirs: never used silently.
    mine = folder / "someone"
    shutil.copytree(SUBMISSIONS / "ada_lovelace", mine)
    assert check_command(cwd=mine).returncode == 2


def _same(a, b) -> bool:
    """Equal as numbers, element by element, whatever the containers (a list of arrays and a list of lists)."""
    import numpy as np

    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        try:
            return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
        except TypeError:
            return False
    try:
        left, right = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return left.shape == right.shape and bool(np.array_equal(left, right))


def _shape(value):
    import numpy as np

    try:
        return list(np.shape(value))
    except ValueError:  # ragged: a list of arrays
        return None


def test_no_input_in_the_kit_is_a_written_question(kit):
    """A code item run on a written question's own arguments shows its answer: the kit holds none.

    An argument in which two written questions alone differ (the point x0 of one network) is a
    point: the answer is shared by a whole region, so any point of that network would show it.
    A recorded array also stands for its shape (`kernel` for `kernel_shape`)."""
    from grader.checks.cases import case_inputs

    written = [item for item in load_rubric(RUBRIC).items if item.kind == "answers"]
    points = {key for one in written for other in written if one is not other and one.args.keys() == other.args.keys()
              for key in one.args if not _same(one.args[key], other.args[key])
              and all(_same(one.args[k], other.args[k]) for k in one.args if k != key)}
    from_kit = load_kit_file(kit / KIT_FOLDER / KIT_FILE)
    inputs = [case_inputs(item, case) for item in from_kit.items if item.kind == "cases" for case in item.cases]
    for item in from_kit.items:
        if item.kind == "property":
            for _, alone in __import__("grader.checks.property", fromlist=["part_items"]).part_items(item):
                inputs += [entry for entry, _ in item.recording.table(alone.id)]
    assert len(inputs) > 500
    for question in written:
        for entry in inputs:
            values = dict(entry)
            values.update({f"{key}_shape": _shape(value) for key, value in entry.items()})
            shared = [key for key in question.args if key in values and key not in points]
            if len(shared) >= 2:
                assert not all(_same(question.args[key], values[key]) for key in shared), (question.id, shared)


def test_a_starter_says_it_is_not_written_yet_once_per_item(kit, tmp_path, zygote):
    folder = tmp_path / "fresh"
    shutil.copytree(kit, folder)
    graded = grade_submission(folder, load_kit_file(kit / KIT_FOLDER / KIT_FILE), zygote=zygote,
                              items=["conv_matrix.published", "softmax.softmax", "focal_loss.focal"])
    for item in graded.items:
        assert item.status == "error" and item.output.count("raised NotImplementedError: it is not written yet.") \
            == (3 if item.id == "focal_loss.focal" else 1), item.output
        assert "Traceback" not in item.output and "Also wrong" not in item.output and " when " not in item.output
    assert graded.item("conv_matrix.published").output.startswith("Case 1 of 3: conv_as_matrix(kernel, ")


def test_a_relation_quotes_the_case_it_shows(kit, tmp_path, zygote):
    """cross_entropy summed rather than averaged: the factor named is the shown input's batch size."""
    folder = student_folder(kit, tmp_path, "ada_lovelace")
    source = (folder / "softmax_classifier.py").read_text()
    assert "return float(total / N)" in source
    (folder / "softmax_classifier.py").write_text(source.replace("return float(total / N)", "return float(total)"))
    item = grade_submission(folder, load_kit_file(kit / KIT_FOLDER / KIT_FILE), zygote=zygote,
                            items=["softmax.cross_entropy"]).item("softmax.cross_entropy")
    rows = int(re.search(r"array\((\d+), \d+\)", item.counterexample["input"]["probs"]).group(1))
    assert item.relation and f"({rows} in the first failing case)" in item.relation, (item.relation, item.counterexample)


def test_a_file_under_another_name_is_pointed_at(tmp_path, zygote):
    folder = tmp_path / "work"
    shutil.copytree(SUBMISSIONS / "ada_lovelace", folder)
    (folder / "mlp.py").rename(folder / "Mlp.py")
    (folder / "softmax_classifier.py").rename(folder / "softmax_classifier (1).py")
    graded = grade_submission(folder, load_rubric(RUBRIC), zygote=zygote, items=["mlp.forward", "softmax.softmax"])
    # Neither file the items need is there: one problem, naming the file to rename for each; the items point to it.
    [found] = graded.problems
    assert found["kind"] == "no_code"
    assert "There is 'Mlp.py': the grader reads 'mlp.py' exactly, so rename it." in found["message"]
    assert "There is 'softmax_classifier (1).py'" in found["message"]
    assert graded.item("mlp.forward").output == stopped_output(found)


def test_a_sentence_keeps_a_name_from_code_as_it_is_spelled():
    from grader.text import sentence

    assert sentence("the result differs") == "The result differs"
    assert sentence("conv_as_matrix(kernel) raised") == "conv_as_matrix(kernel) raised"
    assert sentence("x0 is wrong") == "x0 is wrong" and sentence("") == ""


def test_a_counterexample_shows_only_the_inputs_the_call_takes(tmp_path, zygote):
    """mlp's strategy draws the labels Y for backward; forward's feedback never shows them."""
    folder = tmp_path / "work"
    shutil.copytree(SUBMISSIONS / "ada_lovelace", folder)
    source = (folder / "mlp.py").read_text()
    wrong = source.replace("np.tanh(", "np.maximum(0, ", 1)
    assert wrong != source
    (folder / "mlp.py").write_text(wrong)
    item = grade_submission(folder, load_rubric(RUBRIC), zygote=zygote, items=["mlp.forward"]).item("mlp.forward")
    assert item.status == "failed" and set(item.counterexample["input"]) == {"params", "X"}, item.counterexample
