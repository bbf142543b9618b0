"""Starter files: the bundled assignment's interface, exactly, and not one statement of its solution."""

import ast
import importlib
import inspect
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from grader.kit.starter import answers_template, function_bodies, starter_module
from grader.rubric import load_rubric

ROOT = Path(__file__).resolve().parents[2]
RUBRIC = load_rubric(ROOT / "rubrics" / "assignment2.yaml")
BANNED = RUBRIC.reference_roots()


def _assignment_files() -> dict[str, tuple[str, list[str]]]:
    """Student file -> (its reference module, the symbols the rubric asks of it), in the rubric's order."""
    files: dict[str, tuple[str, list[str]]] = {}
    for item in RUBRIC.items:
        if item.target.symbol:
            module = item.reference.split(":")[0]
            reference, symbols = files.setdefault(item.target.file, (module, []))
            assert reference == module, f"{item.target.file} is checked against both {reference} and {module}"
            if item.target.symbol not in symbols:
                symbols.append(item.target.symbol)
    return files


FILES = _assignment_files()


def _source(module: str) -> str:
    return Path(inspect.getfile(importlib.import_module(module))).read_text()


def _describe(obj, call: bool) -> dict:
    """Signature, docstring and, when `call`, the exception calling it raises; a class's methods too.

    Runs in the starter's own process as well, so it imports what it needs itself."""
    import inspect

    def placeholders(function):
        args, kwargs = [], {}
        for parameter in inspect.signature(function).parameters.values():
            if parameter.default is parameter.empty:
                if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
                    args.append(None)
                elif parameter.kind == parameter.KEYWORD_ONLY:
                    kwargs[parameter.name] = None
        return args, kwargs

    def raised(function):
        args, kwargs = placeholders(function)
        try:
            function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - which exception is what is being described
            return type(error).__name__
        return None

    described = {"kind": "class" if inspect.isclass(obj) else "function",
                 "signature": str(inspect.signature(obj)), "doc": obj.__doc__,
                 "raised": raised(obj) if call else None}
    if inspect.isclass(obj):
        methods = {}
        for name, member in vars(obj).items():
            function = getattr(member, "__func__", None) or getattr(member, "fget", None) or member
            if inspect.isfunction(function):
                methods[name] = {"signature": str(inspect.signature(function)), "doc": function.__doc__,
                                 "raised": raised(function) if call else None}
        described["methods"] = methods
    return described


# Imports the starters with the reference packages unreachable, and describes each asked-for symbol.
PROBE = textwrap.dedent(inspect.getsource(_describe)) + textwrap.dedent("""
    import importlib, importlib.abc, json, sys

    spec = json.loads(sys.argv[1])

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in spec["banned"]:
                raise ImportError(f"a starter imported {name}")
            return None

    sys.meta_path.insert(0, Refuse())
    sys.path.insert(0, spec["folder"])
    found = {}
    for module, symbols in spec["modules"].items():
        loaded = importlib.import_module(module)
        found[module] = {symbol: _describe(getattr(loaded, symbol), call=True) for symbol in symbols}
    print(json.dumps(found))
""")


@pytest.fixture(scope="module")
def starters(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("kit")
    texts = {}
    for file, (module, symbols) in FILES.items():
        texts[file] = starter_module(_source(module), symbols, banned_roots=BANNED)
        (folder / file).write_text(texts[file])
    return folder, texts


@pytest.fixture(scope="module")
def described(starters) -> dict:
    """What a fresh interpreter, with no way to reach the reference, sees in each starter."""
    folder, _ = starters
    spec = {"banned": sorted(BANNED), "folder": str(folder),
            "modules": {file[:-3]: symbols for file, (_, symbols) in FILES.items()}}
    done = subprocess.run([sys.executable, "-I", "-c", PROBE, json.dumps(spec)], cwd=folder,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_bundled_assignment_has_starters_for_its_code_files():
    assert set(FILES) == {"conv_matrix.py", "linear_region.py", "softmax_classifier.py", "mlp.py",
                          "focal_loss.py", "my_model.py"}
    assert FILES["focal_loss.py"] == ("reference.focal_loss", ["reweight", "FocalLoss"])


@pytest.mark.parametrize("file", sorted(FILES))
def test_a_starter_has_the_reference_interface_and_every_call_raises(file, described):
    module, symbols = FILES[file]
    seen = described[file[:-3]]
    assert list(seen) == symbols
    for symbol in symbols:
        expected = _describe(getattr(importlib.import_module(module), symbol), call=False)
        got = seen[symbol]
        assert (got["kind"], got["signature"], got["doc"]) == (expected["kind"], expected["signature"], expected["doc"])
        assert got["raised"] == "NotImplementedError", f"{file}: {symbol}(...) raised {got['raised']}"
        if expected["kind"] == "class":
            assert got["methods"].keys() == expected["methods"].keys()
            for name, method in got["methods"].items():
                assert (method["signature"], method["doc"]) == (expected["methods"][name]["signature"],
                                                                 expected["methods"][name]["doc"])
                assert method["raised"] == "NotImplementedError", f"{file}: {symbol}.{name} raised {method['raised']}"


@pytest.mark.parametrize("file", sorted(FILES))
def test_a_starter_defines_only_the_asked_symbols_and_imports(file, starters):
    _, texts = starters
    tree = ast.parse(texts[file])
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "Import", "ImportFrom", "FunctionDef", "ClassDef"}
    defined = [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    assert sorted(defined) == sorted(FILES[file][1])
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module.split(".")[0] not in BANNED
        if isinstance(node, ast.Import):
            assert all(alias.name.split(".")[0] not in BANNED for alias in node.names)


def _trivial(statement: ast.stmt) -> bool:
    """A statement any file may hold: it proves nothing when found."""
    if isinstance(statement, (ast.Pass, ast.Break, ast.Continue)):
        return True
    if isinstance(statement, ast.Return):
        return statement.value is None or isinstance(statement.value, (ast.Name, ast.Constant))
    if isinstance(statement, ast.Expr):
        return isinstance(statement.value, ast.Constant) or ast.unparse(statement) == "super().__init__()"
    return False


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("file", sorted(FILES))
def test_no_statement_of_the_reference_reaches_a_starter(file, starters):
    _, texts = starters
    kit = _flat("\n".join(texts.values()))
    source = _source(FILES[file][0])
    bodies = [body for body in function_bodies(source)
              if not (len(ast.parse(body).body) == 1 and _trivial(ast.parse(body).body[0]))]
    assert bodies, "the reference has no body to look for"
    for body in bodies:
        assert _flat(body) not in kit
    # Line by line too: a single statement of a body (a formula, say) must not leak either.
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for statement in ast.walk(ast.Module(body=node.body, type_ignores=[])):
                if isinstance(statement, ast.stmt) and not _trivial(statement):
                    assert _flat(ast.unparse(statement)) not in kit, ast.unparse(statement)


def test_function_bodies_leave_out_docstrings_and_reach_methods():
    source = textwrap.dedent('''
        def f(x):
            """Doc."""
            y = x + 1
            return y

        def g():
            """Only a docstring."""

        class C:
            def m(self):
                return self.k * 2
    ''')
    assert function_bodies(source) == ["y = x + 1\nreturn y", "return self.k * 2"]


def test_the_engine_drops_decorators_private_functions_constants_and_reference_imports():
    source = textwrap.dedent('''
        """Module doc."""
        import functools
        import reference.tools as tools
        from reference import secret
        from .sibling import thing
        import numpy as np

        SCALE = 3.0

        def _scaled(x):
            return x * SCALE

        @functools.lru_cache
        def area(side: float, *, exact: bool = True) -> float:
            """Area of a square."""
            return _scaled(side) ** 2

        class Shape:
            """A shape."""
            sides = 4

            @staticmethod
            def make(n):
                return Shape()

            @property
            def name(self):
                return "hidden-name"

            @name.setter
            def name(self, value):
                self._name = value
    ''')
    text = starter_module(source, ["Shape", "area"], banned_roots={"reference"})
    for leaked in ("SCALE", "_scaled", "lru_cache", "reference", "sibling", "sides", "hidden-name", "Shape()"):
        assert leaked not in text
    assert text.startswith('"""Module doc."""\n\nimport functools\nimport numpy as np\n')
    namespace: dict = {}
    exec(compile(text, "starter", "exec"), namespace)
    area, shape = namespace["area"], namespace["Shape"]
    assert str(inspect.signature(area)) == "(side: float, *, exact: bool = True) -> float"
    assert area.__doc__ == "Area of a square." and shape.__doc__ == "A shape."
    assert isinstance(vars(shape)["make"], staticmethod) and isinstance(vars(shape)["name"], property)
    assert vars(shape)["name"].fset is not None
    with pytest.raises(NotImplementedError, match="area: write this function"):
        area(1.0)
    with pytest.raises(NotImplementedError, match="Shape.name: write this method"):
        shape().name  # noqa: B018 - reading the property is the call


def test_the_engine_refuses_what_it_cannot_stub_safely():
    source = "from reference import LIMIT\nTOTAL = 3\ndef f(x=TOTAL):\n    return x\ndef g(y=LIMIT):\n    return y\n"
    with pytest.raises(ValueError, match="TOTAL"):
        starter_module(source, ["f"], banned_roots={"reference"})
    with pytest.raises(ValueError, match="LIMIT"):
        starter_module(source, ["g"], banned_roots={"reference"})
    with pytest.raises(ValueError, match="TOTAL"):
        starter_module(source, ["TOTAL"], banned_roots={"reference"})


def test_the_answers_template_reads_back_to_each_answer_path_with_no_value():
    paths = [item.answer for item in RUBRIC.items if item.kind == "answers"]
    text = answers_template(paths, header="Your written answers.\n\nQuote kernel elements.")
    assert text.splitlines()[:3] == ["# Your written answers.", "#", "# Quote kernel elements."]
    assert yaml.safe_load(text) == {"conv_matrix": {"A": None}, "linear_region": None}
    nested = answers_template(["a.b.c", "a.d", "yes"])
    assert yaml.safe_load(nested) == {"a": {"b": {"c": None}, "d": None}, "yes": None}
    with pytest.raises(ValueError):
        answers_template(["a", "a.b"])
    with pytest.raises(ValueError):
        answers_template(["a.b", "a"])
