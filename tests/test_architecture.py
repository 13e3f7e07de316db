"""The floor plan holds: imports point down, never in a circle.

Every import of every module of ``alliance_cli`` is read from its source (also those inside
functions, which run when the function does; not those under ``TYPE_CHECKING``, which never
run). Layers, bottom up:

- ``errors``: imports nothing of ours;
- ``io``: file mechanics every writer shares; imports only ``errors``;
- core (the modules at the top of the package): imports core and ``io``;
- the jobs, ``clinic``, ``research`` and ``interop``: import core and ``io``; the clinic also
  uses the research's statistics (:data:`SHARED`), never the other way round; ``interop``
  (FHIR, REDCap, Qualtrics conversions) may read files as the research does
  (:data:`INTEROP_SHARED`), and only ``cli`` imports it;
- ``ui``: imports anything below it except ``interop``; ``cli``: anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import alliance_cli

PACKAGE = Path(alliance_cli.__file__).parent
JOBS = ("clinic", "research", "interop")
# What the clinic takes from the research, and why: the practice's own norms report the
# reliability of its sample (alpha), and an export's codebook carries the methods sentence.
SHARED = ("research.psychometrics", "research.methods")
# What interop takes from the research: its data-file readers, --map files and column-name
# rules, so that answers from another world enter as a batch's do, and a map made for a
# survey names columns as batch recognises them.
INTEROP_SHARED = ("research.readers", "research.mapfile", "research.columnmap")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)  # "" for the package itself


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str) -> set[str]:
    """The modules of ours that ``name`` imports at run time."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package[: len(package) - (node.level - 1)] if name else []
                base = ".".join([*up, *([base] if base else [])])
            elif base == "alliance_cli" or base.startswith("alliance_cli."):
                base = base.removeprefix("alliance_cli").removeprefix(".")
            else:
                continue
            targets = [f"{base}.{a.name}".strip(".") for a in node.names]
            targets = [t if t in MODULES else base for t in targets]
        else:
            continue
        for target in targets:
            if isinstance(node, ast.Import):
                if not target.startswith("alliance_cli"):
                    continue
                target = target.removeprefix("alliance_cli").removeprefix(".")
            if target != name and target in MODULES:
                found.add(target)
    return found


GRAPH = {name: imports(name) for name in MODULES}


def layer(name: str) -> str:
    top = name.split(".")[0]
    if name == "errors":
        return "errors"
    if top in ("io", "ui", "cli", *JOBS):
        return top
    return "core"


ALLOWED = {
    "errors": set(),
    "io": {"errors", "io"},
    "core": {"errors", "io", "core"},
    "clinic": {"errors", "io", "core", "clinic"},
    "research": {"errors", "io", "core", "research"},
    "interop": {"errors", "io", "core", "interop"},
    "ui": {"errors", "io", "core", "clinic", "research", "ui"},
    "cli": {"errors", "io", "core", "clinic", "research", "interop", "ui", "cli"},
}


def test_every_import_points_down() -> None:
    upward = [
        f"{source or 'alliance_cli'} ({layer(source)}) imports {target} ({layer(target)})"
        for source, targets in GRAPH.items()
        for target in sorted(targets)
        if source != "__main__"  # `python -m alliance_cli` runs the CLI
        and layer(target) not in ALLOWED[layer(source)]
        and not (layer(source) == "clinic" and target.startswith(SHARED))
        and not (layer(source) == "interop" and target.startswith(INTEROP_SHARED))
    ]
    assert upward == []


def test_no_import_circles() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert circles == []


@pytest.mark.parametrize(
    ("source", "target", "why"),
    [
        ("clinic.norms", "research.psychometrics", "the practice's norms use alpha"),
    ],
)
def test_the_graph_sees_imports_inside_functions_too(source: str, target: str, why: str) -> None:
    """A guard on the reader: lazy imports (inside a function) are counted."""
    assert any(t == target or t.startswith(target + ".") for t in GRAPH[source]), why


def test_an_upward_import_would_be_caught() -> None:
    """The rule is not vacuous: a core module importing the clinic is flagged."""
    assert "clinic" not in ALLOWED["core"]
    assert layer("scoring") == "core" and layer("clinic.history") == "clinic"
    assert layer("io.atomic") == "io" and "core" not in ALLOWED["io"]
    assert layer("interop.fhir_common") == "interop"
    assert [k for k, allowed in ALLOWED.items() if "interop" in allowed] == ["interop", "cli"]


@pytest.mark.slow
def test_only_ui_imports_rich() -> None:
    """rich (the terminal UI) is imported by `ui` modules only: the library never draws."""
    importers = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            module = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            if any(m == "rich" or m.startswith("rich.") for m in module):
                importers.append(name)
    assert importers, "the walk finds rich in ui"
    assert sorted({n for n in importers if layer(n) != "ui"}) == []


# -- the tests' own floor plan --------------------------------------------------------------

TESTS = Path(__file__).resolve().parent


def imported_test_modules(source: str) -> list[str]:
    """The test modules (``test_*``) a file imports, relative or absolute, at any depth."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or "", *(a.name for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [n for n in names if any(p.startswith("test_") for p in n.split("."))]
    return found


@pytest.mark.slow
def test_no_test_module_imports_another() -> None:
    """Shared helpers live in tests/helpers.py (or a conftest, or a non-test module beside
    the tests that use them), so that a test file can be moved or deleted on its own."""
    offenders = {
        str(p.relative_to(TESTS)): names
        for p in sorted(TESTS.rglob("*.py"))
        if (names := imported_test_modules(p.read_text(encoding="utf-8")))
    }
    assert offenders == {}


@pytest.mark.parametrize(
    "source",
    [
        "from .test_batch import run",
        "from tests.research.test_batch import run",
        "def f():\n    from . import test_batch",
        "import tests.test_scoring",
    ],
)
def test_an_import_of_a_test_module_would_be_caught(source: str) -> None:
    assert imported_test_modules(source)


def test_the_test_folders_mirror_the_package() -> None:
    """One folder of tests per package of the source (core tests at the top), plus the
    cross-cutting fuzz suites."""
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    folders = {p.name for p in TESTS.iterdir() if (p / "__init__.py").exists()}
    assert folders - {"fuzz"} == packages
