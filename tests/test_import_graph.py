"""mything's imports have no cycles, and ``scripts/import_graph.py`` finds them.

The script reads imports with :mod:`ast`; these tests run its check on the
real package and on tiny packages written to ``tmp_path``. Only drawing
needs Graphviz, and its test is skipped without it.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SCRIPT = ROOT / "scripts" / "import_graph.py"

MUTUAL_TYPE_CHECKING = {
    "a.py": "from typing import TYPE_CHECKING\n"
    "if TYPE_CHECKING:\n"
    "    from .b import B\n",
    "b.py": "from typing import TYPE_CHECKING\n"
    "if TYPE_CHECKING:\n"
    "    from .a import A\n",
}


@pytest.fixture
def import_graph(monkeypatch):
    """The script, imported as a module."""
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    # Its dataclass looks its module up in sys.modules.
    monkeypatch.setitem(sys.modules, "import_graph", module)
    spec.loader.exec_module(module)
    return module


def write_package(root: Path, files: dict[str, str]) -> Path:
    """Write a package named ``pkg`` with ``files`` in it, and return it."""
    package = root / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package


def cycles_in(import_graph, package: Path) -> list[list[str]]:
    """The cycles the script finds in ``package``, with short names."""
    modules, imports = import_graph.read_imports(package)
    graph = import_graph.build_graph(modules, import_graph._pairs(imports))
    return [
        [import_graph._short(module, package.name) for module in cycle]
        for cycle in import_graph.find_cycles(graph)
    ]


def test_mything_has_no_import_cycles():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "mything: no import cycles\n"


def test_check_reports_a_cycle_through_type_checking(import_graph, tmp_path, capsys):
    package = write_package(tmp_path, MUTUAL_TYPE_CHECKING)
    assert import_graph.main(["--check", "--package", str(package)]) == 1
    report = capsys.readouterr().err
    assert "pkg has 1 import cycle(s):" in report
    assert "cycle 1, 2 modules: a, b" in report
    lines = [line.split() for line in report.splitlines()]
    assert ["pkg/a.py:3", "a", "->", "b,", "under", "TYPE_CHECKING"] in lines
    assert ["pkg/b.py:3", "b", "->", "a,", "under", "TYPE_CHECKING"] in lines


@pytest.mark.parametrize(
    "statement",
    [
        "from . import b",
        "from .b import B",
        "from pkg.b import B",
        "import pkg.b",
        "from pkg import b as other_name",
        "def later():\n    from .b import B",
        "import typing\nif typing.TYPE_CHECKING:\n    import pkg.b",
        "try:\n    from .b import B\nexcept ImportError:\n    B = None",
    ],
)
def test_every_form_of_import_counts(import_graph, tmp_path, statement):
    package = write_package(tmp_path, {"a.py": statement, "b.py": "from . import a"})
    assert cycles_in(import_graph, package) == [["a", "b"]]


@pytest.mark.parametrize(
    ("files", "cycles"),
    [
        # A package's __init__ importing its submodules, which import each
        # other's names, is the ordinary shape.
        (
            {"__init__.py": "from .a import A", "a.py": "from .b import B"}
            | {"b.py": "from . import c", "c.py": ""},
            [],
        ),
        # An __init__ importing a name from itself, or from its submodule.
        ({"__init__.py": "from . import a\nfrom .a import A", "a.py": ""}, []),
        # Relative imports from a subpackage go up one level per dot.
        ({"sub/__init__.py": "", "sub/c.py": "from .. import a", "a.py": ""}, []),
        (
            {"sub/__init__.py": "", "sub/c.py": "from ..a import A"}
            | {"a.py": "from .sub import c"},
            [["a", "sub.c"]],
        ),
        # A submodule taking a name from the __init__ that imports it is a
        # cycle: it works only while the name is set before the import.
        (
            {"__init__.py": "V = 1\nfrom .a import A", "a.py": "from . import V"},
            [["__init__", "a"]],
        ),
        # Imports of other packages do not count.
        ({"a.py": "import os\nfrom flask import Flask\nimport pkgs.a"}, []),
    ],
)
def test_what_is_a_cycle(import_graph, tmp_path, files, cycles):
    assert cycles_in(import_graph, write_package(tmp_path, files)) == cycles


def test_rows_put_every_import_above_what_it_imports(import_graph):
    graph = {
        "app": {"services", "errors"},
        "services": {"db", "errors"},
        "db": {"errors", "tables"},
        "tables": {"db"},
        "errors": set(),
    }
    rows = import_graph.assign_rows(graph)
    assert rows == {"app": 3, "services": 2, "db": 1, "tables": 1, "errors": 0}


def test_picture_draws_every_module_of_mything(import_graph):
    source = import_graph.to_dot(ROOT / "mything")
    modules, _ = import_graph.read_imports(ROOT / "mything")
    for module in modules:
        assert f'"{import_graph._node_of(module, "mything")}" [label=' in source
    assert '"mything.blueprints" [label="blueprints.*' in source


@pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="drawing needs Graphviz's dot (apt-get install graphviz)",
)
def test_drawing_writes_the_same_png_every_time(import_graph, tmp_path):
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    assert import_graph.main(["--output", str(first)]) == 0
    assert import_graph.main(["--output", str(second)]) == 0
    assert first.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert first.read_bytes() == second.read_bytes()


def test_the_committed_picture_is_of_the_current_code(import_graph):
    # docs/import-graph.dot is the source of docs/import-graph.png, written
    # with it; if this fails, run `python scripts/import_graph.py` and commit.
    committed = (ROOT / "docs" / "import-graph.dot").read_text()
    assert committed == import_graph.to_dot(ROOT / "mything")
