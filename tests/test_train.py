"""Tests of alma_core.train: stage 1 -> stage 2 (full, LoRA, DeepSpeed ZeRO-2) on CPU, resume, batch plan, config errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from alma_core.io import read_json
from alma_core.modeling import trainable_names
from alma_core.train import (
    NonFiniteLossError,
    TrainConfigError,
    TrainDataError,
    batch_plan,
    load_train_config,
    load_trained,
    main,
    make_config,
    run_training,
)

REPO = Path(__file__).resolve().parent.parent


def _stage2(base: Path, out: Path, **kw) -> dict:
    values = dict(stage=2, base_model=str(base), output_dir=str(out), language_pairs=["de-en", "en-de"], max_steps=4,
                  global_batch_size=8, micro_batch_size=4, max_length=128, max_train_examples=48,
                  max_eval_examples=8, logging_steps=1)
    return {**values, **kw}


@pytest.fixture(scope="module")
def stage1(tiny_backbone_dir, tmp_path_factory):
    cfg = make_config(dict(stage=1, base_model=str(tiny_backbone_dir), output_dir=str(tmp_path_factory.mktemp("s1")),
                           monolingual_langs=["en", "de", "cs"], max_steps=3, global_batch_size=8, micro_batch_size=4,
                           max_length=64, eval_blocks=4, logging_steps=1, learning_rate=1e-3))
    return run_training(cfg)


def test_stage1_packs_and_records(stage1):
    record = read_json(stage1.run_json)
    assert record["status"] == "done" and record["steps"] == 3
    assert record["batch"] == {"world_size": 1, "micro_batch_size": 4, "gradient_accumulation_steps": 2, "global_batch_size": 8}
    ratios = record["token_counts"]["language_ratios"]
    assert ratios["en"] == pytest.approx(1 / 6) and sum(ratios.values()) == pytest.approx(1.0)  # App. D.1
    assert record["tokens_seen"] >= 3 * 8 * 64  # packed: every token real
    assert record["versions"]["transformers"] and record["hardware"]["cpu_count"] and record["wall_time_s"] > 0
    assert math.isfinite(stage1.final_loss) and (stage1.output_dir / "model.safetensors").is_file()


def test_stage2_full_then_lora(stage1, tmp_path, capsys):
    full = run_training(make_config(_stage2(stage1.output_dir, tmp_path / "full", learning_rate=1e-3)))
    record = read_json(full.run_json)
    assert record["learning_rate"] == 1e-3 and record["token_counts"]["train_examples"] == 48
    assert record["token_counts"]["target_tokens_per_epoch"] < record["token_counts"]["train_tokens_per_epoch"]
    assert full.best_checkpoint is not None and full.eval_loss == pytest.approx(record["best_metric"])
    log = capsys.readouterr().out
    assert "[train] step 4/4 loss" in log and "tok/s" in log and "eta" in log
    model, tok = load_trained(full.output_dir)
    assert tok.pad_token_id == 0 != tok.eos_token_id and type(model).__name__ == "LlamaForCausalLM"

    lora = run_training(make_config(_stage2(stage1.output_dir, tmp_path / "lora", lora=True)))
    record = read_json(lora.run_json)
    assert record["learning_rate"] == 2e-3  # LoRA default (App. C / official script)
    assert record["trainable"] == 2 * (16 * 256 + 64 * 16)  # down_proj adapters of 2 layers only
    assert (lora.output_dir / "adapter_config.json").is_file() and (lora.output_dir / "base" / "model.safetensors").is_file()
    assert not (lora.output_dir / "model.safetensors").exists()
    model, _ = load_trained(lora.output_dir)
    assert all(".down_proj.lora_" in n for n in trainable_names(model)) or not trainable_names(model)
    lora_names = [n for n, _ in model.named_parameters() if "lora_" in n]
    assert len(lora_names) == 4 and all("down_proj" in n for n in lora_names)


def test_killed_and_resumed_run_matches_uninterrupted(stage1, tmp_path):
    from transformers import TrainerCallback

    class Kill(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 4:
                raise KeyboardInterrupt("simulated kill at step 4")

    values = _stage2(stage1.output_dir, tmp_path / "whole", max_steps=6, learning_rate=1e-3, max_train_examples=24)
    whole = run_training(make_config(values))
    cfg = make_config({**values, "output_dir": str(tmp_path / "killed")})
    with pytest.raises(KeyboardInterrupt):
        run_training(cfg, callbacks=[Kill()])
    assert (tmp_path / "killed" / "checkpoint-3").is_dir()
    resumed = run_training(cfg)
    assert read_json(resumed.run_json)["resumed_from"].endswith("checkpoint-3")
    assert resumed.steps == whole.steps == 6
    assert abs(resumed.final_loss - whole.final_loss) < 1e-4
    assert abs(resumed.eval_loss - whole.eval_loss) < 1e-4


def test_global_batch_is_the_same_for_1_and_4_ranks(tiny_backbone_dir, tmp_path):
    cfg = make_config(_stage2(tiny_backbone_dir, tmp_path, global_batch_size=256, micro_batch_size=4))
    one, four = batch_plan(cfg, 1), batch_plan(cfg, 4)
    assert one["gradient_accumulation_steps"] == 64 and four["gradient_accumulation_steps"] == 16
    assert one["global_batch_size"] == four["global_batch_size"] == 256
    assert batch_plan(cfg, 16)["gradient_accumulation_steps"] == 4  # the paper: 16 GPUs x 4 x 4
    with pytest.raises(TrainConfigError, match="not divisible"):
        batch_plan(cfg, 3)


def test_bad_configs_name_the_key_or_file(tiny_backbone_dir, tmp_path):
    good = _stage2(tiny_backbone_dir, tmp_path / "out")
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump({**good, "learning_rat": 1e-4}))
    with pytest.raises(TrainConfigError, match=r"run\.yaml: unknown key 'learning_rat'"):
        load_train_config(path)
    path.write_text(yaml.safe_dump({**good, "max_steps": "many"}))
    with pytest.raises(TrainConfigError, match="key 'max_steps'"):
        load_train_config(path)
    path.write_text(yaml.safe_dump({k: v for k, v in good.items() if k != "language_pairs"}))
    with pytest.raises(TrainConfigError, match="language_pairs"):
        load_train_config(path)
    cfg = make_config({**good, "data_root": str(tmp_path / "nodata")})
    with pytest.raises(TrainDataError, match=r"language_pairs: de-en needs .*nodata/deen/train\.de-en\.json"):
        run_training(cfg)
    with pytest.raises(TrainDataError, match="monolingual_langs: xx|monolingual_langs"):
        run_training(make_config(dict(stage=1, base_model=str(tiny_backbone_dir), output_dir=str(tmp_path / "o"),
                                      monolingual_root=str(tmp_path), monolingual_langs=["de"], max_steps=1)))
    path.write_text(yaml.safe_dump({**good, "global_batch_size": 6}))
    assert main(["--config", str(path), "--plan"]) == 2  # 6 is not divisible by 4 x 1: CLI exits with an error
    with pytest.raises(TrainConfigError, match="not divisible"):
        batch_plan(load_train_config(path))


def test_nonfinite_loss_stops_training():
    from alma_core.train import _callbacks, _TokenCounter

    finite_check = _callbacks(_TokenCounter(lambda f: f))[0]

    class State:
        global_step = 7

    finite_check.on_log(None, State(), None, logs={"loss": 1.0, "grad_norm": 2.0})
    with pytest.raises(NonFiniteLossError, match="grad_norm = nan at step 7.*right padding"):
        finite_check.on_log(None, State(), None, logs={"loss": 1.0, "grad_norm": float("nan")})


def test_cli_plan_prints_resolved_config(tiny_backbone_dir, tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(_stage2(tiny_backbone_dir, tmp_path / "out", lora=True)))
    assert main(["--config", str(path), "--plan", "--set", "micro_batch_size=2"]) == 0
    plan = yaml.safe_load(capsys.readouterr().out)
    assert plan["batch"]["gradient_accumulation_steps"] == 4 and plan["learning_rate"] == 2e-3


def test_deepspeed_zero2_stage2_on_cpu(stage1, tmp_path):
    """One in-process single-rank ZeRO-2 run (the first ever compiles DeepSpeed's CPU comm op: ~30-70 s)."""
    import os

    cfg = make_config(_stage2(stage1.output_dir, tmp_path / "ds", max_steps=2, max_train_examples=16,
                              deepspeed=str(REPO / "params/launch/ds_zero2.json")))
    result = run_training(cfg)
    assert result.steps == 2 and math.isfinite(result.final_loss)
    assert (result.output_dir / "model.safetensors").is_file()
    assert "RANK" not in os.environ  # env defaults for the single rank are undone


@pytest.mark.parametrize("objective", ["prefix_lm", "mod"])
def test_appendix_a_objectives_train(stage1, tmp_path, objective):
    """Appendix A: prefix-LM and mixture-of-denoisers batches (4D prefix masks) train end to end with finite loss."""
    result = run_training(make_config(_stage2(stage1.output_dir, tmp_path / objective, objective=objective, max_steps=2,
                                              learning_rate=1e-3)))
    record = read_json(result.run_json)
    assert record["status"] == "done" and record["steps"] == 2 and record["config"]["objective"] == objective
    assert math.isfinite(result.final_loss)
