"""Starter files for a student kit: the reference's interface with every body replaced.

A starter keeps what the assignment documents (module docstring, imports, each asked-for
function's and class's signature and docstring) and drops everything else: bodies, private
functions, module constants and comments may all carry the solution. It is built from the
syntax tree, so no text of a body can slip through.
"""

from __future__ import annotations

import ast
import builtins

import yaml

# Method decorators that change how a method is bound or looked up: dropping them would change the
# interface. Every other decorator (caching, no_grad, ...) is behaviour and goes.
_BINDING_DECORATORS = {"staticmethod", "classmethod", "property"}
_PROPERTY_ACCESSORS = {"setter", "getter", "deleter"}


def starter_module(source: str, symbols: list[str], *, banned_roots: set[str]) -> str:
    """The starter text of a reference module for the public `symbols` the assignment asks for.

    Imports from `banned_roots` (the reference packages) and relative imports (which reach into the
    reference package too) are dropped. Raises ValueError when a symbol is not a function or class
    defined at the top of `source`, or when a kept signature needs a name the starter does not bind.
    """
    tree = ast.parse(source)
    wanted = list(dict.fromkeys(symbols))
    definitions = {node.name: node for node in tree.body
                   if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    unknown = [name for name in wanted if name not in definitions]
    if unknown:
        raise ValueError(f"not a function or class defined at the top of the module: {', '.join(unknown)}")

    # Unparsed piece by piece, to lay the file out with PEP 8's blank lines: (blank lines before, statements).
    sections: list[tuple[int, list[ast.stmt]]] = []
    if ast.get_docstring(tree, clean=False) is not None:
        sections.append((0, [tree.body[0]]))
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    kept_imports = [kept for kept in (_without_banned(node, banned_roots) for node in imports) if kept is not None]
    # `from __future__` must come first; the source has it first too, but a stray one later would not compile.
    kept_imports.sort(key=lambda node: not (isinstance(node, ast.ImportFrom) and node.module == "__future__"))
    if kept_imports:
        sections.append((1, kept_imports))

    bound = set(dir(builtins)) | _bound_by(kept_imports)
    lazy_annotations = any(isinstance(node, ast.ImportFrom) and node.module == "__future__"
                           and any(alias.name == "annotations" for alias in node.names) for node in kept_imports)
    # Source order, so that a class defined before another's use as a base stays before it; a name
    # defined twice is stubbed once, as its last definition.
    for node in sorted((definitions[name] for name in wanted), key=lambda definition: definition.lineno):
        stub = _class_stub(node) if isinstance(node, ast.ClassDef) else _function_stub(node, node.name, "function")
        missing = sorted(_needed_names(stub, lazy_annotations) - bound)
        if missing:
            raise ValueError(f"{node.name}: its signature needs {', '.join(missing)}, which the starter "
                             f"does not define (a dropped import, constant or private function); use a literal there")
        sections.append((2, [stub]))
        bound.add(node.name)

    text = ""
    for blank_lines, statements in sections:
        text += "\n" * blank_lines if text else ""
        text += ast.unparse(ast.Module(body=statements, type_ignores=[])).strip("\n") + "\n"
    compile(text, "<starter>", "exec")  # a starter that does not compile is the engine's bug; fail here
    return text


def answers_template(paths: list[str], header: str = "") -> str:
    """YAML with a null at each dotted path ("question.A" -> question: {A: null}), after `header` as comments."""
    tree: dict = {}
    for path in paths:
        keys = path.split(".")
        if not all(keys):
            raise ValueError(f"answer path {path!r} has an empty part")
        node = tree
        for depth, key in enumerate(keys[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ValueError(f"answer path {path!r}: {'.'.join(keys[:depth + 1])} is itself an answer")
            node = child
        if isinstance(node.get(keys[-1]), dict):
            raise ValueError(f"answer path {path!r} is also the parent of other answers")
        node[keys[-1]] = None
    comments = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comments + (yaml.safe_dump(tree, sort_keys=False, default_flow_style=False) if tree else "")


def function_bodies(source: str) -> list[str]:
    """The unparsed body, without its docstring, of every function and method in `source`.

    Functions whose body is only a docstring have nothing to leak and contribute nothing.
    """
    bodies = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            statements = node.body[1:] if ast.get_docstring(node, clean=False) is not None else node.body
            if statements:
                bodies.append(ast.unparse(ast.Module(body=statements, type_ignores=[])))
    return bodies


def _without_banned(node: ast.Import | ast.ImportFrom, banned_roots: set[str]):
    """The import without the names it takes from banned packages; None when nothing is left."""
    if isinstance(node, ast.ImportFrom):
        if node.level or (node.module or "").split(".")[0] in banned_roots:
            return None
        return node
    names = [alias for alias in node.names if alias.name.split(".")[0] not in banned_roots]
    return ast.Import(names=names) if names else None


def _bound_by(imports: list[ast.stmt]) -> set[str]:
    names = set()
    for node in imports:
        for alias in node.names:
            if isinstance(node, ast.Import):
                names.add(alias.asname or alias.name.split(".")[0])
            elif node.module != "__future__":
                names.add(alias.asname or alias.name)
    return names


def _raise_not_implemented(qualname: str, what: str) -> ast.Raise:
    message = ast.Constant(f"{qualname}: write this {what}")
    return ast.Raise(exc=ast.Call(func=ast.Name("NotImplementedError", ast.Load()), args=[message], keywords=[]))


def _docstring_of(node) -> list[ast.stmt]:
    return [node.body[0]] if ast.get_docstring(node, clean=False) is not None else []


def _function_stub(node, qualname: str, what: str, decorators=()) -> ast.stmt:
    stub = type(node)(**{field: getattr(node, field) for field in node._fields})
    stub.decorator_list = list(decorators)
    stub.body = [*_docstring_of(node), _raise_not_implemented(qualname, what)]
    return ast.copy_location(stub, node)


def _binding_decorators(node, methods: set[str]) -> list[ast.expr]:
    kept = []
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Name) and decorator.id in _BINDING_DECORATORS:
            kept.append(decorator)
        elif (isinstance(decorator, ast.Attribute) and decorator.attr in _PROPERTY_ACCESSORS
              and isinstance(decorator.value, ast.Name) and decorator.value.id in methods):
            kept.append(decorator)
    return kept


def _class_stub(node: ast.ClassDef) -> ast.ClassDef:
    """Bases, keywords and docstring kept; each method a stub; attributes and nested classes dropped."""
    body = list(_docstring_of(node))
    methods: set[str] = set()
    for child in node.body:
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            decorators = _binding_decorators(child, methods)
            body.append(_function_stub(child, f"{node.name}.{child.name}", "method", decorators))
            methods.add(child.name)
    generics = {"type_params": node.type_params} if hasattr(node, "type_params") else {}  # Python 3.12+
    stub = ast.ClassDef(name=node.name, bases=node.bases, keywords=node.keywords, body=body or [ast.Pass()],
                        decorator_list=[], **generics)
    return ast.copy_location(stub, node)


def _needed_names(stub: ast.stmt, lazy_annotations: bool) -> set[str]:
    """Names evaluated when the stub is defined: defaults, bases, decorators, and annotations unless lazy."""
    expressions: list[ast.AST] = []

    def function(node) -> None:
        args = node.args
        expressions.extend([*args.defaults, *(d for d in args.kw_defaults if d is not None)])
        # The accessor decorators name a method of the class itself, bound only inside the class body.
        expressions.extend(d for d in node.decorator_list if isinstance(d, ast.Name))
        if not lazy_annotations:
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, [args.vararg, args.kwarg])]
            expressions.extend(arg.annotation for arg in every if arg.annotation is not None)
            if node.returns is not None:
                expressions.append(node.returns)

    if isinstance(stub, ast.ClassDef):
        expressions.extend([*stub.bases, *(keyword.value for keyword in stub.keywords)])
        for child in stub.body:
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                function(child)
    else:
        function(stub)
    return {name.id for expression in expressions for name in ast.walk(expression)
            if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Load)}
