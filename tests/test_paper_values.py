"""Issue 21: every value of a `paper`-profile params file is the paper's (alma_core.book.appendix_c.PAPER_VALUES),
or book/deviations.md records the difference: a row of its index table names the key and, in backticks, the value
this build uses. Released-profile evaluations are checked the same way."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from alma_core.book.appendix_c import PAPER_TRAINING, PAPER_VALUES
from alma_core.params.common import EvalParams, LaunchParams
from alma_core.runs.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "deviations.md"
INDEX_HEADING = "## Index: the params values that differ from the paper"
CHECKED = sorted((ROOT / "params" / "paper").glob("*.yaml")) + sorted((ROOT / "params" / "released").glob("*.yaml"))


@dataclass(frozen=True)
class Difference:
    """A params value that is not the recorded one: file, where in it, key, this build's value, the paper's."""

    file: str
    where: str
    key: str
    value: Any
    paper: Any

    def __str__(self) -> str:
        return f"{self.file}: {self.where}.{self.key} = {self.value!r} (paper: {self.paper!r})"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _train_blocks(values: Mapping[str, Any]) -> Iterator[tuple[str, TrainConfig]]:
    """(where, resolved TrainConfig) of every training block: `train` runs, `stage1`, `stage2` (defaults filled)."""
    for run, block in (values.get("train") or {}).items():
        yield f"train.{run}", TrainConfig.model_construct(**block)
    for name in ("stage1", "stage2"):
        if isinstance(values.get(name), Mapping):
            yield name, TrainConfig.model_construct(**{"stage": int(name[-1]), **values[name]})


def _resolved(cfg: TrainConfig, key: str) -> Any:
    return cfg.lr if key == "learning_rate" else getattr(cfg, key)


def _checked(values: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(where, key, value) of every recorded key in one params mapping, as the runs resolve it."""
    trains = list(_train_blocks(values))
    for where, cfg in trains:
        scopes = {"train", f"stage{cfg.stage}"} | ({"lora"} if cfg.stage == 2 and cfg.lora else set())
        for key, paper in PAPER_VALUES.items():
            if scopes & set(paper.scopes) and not (key == "monolingual_ratios" and cfg.monolingual_ratios is None):
                yield where, key, _resolved(cfg, key)
    if trains:
        launch = LaunchParams.model_construct(**(values.get("launch") or {}))
        yield "launch", "world_size", launch.nodes * launch.gpus_per_node
    evaluation = values.get("evaluation")
    if isinstance(evaluation, Mapping) and "directions" in evaluation:  # App. J's benchmarks have their own block
        ev = EvalParams.model_construct(**evaluation)
        for key, paper in PAPER_VALUES.items():
            if "evaluation" in paper.scopes:
                yield "evaluation", key, getattr(ev, key)
    for prompt in values.get("prompts") or []:
        if prompt.get("num_beams") is not None:
            yield f"prompts[{prompt.get('name')}]", "num_beams", prompt["num_beams"]
    for key, paper in PAPER_VALUES.items():
        if "top" in paper.scopes and key in values:
            yield "top", key, values[key]


def differences(notebook: str, values: Mapping[str, Any], file: str = "") -> list[Difference]:
    """Every recorded key of a params mapping whose value is not the paper's (App. C, Sec. 2.2, 4, 5.2, D.1)."""
    return [Difference(file or notebook, where, key, value, PAPER_VALUES[key].expected(notebook))
            for where, key, value in _checked(values) if not _same(value, PAPER_VALUES[key].expected(notebook))]


def _parse(token: str) -> Any:
    try:
        return float(token)
    except ValueError:
        return yaml.safe_load(token)


def page_rows(text: str) -> dict[str, list[list[str]]]:
    """The index table of book/deviations.md: key -> its rows' cells (key, paper, this build, source, to follow)."""
    section = text.split(INDEX_HEADING, 1)[1].split("\n## ", 1)[0] if INDEX_HEADING in text else ""
    rows: dict[str, list[list[str]]] = {}
    for line in section.splitlines():
        match = re.match(r"^\|\s*`([a-z_]+)`\s*\|", line)
        if match:
            rows.setdefault(match.group(1), []).append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def allowed(rows: dict[str, list[list[str]]]) -> dict[str, list[Any]]:
    """key -> the values the page records for this build (the backticked values of the 'this build' cell)."""
    return {key: [_parse(token) for cells in found for token in re.findall(r"`([^`]+)`", cells[2])]
            for key, found in rows.items()}


def unrecorded(found: list[Difference], text: str) -> list[Difference]:
    """The differences the page's index does not record: no row for the key, or the row lacks this value."""
    recorded = allowed(page_rows(text))
    return [d for d in found if not any(_same(d.value, value) for value in recorded.get(d.key, []))]


def _page() -> str:
    return PAGE.read_text(encoding="utf-8")


def _values(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def test_every_params_value_is_the_papers_or_recorded_on_the_deviations_page() -> None:
    found = [d for path in CHECKED for d in differences(path.stem, _values(path), str(path.relative_to(ROOT)))]
    missing = unrecorded(found, _page())
    assert not missing, (
        "params values that differ from the paper (alma_core.book.appendix_c.PAPER_VALUES) with no row in "
        f"{PAGE.relative_to(ROOT)}'s index naming the key and the value:\n" + "\n".join(map(str, missing))
    )


def test_the_check_sees_the_known_differences_of_section_5() -> None:
    """The check reads what the runs resolve: LoRA's default 2e-3, bf16, one node of 8 GPUs (App. C: 16)."""
    values = _values(ROOT / "params/paper/sec5_main_results.yaml")
    found = {(d.where, d.key): d.value for d in differences("sec5_main_results", values)}
    assert found[("train.alma_7b_lora", "learning_rate")] == 2e-3
    assert ("train.alma_7b_full", "learning_rate") not in found
    assert found[("launch", "world_size")] == 8 and found[("train.alma_13b_full", "precision")] == "bf16"
    assert ("train.alma_7b_lora", "eval_every") not in found  # App. C: every 10%, LoRA too


def test_a_changed_value_is_reported_by_its_key() -> None:
    """Negative test: a mutated params mapping fails the check and names the key, whether the page has no row for
    the key, or a row for the key that does not list the new value."""
    values = copy.deepcopy(_values(ROOT / "params/paper/sec5_main_results.yaml"))
    values["train"]["alma_7b_full"]["weight_decay"] = 0.1  # no row for weight_decay
    values["train"]["alma_13b_lora"]["learning_rate"] = 1e-4  # a row for learning_rate, listing 2e-3 only
    values["evaluation"]["num_beams"] = 4  # the row for num_beams lists 1 (k-shot prompts)
    values["evaluation"]["max_prompt_tokens"] = 300  # silent in the paper: checked against the official 256
    missing = unrecorded(differences("sec5_main_results", values), _page())
    assert {(d.where, d.key, d.value) for d in missing} == {
        ("train.alma_7b_full", "weight_decay", 0.1), ("train.alma_13b_lora", "learning_rate", 1e-4),
        ("evaluation", "num_beams", 4), ("evaluation", "max_prompt_tokens", 300)}
    assert "sec5_main_results: train.alma_13b_lora.learning_rate = 0.0001 (paper: 2e-05)" in map(str, missing)
    epochs = copy.deepcopy(_values(ROOT / "params/paper/sec3_parallel_data.yaml"))
    epochs["stage2"]["epochs"] = 2  # App. C: Section 3 trains 3 epochs
    assert [(d.key, d.paper) for d in unrecorded(differences("sec3_parallel_data", epochs), _page())] == [("epochs", 3)]


def test_a_recorded_difference_passes_only_with_its_row() -> None:
    values = _values(ROOT / "params/paper/sec5_main_results.yaml")
    found = differences("sec5_main_results", values)
    assert found and not unrecorded(found, _page())
    without_index = _page().replace(INDEX_HEADING, "## (index removed)")
    assert {d.key for d in unrecorded(found, without_index)} == {"learning_rate", "precision", "world_size", "dtype"}


def test_every_index_row_names_a_recorded_key_and_says_how_to_follow_the_paper() -> None:
    rows = page_rows(_page())
    assert rows, f"{PAGE.name} has no index table under {INDEX_HEADING!r}"
    for key, found in rows.items():
        assert key in PAPER_VALUES, f"index row `{key}` names no key of appendix_c.PAPER_VALUES"
        for cells in found:
            assert len(cells) == 5 and all(cells), f"row `{key}`: key | paper | this build | source | to follow"
            assert re.search(r"`[^`]+`", cells[2]), f"row `{key}`: this build's value in backticks"


def test_appendix_c_paper_column_is_written_from_the_recorded_values() -> None:
    """App. C's table shows PAPER_VALUES; alpha and dropout are marked as the official script's (the paper gives r)."""
    assert PAPER_TRAINING["weight decay"] == PAPER_VALUES["weight_decay"].value
    assert PAPER_TRAINING["global batch"].startswith("256 (16 GPUs x 4 x 4)")
    assert "alpha 32, dropout 0.05 (official script" in PAPER_TRAINING["LoRA"]
    assert PAPER_VALUES["lora_alpha"].official and PAPER_VALUES["lora_dropout"].official
    assert not PAPER_VALUES["lora_r"].official and PAPER_VALUES["learning_rate"].value == 2e-5
