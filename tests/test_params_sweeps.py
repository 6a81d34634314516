"""Derived runs of the sweep chapters (Section 3, Appendix A, Section 6.1): params -> train runs and systems."""

from __future__ import annotations

from pathlib import Path

import pytest

from alma_core.params.schemas import ParamsError, load_params, validate_params

ROOT = Path(__file__).resolve().parents[1]
EVAL = {"directions": ["en-ru"], "max_sentences": 4}
STAGE2 = {"stage": 2, "epochs": 1, "global_batch_size": 8, "micro_batch_size": 8, "max_length": 64}
BASE = {"profile": "tiny", "store_dir": "runs/tiny"}


def _sec3(**extra: object) -> dict:
    return {**BASE, "backbones": {"llama": {"label": "L"}, "mpt": {"label": "M", "tiny_backbone": {"seed": 1}},
                                  "scratch": {"label": "S", "tiny_backbone": {"pretrain_steps": 0}, "sizes": [180]}},
            "sizes": [20, 60, 180], "stage2": STAGE2, "evaluation": EVAL, **extra}


def test_sec3_runs_per_backbone_and_size() -> None:
    params = validate_params("sec3_parallel_data", _sec3())
    assert list(params.train) == ["llama-20", "llama-60", "llama-180", "mpt-20", "mpt-60", "mpt-180", "scratch-180"]
    assert params.train["mpt-60"]["max_train_examples"] == 60
    assert params.train["mpt-60"]["language_pairs"] == ["en-ru"]
    assert params.point_of("S, 180 pairs") == ("S", 180)
    mpt = params.for_backbone("mpt")
    assert list(mpt.train) == ["mpt-20", "mpt-60", "mpt-180"]
    assert [s.train for s in mpt.systems] == ["mpt-20", "mpt-60", "mpt-180"]
    assert mpt.tiny_backbone == {"seed": 1}


@pytest.mark.parametrize("bad", [{"sizes": [60, 20]}, {"sizes": [0, 20]}, {"train": {"x": {}}},
                                 {"stage2": {**STAGE2, "no_such_key": 1}}])
def test_sec3_rejects_bad_sweeps(bad: dict) -> None:
    with pytest.raises(ParamsError):
        validate_params("sec3_parallel_data", _sec3(**bad))


def test_appA_objectives_grid_and_zero_shot() -> None:
    params = validate_params("appA_objectives", {
        **BASE, "backbone": {"label": "M", "tiny_backbone": {"seed": 1}}, "objectives": ["clm", "mod"],
        "sizes": [0, 20, 180], "stage2": STAGE2, "evaluation": {**EVAL, "directions": ["ru-en"]}})
    assert sorted(params.train) == ["clm-180", "clm-20", "mod-180", "mod-20"]
    assert params.train["mod-20"]["objective"] == "mod"
    assert params.tiny_backbone == {"seed": 1}
    assert params.point_of("M, zero-shot") == ("zero-shot", 0)
    assert params.point_of("mod, 180 pairs") == ("mod", 180)
    with pytest.raises(ParamsError):
        validate_params("appA_objectives", {**BASE, "backbone": {"label": "M"}, "objectives": ["ul2"], "sizes": [0],
                                            "stage2": STAGE2, "evaluation": EVAL})


def test_sec61_checkpoints_fall_on_steps_of_n_tokens(tmp_path: Path) -> None:
    params = validate_params("sec6_1_monolingual_tokens", {
        **BASE, "stage1": {"stage": 1, "monolingual_langs": ["en", "de"], "global_batch_size": 10,
                           "micro_batch_size": 10, "max_length": 100},
        "checkpoint_every_tokens": 2500, "checkpoints": 4, "stage2": STAGE2, "evaluation": EVAL})
    stage1 = params.train["stage1"]
    assert stage1["max_steps"] == 12  # ceil(2500 / 1000) = 3 steps a checkpoint, 4 checkpoints
    assert stage1["save_total_limit"] is None and stage1["load_best_model_at_end"] is False
    assert int(stage1["max_steps"] * stage1["eval_every"]) + 1 == 3  # HF: save_steps = ceil(max_steps x ratio)
    after = params.after_stage1(tmp_path / "s1")
    assert [after.train[s.train]["base_model"] for s in after.systems] == [
        f"{tmp_path}/s1/checkpoint-{k}" for k in (3, 6, 9, 12)
    ]
    assert [after.tokens_of(s.name) for s in after.systems] == [3000, 6000, 9000, 12000]
    assert [s.name for s in after.systems] == ["ALMA@3K", "ALMA@6K", "ALMA@9K", "ALMA@12K"]
    assert list(params.stage1_only().train) == ["stage1"]


@pytest.mark.parametrize("profile", ["tiny", "paper"])
@pytest.mark.parametrize("notebook", ["sec3_parallel_data", "appA_objectives", "sec6_1_monolingual_tokens"])
def test_shipped_params_derive_runs(profile: str, notebook: str) -> None:
    params = load_params(ROOT / "params" / profile / f"{notebook}.yaml")
    assert params.train and params.systems
    trained = {s.train for s in params.systems if s.train}
    assert trained <= set(params.train)
