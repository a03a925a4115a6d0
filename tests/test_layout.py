"""The tree reads as the pipeline: no stage imports a later one, no import circles, and the
project's own modules are imported at the top of a module (lazy imports are for heavy libraries).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx

REPO = Path(__file__).resolve().parents[1]
#: Stages in the order data flows; a module may import its own stage and earlier ones only.
STAGES = ["core", "ingest", "index", "qa", "api", "evaluation", "cli"]
#: On top of everything: the CLI drives every stage, evaluation drives the QA layer.
TOP = {"cli": set(STAGES), "evaluation": {"core", "ingest", "index", "qa", "evaluation"}}


def _modules() -> dict[str, Path]:
    found = {}
    for stage in STAGES:
        for path in (REPO / stage).rglob("*.py"):
            rel = path.relative_to(REPO).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported project module, imported at module level?) for each import of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            if name.split(".")[0] in STAGES:
                out.append((name, id(node) in top_level or _in_type_checking(tree, node)))
    return out


def _in_type_checking(tree: ast.Module, target: ast.AST) -> bool:
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and "TYPE_CHECKING" in ast.unparse(node.test)
            and any(child is target for child in ast.walk(node))
        ):
            return True
    return False


def _allowed(stage: str) -> set[str]:
    return TOP.get(stage) or set(STAGES[: STAGES.index(stage) + 1])


def test_no_stage_imports_a_later_one() -> None:
    wrong = [
        f"{module} imports {name}"
        for module, path in _modules().items()
        for name, _ in _imports(path)
        if name.split(".")[0] not in _allowed(module.split(".")[0])
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_circles() -> None:
    modules = _modules()
    graph = networkx.DiGraph()
    for module, path in modules.items():
        for name, _ in _imports(path):
            target = name if name in modules else name.rsplit(".", 1)[0]
            if target in modules and target != module and not module.startswith(target + "."):
                graph.add_edge(module, target)
    cycles = list(networkx.simple_cycles(graph))
    assert not cycles, cycles


def test_project_modules_are_imported_at_the_top() -> None:
    """A function-level import of the project's own code hides a dependency (or a circle)."""
    lazy = [
        f"{module} imports {name} inside a function"
        for module, path in _modules().items()
        for name, top in _imports(path)
        if not top and not module.startswith("cli")  # subcommands load only what they run
    ]
    assert not lazy, "\n".join(lazy)
