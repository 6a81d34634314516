"""The rehearsal's one override changes scale and places only; the scaled params still validate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from alma_core.params.schemas import validate_params
from alma_core.rehearsal.scale import SCALE, scale_params

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "params" / "paper").glob("*.yaml")) + sorted((ROOT / "params" / "released").glob("*.yaml"))
# The last key of every value the override may change (module docstring of alma_core.rehearsal.scale).
ALLOWED = {"store_dir", "data_root", "test_root", "model", "Random", "Filtered", "train_tokens", "max_steps",
           "eval_blocks", "oscar_data_files", "precision", "sizes", "checkpoints", "checkpoint_every_tokens",
           "max_sentences", "max_new_tokens", "max_items", "nodes", "gpus_per_node", "submit", "wait",
           "source", "synthetic_segments"}  # the released outputs: a generated tree, never the network


def _flat(value: Any, prefix: tuple = ()) -> dict[tuple, Any]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, (*prefix, key)).items()} or {prefix: {}}
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, (*prefix, i)).items()}
    return {prefix: value}


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_scale_changes_scale_and_places_only(path: Path) -> None:
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    scaled = scale_params(values)
    before, after = _flat(values), _flat(scaled)
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert {key[-1] if not isinstance(key[-1], int) else key[-2] for key in changed} <= ALLOWED, changed
    validate_params(path.stem, scaled, where=str(path))  # still a valid params file of its notebook
    for key in changed:  # places move under the rehearsal root, never elsewhere
        if isinstance(after.get(key), str) and key[-1] in ("store_dir", "data_root", "test_root"):
            assert after[key].startswith("runs/rehearsal/")
    # the recipe is untouched: global batch, block length, learning rates, beams, COMET model
    for key, value in before.items():
        if key[-1] in (
            "global_batch_size",
            "max_length",
            "learning_rate",
            "num_beams",
            "comet_model",
            "lora",
            "epochs",
        ):
            assert after[key] == value


def test_scale_of_the_paper_runs() -> None:
    def load(name: str) -> dict:
        return yaml.safe_load((ROOT / "params" / "paper" / f"{name}.yaml").read_text(encoding="utf-8"))

    sec61 = scale_params(load("sec6_1_monolingual_tokens"))
    assert sec61["checkpoints"] == SCALE["checkpoints"] and sec61["checkpoint_every_tokens"] == 256 * 512
    e = scale_params(load("appE_off_target"))
    assert e["stage1"]["train_tokens"] == SCALE["stage1_steps"] * 256 * 512 and e["stage1"]["precision"] == "fp32"
    assert scale_params(load("appE_off_target"), gpu=True)["stage1"]["precision"] == "fp16"
    assert e["launch"] == {
        **load("appE_off_target")["launch"],
        "nodes": 1,
        "gpus_per_node": 2,
        "submit": True,
        "wait": True,
    }
    sec3 = scale_params(load("sec3_parallel_data"))
    assert sec3["sizes"] == [SCALE["small_size"], SCALE["large_size"]]
    assert sec3["backbones"]["scratch"]["sizes"] == [SCALE["large_size"]]
    assert sec3["backbones"]["scratch"]["model"] == "runs/rehearsal/paper/backbones/llama-2-7b-random-init"
    assert scale_params(load("appA_objectives"))["sizes"] == [0, SCALE["small_size"], SCALE["large_size"]]
