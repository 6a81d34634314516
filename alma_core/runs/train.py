"""Stage 1 (monolingual) and stage 2 (parallel, full or LoRA) training with the HF Trainer (Sections 4, 5.2, App. A, C).

One YAML file states a run; `run_training` resolves it into TrainingArguments (global batch fixed,
gradient accumulation derived from micro-batch and world size), trains with right padding or packing,
checks losses are finite, logs loss / tokens/s / ETA, writes run.json, and resumes from the last
checkpoint when rerun. `python -m alma_core.runs.train --config FILE.yaml` is the same as a command.

The pieces it puts together: `config` (TrainConfig, batch plan, data checks), `stage1` (the monolingual
stream), `stage2` (the parallel examples), `trainer` (the HF Trainer, callbacks, token counts) and
`provenance` (versions, revision, hardware in run.json).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from alma_core.io import atomic_write_json, is_disk_full, read_json
from alma_core.provenance import determinism, git_revision, hardware, package_versions
from alma_core.recipe.data import DataError
from alma_core.recipe.languages import declare_languages
from alma_core.recipe.objectives import RightPadCollator
from alma_core.runs.checkpoints import (
    at_end,
    complete_marker_callback,
    last_complete_checkpoint,
    output_dir_lock,
    restore_finished,
)
from alma_core.runs.config import (
    TrainConfig,
    TrainConfigError,
    TrainDataError,
    batch_plan,
    check_data,
    load_train_config,
    loads_best,
    set_value,
)
from alma_core.runs.modeling import (
    ModelLoadError,
    apply_lora,
    count_parameters,
    count_trainable,
    fix_pad_token,
    load_backbone,
)
from alma_core.runs.stage1 import stage1_data
from alma_core.runs.stage2 import stage2_collators, stage2_data
from alma_core.runs.trainer import (
    StageData,
    bf16_supported,
    close_process_group,
    single_rank_env,
    token_record,
    trainer_class,
    training_callbacks,
    weights_only_callback,
)

__all__ = ["TrainResult", "training_arguments", "finished_run", "run_training", "load_trained", "main"]

@dataclass(frozen=True)
class TrainResult:
    """What a run left behind."""

    output_dir: Path
    best_checkpoint: Path | None
    run_json: Path
    final_loss: float
    eval_loss: float | None
    steps: int
    wall_time_s: float


def _is_local(name: str) -> bool:
    return Path(name).is_dir()


def training_arguments(cfg: TrainConfig, plan: dict[str, int], max_steps: int | None) -> Any:
    """HF TrainingArguments of a run: the paper's optimisation settings (Sec. 5.2, App. C) and the derived batch
    plan."""
    import torch
    from transformers import TrainingArguments

    on_gpu = torch.cuda.is_available()
    _check_report_to(cfg.report_to)
    if cfg.precision == "fp16" and not on_gpu:
        raise TrainConfigError("precision: fp16 needs a GPU (DeepSpeed/torch refuse it on CPU). Fix: use fp32 or bf16")
    return TrainingArguments(
        output_dir=cfg.output_dir,
        per_device_train_batch_size=cfg.micro_batch_size,
        per_device_eval_batch_size=cfg.micro_batch_size,
        gradient_accumulation_steps=plan["gradient_accumulation_steps"],
        learning_rate=cfg.lr,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_ratio=cfg.warmup_ratio,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        num_train_epochs=cfg.epochs,
        max_steps=max_steps if max_steps is not None else -1,
        eval_strategy="steps",
        eval_steps=cfg.eval_every,
        save_strategy="steps",
        save_steps=cfg.eval_every,
        save_total_limit=cfg.save_total_limit,
        save_only_model=False,  # cfg.save_only_model strips older checkpoints after the fact; the newest stays complete
        load_best_model_at_end=loads_best(cfg),
        metric_for_best_model="eval_loss" if cfg.stage == 2 else None,
        greater_is_better=False if cfg.stage == 2 else None,
        prediction_loss_only=True,
        logging_steps=cfg.logging_steps,
        logging_nan_inf_filter=False,
        group_by_length=cfg.group_by_length and cfg.stage == 2,
        remove_unused_columns=False,
        # Each rank reads its own shard of the stage-1 stream (accelerate would otherwise read and tokenize on rank 0
        # for all ranks); a resumed stage 1 restarts the stream at its saved position instead of replaying batches.
        accelerator_config={"dispatch_batches": False, "split_batches": False},
        ignore_data_skip=cfg.stage == 1,
        ddp_find_unused_parameters=False,  # every trained parameter takes part in each forward pass
        gradient_checkpointing=cfg.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False} if cfg.gradient_checkpointing else None,
        bf16=cfg.effective_precision(bf16_supported()) == "bf16",
        fp16=cfg.effective_precision(bf16_supported()) == "fp16",
        optim="adamw_torch_fused",  # one fused kernel per step (CPU and CUDA); the maths of AdamW unchanged
        use_cpu=not on_gpu,
        deepspeed=cfg.deepspeed,
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to=list(cfg.report_to) or "none",
        logging_dir=str(Path(cfg.output_dir) / "tensorboard"),
        disable_tqdm=True,  # the ProgressLogCallback line (step/max, loss, tok/s, ETA) is the progress report
        save_safetensors=True,
        dataloader_num_workers=0,
    )


def _check_report_to(report_to: Sequence[str]) -> None:
    """report_to names a logger whose package is installed (App. C logs), else a TrainConfigError with the fix."""
    import importlib.util

    needs = {"tensorboard": ("tensorboard", "tensorboardX"), "wandb": ("wandb",)}
    for name in report_to:
        if not any(importlib.util.find_spec(module) for module in needs[name]):
            raise TrainConfigError(f"report_to: {name} is not installed in this environment. Fix: `pip install "
                                   f"{needs[name][0]}`, or set report_to: [] in the run's params")


def _load_dtype(cfg: TrainConfig) -> str:
    """Load the weights in the training precision under DeepSpeed (it keeps fp32 master weights), else in fp32 (AMP
    needs them)."""
    return cfg.effective_precision(bf16_supported()) if cfg.deepspeed else "fp32"


def _record(cfg: TrainConfig, plan: dict[str, int], extra: dict[str, Any]) -> dict[str, Any]:
    return {"config": cfg.model_dump(), "learning_rate": cfg.lr, "batch": plan, "seed": cfg.seed,
            "git_revision": git_revision(), "versions": package_versions(), "hardware": hardware(),
            "determinism": determinism(),
            "command": sys.argv, **extra}


def _load_model(cfg: TrainConfig) -> tuple[Any, Any]:
    """The seeded backbone and tokenizer, LoRA on down_proj when asked (Sec. 5.2)."""
    from transformers import set_seed

    set_seed(cfg.seed)
    model, tokenizer = load_backbone(cfg.base_model, local_files_only=cfg.local_files_only, dtype=_load_dtype(cfg),
                                     trust_remote_code=cfg.trust_remote_code)
    if cfg.lora:
        model = apply_lora(model, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.lora_target_modules)
    return model, tokenizer


def _trainer(cfg: TrainConfig, plan: dict[str, int], model: Any, tokenizer: Any, data: StageData,
             callbacks: Sequence[Any]) -> tuple[Any, list[Any]]:
    """The HF Trainer of the run (App. C settings) and its finite-loss guard; the stage's collators and callbacks."""
    extra = [*data.callbacks, complete_marker_callback()]  # after the stream state, before older ones are stripped
    if cfg.save_only_model:
        extra.append(weights_only_callback())
    collator = eval_collator = RightPadCollator(tokenizer.pad_token_id, pad_to_multiple_of=cfg.pad_to_multiple_of,
                                                model_config=getattr(model, "config", None))
    if cfg.stage == 2:  # padding-free training batches (cfg.packing), unpacked validation
        collator, eval_collator, data.notes["batching"] = stage2_collators(cfg, tokenizer.pad_token_id,
                                                                           getattr(model, "config", None))
    data.notes["precision"] = cfg.effective_precision(bf16_supported())
    args = training_arguments(cfg, plan, data.max_steps)
    finite = training_callbacks()
    trainer = trainer_class()(model=model, args=args, train_dataset=data.train_set, eval_dataset=data.eval_set or None,
                              data_collator=collator, eval_data_collator=eval_collator, processing_class=tokenizer,
                              callbacks=[*finite, *extra, *callbacks])
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # our log line replaces the raw dict prints
    if not data.eval_set:
        trainer.args.eval_strategy = "no"
        trainer.args.load_best_model_at_end = False
    return trainer, finite


def _announce(cfg: TrainConfig, plan: dict[str, int], data: StageData, last: str | None) -> None:
    """The run's first log lines: the batch plan, the token counts, where it resumes, what it hands on."""
    print(f"[train] stage {cfg.stage} {cfg.objective}{' lora' if cfg.lora else ''}: world {plan['world_size']} "
          f"x micro {plan['micro_batch_size']} x accum {plan['gradient_accumulation_steps']} = global "
          f"{plan['global_batch_size']}; {data.counts}" + (f"; resuming from {last}" if last else ""), flush=True)
    for key in ("validation_note", "stream", "model_handed_on"):
        if key in data.notes:
            print(f"[train] {key.replace('_', ' ')}: {data.notes[key]}", flush=True)


def _save_outputs(cfg: TrainConfig, trainer: Any, tokenizer: Any, out: Path, main_rank: bool) -> Path | None:
    """The final model and tokenizer in output_dir; a local LoRA base copied beside them (the copy's path)."""
    trainer.save_model(str(out))
    if not main_rank:
        return None
    tokenizer.save_pretrained(out)
    if cfg.lora and _is_local(cfg.base_model):
        base_copy = out / "base"
        if not base_copy.exists():
            shutil.copytree(cfg.base_model, base_copy)
        return base_copy
    return None


def finished_run(cfg: TrainConfig) -> TrainResult | None:
    """A finished run in output_dir (run.json status done) as its record says, never rewritten (DESIGN.md: finished
    runs are immutable); None when there is none. A finished run of another config is an error naming the keys."""
    out = Path(cfg.output_dir)
    if not (out / "run.json").is_file():
        return None
    record = read_json(out / "run.json")
    if not isinstance(record, dict) or record.get("status") != "done" or "config" not in record:
        return None  # no finished record of a run (one without its config was not written by run_training)
    now = json.loads(json.dumps(cfg.model_dump(), default=str))
    then = record.get("config", {})
    changed = sorted(k for k in set(now) & set(then) if now[k] != then[k])  # fields newer than the record: not compared
    if changed:
        shown = ", ".join(f"{k} {then.get(k)!r} -> {now.get(k)!r}" for k in changed[:5])
        raise TrainConfigError(
            f"{out} holds a finished run of another config ({shown}); a finished run is never retrained or "
            "rewritten. Fix: give this config its own output_dir, or move the folder away to train it again.")
    print(f"[train] {out} is a finished run of this config (run.json status done): nothing to train, its record "
          "is kept as it is", flush=True)
    best = record.get("best_checkpoint")
    return TrainResult(out, Path(best) if best else None, out / "run.json", float(record.get("final_loss") or 0.0),
                       record.get("eval_loss"), int(record.get("steps") or 0), float(record.get("wall_time_s") or 0.0))


def run_training(cfg: TrainConfig, *, callbacks: Sequence[Any] = ()) -> TrainResult:
    """Train one stage as configured; resume from the last checkpoint in output_dir; write run.json (Sections 4-5.2).
    A finished run of the same config is returned as recorded (`finished_run`), never trained or rewritten again;
    one run at a time trains into an output_dir (`checkpoints.output_dir_lock`)."""
    declare_languages(cfg.declared_languages, "declared_languages")  # the params file's own languages
    check_data(cfg)
    with output_dir_lock(cfg):
        kept = finished_run(cfg)
        return kept if kept is not None else _train(cfg, callbacks)


def _train(cfg: TrainConfig, callbacks: Sequence[Any]) -> TrainResult:
    """The training itself (run_training holds the output_dir's lock): load, resume, train, evaluate, record."""
    plan = batch_plan(cfg)
    out = Path(cfg.output_dir)
    started = time.perf_counter()
    with single_rank_env(bool(cfg.deepspeed) and plan["world_size"] == 1):
        import torch

        model, tokenizer = _load_model(cfg)
        last = last_complete_checkpoint(out) if cfg.resume else None
        data = stage1_data(cfg, tokenizer, plan, last) if cfg.stage == 1 else stage2_data(cfg, tokenizer)
        trainer, finite = _trainer(cfg, plan, model, tokenizer, data, callbacks)
        record = _record(cfg, plan, {"status": "running", "resumed_from": last, "token_counts": data.counts,
                                     "parameters": count_parameters(model), "trainable": count_trainable(model),
                                     "load_best_model_at_end": trainer.args.load_best_model_at_end, **data.notes,
                                     "started": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        main_rank = trainer.is_world_process_zero()
        if main_rank:
            atomic_write_json(out / "run.json", record)
            _announce(cfg, plan, data, last)
        if at_end(last) and not cfg.deepspeed:  # killed after its last step: finish, do not train a step more
            output = restore_finished(trainer, last)
        else:
            output = trainer.train(resume_from_checkpoint=last)
        metrics = trainer.evaluate() if data.eval_set else {}
        base_copy = _save_outputs(cfg, trainer, tokenizer, out, main_rank)
        losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
        final_loss = float(losses[-1]) if losses else float(output.training_loss)
        best_dir = trainer.state.best_model_checkpoint if trainer.args.load_best_model_at_end else None
        best = Path(best_dir) if best_dir else None
        wall = time.perf_counter() - started
        record.update(
            status="done", steps=trainer.state.global_step, final_loss=final_loss,
            eval_loss=metrics.get("eval_loss"), best_checkpoint=str(best) if best else None,
            best_metric=trainer.state.best_metric, wall_time_s=round(wall, 3),
            **token_record(trainer.state.num_input_tokens_seen, 0, last, output.metrics),
            skipped_steps=len(finite[0].skipped_steps), skipped_step_numbers=sorted(finite[0].skipped_steps)[:100],
            lora=cfg.lora, base_model=cfg.base_model, base_saved=str(base_copy) if base_copy else None,
            train_metrics=output.metrics, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        if main_rank:  # the whole log history where HF users look for it (App. C's loss curves read it)
            atomic_write_json(out / "trainer_state.json", dataclasses.asdict(trainer.state))
            atomic_write_json(out / "run.json", record)  # last: status done marks the run finished
        del trainer, model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return TrainResult(out, best, out / "run.json", final_loss, metrics.get("eval_loss"), record["steps"], wall)


def load_trained(output_dir: str | os.PathLike, *, dtype: Any = None, merge: bool = False) -> tuple[Any, Any]:
    """Reload a finished run (full weights, or LoRA adapter on its saved/recorded base) for generation (Section 5.1)."""
    out = Path(output_dir)
    record = read_json(out / "run.json") if (out / "run.json").is_file() else {}
    remote = bool(record.get("config", {}).get("trust_remote_code", False))  # as the run's params asked, else never
    if not (out / "adapter_config.json").is_file():
        return load_backbone(out, dtype=dtype, trust_remote_code=remote)
    from peft import PeftModel
    from transformers import AutoTokenizer

    base = out / "base" if (out / "base").is_dir() else record.get("base_model")
    if base is None:
        raise ModelLoadError(f"{out}: LoRA adapter without base/ or run.json base_model. Fix: rerun the training")
    model, _ = load_backbone(base, dtype=dtype, trust_remote_code=remote)
    model = PeftModel.from_pretrained(model, str(out))
    tokenizer = AutoTokenizer.from_pretrained(out)
    if merge:
        model = model.merge_and_unload()
    fix_pad_token(model, tokenizer)
    return model.eval(), tokenizer


def main(argv: Sequence[str] | None = None) -> int:
    """CLI (Sections 4-5.2): `python -m alma_core.runs.train --config FILE.yaml [--set key=value ...] [--plan]`."""
    parser = argparse.ArgumentParser(prog="python -m alma_core.runs.train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="training YAML (see TrainConfig)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a key (YAML value)")
    parser.add_argument("--plan", action="store_true", help="print the resolved config and batch plan, do not train")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set {item!r}: expected KEY=VALUE")
        overrides[key] = value
    try:
        overrides = {key: set_value(key, value) for key, value in overrides.items()}
        cfg = load_train_config(args.config, overrides)
        if args.plan:
            print(yaml.safe_dump({"config": cfg.model_dump(), "batch": batch_plan(cfg), "learning_rate": cfg.lr}))
            return 0
        result = run_training(cfg)
    except (TrainConfigError, TrainDataError, ModelLoadError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        if not is_disk_full(err):
            raise
        where = getattr(err, "filename", None) or f"into the output_dir of {args.config}"
        print(f"error: could not write {where} ({err}). Fix: free "
              "disk space (or raise the quota / file-size limit), then rerun the same command: training resumes "
              "from the last complete checkpoint", file=sys.stderr)
        return 2
    finally:
        close_process_group()
    print(f"[train] done: final loss {result.final_loss:.4f}, eval loss {result.eval_loss}, "
          f"best {result.best_checkpoint}, {result.wall_time_s:.1f}s; {result.run_json}", flush=True)
    return 0


def exit_launched_rank(code: int) -> None:
    """Leave a torchrun rank without interpreter teardown once its work is written (App. C runs on N ranks).

    After a finished run, gloo/DeepSpeed background threads sometimes abort the teardown ("terminate called
    without an active exception"), and torchrun then fails a job whose results are complete (seen in the rehearsal).
    """
    if "LOCAL_RANK" in os.environ and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    exit_code = main()
    exit_launched_rank(exit_code)
    raise SystemExit(exit_code)
