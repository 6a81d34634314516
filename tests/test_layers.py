"""alma_core in three layers (CONTRIBUTING.md, "Layers"): imports form no cycle and never point up a layer.

Every `import` of an alma_core module counts, at module level and inside functions alike (a function-level
import hides a cycle; it does not remove it). recipe knows no runs and no book; runs knows no book; inside
runs (and inside book) modules may import each other as long as there is no cycle.
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

# The layer of every alma_core module; CONTRIBUTING.md lists the same modules under the same headings.
LAYERS: dict[str, tuple[str, ...]] = {
    "recipe": ("alma_core", "languages", "prompts", "objectives", "objectives_appa", "sampling", "metrics", "data",
               "oscar", "testsets", "io", "results", "mini_lexicon", "mini_world", "mini_world_data"),
    "runs": ("config", "provenance", "backbones", "load_errors", "modeling", "stage1", "stage2", "trainer",
             "checkpoints", "train", "generate", "tiny_comet", "evaluate", "released_synthetic", "released_outputs",
             "crosslingual_items", "crosslingual", "jobs", "launch", "store", "variants", "params", "params_common",
             "params_sweeps", "rehearsal", "rehearsal.data", "rehearsal.lexicon", "rehearsal.families",
             "rehearsal.hub", "rehearsal.scale"),
    "book": ("tables", "appendix_c", "report", "plots", "chapters", "scorecard_rules", "scorecard_claims", "scorecard",
             "book", "browser", "devtools", "publish", "rehearsal.run", "rehearsal.__main__", "__main__"),
}
RANK = {"recipe": 0, "runs": 1, "book": 2}


def _name(short: str) -> str:
    return "alma_core" if short == "alma_core" else f"alma_core.{short}"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()
LAYER_OF = {_name(short): layer for layer, shorts in LAYERS.items() for short in shorts}


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
    assert set(MODULES) == set(LAYER_OF), (
        f"modules without a layer: {sorted(set(MODULES) - set(LAYER_OF))}; "
        f"layers naming no module: {sorted(set(LAYER_OF) - set(MODULES))}. Add the module to LAYERS here and to "
        f"CONTRIBUTING.md"
    )


def test_no_import_points_up_a_layer() -> None:
    upward = [f"{module}:{line} ({LAYER_OF[module]}) imports {target} ({LAYER_OF[target]})"
              for module, edges in GRAPH.items() for target, line in edges
              if RANK[LAYER_OF[target]] > RANK[LAYER_OF[module]]]
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


def test_the_checker_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    source = tmp_path / "book.py"
    source.write_text("def f():\n    from alma_core import tables\n    from .io import read_json\n", encoding="utf-8")
    assert {name for name, _ in _imported("alma_core.book", source)} == {"alma_core.tables", "alma_core.io"}


def test_contributing_lists_the_same_layers() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    listed: dict[str, set[str]] = {}
    layer = None
    for line in text.splitlines():
        heading = re.match(r"### (recipe|runs|book) layer", line)
        if heading:
            layer = heading.group(1)
            listed[layer] = set()
        elif line.startswith("## "):
            layer = None
        elif layer and (item := re.match(r"- `([\w.]+)`", line)):
            listed[layer].add(item.group(1).removeprefix("alma_core.").replace("/", "."))
    expected = {name: set(shorts) for name, shorts in LAYERS.items()}
    assert listed == expected, "CONTRIBUTING.md's module list and this test's LAYERS differ"


def test_params_and_the_cli_import_no_torch() -> None:
    code = ("import sys, alma_core.params, alma_core.book, alma_core.__main__, alma_core.jobs\n"
            "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'comet', 'papermill') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "[]", f"importing params / the CLIs pulled in {out.strip()}"
