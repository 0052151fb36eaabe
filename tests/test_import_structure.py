"""The platform's module structure, read from the source with `ast` (nothing here imports the code).

The import graph of `mesh_platform` has no cycle (a function-level import counts: hiding an import inside
a function to dodge a cycle leaves the cycle in the design), `storage/` stays Delta only, the platform names
no sample mesh (`domains`, TPC-H), and no module grows past the size one person reads in a sitting.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine_independent  # no Spark: CI runs it once, in the default-engine (Sail) pass

PACKAGE = "mesh_platform"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE
MAX_LINES = 400
# Layers `storage/` must not reach: it is Delta I/O, below access control, monitoring and the product build.
STORAGE_MUST_NOT_IMPORT = ("access", "monitoring", "product", "governance")
SAMPLE_MESH_NAMES = ("tpch", "tpc-h", "1998-08-02")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = importer.split(".")
    if not MODULES[importer].name == "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _known(name: str) -> str | None:
    """The mesh_platform module `name` refers to (a module, or the package holding an imported name)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _with_packages(importer: str, target: str) -> set[str]:
    """Importing `a.b.c` runs the package `a.b` first, unless the importer lives inside `a.b` (then it has run)."""
    modules = {target}
    package = target.rpartition(".")[0]
    while package and not importer.startswith(package + "."):
        modules.add(package)
        package = package.rpartition(".")[0]
    return modules


def _imports(importer: str, tree: ast.Module) -> set[str]:
    """Every mesh_platform module `importer` imports, at module level or inside functions, outside
    `if TYPE_CHECKING:` blocks. `from pkg import name` counts as importing `pkg.name` when that is a module;
    importing a module counts as importing the packages above it that Python runs first."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (target := _known(alias.name)) is not None:
                    found.update(_with_packages(importer, target))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(importer, node)
            for alias in node.names:
                target = _known(f"{base}.{alias.name}") or _known(base)
                if target is not None:
                    found.update(_with_packages(importer, target))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(importer)
    return found


def _external_imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


TREES = {name: ast.parse(path.read_text(), filename=str(path)) for name, path in MODULES.items()}
GRAPH = {name: _imports(name, tree) for name, tree in TREES.items()}


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan): each holds at least one cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strongconnect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                strongconnect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    return components


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle path per strongly connected component."""
    return [_cycle_path(graph, set(component)) for component in _components(graph)]


def _cycle_path(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, staying inside the component."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & component):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, node, start]
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    return sorted(component)


def _code_text(path: Path) -> str:
    """The module's source without comments and docstrings, so names in prose do not count as code."""
    source = path.read_text()
    docstrings = {
        (node.body[0].lineno, node.body[0].end_lineno)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }
    kept = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            continue
        if token.type == tokenize.STRING and any(a <= token.start[0] <= b for a, b in docstrings):
            continue
        kept.append(token.string)
    return " ".join(kept)


def _largest(count: int = 8) -> str:
    sizes = sorted(((len(p.read_text().splitlines()), n) for n, p in MODULES.items()), reverse=True)
    return "largest modules:\n" + "\n".join(f"  {lines:4d}  {name}" for lines, name in sizes[:count])


def test_the_platform_import_graph_has_no_cycle():
    components = _components(GRAPH)
    shown = "\n".join(
        f"  {' -> '.join(_cycle_path(GRAPH, set(c)))}  (modules in this knot: {', '.join(c)})" for c in components
    )
    assert not components, (
        f"{len(components)} import cycle(s) in {PACKAGE}, one path each (function-level imports count):\n{shown}"
    )


def test_storage_imports_only_delta_and_settings():
    reaching = {
        module: sorted(t for t in targets if t.split(".")[1] in STORAGE_MUST_NOT_IMPORT)
        for module, targets in GRAPH.items()
        if module.startswith(f"{PACKAGE}.storage")
    }
    reaching = {module: targets for module, targets in reaching.items() if targets}
    assert not reaching, f"storage/ is Delta I/O only; it imports layers above it: {reaching}"


def test_the_platform_names_no_sample_mesh():
    importing_domains = sorted(m for m, tree in TREES.items() if "domains" in _external_imports(tree))
    naming = sorted(
        f"{m} ({word})"
        for m, path in MODULES.items()
        for word in SAMPLE_MESH_NAMES
        if word in _code_text(path).lower()
    )
    assert not importing_domains and not naming, (
        f"the platform names the sample mesh: modules importing `domains`: {importing_domains}; "
        f"modules naming its data (TPC-H) in code: {naming}"
    )


def test_no_module_is_over_the_size_one_reads_in_a_sitting():
    over = sorted(name for name, path in MODULES.items() if len(path.read_text().splitlines()) > MAX_LINES)
    assert not over, f"modules over {MAX_LINES} lines: {over}\n{_largest()}"


def test_the_checker_sees_a_cycle_and_a_function_level_import():
    """The graph reader itself: a function-level import is an edge, a TYPE_CHECKING import is not."""
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from mesh_platform.product import records\n"
        "def f():\n    from mesh_platform.storage import delta\n"
    )
    edges = _imports(f"{PACKAGE}.checks.drift", tree)
    assert f"{PACKAGE}.storage.delta" in edges
    assert f"{PACKAGE}.storage" in edges  # the package runs before its module
    assert f"{PACKAGE}.product.records" not in edges
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
