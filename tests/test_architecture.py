"""The dependency graph the README draws, checked on every import in the package.

Function-level imports count as much as module-level ones (they are how a
layer quietly reaches upwards); imports under ``if TYPE_CHECKING:`` do not,
since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "docconvert_nb"

#: Lowest first. A module may import its own layer and the layers below it, never one above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("_version", "errors", "status", "redact", "util", "fileformats", "documents", "protocols")),
    ("engine", ("engine",)),
    ("outputs", ("outputs",)),
    ("providers", ("providers",)),
    ("job model", ("jobs", "tracker", "api", "journaling", "cache", "testing")),
    ("results helpers", ("tables", "previews")),
    ("notebook and shell", ("notebook", "magics", "cli")),
]
#: Beside the layers: local servers speaking the services' protocols. They may use the
#: foundation, the engine (which does their conversions) and the adapters (``sim.provider``),
#: and nothing uses them but the command line, the package root and the tests.
SIMULATORS = "simulators"
#: The package root wires the layers together (renderer, result helpers, lazy exports);
#: these entry points sit on top of everything.
ENTRY_POINTS = {"", "__main__", "demo", "samples"}


def layer_of(module: str) -> str | None:
    top = module.split(".")[0]
    if top == SIMULATORS:
        return SIMULATORS
    for name, members in LAYERS:
        if top in members:
            return name
    return None


def rank(layer: str) -> int:
    return [name for name, _ in LAYERS].index(layer)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    return skipped


def _is_module(prefix: str, name: str) -> bool:
    folder = PACKAGE.joinpath(*prefix.split(".")) if prefix else PACKAGE
    return (folder / f"{name}.py").exists() or (folder / name / "__init__.py").exists()


def package_imports() -> list[tuple[str, str, int]]:
    """``(importer, imported, line)`` for every import of the package by itself, relative to the package."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        is_init = parts[-1] == "__init__"
        if is_init:
            parts = parts[:-1]
        module = ".".join(parts)
        base = parts if is_init else parts[:-1]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = base[: len(base) - node.level + 1]
                    prefix = ".".join(anchor + ([node.module] if node.module else []))
                elif (node.module or "").split(".")[0] == "docconvert_nb":
                    prefix = node.module.partition(".")[2]
                else:
                    continue
                # `from . import providers` imports the module docconvert_nb.providers,
                # `from . import __version__` an attribute of the package itself
                targets = [f"{prefix}.{a.name}".strip(".") if _is_module(prefix, a.name) else prefix
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name.partition(".")[2] for a in node.names if a.name.split(".")[0] == "docconvert_nb"]
            for target in targets:
                found.append((module, target, node.lineno))
    return found


def test_the_graph_has_edges_to_check():
    edges = package_imports()
    assert len(edges) > 100
    assert ("jobs", "outputs", ) in {(a, b) for a, b, _ in edges}
    assert any(a.startswith("previews") and b == "jobs" for a, b, _ in edges)


def test_dependencies_point_one_way():
    wrong = []
    for importer, imported, line in package_imports():
        if importer in ENTRY_POINTS or importer == imported:
            continue
        if imported in ENTRY_POINTS:
            wrong.append(f"{importer}:{line} imports the package root or an entry point ({imported or 'docconvert_nb'})")
            continue
        source, target = layer_of(importer), layer_of(imported)
        assert source is not None, f"{importer} is in no layer: add it to LAYERS"
        assert target is not None, f"{imported} (imported by {importer}) is in no layer: add it to LAYERS"
        if source == SIMULATORS:
            if target not in (SIMULATORS, "foundation", "engine", "providers"):
                wrong.append(f"{importer}:{line} (a simulator) imports {imported} ({target})")
        elif target == SIMULATORS:
            if importer.split(".")[0] != "cli":
                wrong.append(f"{importer}:{line} imports the simulator {imported}")
        elif rank(target) > rank(source):
            wrong.append(f"{importer}:{line} ({source}) imports {imported} ({target}), a layer above it")
    assert not wrong, "\n".join(wrong)


def test_the_job_model_knows_nothing_of_widgets_and_providers_nothing_of_notebooks():
    for importer, imported, line in package_imports():
        if layer_of(importer) in ("foundation", "engine", "providers", "job model"):
            assert not imported.startswith(("notebook", "magics")), f"{importer}:{line} imports {imported}"
