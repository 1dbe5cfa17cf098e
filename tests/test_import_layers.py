"""The layers do not turn back (issue 17, "No layer turns back"): read from the source with ast, no import run.

- no import cycle among the modules of engage/, workers/ and schemas/ (a module naming another in
  a string, to import it by name, depends on it too);
- engage/sockets does not import engage.web, and engage/ does not import workers (it enqueues
  jobs by dotted path);
- no import inside a function (the usual way to dodge a cycle), but for ALLOWED_LOCAL_IMPORTS.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engage", "workers", "schemas")

# (module, imported module) pairs imported inside a function on purpose, each with its reason.
ALLOWED_LOCAL_IMPORTS = {
    # The OCR model loads for seconds and ships as an optional dependency: only documents that
    # need OCR pay for it.
    ("engage.lib.document_text", "rapidocr_onnxruntime"),
}


def module_files() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = module_files()


def _our_module(name: str) -> str | None:
    """The module of ours that `name` (a module or a name inside one) belongs to, or None."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def imports_of(module: str) -> list[tuple[ast.stmt, list[str]]]:
    """Each import statement of a module, with the absolute names it imports."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.append((node, [alias.name for alias in node.names]))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import submodule` imports the submodule; `from module import name` the module.
            found.append((node, [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]))
    return found


def named_modules(module: str) -> set[str]:
    """Modules of ours a module names in a string to import them by name (engage.views.BLUEPRINT_MODULES)."""
    tree = ast.parse(MODULES[module].read_text())
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in MODULES}


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        targets = {_our_module(name) for _node, names in imports_of(module) for name in names} | named_modules(module)
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path a -> ... -> a) per strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm; the graph is a few hundred modules deep at most
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, component) for component in components]


def _cycle_in(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside the component."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & component):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError("a strongly connected component always holds a cycle")


def test_no_import_cycles() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_sockets_do_not_import_the_web_app() -> None:
    graph = import_graph()
    offending = sorted(m for m in graph if m.startswith("engage.sockets") and "engage.web" in graph[m])
    assert not offending, f"engage.sockets modules importing engage.web: {offending}"


def test_domain_code_does_not_import_workers() -> None:
    graph = import_graph()
    offending = sorted(f"{m} -> {t}" for m, targets in graph.items() if m.split(".")[0] == "engage" for t in targets if t.split(".")[0] == "workers")
    assert not offending, "engage/ imports workers/ (enqueue jobs by dotted path instead):\n" + "\n".join(offending)


def test_no_imports_inside_functions() -> None:
    found = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    names = [alias.name for alias in inner.names] if isinstance(inner, ast.Import) else [inner.module or "."]
                    if any((module, name) not in ALLOWED_LOCAL_IMPORTS for name in names):
                        found.append(f"{path.relative_to(ROOT)}:{inner.lineno}: {ast.unparse(inner)}")
    assert not found, "imports inside functions:\n" + "\n".join(sorted(set(found)))


def test_the_cycle_finder_names_a_cycle() -> None:
    """The check itself can fail: a made-up a -> b -> c -> a is reported as that path."""
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
