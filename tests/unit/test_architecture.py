"""The structure docs/architecture.md describes, held against the code: the import rules, no
cycles between modules or between packages, and a folder map that names every package."""

from __future__ import annotations

import ast
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
OURS = ("service", "schemas")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, modules: set[str]) -> Iterator[str]:
    """Every module of ours that ``path`` imports, anywhere in the file (a lazy import inside
    a function is an arrow all the same). ``from package import module`` is an arrow to the
    module, ``from module import name`` to the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found = submodule if submodule in modules else node.module
                if found in modules:
                    yield found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for top in OURS for p in (ROOT / top).rglob("*.py")}
    return {module: {name for name in _imports(path, set(files)) if name != module}
            for module, path in files.items()}


GRAPH = _graph()


def _package(module: str) -> str:
    """The folder a module lives in (``service.api.jobs`` → ``service.api``); a package's
    ``__init__`` belongs to its own folder."""
    if (ROOT / Path(*module.split("."))).is_dir():
        return module
    return module.rsplit(".", 1)[0]


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _importers(prefix: str, imported: str) -> set[str]:
    return {m for m, targets in GRAPH.items() if m.startswith(prefix)
            and any(t == imported or t.startswith(imported + ".") for t in targets)}


def test_no_module_imports_itself_back() -> None:
    assert _cycle(GRAPH) is None


def test_no_package_imports_itself_back() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        mine = _package(module)
        packages.setdefault(mine, set()).update(
            other for other in map(_package, targets)
            if other != mine and not mine.startswith(other + "."))  # a package's own facade
    assert _cycle(packages) is None


def test_schemas_import_nothing_from_the_service() -> None:
    assert _importers("schemas", "service") == set()


def test_the_engine_imports_no_web_queue_or_store_library() -> None:
    for path in (ROOT / "service" / "engine").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {alias.name.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.Import) for alias in node.names}
        names |= {node.module.split(".")[0] for node in ast.walk(tree)
                  if isinstance(node, ast.ImportFrom) and node.module}
        assert not names & {"flask", "celery", "kombu", "redis", "werkzeug"}, path


@pytest.mark.parametrize("shell", ["service.api", "service.worker", "service.batch",
                                   "service.cli", "service.registry", "service.decisions",
                                   "service.jobs", "service.observability", "service.backends",
                                   "service.robustness"])
def test_shells_reach_the_engine_through_its_facade(shell: str) -> None:
    reaching_in = {m for m, targets in GRAPH.items() if m.startswith(shell)
                   and any(t.startswith("service.engine.") for t in targets)}
    assert reaching_in == set()


def test_the_language_knows_no_evaluator_and_evaluation_no_authoring() -> None:
    assert _importers("service.engine.language", "service.engine.evaluation") == set()
    assert _importers("service.engine.language", "service.engine.authoring") == set()
    assert _importers("service.engine.evaluation", "service.engine.authoring") == set()


def test_the_api_reaches_the_workers_through_one_module() -> None:
    assert _importers("service.api", "service.worker") == {"service.api.workers"}


def test_the_console_is_a_client_of_the_api_not_part_of_it() -> None:
    """Its pages get every figure from /v1 in the browser; nothing of ours but itself."""
    reached = {t for m, targets in GRAPH.items() if m.startswith("service.console")
               for t in targets}
    assert {t for t in reached if not t.startswith("service.console")} == set()


def test_the_folder_map_names_every_package() -> None:
    table = ARCHITECTURE.read_text(encoding="utf-8").split("## The folder map", 1)[1]
    mapped = set(re.findall(r"^\| `([^`]+?)/?` \|", table, flags=re.MULTILINE))
    packages = {str(p.parent.relative_to(ROOT)) for top in OURS
                for p in (ROOT / top).rglob("__init__.py")} - {"service"}
    top_modules = {str(p.relative_to(ROOT)) for p in (ROOT / "service").glob("*.py")
                   if p.name != "__init__.py"}
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    folders = {name.split("/")[0] for name in tracked
               if "/" in name and not name.startswith(".")} - {"service"}
    missing = (packages | top_modules | folders) - mapped
    assert not missing, f"docs/architecture.md's folder map does not name {sorted(missing)}"
    stale = {m for m in mapped if not (ROOT / m).exists()}
    assert not stale, f"docs/architecture.md's folder map names what is gone: {sorted(stale)}"
