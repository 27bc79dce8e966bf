"""The import graph of ``scarce`` has no cycles and no upward edges between floors.

The graph is read with ``ast`` (no module is imported), so imports inside functions count too.
Importing ``a.b.c`` is an edge to ``a.b.c`` only (not to ``a.b``'s ``__init__``); ``from a.b import
c`` is an edge to ``a.b.c`` when ``c`` is a submodule, else to ``a.b``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "scarce"

# docs/architecture.md and GUIDE.md section 1: lower floors never import higher ones.
FLOORS = {
    "_checks": 0, "_io": 0, "_rng": 0, "registry": 0, "metrics": 0, "_torch": 0, "_lru": 0, "_shards": 0, "_cache": 0,
    "_threads": 0, "modalities": 0,
    "data": 1,
    "augment": 2, "synth": 2, "balance": 2, "backbones": 2, "models": 2, "steps": 2, "wide_model": 2,
    "train_setup": 2, "consistency": 2, "train": 3, "inference": 3, "checkpoints": 3,
    "remedies": 4, "executors": 4,
    "experiment": 5,
    "report": 6,
    "search": 7, "deliver": 7, "preview": 7,
    "cli": 8,
}


def _modules() -> dict[str, Path]:
    """Every module under ``scarce/`` by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The ``scarce`` modules that module ``name`` imports anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                targets.add(sub if sub in modules else source)
    return {t for t in targets if t in modules and t != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _floor(name: str) -> int | None:
    parts = name.split(".")
    return FLOORS.get(parts[1]) if len(parts) > 1 else None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return [_one_cycle(graph, set(c)) for c in components]


def _one_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A concrete cycle inside a strongly connected component, as a path start -> ... -> start."""
    start = min(component)
    parents = {start: None}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:
                    path = [node]
                    while parents[path[-1]] is not None:
                        path.append(parents[path[-1]])
                    return list(reversed(path)) + [start]
                if child not in parents:
                    parents[child] = node
                    nxt.append(child)
        frontier = nxt
    return sorted(component)


def test_every_top_level_part_has_a_floor():
    graph = _graph()
    unplaced = sorted({n.split(".")[1] for n in graph if "." in n} - set(FLOORS))
    assert not unplaced, f"give these scarce modules/packages a floor in FLOORS: {unplaced}"


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_upward_imports():
    upward = [
        f"{src} (floor {_floor(src)}) imports {dst} (floor {_floor(dst)})"
        for src, targets in sorted(_graph().items())
        for dst in sorted(targets)
        if _floor(src) is not None and _floor(dst) is not None and _floor(dst) > _floor(src)
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_the_checker_sees_a_cycle_inside_a_function():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_parser_resolves_relative_and_function_level_imports(tmp_path):
    pkg = tmp_path / "scarce" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from . import b\n    from .b import thing\n")
    (pkg / "b.py").write_text("thing = 1\n")
    modules = {"scarce.pkg": pkg / "__init__.py", "scarce.pkg.a": pkg / "a.py", "scarce.pkg.b": pkg / "b.py"}
    assert _imports("scarce.pkg.a", pkg / "a.py", modules) == {"scarce.pkg.b"}


@pytest.mark.parametrize("name", ["scarce.train", "scarce.experiment.runner", "scarce.data"])
def test_known_modules_are_found(name):
    assert name in _graph()
