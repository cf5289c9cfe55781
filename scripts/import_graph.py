"""Draw mything's import graph, or check that it has no cycles.

The package's imports read top to bottom: blueprints → the edge (auth,
validation, limits, idempotency, results) → operations → storage → the base
(errors, config, encoding). This script reads that graph from the code, so
the picture in ``docs/architecture.md`` is never drawn by hand: run it again
after changing what imports what, and commit the new picture::

    python scripts/import_graph.py           # writes docs/import-graph.png
    python scripts/import_graph.py --check   # exits 1 if imports form a cycle

``--package DIR`` reads another package and ``--output FILE`` writes the
picture elsewhere. Drawing needs Graphviz's ``dot`` (``apt-get install
graphviz``); the check needs only Python, and the test suite runs it.

What counts as an import
------------------------
Every ``import`` statement of every module in the package, read with
:mod:`ast` without importing anything, wherever it stands: at module level,
under ``if TYPE_CHECKING:``, or inside a function. A cycle that only a type
checker follows, or that waits until a function is called, still means that
neither module can be understood, tested or moved without the other.

Only the package's own modules count. ``from . import name`` imports the
submodule ``name`` if there is one, and otherwise a name from the package's
``__init__``, so it is an edge to the ``__init__``. Importing ``pkg.sub``
also runs ``pkg/__init__.py`` first; that is how packages work, not a use of
what the ``__init__`` holds, so it is no edge. Modules that are imported by
name at run time (``register_blueprints`` finds the blueprints with
Werkzeug's ``find_modules``) are not import statements and do not show.

How it is drawn
---------------
A module's row is the length of its longest chain of imports down to a
module that imports nothing of the package, so every arrow points down. The
modules of a cycle have no such order: they share a row, and they and the
arrows between them are red. The blueprints are drawn as one node, and so
are the Alembic revision scripts (``MERGED`` below); the check still reads
each of their modules. Solid arrows are imports at module level, dashed ones
imports under ``TYPE_CHECKING``, dotted ones imports inside a function.
Colours are the groups of ``GROUPS`` below; a module that no group names is
white, a reminder to give it one. The same code gives the same PNG, byte for
byte, with the same Graphviz.
"""

from __future__ import annotations

import argparse
import ast
import functools
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mything"
OUTPUT = ROOT / "docs" / "import-graph.png"

# The groups of the architecture, top to bottom, each with the first part of
# the names of its modules. They only colour the picture: the rows come from
# the imports themselves.
GROUPS = {
    "entry points": (
        *("__init__", "__main__", "app", "thing", "cli", "admin", "testing"),
    ),
    "blueprints": ("blueprints",),
    "edge": (
        *("edge", "auth", "validation", "ratelimit", "idempotency", "results"),
        "cors",
        *("conditional", "openapi", "wrappers", "access", "metrics"),
    ),
    "operations": ("operations", "schemas", "pagination"),
    "storage": ("db", "tables", "migrations"),
    "base": (
        *("errors", "config", "encoding", "token_format", "endpoints"),
        "validators",
        *("logs", "requestid"),
    ),
}
COLOURS = {
    "entry points": "#e0e0e0",
    "blueprints": "#cfe2f3",
    "edge": "#d9ead3",
    "operations": "#fff2cc",
    "storage": "#fce5cd",
    "base": "#ead1dc",
}
# Subpackages drawn as one node each, and whether the node lists the names of
# their modules. The blueprints are one thin module per resource, and what
# they import is the same for all; Alembic loads the revision scripts (nothing
# imports them), and every change to the schema adds one.
MERGED = {"blueprints": True, "operations": True, "migrations.versions": False}

# The kinds of imports, from the one that runs first to the one never run.
KINDS = ("module", "function", "type-checking")
WHERE = {
    "module": "",
    "function": ", inside a function",
    "type-checking": ", under TYPE_CHECKING",
}
EDGE_STYLES = {"module": "solid", "function": "dotted", "type-checking": "dashed"}

Graph = dict[str, set[str]]


@dataclass(frozen=True, order=True)
class Import:
    """One import statement of one of the package's modules by another."""

    importer: str
    imported: str
    kind: str
    path: Path
    line: int


def find_modules(package: Path) -> dict[str, Path]:
    """Map the dotted name of every module in ``package`` to its file."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def read_imports(package: Path) -> tuple[list[str], list[Import]]:
    """Return the package's modules, and every import of one by another."""
    modules = find_modules(package)
    imports = set()
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node, kind in _walk_imports(tree.body, "module"):
            for imported in _resolve(node, module, is_package, modules):
                # A module importing itself, like an __init__ taking a name
                # from its own package, runs nothing new: no edge.
                if imported != module:
                    imports.add(Import(module, imported, kind, path, node.lineno))
    return sorted(modules), sorted(imports)


def _walk_imports(
    nodes: Iterable[ast.AST], kind: str
) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    """Yield every import statement below ``nodes``, with where it stands."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, kind
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _walk_imports(node.body, "type-checking")
            yield from _walk_imports(node.orelse, kind)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inner = "function" if kind == "module" else kind
            yield from _walk_imports(ast.iter_child_nodes(node), inner)
        else:
            yield from _walk_imports(ast.iter_child_nodes(node), kind)


def _is_type_checking(test: ast.expr) -> bool:
    """Whether an ``if`` tests ``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
    return name == "TYPE_CHECKING"


def _resolve(
    node: ast.Import | ast.ImportFrom,
    module: str,
    is_package: bool,
    modules: dict[str, Path],
) -> list[str]:
    """Return the package's modules that one import statement imports."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            # One dot is the package the module is in; each more goes up one.
            here = module if is_package else module.rpartition(".")[0]
            base = here.rsplit(".", node.level - 1)[0]
            if node.module:
                base = f"{base}.{node.module}"
        # "from pkg import sub" imports the submodule; any other name comes
        # from pkg's own module.
        names = [f"{base}.{alias.name}" for alias in node.names]
        names = [name if name in modules else base for name in names]
    return [name for name in names if name in modules]


def build_graph(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> Graph:
    """Map each node to the set of nodes it imports."""
    graph: Graph = {node: set() for node in nodes}
    for importer, imported in edges:
        graph[importer].add(imported)
    return graph


def find_cycles(graph: Graph) -> list[list[str]]:
    """Return the groups of modules that import each other, sorted.

    These are the strongly connected components of more than one module: a
    module belongs to the group of every module that it reaches and that
    reaches it back.
    """
    return [component for component in components(graph) if len(component) > 1]


def components(graph: Graph) -> list[list[str]]:
    """Split the graph into its strongly connected components, sorted."""
    reach = {node: _reachable(graph, node) for node in graph}
    found, seen = [], set()
    for node in sorted(graph):
        if node not in seen:
            back = {other for other in reach[node] if node in reach[other]}
            component = {node} | back
            seen |= component
            found.append(sorted(component))
    return found


def _reachable(graph: Graph, start: str) -> set[str]:
    """Return the nodes that ``start`` imports, directly or not."""
    found: set[str] = set()
    todo = list(graph[start])
    while todo:
        node = todo.pop()
        if node not in found:
            found.add(node)
            todo.extend(graph[node])
    return found


def assign_rows(graph: Graph) -> dict[str, int]:
    """Give each node its row, counted from 0 at the bottom.

    A node that imports nothing of the package is in row 0; any other is one
    row above the highest node it imports, so that every import points down.
    A cycle has no such order, so its nodes count as one and share a row.
    """
    component_of = {node: tuple(c) for c in components(graph) for node in c}

    @functools.cache
    def row(component: tuple[str, ...]) -> int:
        below = {component_of[other] for node in component for other in graph[node]}
        return 1 + max(map(row, below - {component}), default=-1)

    return {node: row(component_of[node]) for node in graph}


def report_cycles(package: Path) -> str | None:
    """Describe the import cycles of ``package``, or return None if none."""
    modules, imports = read_imports(package)
    cycles = find_cycles(build_graph(modules, _pairs(imports)))
    if not cycles:
        return None
    lines = [f"{package.name} has {len(cycles)} import cycle(s):"]
    for number, cycle in enumerate(cycles, 1):
        names = ", ".join(_short(module, package.name) for module in cycle)
        lines += ["", f"  cycle {number}, {len(cycle)} modules: {names}"]
        for found in imports:
            if found.importer in cycle and found.imported in cycle:
                where = f"{found.path.relative_to(package.parent)}:{found.line}"
                importer = _short(found.importer, package.name)
                imported = _short(found.imported, package.name)
                note = WHERE[found.kind]
                lines.append(f"    {where:<24} {importer} -> {imported}{note}")
    lines += [
        "",
        "Imports under TYPE_CHECKING and inside functions count: break each",
        "cycle by moving what both sides need into a module below them both.",
    ]
    return "\n".join(lines)


def _pairs(imports: Iterable[Import]) -> Iterator[tuple[str, str]]:
    """Yield (importer, imported) for each import."""
    for found in imports:
        yield found.importer, found.imported


def to_dot(package: Path) -> str:
    """Return the Graphviz source of the picture of the package's imports."""
    name = package.name
    modules, imports = read_imports(package)
    cycle_of = {
        module: cycle
        for cycle in find_cycles(build_graph(modules, _pairs(imports)))
        for module in cycle
    }
    node_of = {module: _node_of(module, name) for module in modules}

    # The arrow between two nodes stands for every import between their
    # modules; it is drawn as the kind that runs first, and red if any of
    # them is part of a cycle.
    kinds: dict[tuple[str, str], set[str]] = {}
    red = set()
    for found in imports:
        pair = (node_of[found.importer], node_of[found.imported])
        if pair[0] != pair[1]:
            kinds.setdefault(pair, set()).add(found.kind)
            if found.imported in cycle_of.get(found.importer, ()):
                red.add(pair)
    nodes = sorted(set(node_of.values()))
    rows = assign_rows(build_graph(nodes, kinds))

    lines = [
        "digraph imports {",
        "  graph [rankdir=TB, newrank=true, ranksep=0.5, nodesep=0.1, dpi=96,",
        '         fontname="DejaVu Sans", fontsize=13, labelloc=t,',
        f"         label=<{_legend(name)}>];",
        '  node [shape=box, style="rounded,filled", fontname="DejaVu Sans",',
        '        fontsize=12, height=0.3, margin="0.12,0.05", color="#555555"];',
        '  edge [color="#808080", arrowsize=0.6, penwidth=0.9];',
    ]
    for node in nodes:
        members = [module for module in modules if node_of[module] == node]
        in_cycle = any(module in cycle_of for module in members)
        lines.append("  " + _node(node, members, name, in_cycle))
    # An invisible node at the start of each row, chained to the next one
    # down, keeps the rows in order and one apart.
    for number in sorted(set(rows.values()), reverse=True):
        row = " ".join(f'"{node}";' for node in nodes if rows[node] == number)
        invisible = f'"row {number}" [style=invis, width=0, label=""];'
        lines.append(f"  {{ rank=same; {invisible} {row} }}")
        if number:
            lines.append(f'  "row {number}" -> "row {number - 1}" [style=invis];')
    for (importer, imported), kind in sorted(kinds.items()):
        attributes = [f"style={EDGE_STYLES[min(kind, key=KINDS.index)]}"]
        if rows[importer] == rows[imported]:
            attributes.append("constraint=false")
        if (importer, imported) in red:
            attributes.append('color="#cc0000", penwidth=1.5')
        lines.append(f'  "{importer}" -> "{imported}" [{", ".join(attributes)}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _short(module: str, package: str) -> str:
    """Name a module without the package's name: ``app``, ``blueprints.me``."""
    return "__init__" if module == package else module.removeprefix(package + ".")


def _node_of(module: str, package: str) -> str:
    """Name the node that draws ``module``: its own, or one of ``MERGED``."""
    for merged in MERGED:
        prefix = f"{package}.{merged}"
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    return module


def _node(node: str, members: list[str], package: str, in_cycle: bool) -> str:
    """Return the Graphviz statement that draws one node."""
    label = short = _short(node, package)
    if short in MERGED:
        names = [_short(m, package).removeprefix(short + ".") for m in members]
        names = [name for name in names if name != short]
        listed = ", ".join(names) if MERGED[short] else f"{len(names)} modules"
        label = "\\n".join([f"{short}.*", *textwrap.wrap(listed, 40)])
    group = next((g for g, first in GROUPS.items() if short.split(".")[0] in first), "")
    attributes = [f'label="{label}"', f'fillcolor="{COLOURS.get(group, "white")}"']
    if in_cycle:
        attributes.append('color="#cc0000", penwidth=2')
    return f'"{node}" [{", ".join(attributes)}];'


def _legend(package: str) -> str:
    """Return the picture's title and key, as a Graphviz HTML-like label."""
    groups = "".join(
        f'<td bgcolor="{colour}" border="1">&nbsp;{group}&nbsp;</td>'
        for group, colour in [*COLOURS.items(), ("no group", "white")]
    )
    return (
        '<table border="0" cellspacing="4" cellpadding="3">'
        f'<tr><td colspan="7"><b>{package}: who imports whom</b>'
        " (arrows point from importer to imported;"
        " drawn by scripts/import_graph.py)</td></tr>"
        f"<tr>{groups}</tr>"
        '<tr><td colspan="7">solid: imported at module level · dashed:'
        " under if TYPE_CHECKING · dotted: inside a function · "
        '<font color="#cc0000">red: an import cycle</font></td></tr></table>'
    )


def draw(package: Path, output: Path) -> None:
    """Write the picture of ``package``'s imports to ``output``, as a PNG.

    Its Graphviz source goes beside it (``.dot``): a test compares that with
    the source drawn from the code, so a picture left stale fails.
    """
    dot = shutil.which("dot")
    if dot is None:
        raise SystemExit("drawing needs Graphviz's dot: apt-get install graphviz")
    source = to_dot(package)
    command = [dot, "-Tpng", "-o", str(output)]
    subprocess.run(command, input=source, text=True, check=True)
    output.with_suffix(".dot").write_text(source)


def main(argv: list[str] | None = None) -> int:
    """Run the command line: draw the graph, or ``--check`` it for cycles."""
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="draw nothing; exit 1 if the package's imports form a cycle",
    )
    parser.add_argument(
        "--package", type=Path, default=PACKAGE, help="default: %(default)s"
    )
    parser.add_argument(
        "--output", type=Path, default=OUTPUT, help="default: %(default)s"
    )
    args = parser.parse_args(argv)
    if not (args.package / "__init__.py").is_file():
        parser.error(f"{args.package} is not a package: it has no __init__.py")
    if args.check:
        report = report_cycles(args.package)
        if report:
            print(report, file=sys.stderr)
            return 1
        print(f"{args.package.name}: no import cycles")
        return 0
    draw(args.package, args.output)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
