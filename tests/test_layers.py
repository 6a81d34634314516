"""alma_core in layers shown by its folders (CONTRIBUTING.md, "Layers"): imports form no cycle and never point up.

Every `import` of an alma_core module counts, at module level and inside functions alike (a function-level
import hides a cycle; it does not remove it). A module's layer is its subpackage's; inside a layer (and between
subpackages of the same rank) modules may import each other as long as there is no cycle.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "alma_core"

# The rank of every subpackage (and of the few top-level modules); arrows only point to a lower or equal rank.
RANKS: dict[str, int] = {
    "alma_core": 0, "io": 0, "provenance": 0,
    "recipe": 1, "reported": 1,
    "runs": 2,
    "standins": 3,
    "params": 4,
    "jobs": 5,
    "book": 6,
    "rehearsal": 7, "__main__": 7, "train": 7, "evaluate": 7, "browser": 7, "publish": 7,
}
SUBPACKAGES = ("recipe", "reported", "runs", "standins", "params", "jobs", "book", "rehearsal")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _layer(module: str) -> str:
    """alma_core.runs.train -> runs; alma_core.io -> io; alma_core -> alma_core."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imported(module: str, path: Path) -> list[tuple[str, int]]:
    """(alma_core module, line) for every import in the file, however deep in a function it sits."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:  # `from alma_core.x import f` -> alma_core.x
                name = name.rpartition(".")[0]
            if name and name != module:
                found.append((name, node.lineno))
    return found


GRAPH = {module: _imported(module, path) for module, path in MODULES.items()}


def test_every_module_has_a_layer() -> None:
    missing = sorted(module for module in MODULES if _layer(module) not in RANKS)
    assert not missing, f"modules outside every layer: {missing}. Add the subpackage to RANKS and to CONTRIBUTING.md"


def test_the_folder_shows_the_layers() -> None:
    top = sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__")
    assert [p for p in top if p.endswith(".py") and p[:-3] not in RANKS and p != "__init__.py"] == []
    for name in SUBPACKAGES:
        doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text(encoding="utf-8"))) or ""
        assert "May import" in doc and "Must not import" in doc, f"alma_core/{name}/__init__.py: say what it may import"


def test_no_import_points_up_a_layer() -> None:
    upward = [f"{module}:{line} ({_layer(module)}) imports {target} ({_layer(target)})"
              for module, edges in GRAPH.items() for target, line in edges
              if RANKS[_layer(target)] > RANKS[_layer(module)]]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_cycle() -> None:
    edges = {module: {target for target, _ in targets} for module, targets in GRAPH.items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(edges):
        if module not in state and (cycle := visit(module)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_no_cycle_between_subpackages() -> None:
    """Importing a module runs its package's __init__: a cycle between two subpackages of one rank would be a cycle
    too, even where the modules' own graph has none."""
    edges = {(_layer(m), _layer(t)) for m, targets in GRAPH.items() for t, _ in targets if _layer(m) != _layer(t)}
    both = sorted(f"{a} <-> {b}" for a, b in edges if (b, a) in edges and a < b)
    assert not both, f"subpackages importing each other: {both}"


def test_the_checker_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    source = tmp_path / "book.py"
    source.write_text("def f():\n    from alma_core.book import tables\n    from ..io import read_json\n"
                      "    from .plots import figure\n", encoding="utf-8")
    assert {name for name, _ in _imported("alma_core.book.site", source)} == {
        "alma_core.book.tables", "alma_core.io", "alma_core.book.plots"}


def test_contributing_lists_every_module() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    section = text[text.index("## Layers"):text.index("## Data flow")]
    listed = {item.removeprefix("alma_core.") for item in re.findall(r"^\s*- `([\w.]+)`", section, re.M)}
    expected = {module.removeprefix("alma_core.") for module in MODULES}
    assert listed == expected, (f"CONTRIBUTING.md's module list and the package differ: missing "
                                f"{sorted(expected - listed)}, not in the package {sorted(listed - expected)}")


def test_params_and_the_cli_import_no_torch() -> None:
    code = ("import sys, alma_core.params.schemas, alma_core.book.site, alma_core.__main__, alma_core.jobs.core\n"
            "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'comet', 'papermill') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]", f"importing params / the CLIs pulled in {out.strip()}"


def test_no_file_of_the_package_is_ignored_by_git() -> None:
    """A module that .gitignore hides (as `runs/` once hid alma_core/runs/) is missing from every clone and CI."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(["git", "ls-files", "--others", "--ignored", "--exclude-standard", "alma_core"],
                            capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
    assert [p for p in listed if "__pycache__" not in p and not p.endswith(".pyc")] == []



@pytest.mark.parametrize("cli", ["train", "evaluate", "params", "book", "browser", "publish", "rehearsal"])
def test_the_readme_clis_still_start(cli: str) -> None:
    """`python -m alma_core.<cli>` keeps working after the move into subpackages (README, Makefile)."""
    done = subprocess.run([sys.executable, "-m", f"alma_core.{cli}", "--help"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0 and "usage:" in done.stdout, done.stderr
