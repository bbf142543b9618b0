"""Installing the project: the README's two commands, which .ci/run runs, and a build without a
warning (Gradescope's image build, setup.sh, shows the build backend's warnings, and a deprecated
field that warns today stops building later)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What a wheel is built from (pyproject.toml's packages and readme), copied so that the build's
# leftovers (egg-info, build/) stay out of the checkout.
SOURCES = ("pyproject.toml", "README.md", "grader", "reference")


def test_the_project_builds_without_a_warning(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(ROOT / name, source / name)
    # Without bytecode, setuptools says it skips byte-compiling: a word on this environment, not the project.
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-cache-dir",
                           "-w", str(tmp_path / "wheel"), str(source)],
                          capture_output=True, text=True, timeout=300, env=environment)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert list((tmp_path / "wheel").glob("dlgrader-*.whl")), output[-3000:]
    # pip indents what the build backend prints; its own lines (about this machine's indexes) are not the project's.
    backend = [line for line in output.splitlines() if line.startswith("  ")]
    assert any("running bdist_wheel" in line for line in backend), output[-3000:]  # the backend's output is read
    warnings = [line for line in backend if re.search(r"warning", line, re.IGNORECASE)]
    assert warnings == [], "\n".join(warnings)


def test_the_readme_s_two_commands_set_up_alike_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    grade, test = re.findall(r"```bash\n(python3 -m venv .*)\n```", readme)[:2]
    setup = grade.rsplit(" && ", 1)[0]
    assert test.rsplit(" && ", 1)[0] == setup
    assert "--extra-index-url" in setup and "torch==2.13.0" in setup  # the CPU build where the index has it
    assert test in (ROOT / ".ci" / "run").read_text().splitlines()
