"""Identical rebuilds (issue 11 item 3): two builds of a small chapter set from clean stores, on this machine.

The chapter set is Section 5's pipeline made small: one stage-2 run (full weights) through the job layer and its
evaluation with the tiny COMET, then the chapter's tables (Tables 1-2 layout) and the data of its figure
(BLEU averages by direction). Compared byte for byte: every table as CSV, scores.json, the hypothesis files, the
trained weights, trainer_state.json's log history without its wall times; run.json files after dropping the keys
`provenance.VOLATILE` documents (times, host, command) and writing the store's folder as <store>; they must hold the
same provenance. Found on the first try: nothing in the results differed; run.json's COMET signature names the
store's checkpoint path (a path, not a result).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alma_core.book import tables
from alma_core.io import read_json
from alma_core.jobs import core as jobs
from alma_core.params.schemas import validate_params
from alma_core.provenance import VOLATILE
from alma_core.reported.paper import reported


def _params(store: Path, backbone: Path) -> Any:
    return validate_params("sec5_main_results", {
        "profile": "tiny", "store_dir": str(store), "seed": 42,
        "train": {"alma_full": {"stage": 2, "base_model": str(backbone), "language_pairs": ["de-en", "en-de"],
                                "learning_rate": 1e-3, "max_steps": 4, "max_train_examples": 32,
                                "max_eval_examples": 8, "global_batch_size": 8, "micro_batch_size": 4,
                                "max_length": 128, "eval_every": 0.5}},
        "systems": [{"name": "ALMA-tiny (full weights)", "train": "alma_full"}],
        "evaluation": {"directions": ["de-en", "en-de"], "test_format": "json", "max_sentences": 6, "num_beams": 2,
                       "batch_size": 3, "max_new_tokens": 16, "comet_model": "tiny"},
        "launch": {"launcher": "python"}})


def _stable(value: Any, store: Path) -> Any:
    """A run record without the keys that differ on every run by nature (provenance.VOLATILE), the store's folder
    written as <store>."""
    if isinstance(value, dict):
        return {k: _stable(v, store) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v, store) for v in value]
    return value.replace(str(store), "<store>") if isinstance(value, str) else value


def _where(a: Any, b: Any, path: str = "") -> list[str]:
    """The keys (dotted) where two records differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [w for k in sorted(set(a) | set(b)) for w in _where(a.get(k), b.get(k), f"{path}.{k}")]
    return [] if a == b else [f"{path}: {str(a)[:80]} | {str(b)[:80]}"]


def _build(store: Path, backbone: Path) -> dict[str, Any]:
    """One build: train, evaluate, the chapter's tables and figure data; every file the comparison reads."""
    params = _params(store, backbone)
    trained = jobs.ensure_trained(params)
    scores, runs = jobs.ensure_evaluated(params, trained)
    langs = tables.eval_langs(params)
    built = {"scores.csv": scores.to_csv(index=False),
             "figure data (BLEU by direction).csv": tables.direction_averages(scores, metric="bleu").to_csv()}
    for metric in ("bleu", "comet"):
        for number, direction in ((1, "en-xx"), (2, "xx-en")):
            table = tables.reported_vs_build(reported(number), scores, metric, direction, langs,
                                             reported_systems=["ALMA-7B"], missing_reason="")
            built[f"table {number} {metric}.csv"] = table.to_csv()
    run_dir, eval_dir = trained["alma_full"], runs["ALMA-tiny (full weights)"].parent
    built["model.safetensors"] = (run_dir / "model.safetensors").read_bytes()
    state = read_json(run_dir / "trainer_state.json")
    built["log history"] = [{k: v for k, v in e.items() if not k.endswith(("runtime", "per_second"))}
                            for e in state["log_history"]]
    for path in sorted(eval_dir.glob("*.json*")):
        if path.name not in ("run.json", ".done.json"):
            built[path.name] = path.read_bytes()
    # git_revision is recorded (asserted below), not compared: a commit between the two builds changes it
    built["train run.json"] = {k: v for k, v in _stable(read_json(run_dir / "run.json"), store).items()
                               if k != "git_revision"}
    built["git_revision recorded"] = "git_revision" in read_json(run_dir / "run.json")
    built["eval run.json"] = _stable(read_json(eval_dir / "run.json"), store)
    return built


def test_two_builds_from_clean_stores_are_identical(tiny_backbone_dir: Path, tmp_path: Path) -> None:
    first, second = _build(tmp_path / "a", tiny_backbone_dir), _build(tmp_path / "b", tiny_backbone_dir)
    assert first.keys() == second.keys() and {"hyp.de-en.jsonl", "scores.json"} <= first.keys()
    differ = {name: _where(first[name], second[name]) for name in first if first[name] != second[name]}
    assert not differ, f"two clean builds differ in {differ}"
    record = first["train run.json"]
    assert first["git_revision recorded"]
    for what in ("versions", "hardware", "determinism", "seed"):
        assert what in record, f"run.json records {what}"
    assert record["determinism"]["torch_threads"] >= 1 and "gpus" in record["hardware"]
    assert "determinism" in first["eval run.json"] and "versions" in first["eval run.json"]
