"""Fails on an import cycle inside `parley`, or on a core layer importing a face.

    python -m parley._dev.imports          # exit 1 and a list of problems, else exit 0

Every import counts, wherever it is written (module level, inside a function, under
`TYPE_CHECKING`): a lazy import is still a dependency, and hiding a cycle in a function
only moves the failure to run time. `from parley.x import y` is an edge to `parley.x.y`
when that is a module, else to `parley.x`; importing `parley.x.y` also runs the package
`parley.x`, so that is an edge too.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # src/parley
PACKAGE = "parley"

# The engine's layers never reach up into the faces that are built on them.
CORE = ("parley.fusion", "parley.tools", "parley.models")
FACES = ("parley.client", "parley.gateway", "parley.cli", "parley.mcp", "parley.eval")


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The modules of this package that `name` imports."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _within(alias.name, (PACKAGE,)):
                    yield _nearest(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, name, is_package)
            if base is None or not _within(base, (PACKAGE,)):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield sub if sub in known else _nearest(base, known)


def _absolute(node: ast.ImportFrom, name: str, is_package: bool) -> str | None:
    if not node.level:
        return node.module
    parts = name.split(".")
    if not is_package:
        parts = parts[:-1]
    parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
    return ".".join([*parts, node.module] if node.module else parts)


def _nearest(name: str, known: set[str]) -> str:
    while name not in known and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _with_packages(dep: str, importer: str, known: set[str]) -> set[str]:
    """`dep` and the packages above it that importing it runs (their `__init__`), but not
    the root package (the public facade every import passes through) nor the importer's
    own packages (already running when it runs)."""
    out = {dep}
    parts = dep.split(".")
    for i in range(2, len(parts)):
        pkg = ".".join(parts[:i])
        if pkg in known and not importer.startswith(pkg + "."):
            out.add(pkg)
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {
        name: {
            d
            for dep in imports_of(name, path, known)
            for d in _with_packages(dep, name, known)
            if d != name
        }
        for name, path in mods.items()
    }


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(g):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(g[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in g:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(g[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def layer_violations(g: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted(
        (mod, dep)
        for mod, deps in g.items()
        if _within(mod, CORE)
        for dep in deps
        if _within(dep, FACES)
    )


def problems() -> list[str]:
    g = graph()
    out = [f"import cycle: {' <-> '.join(c)}" for c in cycles(g)]
    out += [f"{mod} imports the face {dep}" for mod, dep in layer_violations(g)]
    return out


def main() -> int:
    found = problems()
    for line in found:
        print(line)
    if not found:
        print(f"no import cycles; no core module imports a face ({len(modules())} modules)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
