"""Tests of alma_core.runs.train (+ config, stage1, stage2, trainer): stage 1 -> stage 2 (full, LoRA, ZeRO-2) on CPU,
resume, batch plan."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import yaml

from alma_core.io import read_json
from alma_core.runs.config import TrainConfigError, TrainDataError, batch_plan, load_train_config, make_config
from alma_core.runs.modeling import trainable_names
from alma_core.runs.train import load_trained, main, run_training
from alma_core.runs.trainer import NonFiniteLossError

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
    assert record["batch"] == {
        "world_size": 1,
        "micro_batch_size": 4,
        "gradient_accumulation_steps": 2,
        "global_batch_size": 8,
    }
    ratios = record["token_counts"]["language_ratios"]
    assert ratios["en"] == pytest.approx(1 / 6) and sum(ratios.values()) == pytest.approx(1.0)  # App. D.1
    assert record["tokens_seen"] == 3 * 8 * 64  # packed: every token real; training batches only, all ranks
    assert record["tokens_seen_this_run"] == 3 * 8 * 64 and record["tokens_per_s"] > 0
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
    assert (lora.output_dir / "adapter_config.json").is_file() and (
        lora.output_dir / "base" / "model.safetensors"
    ).is_file()
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


class _State:
    global_step = 7


def test_nonfinite_loss_stops_training():
    from alma_core.runs.trainer import training_callbacks

    finite_check = training_callbacks()[0]
    finite_check.on_log(None, _State(), None, logs={"loss": 1.0, "grad_norm": 2.0})
    with pytest.raises(NonFiniteLossError, match="loss = nan at step 7.*right padding"):
        finite_check.on_log(None, _State(), None, logs={"loss": float("nan"), "grad_norm": 2.0})
    with pytest.raises(NonFiniteLossError, match="eval_loss = inf at step 7"):
        finite_check.on_log(None, _State(), None, logs={"eval_loss": float("inf")})


def test_fp16_overflow_step_is_counted_not_fatal(caplog):
    """DeepSpeed/AMP fp16 log grad_norm = inf on a step skipped for a loss-scale overflow: warn and count, do not
    stop."""
    from alma_core.runs.trainer import training_callbacks

    finite_check = training_callbacks()[0]
    with caplog.at_level("WARNING", logger="alma_core.runs.trainer"):
        finite_check.on_log(None, _State(), None, logs={"loss": 9.5, "grad_norm": float("inf")})
    assert finite_check.skipped_steps == {7} and "step 7 skipped" in caplog.text and "overflow" in caplog.text

    class Optimizer:
        step_was_skipped = True

    finite_check.on_step_end(None, _State(), None, optimizer=Optimizer())  # same step: counted once
    state = _State()
    state.global_step = 8
    finite_check.on_step_end(None, state, None, optimizer=Optimizer())
    finite_check.on_log(None, state, None, logs={"loss": 9.4, "grad_norm": float("nan")})
    assert finite_check.skipped_steps == {7, 8}


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


def test_deepspeed_zero2_lora_stage2_on_cpu(stage1, tmp_path):
    """LoRA under ZeRO-2 (ALMA-7B-LoRA at paper scale): the empty no-decay group no longer desynchronises the LR
    scheduler."""
    cfg = make_config(_stage2(stage1.output_dir, tmp_path / "ds-lora", lora=True, max_steps=2, max_train_examples=16,
                              deepspeed=str(REPO / "params/launch/ds_zero2.json")))
    result = run_training(cfg)
    assert result.steps == 2 and math.isfinite(result.final_loss)
    assert (result.output_dir / "adapter_config.json").is_file()


@pytest.mark.parametrize("objective", ["prefix_lm", "mod"])
def test_appendix_a_objectives_train(stage1, tmp_path, objective):
    """Appendix A: prefix-LM and mixture-of-denoisers batches (4D prefix masks) train end to end with finite loss."""
    result = run_training(make_config(_stage2(stage1.output_dir, tmp_path / objective, objective=objective, max_steps=2,
                                              learning_rate=1e-3)))
    record = read_json(result.run_json)
    assert record["status"] == "done" and record["steps"] == 2 and record["config"]["objective"] == objective
    assert math.isfinite(result.final_loss)


# --- paper-scale paths: stage 1 selection, OSCAR shards, stream resume, weights-only snapshots, validation sets ---


def test_stage1_hands_on_its_final_model(stage1):
    """Stage 1 never reloads its 'best' checkpoint (validation blocks come from the training stream); stage 2 does."""
    from safetensors.torch import load_file

    record = read_json(stage1.run_json)
    assert record["config"]["load_best_model_at_end"] is True  # the default, overridden for stage 1
    assert record["load_best_model_at_end"] is False and record["model_handed_on"].startswith("final model")
    assert stage1.best_checkpoint is None and record["best_checkpoint"] is None
    final, last = (
        load_file(stage1.output_dir / "model.safetensors"),
        load_file(stage1.output_dir / "checkpoint-3" / "model.safetensors"),
    )
    assert all((final[k] == last[k]).all() for k in final)


def test_stage2_keeps_best_by_validation_loss(tiny_backbone_dir, tmp_path):
    from alma_core.runs.train import training_arguments

    cfg = make_config(_stage2(tiny_backbone_dir, tmp_path))
    args = training_arguments(cfg, batch_plan(cfg), 4)
    assert args.load_best_model_at_end and args.metric_for_best_model == "eval_loss"
    assert not args.gradient_checkpointing
    cfg = make_config(
        dict(
            stage=1,
            base_model=str(tiny_backbone_dir),
            output_dir=str(tmp_path),
            monolingual_langs=["en"],
            max_steps=2,
            gradient_checkpointing=True,
        )
    )
    args = training_arguments(cfg, batch_plan(cfg), 2)
    assert not args.load_best_model_at_end and args.gradient_checkpointing and args.ignore_data_skip
    assert args.accelerator_config.dispatch_batches is False  # every rank reads its own shard of the stream


def _pairs_file(path: Path, xx: str, n: int, array: bool = False) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    records = [{"translation": {xx: f"{xx} Satz {i}.", "en": f"Sentence {i}."}} for i in range(n)]
    path.write_text(json.dumps(records) if array else "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def test_direction_without_valid_file_trains_on_all_pairs(tiny_tokenizer, tmp_path):
    """Official code: is-en has no valid file, so it adds no validation examples and trains on all its pairs."""
    from alma_core.runs.stage2 import stage2_datasets, validation_sources

    _pairs_file(tmp_path / "deen" / "train.de-en.json", "de", 40)
    _pairs_file(tmp_path / "deen" / "valid.de-en.json", "de", 6, array=True)
    _pairs_file(tmp_path / "isen" / "train.is-en.json", "is", 40)
    cfg = make_config(dict(stage=2, base_model="x", output_dir=str(tmp_path / "o"), data_root=str(tmp_path),
                           language_pairs=["de-en", "is-en", "en-is"], max_length=64))
    assert validation_sources(cfg) == {"de-en": "valid", "is-en": "none", "en-is": "none"}
    train, valid = stage2_datasets(cfg, tiny_tokenizer)
    assert len(train) == 3 * 40 and len(valid) == 6  # all is pairs trained; validation from de-en's valid file only

    (tmp_path / "deen" / "valid.de-en.json").unlink()  # no valid file anywhere: hold out 5% per direction
    assert set(validation_sources(cfg).values()) == {"holdout"}
    train, valid = stage2_datasets(cfg, tiny_tokenizer)
    assert len(valid) == 3 * 2 and len(train) == 3 * 38


def _oscar_shards(root: Path, lang: str, docs: list[str], parts: int = 2) -> None:
    import json

    import zstandard

    folder = root / f"{lang}_meta"
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"warc_headers": {"warc-record-id": "<urn:uuid:0>"}, "identification": {"label": lang, "prob": 0.9},
            "harmful_pp": 100.0, "tlsh": "tlsh", "quality_warnings": None, "categories": None,
            "sentence_identifications": [{"label": lang, "prob": 0.9}]}
    for k in range(parts):
        lines = "".join(json.dumps({"text": d, "meta": meta}, ensure_ascii=False) + "\n" for d in docs[k::parts])
        (folder / f"{lang}_meta_part_{k + 1}.jsonl.zst").write_bytes(
            zstandard.ZstdCompressor().compress(lines.encode())
        )


def _stage1_values(base: Path, out: Path, **kw) -> dict:
    values = dict(stage=1, base_model=str(base), output_dir=str(out), monolingual_langs=["en", "de", "cs"], max_steps=3,
                  global_batch_size=8, micro_batch_size=4, max_length=64, eval_blocks=4, logging_steps=1,
                  learning_rate=1e-3)
    return {**values, **kw}


def test_stage1_streams_oscar_2301_shards(tiny_backbone_dir, tmp_path):
    """monolingual_source oscar reads OSCAR-2301 `{lang}_meta/{lang}_meta_part_*.jsonl.zst` shards (data_files, no
    script)."""
    from alma_core.recipe.data import sample_data_dir
    from alma_core.runs.config import oscar_pattern

    for lang in ("en", "de"):
        _oscar_shards(
            tmp_path / "oscar", lang, (sample_data_dir() / "monolingual" / f"{lang}.txt").read_text().splitlines()
        )
    pattern = str(tmp_path / "oscar" / "{lang}_meta" / "{lang}_meta_part_*.jsonl.zst")
    cfg = make_config(_stage1_values(tiny_backbone_dir, tmp_path / "out", monolingual_langs=["en", "de"], max_steps=2,
                                     monolingual_source="oscar", monolingual_ratios={"en": 0.5, "de": 0.5},
                                     oscar_data_files=pattern))
    result = run_training(cfg)
    assert result.steps == 2 and math.isfinite(result.final_loss)
    assert make_config({**cfg.model_dump(), "oscar_data_files": "hf://x/{lang}"}).oscar_data_files == "hf://x/{lang}"
    relative = make_config({**cfg.model_dump(), "oscar_data_files": "data/oscar/{lang}_meta/*.jsonl.zst"})
    assert oscar_pattern(relative) == str(REPO / "data/oscar/{lang}_meta/*.jsonl.zst")
    with pytest.raises(
        TrainDataError, match=r"oscar_data_files: en: no file matches .*data/oscar/en_meta/\*\.jsonl\.zst.*Fix"
    ):
        run_training(relative)


def test_stream_resumes_where_it_stopped(tiny_tokenizer, tmp_path):
    """A stage-1 stream restarted from a saved position yields the next blocks, not the first ones again."""
    from alma_core.runs.stage1 import StreamPosition, packed_blocks

    cfg = make_config(_stage1_values("x", tmp_path, max_length=48))
    track: dict = {}
    blocks = [b["input_ids"] for b in itertools.islice(packed_blocks(cfg, tiny_tokenizer, 5, track=track), 12)]
    assert track[12].blocks == 12 and track[5].docs > 0
    for k in (1, 5, 9):
        again = [
            b["input_ids"] for b in itertools.islice(packed_blocks(cfg, tiny_tokenizer, 5, start=track[k]), 12 - k)
        ]
        assert again == blocks[k:]
    assert packed_blocks(cfg, tiny_tokenizer, 5, start=StreamPosition()) is not None
    other = [b["input_ids"] for b in itertools.islice(packed_blocks(cfg, tiny_tokenizer, 5, rank=1, world_size=2), 3)]
    assert other != blocks[:3]  # rank 1 reads its own share of the documents


def test_killed_stage1_resumes_stream_and_keeps_weights_only_snapshots(tiny_backbone_dir, tmp_path):
    """Resume continues the stream (same losses as an uninterrupted run); save_only_model strips all but the newest."""
    from transformers import TrainerCallback

    class Kill(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 5:
                raise KeyboardInterrupt("simulated kill at step 5")

    values = _stage1_values(tiny_backbone_dir, tmp_path / "whole", max_steps=6, eval_every=0.3, save_total_limit=None,
                            save_only_model=True)
    whole = run_training(make_config(values))
    cfg = make_config({**values, "output_dir": str(tmp_path / "killed")})
    with pytest.raises(KeyboardInterrupt):
        run_training(cfg, callbacks=[Kill()])
    killed = tmp_path / "killed"
    assert read_json(killed / "checkpoint-2" / "stream_state.json")["ranks"][0]["blocks"] == 2 * 8
    assert (
        not (killed / "checkpoint-2" / "optimizer.pt").exists()
        and (killed / "checkpoint-2" / "model.safetensors").is_file()
    )
    assert (killed / "checkpoint-4" / "optimizer.pt").is_file()  # the newest keeps its optimizer state for resume
    resumed = run_training(cfg)
    record = read_json(resumed.run_json)
    assert record["resumed_from"].endswith("checkpoint-4") and "checkpoint-4/stream_state.json" in record["stream"]
    assert resumed.steps == whole.steps == 6
    assert abs(resumed.final_loss - whole.final_loss) < 1e-4  # replaying the first blocks would change the losses
    assert record["tokens_seen"] == 6 * 8 * 64 and record["tokens_seen_this_run"] == 2 * 8 * 64
    assert sorted(p.name for p in (tmp_path / "whole").glob("checkpoint-*/optimizer.pt")) == ["optimizer.pt"]


def test_ds_zero2_json_accumulates_gradients_in_fp32():
    """Measured on an H200: without grad_accum_dtype fp32 a 7B stage 1 runs out of memory (stack-notes)."""
    import json

    config = json.loads((REPO / "params/launch/ds_zero2.json").read_text())
    assert config["data_types"] == {"grad_accum_dtype": "fp32"} and config["zero_optimization"]["stage"] == 2


def test_stage1_best_settings_keep_the_recipe(tiny_backbone_dir, tmp_path):
    """Fused AdamW; fp16 trains in bf16 only where the GPU has it (fp16_as_bf16); the global batch stays 256."""
    from alma_core.runs.train import training_arguments

    base = dict(stage=1, base_model=str(tiny_backbone_dir), output_dir=str(tmp_path), monolingual_langs=["en"],
                max_steps=2)
    cfg = make_config(base)
    assert training_arguments(cfg, batch_plan(cfg), 2).optim == "adamw_torch_fused"
    half = make_config({**base, "precision": "fp16"})
    assert half.effective_precision(bf16_supported=True) == "bf16"
    assert half.effective_precision(bf16_supported=False) == "fp16"
    assert make_config({**base, "precision": "fp16", "fp16_as_bf16": False}).effective_precision(True) == "fp16"
    assert cfg.effective_precision(True) == "fp32"
    for micro, world in ((4, 16), (16, 1), (16, 8)):
        plan = batch_plan(make_config({**base, "micro_batch_size": micro}), world)
        assert plan["global_batch_size"] == 256 and plan["micro_batch_size"] == micro


def test_packing_switch_flows_from_params_to_the_run(tiny_backbone_dir, tmp_path):
    """params `train.<run>.packing` -> jobs.train_config -> TrainConfig -> run.json (stage 2 packs by default)."""
    from types import SimpleNamespace

    from alma_core.jobs.core import train_config
    from alma_core.params.common import check_train_runs

    runs = {"off": dict(stage=2, base_model=str(tiny_backbone_dir), language_pairs=["de-en"], packing=False),
            "on": dict(stage=2, base_model=str(tiny_backbone_dir), language_pairs=["de-en"])}
    check_train_runs(runs)
    params = SimpleNamespace(train=runs, data_root=None, seed=1, profile="tiny", store_dir=str(tmp_path))
    assert make_config(train_config(params, "off")[0]).packing is False
    assert make_config(train_config(params, "on")[0]).packing is True
    result = run_training(make_config(_stage2(tiny_backbone_dir, tmp_path / "run", max_steps=1, max_length=256)))
    record = read_json(result.run_json)
    assert record["batching"].startswith("padding-free") and record["precision"] == "fp32"


def test_a_finished_run_is_never_rewritten(stage1, tmp_path, capsys):
    """Issue 22: a plain rerun keeps the finished record byte for byte (it used to write final_loss 0.0); a rerun with
    another config (max_steps 8) is refused with the keys and the fix; a damaged checkpoint is not even read."""
    values = _stage2(stage1.output_dir, tmp_path / "run", learning_rate=1e-3, max_steps=2, max_eval_examples=4)
    first = run_training(make_config(values))
    before = first.run_json.read_bytes()
    for checkpoint in (tmp_path / "run").glob("checkpoint-*"):
        (checkpoint / "model.safetensors").write_bytes(b"damaged")
    again = run_training(make_config(values))
    assert first.run_json.read_bytes() == before and "nothing to train, its record is kept" in capsys.readouterr().out
    assert (again.final_loss, again.steps, again.eval_loss) == (first.final_loss, first.steps, first.eval_loss)
    with pytest.raises(TrainConfigError, match=r"max_steps 2 -> 8.*own output_dir"):
        run_training(make_config({**values, "max_steps": 8}))
    assert first.run_json.read_bytes() == before
