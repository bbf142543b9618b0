"""README.md's figures and guarantees that no other test pins: each test names the sentence it holds.

When one fails, either the code broke the promise or the README no longer says what is true:
correct whichever is wrong, never the test alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
RUBRIC = ROOT / "rubrics" / "assignment2.yaml"
SUBMISSIONS = ROOT / "submissions"


def _readme_figures(pattern: str) -> tuple[int, ...]:
    """The numbers a README sentence states; the sentence may wrap over lines."""
    found = re.search(pattern.replace(" ", r"\s+"), README)
    assert found, f"README.md no longer says {pattern!r}: update this test with the sentence"
    return tuple(float(group) if "." in group else int(group.replace(",", "")) for group in found.groups())


def _small_rubric(folder: Path, items: set[str], examples: int | None = None) -> Path:
    data = yaml.safe_load(RUBRIC.read_text())
    data["items"] = [item for item in data["items"] if item["id"] in items]
    for item in data["items"]:
        if examples and item["kind"] == "property":
            item["examples"] = examples
    path = folder / "rubric.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# ---- "a standing suite of N cases in M files" (Security model) -------------------------------------------


def test_the_hostile_suite_has_as_many_cases_and_files_as_the_readme_says():
    cases, files = _readme_figures(r"a standing suite of ([\d,]+) cases in ([\d,]+) files")
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "tests/hostile"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    collected = [line for line in done.stdout.splitlines() if line.startswith("tests/hostile/")]
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (len(collected), len({line.split("::")[0] for line in collected})) == (cases, files)


# ---- Gradescope: what the student's code prints reaches results.json only as text ------------------------

PRINTED = "PRINTED-7f3a"  # what the planted code prints and writes, with markup and escape codes around it
PLANTED = f'''

_graded = conv_as_matrix


def conv_as_matrix(*args, **kwargs):
    print("```\\n</pre><b>{PRINTED}</b>\\x1b[31m {{\\"score\\": 100, \\"status\\": \\"passed\\"}}\\n```")
    with open("results.json", "w") as handle:
        handle.write('{{"score": 100, "tests": [], "output": "{PRINTED}"}}')
    return _graded(*args, **kwargs)
'''


def _outside_fences(markdown: str) -> str:
    """The markdown with every fenced code block taken out: what Gradescope would render as markup."""
    return re.sub(r"^(`{3,})\n.*?\n\1$", "", markdown, flags=re.S | re.M)


def test_printed_text_reaches_gradescope_only_as_text_in_an_items_output(tmp_path, zygote):
    from grader.api import grade_submission
    from grader.gradescope import to_results_json
    from grader.rubric import load_rubric

    submission = tmp_path / "printer"
    shutil.copytree(SUBMISSIONS / "carl_flipped_kernel", submission)  # a flipped kernel: both items fail
    with open(submission / "conv_matrix.py", "a") as handle:
        handle.write(PLANTED)
    rubric = load_rubric(_small_rubric(tmp_path, {"conv_matrix.published", "conv_matrix.rectangular"}))
    data = to_results_json(grade_submission(submission, rubric, zygote=zygote), rubric, 1.0)

    tests = {test["number"]: test for test in data["tests"]}
    visible = tests["conv_matrix.published"]
    assert (visible["visibility"], tests["conv_matrix.rectangular"]["visibility"]) == ("visible", "hidden")
    assert PRINTED in visible["output"]  # the student sees what their code printed
    assert "\x1b" not in json.dumps(data, ensure_ascii=False)  # without its escape codes
    for test in data["tests"]:  # a hidden test's output is the staff's: Gradescope shows students its score only
        assert PRINTED not in _outside_fences(test["output"])  # as a code block no printed fence closes
        assert test["score"] == 0 and test["status"] == "failed"
        assert PRINTED not in json.dumps({key: value for key, value in test.items() if key != "output"})
    assert PRINTED not in json.dumps({key: value for key, value in data.items() if key != "tests"})
    assert data["score"] == 0


# ---- Determinism: the submission, the rubric and the grading secret, whatever the process ----------------

GRADE = r"""
import sys
from grader.api import grade_submission
from grader.rubric import load_rubric
rubric = load_rubric(sys.argv[1])
sys.stdout.write(grade_submission(sys.argv[2], rubric).to_json(with_timing=False))
"""


def test_two_fresh_processes_with_different_hash_seeds_give_byte_identical_results(tmp_path):
    """Each draws its own inputs (no cache) and shrinks its own counterexamples: the bytes agree."""
    items = {"softmax.softmax", "softmax.cross_entropy"}
    rubric = _small_rubric(tmp_path, items, examples=25)
    secret = tmp_path / "grading.secret"
    secret.write_text("a secret of this test alone\n")
    running = [subprocess.Popen([sys.executable, "-c", GRADE, str(rubric), str(SUBMISSIONS / "gina_unstable_softmax")],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONHASHSEED": hash_seed, "GRADER_CACHE_DIR": "off",
                                     "GRADER_SECRET_FILE": str(secret)})
               for hash_seed in ("1", "2")]
    outputs = []
    for process in running:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
        outputs.append(out)
    assert outputs[0] == outputs[1]
    result = json.loads(outputs[0])
    assert result["draw"] != "public"  # drawn with the secret
    shrunk = [item for item in result["items"] if item["status"] == "failed" and item["counterexample"]]
    assert any(item["id"] == "softmax.softmax" for item in shrunk), "no live search ran: nothing was compared"


# ---- "The local pool stays the default and never imports Ray" ---------------------------------------------


def test_a_local_pool_of_two_workers_never_imports_ray(tmp_path):
    """A stand-in `ray` first on the path leaves a mark in whichever process imports it: parent, fork server or worker."""
    fake = tmp_path / "path" / "ray"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("import os\nopen(os.environ['RAY_IMPORTED_MARK'], 'a').write(f'{os.getpid()}\\n')\n"
                                      "raise ImportError('the local pool imported ray')\n")
    batch = tmp_path / "batch"
    for name in ("ada_lovelace", "carl_flipped_kernel"):
        shutil.copytree(SUBMISSIONS / name, batch / name)
    rubric = _small_rubric(tmp_path, {"conv_matrix.published", "softmax.stability"})
    mark, out = tmp_path / "imported", tmp_path / "out"
    code = ("from grader.batch import grade_folder\nfrom grader.rubric import load_rubric\n"
            "if __name__ == '__main__':\n"
            f"    batch = grade_folder({str(batch)!r}, load_rubric({str(rubric)!r}), {str(out)!r}, jobs=2)\n"
            "    print(sorted((r.student, r.score) for r in batch.results))\n")
    environment = {**os.environ, "RAY_IMPORTED_MARK": str(mark),
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(fake.parent), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env=environment)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[('ada_lovelace', 3.0), ('carl_flipped_kernel', 1.0)]"
    assert "2 jobs" in (out / "grading.log").read_text()  # the pool ran, not the one-job loop
    assert not mark.exists(), f"imported ray in processes {mark.read_text().split()}"


# ---- figures that are settings of the code or of the bundled rubric ------------------------------------


def test_the_limits_the_readme_states_are_the_defaults():
    from grader import identity
    from grader.boundary.sandbox import UID_BASE, Limits

    limits = Limits()
    assert _readme_figures(r"rlimits cap memory \(address space, (\d+) GiB by default\), CPU time, file size "
                           r"\((\d+) MiB\)") == (limits.memory_mb // 1024, limits.file_mb)
    assert _readme_figures(r"a cgroup per child \(v2 where delegated, else v1\): (\d+) GiB of memory with swap, "
                           r"(\d+) processes") == (limits.memory_mb // 1024, limits.processes)
    assert _readme_figures(r"a tmpfs capped at the submission's size plus (\d+) MiB") == (limits.disk_mb,)
    assert _readme_figures(r"a private uid per child \((\d+) \+ pid\)") == (UID_BASE,)
    assert _readme_figures(r"at most (\d+) bytes \(`José Ruiz`") == (identity.MAX_BYTES,)


def test_the_filters_count_of_calls_is_the_readmes(zygote):
    from grader.api import probe_isolation
    from tests.machine import can_have

    if not can_have()["seccomp"]:
        pytest.skip("this machine cannot have seccomp")
    (calls,) = _readme_figures(r"and a few more: (\d+) calls")
    assert probe_isolation(zygote)["syscalls"]["denied_calls"] == calls
    assert _readme_figures(r"and `seccomp` \((\d+) calls\) true") == (calls,)


def test_the_diagnosis_and_ray_figures_are_the_codes():
    import ast

    from grader import relations
    from grader.checks import property as prop

    assert _readme_figures(r"and up to (\d+) failing inputs of a property item's table") == (prop.MAX_FAILURES,)
    assert _readme_figures(r"arrays over ([\d,]+) entries\) give no sentence") == (relations.MAX_ENTRIES,)
    # Read, not imported: the backend imports Ray, an optional extra.
    tree = ast.parse((ROOT / "grader" / "backends" / "ray.py").read_text())
    retries = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                   and any(getattr(target, "id", "") == "RETRIES" for target in node.targets))
    assert _readme_figures(r"A task whose worker or node dies is retried up to (\d+) times") == (retries,)


def test_the_bundled_rubrics_figures_are_the_readmes():
    from grader.rubric import load_rubric

    rubric = load_rubric(RUBRIC, secret=False)
    hidden = [item for item in rubric.items if item.visibility == "hidden"]
    visible = [item for item in rubric.items if item.visibility != "hidden"]
    assert _readme_figures(r'\("(\d+) hidden items, worth (\d+) points"\)') == (len(hidden), sum(i.points for i in hidden))
    assert _readme_figures(r"they are published examples, (\d+) of the (\d+) visible points") == (
        sum(i.points for i in visible if i.kind == "cases"), sum(i.points for i in visible if i.kind != "answers"))
    numeric = [item for item in rubric.items if item.kind != "training"]
    properties = [item for item in numeric if item.kind == "property"]
    assert {item.examples for item in properties} == set(_readme_figures(r"property checks of (\d+) inputs\)"))
    assert _readme_figures(r"the bundled rubric without its training items \((\d+) items, (\d+) of them") == (
        len(numeric), len(properties))
    trained = {item.id: item for item in rubric.items if item.kind == "training"}
    assert _readme_figures(r"\| `cnn.accuracy` \((\d+) pt\)") == (trained["cnn.accuracy"].points,)
    assert _readme_figures(r"\| `cnn.checkpoint` \((\d+) pt\)") == (trained["cnn.checkpoint"].points,)
    assert _readme_figures(r"\| `cnn.long_tail` \((\d+) pt\)") == (trained["cnn.long_tail"].points,)
    (max_params,) = _readme_figures(r"parameters \(([\d,]+) here\) is refused before training")
    assert {item.max_params for item in trained.values()} == {max_params}
    (limit,) = _readme_figures(r"far under the (\d+) s\s+limit")
    assert max(item.timeout_s for item in trained.values()) == limit
    focal = next(item for item in rubric.items if item.id == "focal_loss.focal")
    assert _readme_figures(r"`focal_loss.focal`\s+gives (\d+) of its (\d+) points to `weight=None`") == (
        sum(part.points for part in focal.parts if "None" in part.name), focal.points)
    bundled = [path for path in SUBMISSIONS.iterdir() if path.is_dir()]
    assert _readme_figures(r"the test\s+grades all (\d+) bundled submissions") == (len(bundled),)
    assert _readme_figures(r"\| the (\d+) other bundled submissions \|") == (len(bundled) - 2,)


def test_the_kit_test_looks_for_every_function_body_of_the_reference():
    """"none of the 149 function bodies of `reference/`": tests/kit/test_kit.py looks for those longer than
    25 characters squeezed, which must be all of them."""
    from grader.kit.starter import function_bodies

    bodies = [body for source in sorted((ROOT / "reference").rglob("*.py")) for body in function_bodies(source.read_text())]
    assert _readme_figures(r"none of the\s+(\d+) function bodies of `reference/`") == (len(bodies),)
    assert all(len(re.sub(r"\s+", "", body)) > 25 for body in bodies)


def test_the_training_data_figures_are_the_loaders():
    import numpy as np

    from reference.data import training_data

    digits = training_data("digits")
    train, test = len(digits["train_labels"]), len(digits["test_labels"])
    assert _readme_figures(r"\(([\d,]+) training and ([\d,]+) test\s+images\)") == (train, test)
    assert _readme_figures(r"digits resized to 3×32×32 \(([\d,]+) images\)") == (train,)
    assert _readme_figures(r"on ([\d,]+) held-out images") == (test,)
    counts = np.bincount(np.asarray(training_data("digits", imbalance=100)["train_labels"]), minlength=10)
    assert _readme_figures(r"\((\d+) images of class 0 down to (\d+) of class 9, (\d+) in all\)") == (
        counts[0], counts[9], counts.sum())


def test_the_wall_clock_backstop_and_dockers_capabilities_are_the_readmes():
    from grader.boundary.session import WALL_FACTOR, WALL_GRACE_S
    from tests.dockerlike import DOCKER_CAPABILITIES

    assert _readme_figures(r"a wall-clock backstop of (\d+)× the\s+limit plus (\d+) s") == (WALL_FACTOR, WALL_GRACE_S)
    assert _readme_figures(r"\(Docker's (\d+) capabilities") == (len(DOCKER_CAPABILITIES),)


def test_the_training_items_recipes_are_the_readmes():
    from grader.rubric import load_rubric

    items = {item.id: item for item in load_rubric(RUBRIC, secret=False).items if item.kind == "training"}
    accuracy, long_tail = items["cnn.accuracy"], items["cnn.long_tail"]
    recipe = accuracy.recipe
    assert _readme_figures(r"\((\d+)–(\d+) epochs, sgd/adam/adamw, …; without a config, Adam at lr ([\d.]+) for (\d+) "
                           r"epochs, batches of (\d+)\)") == (
        recipe["epochs"]["min"], recipe["epochs"]["max"], recipe["lr"]["default"], recipe["epochs"]["default"],
        recipe["batch_size"]["default"])
    assert recipe["optimizer"] == {"default": "adam", "choices": ["sgd", "adam", "adamw"]}
    assert _readme_figures(r"(\d+) pt for each tier passed: accuracy above (\d+)%, (\d+)%, (\d+)%") == (
        accuracy.tiers[0][1], *(round(100 * above) for above, _ in accuracy.tiers))
    assert len({points for _, points in accuracy.tiers}) == 1
    assert _readme_figures(r"trains twice for (\d+) epochs with one seed and recipe \(without a config, Adam at lr "
                           r"([\d.]+)\)") == (long_tail.recipe["epochs"], long_tail.recipe["lr"]["default"])
    assert _readme_figures(r"must rise by at least (\d+) points, and the student's run must reach at least (\d+)%") == (
        round(100 * long_tail.margin), round(100 * long_tail.floor))
