"""The package's modules and functions stay a size a reader takes in, and its imports go one way (issue 38).

Layers, lowest first: the top-level modules (image I/O, errors, artifacts, machine), ``model``, ``select``,
``transfer``, ``evaluate`` with ``visualize`` (the pictures that evaluate's report and the commands draw) and
``train`` (the heads' training passes over the pools, which run the map), then ``cli`` with ``app``. A
module imports from its own layer or a lower one, at module level or inside a function alike, and no chain
of imports comes back to where it started.
"""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "jaxstyle"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
MAX_POSITIONAL = 8  # a public function's parameters beyond these are keyword-only
LAYERS = {"model": 1, "select": 2, "transfer": 3, "evaluate": 4, "visualize": 4, "train": 4, "cli": 5, "app": 5,
          "__main__": 5}
# Upward imports and long signatures allowed while a module is reworked elsewhere (none now). An entry that
# is gone must leave its list (test_the_known_upward_imports_are_still_there).
KNOWN_UPWARD: set[tuple[str, str]] = set()
KNOWN_LONG_SIGNATURES: set[str] = set()


def _modules(pkg: Path = PKG):
    return sorted(pkg.rglob("*.py"))


def _functions(pkg: Path = PKG):
    for p in _modules(pkg):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield p.relative_to(pkg), node


def test_no_module_over_500_lines():
    long = {str(p.relative_to(PKG)): n for p in _modules() if (n := p.read_text().count("\n")) > MAX_MODULE_LINES}
    assert not long, long


def test_no_function_over_60_lines():
    long = [f"{p}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})" for p, node in _functions()
            if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, long


def long_signatures(pkg: Path = PKG) -> set[str]:
    """``"path name"`` of each public function with more than :data:`MAX_POSITIONAL` parameters that are not
    keyword-only (``self`` and ``cls`` not counted)."""
    out = set()
    for p, node in _functions(pkg):
        names = [a.arg for a in node.args.posonlyargs + node.args.args if a.arg not in ("self", "cls")]
        if not node.name.startswith("_") and len(names) > MAX_POSITIONAL:
            out.add(f"{p} {node.name}")
    return out


def test_public_functions_take_at_most_8_parameters_before_the_keyword_only_ones():
    assert long_signatures() <= KNOWN_LONG_SIGNATURES, sorted(long_signatures() - KNOWN_LONG_SIGNATURES)


def _name(p: Path, pkg: Path) -> str:
    parts = list(p.relative_to(pkg.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(pkg: Path = PKG) -> dict[str, set[str]]:
    """Each module of the package -> the package's modules it imports (anywhere in it), by dotted name."""
    mods = {_name(p, pkg): p for p in _modules(pkg)}
    top = pkg.name

    def known(name: str) -> str | None:  # the module itself, or the package that holds the imported name
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    out = {}
    for mod, path in mods.items():
        here = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.split(".")[0] == top}
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(here[:len(here) - node.level + 1] + [node.module or ""]).strip(".") if node.level \
                    else node.module or ""
                if base.split(".")[0] == top:  # a submodule by its name, else the name from the package
                    found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names}
        out[mod] = {m for n in found if (m := known(n)) and m != mod}
    return out


def layer(mod: str) -> int:
    parts = mod.split(".")
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 0


def upward(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    return {(a, b) for a, bs in graph.items() for b in bs if layer(b) > layer(a)}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
                on.discard(group[-1])
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _without(graph, edges):
    return {a: {b for b in bs if (a, b) not in edges} for a, bs in graph.items()}


def test_no_import_from_a_lower_layer_to_a_higher_one():
    assert upward(imports()) <= KNOWN_UPWARD, sorted(upward(imports()) - KNOWN_UPWARD)


def test_no_import_cycle():
    assert cycles(_without(imports(), KNOWN_UPWARD)) == []


def test_the_known_upward_imports_are_still_there():
    assert KNOWN_UPWARD <= upward(imports()), sorted(KNOWN_UPWARD - upward(imports()))


def test_the_checks_catch_an_upward_import_a_cycle_and_a_long_signature(tmp_path):
    pkg = tmp_path / "jaxstyle"
    for d in ("model", "transfer"):
        (pkg / d).mkdir(parents=True)
        (pkg / d / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("")
    (pkg / "model" / "vgg.py").write_text("from .. import errors\n\ndef f():\n    from ..transfer.levels import run\n")
    (pkg / "transfer" / "levels.py").write_text("import jaxstyle.model.vgg\n\ndef run(a, b, c, d, e, f, g, h, i): ...\n"
                                                "def ok(a, b, c, d, e, f, g, h, *, i): ...\n")
    graph = imports(pkg)
    assert graph["jaxstyle.model.vgg"] == {"jaxstyle.errors", "jaxstyle.transfer.levels"}
    assert upward(graph) == {("jaxstyle.model.vgg", "jaxstyle.transfer.levels")}
    assert cycles(graph) == [["jaxstyle.model.vgg", "jaxstyle.transfer.levels"]]
    assert long_signatures(pkg) == {"transfer/levels.py run"}
