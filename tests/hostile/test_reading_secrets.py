"""Student code hunting for secrets: the reference, the rubric, other students' work.

Every attack tries to use what it finds (to copy the reference implementation) and to
smuggle it out through what it prints and what it returns. Nothing secret may show up
anywhere in the result, and the attacked item gets 0 because the attack found nothing.
"""

import importlib.util
import os
import tempfile
from pathlib import Path

import pytest

from grader.boundary import default_read_only
from tests.hostile.conftest import (
    ROOT,
    RUBRIC,
    assert_contained,
    bystanders,
    grade,
    plant,
)
from tests.machine import in_container

pytestmark = pytest.mark.layers("filesystem")

# Wherever the grader imports it from: the repository, or site-packages when installed.
REFERENCE = Path(importlib.util.find_spec("reference").submodule_search_locations[0]) / "conv_matrix.py"
OTHER_MARKER = "MARKER-of-another-student-5c1e9b7d"
# One line of each secret that no honest submission contains: finding it anywhere means it leaked.
REFERENCE_SIGNATURE = "Broadcast over (output row, output col, kernel row, kernel col)."
RUBRIC_SIGNATURE = "strategy: reference.strategies:conv_inputs"
CONV = ["conv_matrix.published"]


def test_the_signatures_are_really_in_the_secrets():
    """Otherwise every 'nothing leaked' assertion below would hold vacuously."""
    assert REFERENCE_SIGNATURE in REFERENCE.read_text()
    assert RUBRIC_SIGNATURE in RUBRIC.read_text()
    if in_container():  # installed there as pip installs it: inside a folder the child must read, beside numpy
        wanted = [os.path.realpath(p) for p in default_read_only()]
        assert any(os.path.commonpath([str(REFERENCE), w]) == w for w in wanted), (REFERENCE, wanted)


def with_other_student(tmp_path: Path) -> Path:
    """A second student's folder next to the attacker's, holding a marker string."""
    other = tmp_path / "other_student"
    other.mkdir()
    (other / "conv_matrix.py").write_text(
        f"# {OTHER_MARKER}\nimport numpy as np\n\ndef conv_as_matrix(kernel, input_shape, stride=1, padding=0):\n"
        "    return np.zeros((1, 1))\n")
    return other


def assert_nothing_leaked(result) -> str:
    """No secret anywhere in the result (output, counterexamples, details); returns the result as text."""
    text = result.to_json()
    for secret in (REFERENCE_SIGNATURE, RUBRIC_SIGNATURE, OTHER_MARKER, "title: Assignment 2", "def _check_args"):
        assert secret not in text, f"{secret!r} leaked into the result:\n{text}"
    assert "STOLEN" not in text, text
    return text


def printed(result, item_id: str) -> str:
    output = result.item(item_id).output
    assert "Your code printed:" in output, output
    return output.split("Your code printed:", 1)[1]


# ---- importing the reference ------------------------------------------------------------

# Each runs inside conv_as_matrix; it must end with `stolen` bound to a function, or raise.
IMPORT_ATTACKS = {
    "import reference": "import reference.conv_matrix\nstolen = reference.conv_matrix.conv_as_matrix",
    "from reference.conv_matrix import": "from reference.conv_matrix import conv_as_matrix as stolen",
    "importlib": "import importlib\nstolen = importlib.import_module('reference.conv_matrix').conv_as_matrix",
    "__import__ with fromlist": "stolen = __import__('reference.conv_matrix', fromlist=['x']).conv_as_matrix",
    "remove the import blocker and put the repository on sys.path": (
        "import sys\n"
        "sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != '_Blocker']\n"
        "for name in [n for n in sys.modules if n.startswith('reference')]:\n"
        "    del sys.modules[name]\n"
        "sys.path.insert(0, {root!r})\n"
        "import reference.conv_matrix\nstolen = reference.conv_matrix.conv_as_matrix"),
    "load the reference file by path": (
        "import importlib.util\n"
        "spec = importlib.util.spec_from_file_location('ref_copy', {reference!r})\n"
        "module = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(module)\n"
        "stolen = module.conv_as_matrix"),
    "exec the reference installed beside numpy or on any sys.path folder": (
        "import os, sys, numpy, site\n"
        "folders = [os.path.dirname(os.path.dirname(numpy.__file__)), *sys.path, *site.getsitepackages()]\n"
        "found = None\n"
        "for folder in folders:\n"
        "    try:\n"
        "        found = found or open(os.path.join(folder or '.', 'reference', 'conv_matrix.py')).read()\n"
        "    except OSError as error:\n"
        "        print('refused:', folder, type(error).__name__)\n"
        "namespace = {{}}\n"
        "exec(found, namespace)\n"
        "stolen = namespace['conv_as_matrix']"),
    "grader internals still loaded in the child": (
        "import sys\n"
        "names = [n for n in sys.modules if n.startswith(('reference', 'grader.rubric', 'grader.checks'))]\n"
        "print('loaded:', names)\n"
        "stolen = sys.modules['reference.conv_matrix'].conv_as_matrix"),
}

ATTACK_TEMPLATE = '''import numpy as np


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    try:
{attack}
    except BaseException as error:
        print("attack failed:", type(error).__name__, str(error)[:200])
        return np.zeros((1, 1))  # found nothing: no honest answer either
    print("STOLEN the reference")
    return stolen(kernel, input_shape, stride, padding)
'''


def attack_source(attack: str, **names) -> str:
    body = attack.format(**names)
    return ATTACK_TEMPLATE.format(attack="\n".join("        " + line for line in body.splitlines()))


@pytest.mark.parametrize("case", list(IMPORT_ATTACKS))
def test_the_reference_cannot_be_imported(tmp_path, bundled, zygote, case):
    source = attack_source(IMPORT_ATTACKS[case], root=str(ROOT), reference=str(REFERENCE))
    others = bystanders("conv_matrix.py")
    result = grade(plant(tmp_path, {"conv_matrix.py": source}), bundled, zygote, CONV, others)
    assert_contained(result, CONV, others, statuses=("failed",), message="has shape (1, 1), expected")
    assert "attack failed:" in printed(result, CONV[0])
    assert_nothing_leaked(result)


def test_importing_the_reference_at_module_level_is_an_import_error(tmp_path, bundled, zygote):
    source = "from reference.conv_matrix import conv_as_matrix  # the whole submission is the reference\n"
    others = bystanders("conv_matrix.py")
    result = grade(plant(tmp_path, {"conv_matrix.py": source}), bundled, zygote, CONV, others)
    assert_contained(result, CONV, others, statuses=("error",), message="No module named 'reference")
    assert_nothing_leaked(result)


# ---- reading secret files by path ----------------------------------------------------------

READ_TEMPLATE = '''import glob
import os

import numpy as np

TARGETS = {targets!r}


def _pids():
    return [p for p in os.listdir("/proc") if p.isdigit()]


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    candidates = []
    for target in TARGETS:
        candidates += [target, os.path.relpath(target, os.getcwd())]
        # Through another process's view of the filesystem: the trusted grader's cwd and root.
        for pid in _pids():
            candidates.append(f"/proc/{{pid}}/root{{target}}")
        for pid in _pids():
            candidates.append(f"/proc/{{pid}}/cwd/" + os.path.relpath(target, {repository!r}))
    candidates += ["../other_student/conv_matrix.py", "../../other_student/conv_matrix.py"]
    candidates += glob.glob("/tmp/**/other_student/*.py", recursive=True)
    # Descriptors the child may have inherited.
    candidates += [f"/proc/self/fd/{{fd}}" for fd in os.listdir("/proc/self/fd")]
    loot, denied = [], 0
    for path in candidates:
        try:
            with open(path, errors="replace") as handle:
                text = handle.read(100_000)
        except (OSError, ValueError):
            denied += 1
            continue
        if text and "STOLEN" not in text:
            loot.append((path, text))
    print(f"tried {{len(candidates)}} paths, {{denied}} refused, {{len(loot)}} readable")
    namespace = {{}}
    for path, text in loot:
        print("READ", path, text[:300])
        if "def conv_as_matrix" in text and path.endswith(".py"):
            try:
                exec(text, namespace)
            except BaseException:
                pass
    if "conv_as_matrix" in namespace:
        print("STOLEN a conv_as_matrix")
        return namespace["conv_as_matrix"](kernel, input_shape, stride, padding)
    if {smuggle!r}:
        return "".join(text for _, text in loot)  # out through the return value
    return np.zeros((1, 1))
'''


def read_attack(tmp_path: Path, smuggle: bool) -> str:
    other = with_other_student(tmp_path)
    targets = [
        str(REFERENCE), str(REFERENCE.parent / "__init__.py"), str(RUBRIC),
        str(other / "conv_matrix.py"),
        str(ROOT / "submissions" / "ben_okafor" / "conv_matrix.py"),  # the course's other submissions
        str(tmp_path / "student" / "conv_matrix.py"),  # the attacker's original folder, next to the others
    ]
    return READ_TEMPLATE.format(targets=targets, repository=str(ROOT), smuggle=smuggle)


def test_secret_files_cannot_be_read_by_relative_or_absolute_path(tmp_path, bundled, zygote):
    others = bystanders("conv_matrix.py")
    result = grade(plant(tmp_path, {"conv_matrix.py": read_attack(tmp_path, smuggle=False)}), bundled, zygote, CONV, others)
    assert_contained(result, CONV, others, statuses=("failed",), message="has shape (1, 1), expected")
    shown = printed(result, CONV[0])
    assert "tried " in shown and "READ" not in shown and "STOLEN" not in shown, shown
    assert_nothing_leaked(result)


def test_nothing_secret_comes_back_through_the_return_value(tmp_path, bundled, zygote):
    """Whatever it returns, a string included, holds no secret: it was never read."""
    others = bystanders("conv_matrix.py")
    result = grade(plant(tmp_path, {"conv_matrix.py": read_attack(tmp_path, smuggle=True)}), bundled, zygote, CONV, others)
    assert_contained(result, CONV, others, statuses=("failed",), message="is a str, expected a numpy array")
    assert result.item(CONV[0]).counterexample["got"] == "''", result.item(CONV[0]).counterexample
    assert_nothing_leaked(result)


def test_the_secrets_are_really_where_the_attack_looks(tmp_path):
    """The same paths, read from the trusted side, do hold the secrets: the sandbox is what stops them."""
    with_other_student(tmp_path)
    assert OTHER_MARKER in (tmp_path / "other_student" / "conv_matrix.py").read_text()
    assert (ROOT / "submissions" / "ben_okafor" / "conv_matrix.py").is_file()


# ---- walking the whole filesystem ------------------------------------------------------------

WALK_TEMPLATE = '''import os
import time

import numpy as np

SIGNS = (b"def conv_as_matrix", b"MARKER-of-another", b"strategy: reference.strategies")
ROOTS = ["/", "/work", "/root", "/home", "/srv", "/opt", "/var", os.path.dirname(os.getcwd()),
         {tmp!r}, {tmp_path!r}, {repository!r}, "/usr", "/etc"]


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    own = os.getcwd()
    started, visited, listed = time.monotonic(), 0, 0
    secrets, yamls, namespace = [], [], {{}}
    for root in ROOTS:
        for folder, dirs, files in os.walk(root):
            listed += 1
            if folder.startswith(("/proc", "/sys", "/dev")) or folder.startswith(own):
                dirs[:] = []
                continue
            for name in files:
                visited += 1
                path = os.path.join(folder, name)
                if name.endswith((".yaml", ".yml")):
                    yamls.append(path)
                if not name.endswith((".py", ".yaml", ".yml", ".txt", ".md")):
                    continue
                try:
                    with open(path, "rb") as handle:
                        data = handle.read(200_000)
                except OSError:
                    continue
                if any(sign in data for sign in SIGNS):
                    secrets.append(path)
                    try:
                        exec(data, namespace)
                    except BaseException:
                        pass
            if time.monotonic() - started > 5 or visited > 300_000:
                break
    print("SECRETS:", secrets[:20])
    print(f"walked {{listed}} folders, {{visited}} files, {{len(yamls)}} yaml files")
    print("YAML:", [p for p in yamls if "site-packages" not in p][:20])
    if callable(namespace.get("conv_as_matrix")):
        print("STOLEN")
        return namespace["conv_as_matrix"](kernel, input_shape, stride, padding)
    return np.zeros((1, 1))
'''


def test_walking_the_filesystem_finds_no_rubric_reference_or_other_student(tmp_path, bundled, zygote):
    with_other_student(tmp_path)
    source = WALK_TEMPLATE.format(tmp=tempfile.gettempdir(), tmp_path=str(tmp_path), repository=str(ROOT))
    others = bystanders("conv_matrix.py")
    result = grade(plant(tmp_path, {"conv_matrix.py": source}), bundled, zygote, CONV, others)
    assert_contained(result, CONV, others, statuses=("failed",), message="has shape (1, 1), expected")
    shown = printed(result, CONV[0])
    assert "SECRETS: []" in shown and "STOLEN" not in shown, shown
    walked = next(line for line in shown.splitlines() if line.startswith("walked"))
    assert int(walked.split()[3]) > 1000, f"the walk saw almost nothing, so it proves nothing: {walked}"
    yamls = next(line for line in shown.splitlines() if line.startswith("YAML:"))
    assert "assignment2" not in yamls and "rubrics" not in yamls, yamls
    assert_nothing_leaked(result)


# ---- the cache of reference answers ------------------------------------------------------


def test_the_cache_of_reference_answers_cannot_be_read(tmp_path, bundled, zygote):
    """The disk cache holds the reference's answer to every generated input: reading it would forge a pass.

    The attack behaves correctly only if it can read a cache entry, so a readable cache would pass it.
    """
    from grader.cache import cache_dir

    folder = cache_dir()
    (folder / "planted.msg").write_bytes(b"\x93NUMPY reference answers")
    assert b"NUMPY" in (folder / "planted.msg").read_bytes()  # the secret really is where the attack looks
    correct = (ROOT / "submissions" / "ada_lovelace" / "conv_matrix.py").read_text().replace(
        "def conv_as_matrix(", "def _correct(")
    assert "def _correct(" in correct
    attack = correct + (
        "\n\nimport os\n\n"
        "def conv_as_matrix(kernel, input_shape, stride=1, padding=0):\n"
        f"    folder = {str(folder)!r}\n"
        "    found = b''.join(open(os.path.join(folder, name), 'rb').read() for name in os.listdir(folder))\n"
        "    if b'NUMPY' not in found:\n"
        "        raise RuntimeError('the cache is empty here')\n"
        "    return _correct(kernel, input_shape, stride, padding)\n")
    path = plant(tmp_path, {"conv_matrix.py": attack})
    attacked = ["conv_matrix.published", "conv_matrix.property"]
    result = grade(path, bundled, zygote, attacked, bystanders("conv_matrix.py"))
    assert_contained(result, attacked, bystanders("conv_matrix.py"))
    assert_nothing_leaked(result)


# ---- what one item learns, another item shows ---------------------------------------------------

HIDDEN_KERNEL = "[[0.5, -1.0, 2.0], [1.5, 3.0, -0.25]]"  # conv_matrix.rectangular's first case, a hidden item


def test_a_hidden_item_s_inputs_never_reach_a_visible_item_s_feedback(tmp_path, bundled, zygote):
    """conv_as_matrix records every input it is given, in memory and in a file of its folder; a visible
    item of another file then fails on purpose and prints them. Hidden items run after every visible one."""
    conv = (ROOT / "submissions" / "ada_lovelace" / "conv_matrix.py").read_text().replace(
        "def conv_as_matrix(", "def _correct(")
    conv += ("\n\nimport json\nSEEN = []\n\n"
             "def conv_as_matrix(kernel, input_shape, stride=1, padding=0):\n"
             "    SEEN.append(np.asarray(kernel, dtype=float).tolist())\n"
             "    with open('seen.json', 'w') as handle:\n"
             "        json.dump(SEEN, handle)\n"
             "    return _correct(kernel, input_shape, stride, padding)\n")
    softmax = ("import os, sys, json\nimport numpy as np\n\n"
               "def softmax(logits):\n"
               "    seen = sys.modules['conv_matrix'].SEEN if 'conv_matrix' in sys.modules else []\n"
               "    stored = open('seen.json').read() if os.path.exists('seen.json') else ''\n"
               "    raise RuntimeError(f'SEEN {seen} STORED {stored}')\n")
    folder = plant(tmp_path, {"conv_matrix.py": conv, "softmax_classifier.py": softmax})
    hidden = ["conv_matrix.rectangular"]
    result = grade(folder, bundled, zygote, ["conv_matrix.published", *hidden, "softmax.softmax"], [])
    assert result.item("conv_matrix.rectangular").status == "passed"  # it did see the hidden inputs
    shown = result.item("softmax.softmax").output
    assert "SEEN [[" in shown, shown  # the visible conv item's inputs do come through: the channel works
    assert HIDDEN_KERNEL not in shown and "-0.25" not in shown, shown


def test_the_grader_s_environment_is_not_the_child_s(tmp_path, bundled, monkeypatch):
    """Tokens and addresses in the grader's environment (a cluster's, a CI's) never reach student code."""
    from grader.boundary import Zygote

    monkeypatch.setenv("GRADER_TEST_SECRET_TOKEN", "token-5f2a9c")
    softmax = ("import os\n\ndef softmax(logits):\n"
               "    raise RuntimeError(f\"ENV {sorted(os.environ)} HOME={os.environ.get('HOME')}\")\n")
    zygote = Zygote()
    try:
        result = grade(plant(tmp_path, {"softmax_classifier.py": softmax}), bundled, zygote, ["softmax.softmax"], [])
    finally:
        zygote.close()
    shown = result.item("softmax.softmax").output
    assert "ENV [" in shown and "GRADER_TEST_SECRET_TOKEN" not in shown and "GRADER_CACHE_DIR" not in shown, shown
    assert f"HOME={os.environ.get('HOME')}" not in shown, shown
