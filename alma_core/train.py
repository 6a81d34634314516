"""Stage 1 (monolingual) and stage 2 (parallel, full or LoRA) training with the HF Trainer (Sections 4, 5.2, App. A, C).

One YAML file states a run; `run_training` resolves it into TrainingArguments (global batch fixed,
gradient accumulation derived from micro-batch and world size), trains with right padding or packing,
checks losses are finite, logs loss / tokens/s / ETA, writes run.json, and resumes from the last
checkpoint when rerun. `python -m alma_core.train --config FILE.yaml` is the same as a command.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alma_core.data import OSCAR_DATA_FILES
from alma_core.io import atomic_write_json, read_json, validation_message

__all__ = [
    "TrainConfig",
    "TrainConfigError",
    "TrainDataError",
    "NonFiniteLossError",
    "TrainResult",
    "load_train_config",
    "make_config",
    "gradient_accumulation",
    "batch_plan",
    "check_data",
    "validation_sources",
    "StreamPosition",
    "run_training",
    "load_trained",
    "main",
]

FULL_LR, LORA_LR = 2e-5, 2e-3  # Appendix C; official runs/parallel_ft_lora.sh
STREAM_STATE = "stream_state.json"  # stage-1 stream position saved in every checkpoint folder
_log = logging.getLogger(__name__)
_VERSIONED = ("torch", "transformers", "tokenizers", "peft", "accelerate", "deepspeed", "datasets", "numpy", "alma-core")


class TrainConfigError(ValueError):
    """A training config that does not validate; the message names the file, the key and the fix."""


class TrainDataError(ValueError):
    """A data file the config points at is missing; the message names the config key and the path."""


class NonFiniteLossError(FloatingPointError):
    """The training or validation loss became NaN/inf (e.g. left-padded half-precision batches)."""


class TrainConfig(BaseModel):
    """One training run (stage 1 or 2); defaults are the paper's (Section 5.2, Appendix C)."""

    model_config = ConfigDict(extra="forbid")

    stage: Literal[1, 2]
    objective: Literal["clm", "prefix_lm", "mod"] = Field("clm", description="App. A: CLM (ALMA), prefix-LM or MoD")
    base_model: str = Field(description="hub id (meta-llama/Llama-2-7b-hf) or a local directory")
    local_files_only: bool = False
    output_dir: str
    # stage 2: parallel data in the official layout
    data_root: str | None = Field(None, description="root of {xx}en/train.{xx}-en.json; None = shipped sample")
    language_pairs: list[str] = Field(default_factory=list, description="directions, e.g. [de-en, en-de]")
    max_train_examples: int | None = Field(None, ge=1)
    max_eval_examples: int | None = Field(None, ge=1)
    eval_holdout: float = Field(0.05, gt=0, lt=1, description="share of train held out per direction, only when NO "
                                "direction has a valid file (a direction without one otherwise trains on all its pairs)")
    # stage 1: monolingual mixture
    monolingual_source: Literal["files", "oscar"] = "files"
    monolingual_root: str | None = Field(None, description="root of monolingual/{lang}.txt; None = shipped sample")
    oscar_data_files: str = Field(OSCAR_DATA_FILES, description="monolingual_source oscar: OSCAR-2301 JSON-lines(.zst) "
                                  "shards, a pattern with {lang}; hf://datasets/... or a local path (relative = repo root)")
    monolingual_langs: list[str] = Field(default_factory=list)
    monolingual_ratios: dict[str, float] | None = Field(None, description="None = App. D.1 temperature sampling")
    temperature: float = Field(6.0, gt=0)
    train_tokens: int | None = Field(None, ge=1, description="stage-1 budget; sets max_steps")
    eval_blocks: int = Field(16, ge=1)
    # model
    lora: bool = False
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    lora_target_modules: list[str] = Field(default_factory=lambda: ["down_proj"])
    # optimisation
    learning_rate: float | None = Field(None, gt=0, description="None = 2e-5 full / 2e-3 LoRA")
    lr_scheduler: str = "inverse_sqrt"
    warmup_ratio: float = Field(0.01, ge=0, lt=1)
    weight_decay: float = Field(0.01, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    max_length: int = Field(512, ge=8)
    epochs: float = Field(2.0, gt=0)
    max_steps: int | None = Field(None, ge=1)
    global_batch_size: int = Field(256, ge=1)
    micro_batch_size: int = Field(4, ge=1)
    world_size: int | None = Field(None, ge=1, description="None = $WORLD_SIZE or 1")
    eval_every: float = Field(0.1, gt=0, lt=1, description="evaluate/save every this share of training")
    load_best_model_at_end: bool = True
    group_by_length: bool = Field(True, description="stage 2: batch similar lengths (less padding)")
    pad_to_multiple_of: int | None = Field(None, ge=1)
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    gradient_checkpointing: bool = Field(False, description="recompute activations in the backward pass (less memory)")
    save_only_model: bool = Field(False, description="every checkpoint but the newest keeps weights only (no optimizer "
                                  "states; Sec. 6.1 snapshots); the newest stays complete, so resume restores the optimizer")
    deepspeed: str | None = Field(None, description="DeepSpeed JSON, e.g. params/launch/ds_zero2.json")
    seed: int = 42
    logging_steps: int = Field(10, ge=1)
    save_total_limit: int | None = Field(2, ge=1)
    resume: bool = True

    @model_validator(mode="after")
    def _stage_fields(self) -> TrainConfig:
        if self.stage == 1:
            if not self.monolingual_langs:
                raise ValueError("stage 1 needs monolingual_langs, e.g. [en, de, cs, is, zh, ru]")
            if self.max_steps is None and self.train_tokens is None:
                raise ValueError("stage 1 needs max_steps or train_tokens (the monolingual stream is endless)")
            if self.objective != "clm":
                raise ValueError("stage 1 trains with objective clm (packed blocks, loss on all tokens)")
        elif not self.language_pairs:
            raise ValueError("stage 2 needs language_pairs, e.g. [de-en, en-de]")
        for pair in self.language_pairs:
            if pair.count("-") != 1:
                raise ValueError(f"language_pairs entry {pair!r} is not a direction like 'de-en'")
        if self.monolingual_ratios is not None and set(self.monolingual_ratios) != set(self.monolingual_langs):
            raise ValueError("monolingual_ratios must give a ratio for exactly the monolingual_langs")
        return self

    @property
    def lr(self) -> float:
        """Peak learning rate: the file's, else 2e-3 with LoRA and 2e-5 without (Appendix C)."""
        return self.learning_rate if self.learning_rate is not None else (LORA_LR if self.lora else FULL_LR)


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


def make_config(values: dict[str, Any], source: str = "<config>") -> TrainConfig:
    """Validate a dict into a TrainConfig; errors name the source and the key."""
    try:
        return TrainConfig.model_validate(values)
    except ValidationError as err:
        raise TrainConfigError(validation_message(err, source, TrainConfig.model_fields)) from None


def load_train_config(path: str | os.PathLike, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML training config (unknown keys, wrong types and stage mismatches fail naming the key)."""
    path = Path(path)
    if not path.is_file():
        raise TrainConfigError(f"{path}: no such config file. Fix: check the path")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise TrainConfigError(f"{path}: invalid YAML ({err}). Fix: correct the syntax") from None
    if not isinstance(values, dict):
        raise TrainConfigError(f"{path}: expected a mapping of keys to values, got {type(values).__name__}")
    return make_config({**values, **(overrides or {})}, str(path))


def gradient_accumulation(global_batch_size: int, micro_batch_size: int, world_size: int) -> int:
    """Accumulation steps that keep the global batch fixed whatever the GPU count (Appendix C: 16 x 4 x 4 = 256)."""
    per_step = micro_batch_size * world_size
    if global_batch_size % per_step:
        raise TrainConfigError(
            f"global_batch_size={global_batch_size} is not divisible by micro_batch_size x world_size = "
            f"{micro_batch_size} x {world_size} = {per_step}. Fix: choose sizes whose product divides it"
        )
    return global_batch_size // per_step


def batch_plan(cfg: TrainConfig, world_size: int | None = None) -> dict[str, int]:
    """World size, micro-batch, accumulation and global batch of a run (the global batch never changes)."""
    world = world_size or cfg.world_size or int(os.environ.get("WORLD_SIZE", "1"))
    accum = gradient_accumulation(cfg.global_batch_size, cfg.micro_batch_size, world)
    return {"world_size": world, "micro_batch_size": cfg.micro_batch_size, "gradient_accumulation_steps": accum,
            "global_batch_size": cfg.micro_batch_size * accum * world}


# ---------------------------------------------------------------------------------------------
# data


def _directions(cfg: TrainConfig) -> list[tuple[str, str]]:
    return [tuple(p.split("-")) for p in cfg.language_pairs]  # type: ignore[misc]


def _data_root(cfg: TrainConfig) -> Path:
    from alma_core.data import sample_data_dir

    return Path(cfg.data_root) if cfg.data_root else Path(sample_data_dir())


def _mono_root(cfg: TrainConfig) -> Path:
    from alma_core.data import sample_data_dir

    return Path(cfg.monolingual_root) if cfg.monolingual_root else Path(sample_data_dir())


def oscar_pattern(cfg: TrainConfig) -> str:
    """The OSCAR-2301 shard pattern of a run: remote as given, a relative local path resolved against the repo root."""
    from alma_core.store import resolve

    pattern = cfg.oscar_data_files
    return pattern if "://" in pattern else str(resolve(pattern))


def check_data(cfg: TrainConfig) -> None:
    """Fail early, naming the config key and the path, when a data file or the base model directory is missing."""
    from alma_core.data import monolingual_path, parallel_path

    base = Path(cfg.base_model)
    if (base.is_absolute() or cfg.base_model.startswith(".")) and not base.is_dir():
        raise TrainDataError(f"base_model: {base} does not exist. Fix: build/train it first or give a hub id")
    if cfg.deepspeed and not Path(cfg.deepspeed).is_file():
        raise TrainDataError(f"deepspeed: {cfg.deepspeed} does not exist. Fix: use e.g. params/launch/ds_zero2.json")
    if cfg.stage == 2:
        root = _data_root(cfg)
        for src, tgt in _directions(cfg):
            try:
                path = parallel_path(root, src, tgt, "train")
            except ValueError as err:
                raise TrainDataError(f"language_pairs: {src}-{tgt}: {err}") from None
            if not path.is_file():
                raise TrainDataError(
                    f"language_pairs: {src}-{tgt} needs {path}, which does not exist. "
                    "Fix: set data_root to the folder holding {xx}en/train.{xx}-en.json, or drop the pair"
                )
    elif cfg.monolingual_source == "files":
        for lang in cfg.monolingual_langs:
            path = monolingual_path(_mono_root(cfg), lang)
            if not path.is_file():
                raise TrainDataError(
                    f"monolingual_langs: {lang} needs {path}, which does not exist. Fix: set monolingual_root or drop {lang}"
                )
    elif cfg.monolingual_ratios is None:
        raise TrainDataError("monolingual_ratios: needed with monolingual_source=oscar (App. D.1 ratios)")
    elif "://" not in cfg.oscar_data_files:
        from alma_core.data import oscar_files

        for lang in cfg.monolingual_langs:
            try:
                oscar_files(lang, oscar_pattern(cfg))
            except FileNotFoundError as err:
                raise TrainDataError(
                    f"oscar_data_files: {lang}: {err}. Fix: download the OSCAR-2301 shards ({{lang}}_meta/"
                    f"{{lang}}_meta_part_*.jsonl.zst) there, point oscar_data_files at them, or drop {lang}"
                ) from None


def _example(cfg: TrainConfig, tokenizer: Any, src: str, tgt: str, source: str, target: str, rng: Any) -> dict:
    from alma_core import objectives

    if cfg.objective == "prefix_lm":
        return objectives.prefix_lm_example(tokenizer, src, tgt, source, target, cfg.max_length)
    if cfg.objective == "mod":
        return objectives.mixture_of_denoisers_example(tokenizer, src, tgt, source, target, rng, cfg.max_length)
    return objectives.parallel_example(tokenizer, src, tgt, source, target, cfg.max_length)


def validation_sources(cfg: TrainConfig) -> dict[str, Literal["valid", "none", "holdout"]]:
    """Where each direction's validation examples come from (Section 5.2, as the official code).

    "valid": its valid file; "none": it has no valid file (is-en), so it trains on all its pairs and adds no
    validation examples; "holdout": NO direction has a valid file, so each holds out `eval_holdout` of its pairs.
    """
    from alma_core.data import has_split

    root = _data_root(cfg)
    found = {f"{src}-{tgt}": has_split(root, src, tgt, "valid") for src, tgt in _directions(cfg)}
    if not any(found.values()):
        return {pair: "holdout" for pair in found}
    return {pair: "valid" if has else "none" for pair, has in found.items()}


def stage2_datasets(cfg: TrainConfig, tokenizer: Any) -> tuple[list[dict], list[dict]]:
    """Train and validation examples for every direction; prompt masked (Section 4.2) or an App. A objective."""
    import numpy as np

    from alma_core.data import load_pairs

    rng = np.random.default_rng(cfg.seed)
    root = _data_root(cfg)
    sources = validation_sources(cfg)
    train, valid = [], []
    for src, tgt in _directions(cfg):
        pairs = load_pairs(root, src, tgt, "train")
        held: list[tuple[str, str]] = []
        if sources[f"{src}-{tgt}"] == "valid":
            held = load_pairs(root, src, tgt, "valid")
        elif sources[f"{src}-{tgt}"] == "holdout" and len(pairs) > 1:
            cut = max(1, int(len(pairs) * cfg.eval_holdout))
            pairs, held = pairs[cut:], pairs[:cut]
        train += [_example(cfg, tokenizer, src, tgt, s, t, rng) for s, t in pairs]
        valid += [_example(cfg, tokenizer, src, tgt, s, t, rng) for s, t in held]
    order = np.random.default_rng(cfg.seed).permutation(len(train))
    train = [train[i] for i in order][: cfg.max_train_examples]
    order = np.random.default_rng(cfg.seed + 1).permutation(len(valid))
    valid = [valid[i] for i in order][: cfg.max_eval_examples]
    return train, valid


def monolingual_ratios(cfg: TrainConfig) -> dict[str, float]:
    """The stage-1 language mix: the file's ratios, else App. D.1 temperature sampling on word counts."""
    from alma_core.data import monolingual_path, read_monolingual, word_count
    from alma_core.sampling import temperature_ratios

    if cfg.monolingual_ratios is not None:
        return dict(cfg.monolingual_ratios)
    sizes = {lang: float(word_count(read_monolingual(monolingual_path(_mono_root(cfg), lang)), lang))
             for lang in cfg.monolingual_langs}
    return temperature_ratios(sizes, temperature=cfg.temperature)


def _document_sources(cfg: TrainConfig, rank: int = 0, world_size: int = 1) -> dict[str, Any]:
    """Per-language document streams of one rank: its share of the OSCAR shards, or every world_size-th line of a file."""
    from alma_core.data import monolingual_path, read_monolingual, stream_oscar

    if cfg.monolingual_source == "oscar":
        pattern = oscar_pattern(cfg)
        return {lang: (lambda lang=lang: stream_oscar(lang, data_files=pattern, rank=rank, world_size=world_size))
                for lang in cfg.monolingual_langs}
    texts = {lang: read_monolingual(monolingual_path(_mono_root(cfg), lang))[rank::world_size] for lang in cfg.monolingual_langs}
    return {lang: (lambda lang=lang: iter(texts[lang])) for lang in cfg.monolingual_langs}


@dataclass(frozen=True)
class StreamPosition:
    """Where a rank's stage-1 stream stands: `blocks` yielded; the next starts at token `offset` of document `docs`."""

    blocks: int = 0
    docs: int = 0
    offset: int = 0


def _advance(lengths: deque[int], position: StreamPosition, tokens: int) -> StreamPosition:
    """Move a position `tokens` tokens on; `lengths` holds the unread tokens of the documents from `position.docs`."""
    docs, offset = position.docs, position.offset
    while tokens > 0 and lengths:
        if lengths[0] <= tokens:
            tokens -= lengths.popleft()
            docs, offset = docs + 1, 0
        else:
            lengths[0] -= tokens
            offset, tokens = offset + tokens, 0
    return StreamPosition(position.blocks + 1, docs, offset)


def packed_blocks(cfg: TrainConfig, tokenizer: Any, seed: int, *, rank: int = 0, world_size: int = 1,
                  start: StreamPosition = StreamPosition(), track: dict[int, StreamPosition] | None = None) -> Iterator[dict]:
    """Endless stage-1 blocks of one rank: documents drawn by language ratio, BOS doc EOS packed into max_length blocks (Section 4.1).

    The block layout is that of `objectives.pack_documents`, streamed so that billions of tokens need no memory.
    `start` resumes the stream: the documents before it are skipped without tokenizing. `track[n]`, when given,
    receives the position after block n (the last 65,536 are kept) for the stream state saved with checkpoints.
    """
    from alma_core.objectives import prompt_start_ids
    from alma_core.sampling import interleave

    start_ids = prompt_start_ids(tokenizer)  # BOS where the tokenizer adds one (LLaMA), none for MPT/Falcon (Sec. 4.1)
    docs = interleave(_document_sources(cfg, rank, world_size), monolingual_ratios(cfg), seed + rank, skip=start.docs)
    carry: list[int] = []
    lengths: deque[int] = deque()
    position, trim = start, start.offset
    while True:
        for _, doc in itertools.islice(docs, 64):
            ids = [*start_ids, *tokenizer(doc, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id] if doc.strip() else []
            ids, trim = ids[trim:], 0
            carry += ids
            lengths.append(len(ids))
        while len(carry) >= cfg.max_length:
            ids, carry = carry[: cfg.max_length], carry[cfg.max_length :]
            position = _advance(lengths, position, cfg.max_length)
            if track is not None:
                track[position.blocks] = position
                track.pop(position.blocks - 65_536, None)
            yield {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": list(ids)}


def _stage1_dataset(cfg: TrainConfig, tokenizer: Any, world_size: int, starts: Sequence[StreamPosition],
                    tracks: dict[int, dict[int, StreamPosition]]) -> Any:
    """The stage-1 stream as a `datasets.IterableDataset` with one shard per rank (Section 4.1).

    accelerate gives each rank its own shard (`dispatch_batches=False`), so every rank reads and tokenizes only
    its documents instead of rank 0 doing it for all; `starts[rank]` resumes a rank, `tracks[rank]` follows it.
    """
    from datasets import IterableDataset

    def generate(ranks: list[int]) -> Iterator[dict]:
        for rank in ranks:
            track = tracks.setdefault(rank, {starts[rank].blocks: starts[rank]})
            yield from packed_blocks(cfg, tokenizer, cfg.seed, rank=rank, world_size=world_size, start=starts[rank], track=track)

    return IterableDataset.from_generator(generate, gen_kwargs={"ranks": list(range(world_size))})


def _stream_starts(cfg: TrainConfig, checkpoint: str | None, world_size: int) -> tuple[list[StreamPosition], str]:
    """Each rank's stage-1 stream position saved in `checkpoint` (and a note); the beginning when there is none."""
    fresh = [StreamPosition()] * world_size
    if checkpoint is None:
        return fresh, "from the beginning"
    path = Path(checkpoint) / STREAM_STATE
    if not path.is_file():
        return fresh, f"from the beginning: {path} is missing (the data already trained on is read again)"
    state = read_json(path)
    expect = {"world_size": world_size, "seed": cfg.seed, "max_length": cfg.max_length,
              "monolingual_langs": list(cfg.monolingual_langs)}
    differ = {k: (state.get(k), v) for k, v in expect.items() if state.get(k) != v}
    if differ:
        return fresh, f"from the beginning: {path} was saved with other settings (saved, now: {differ})"
    return [StreamPosition(**r) for r in state["ranks"]], f"from {path} ({state['ranks'][0]['blocks']} blocks per rank)"


# ---------------------------------------------------------------------------------------------
# callbacks


def _real_tokens(inputs: dict, pad_token_id: int | None) -> int:
    """Unpadded tokens of a batch: the 2D attention mask's ones, else (a 4D App. A mask) the non-pad input ids."""
    mask = inputs.get("attention_mask")
    if mask is not None and mask.dim() == 2:
        return int(mask.sum())
    ids = inputs["input_ids"]
    return int((ids != pad_token_id).sum()) if pad_token_id is not None else ids.numel()


def _trainer_class() -> type:
    """HF Trainer with reproducible batching: length-grouped train order seeded by epoch, eval in file order.

    HF's own length-grouped samplers draw from the global RNG (also for evaluation), so eval losses and
    resumed runs would not be reproducible.
    """
    import torch
    from transformers import Trainer
    from transformers.trainer_pt_utils import LengthGroupedSampler

    class EpochSeededLengthSampler(LengthGroupedSampler):
        def __init__(self, *args: Any, seed: int, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.seed, self.epoch = seed, 0

        def set_epoch(self, epoch: int) -> None:
            self.epoch = epoch

        def __iter__(self):  # noqa: ANN204
            self.generator = torch.Generator().manual_seed(self.seed + self.epoch)
            return super().__iter__()

    class ReproducibleTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):  # noqa: ANN001, ANN202
            dataset = train_dataset if train_dataset is not None else self.train_dataset
            if self.args.group_by_length and dataset is not None and hasattr(dataset, "__len__"):
                # Megabatches of one GLOBAL batch, so 1 rank x accum 4 and 2 ranks x accum 2 see the same order
                # (HF's sampler groups per rank: train_batch_size x accumulation).
                size = self.args.train_batch_size * self.args.gradient_accumulation_steps * self.args.world_size
                return EpochSeededLengthSampler(size, dataset=dataset, model_input_name="input_ids", seed=self.args.seed)
            return super()._get_train_sampler(train_dataset)

        def training_step(self, model, inputs, num_items_in_batch=None):  # noqa: ANN001, ANN201
            """Count the real tokens of every rank (kept in trainer_state.json, so a resumed run goes on counting)."""
            count = torch.tensor(_real_tokens(inputs, getattr(self.processing_class, "pad_token_id", None)),
                                 device=self.args.device, dtype=torch.int64)
            self.state.num_input_tokens_seen += int(self.accelerator.gather(count).sum().item())
            return super().training_step(model, inputs, num_items_in_batch)

        def create_optimizer(self):  # noqa: ANN202
            """AdamW without empty parameter groups: with LoRA the no-decay group is empty, and DeepSpeed ZeRO drops it,
            which left the LR scheduler one group longer than the optimizer (LoRA + ZeRO-2 crashed at step 1)."""
            optimizer = super().create_optimizer()
            optimizer.param_groups[:] = [group for group in optimizer.param_groups if group["params"]]
            return optimizer

        def _get_eval_sampler(self, eval_dataset):  # noqa: ANN001, ANN202
            return torch.utils.data.SequentialSampler(eval_dataset) if hasattr(eval_dataset, "__len__") else None

    return ReproducibleTrainer


def _callbacks() -> list[Any]:
    """[FiniteLossCallback, ProgressLogCallback] of a run (Section 5.2 training hygiene)."""
    from transformers import TrainerCallback

    class FiniteLossCallback(TrainerCallback):
        """Stop with NonFiniteLossError on a NaN/inf loss or eval_loss; count steps skipped for a loss-scale overflow.

        fp16 (DeepSpeed or torch AMP) skips the optimizer step when the scaled gradients overflow and logs
        grad_norm = inf: that is normal while the loss scale settles, so it is counted and warned about, not fatal.
        """

        def __init__(self) -> None:
            self.skipped_steps: set[int] = set()

        def _skipped(self, step: int, why: str) -> None:
            if step not in self.skipped_steps:
                self.skipped_steps.add(step)
                _log.warning("step %d skipped (%s): fp16 loss-scale overflow; %d skipped so far", step, why,
                             len(self.skipped_steps))

        def on_step_end(self, args, state, control, optimizer=None, **kwargs):  # noqa: ANN001
            if getattr(optimizer, "step_was_skipped", False):
                self._skipped(state.global_step, "optimizer step skipped")

        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            for key in ("loss", "eval_loss"):
                value = (logs or {}).get(key)
                if value is not None and not math.isfinite(float(value)):
                    raise NonFiniteLossError(
                        f"{key} = {value} at step {state.global_step}. Fix: use right padding (never left) for "
                        "training, lower the learning rate, or use bf16/fp32 instead of fp16"
                    )
            grad_norm = (logs or {}).get("grad_norm")
            if grad_norm is not None and not math.isfinite(float(grad_norm)):
                self._skipped(state.global_step, f"grad_norm = {grad_norm}")

    class ProgressLogCallback(TrainerCallback):
        """One log line per logging step: loss, tokens/s (all ranks together) and ETA."""

        def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001
            self.t0, self.tok0, self.step0 = time.perf_counter(), state.num_input_tokens_seen, state.global_step

        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            if not state.is_world_process_zero or not logs or "loss" not in logs:
                return
            elapsed = max(time.perf_counter() - self.t0, 1e-9)
            done = max(state.global_step - self.step0, 1)
            eta = timedelta(seconds=round(elapsed / done * max(state.max_steps - state.global_step, 0)))
            tps = (state.num_input_tokens_seen - self.tok0) / elapsed  # already summed over ranks
            print(
                f"[train] step {state.global_step}/{state.max_steps} loss {logs['loss']:.4f} "
                f"lr {logs.get('learning_rate', 0):.2e} tok/s {tps:,.0f} eta {eta}",
                flush=True,
            )

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):  # noqa: ANN001
            if state.is_world_process_zero and metrics and "eval_loss" in metrics:
                print(f"[train] eval step {state.global_step} eval_loss {metrics['eval_loss']:.4f}", flush=True)

    return [FiniteLossCallback(), ProgressLogCallback()]


def _stream_state_callback(cfg: TrainConfig, plan: dict[str, int], tracks: dict[int, dict[int, StreamPosition]]) -> Any:
    """Writes stream_state.json into every checkpoint: each rank's stage-1 stream position at that step (Section 4.1)."""
    from transformers import TrainerCallback

    class StreamStateCallback(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):  # noqa: ANN001
            import torch.distributed as dist

            blocks = state.global_step * plan["micro_batch_size"] * plan["gradient_accumulation_steps"]
            mine = [t.get(blocks) for t in tracks.values()]
            mine = [p.__dict__ if p is not None else None for p in mine] or [None]
            ranks = [None] * plan["world_size"] if dist.is_available() and dist.is_initialized() else [mine]
            if dist.is_available() and dist.is_initialized():
                dist.all_gather_object(ranks, mine)
            if not state.is_world_process_zero:
                return
            positions = [p for per_rank in ranks for p in per_rank]
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if any(p is None for p in positions) or len(positions) != plan["world_size"]:
                _log.warning("%s: no stream position for block %d on every rank; a resume reads the stream again",
                             folder, blocks)
                return
            atomic_write_json(folder / STREAM_STATE, {
                "world_size": plan["world_size"], "seed": cfg.seed, "max_length": cfg.max_length,
                "monolingual_langs": list(cfg.monolingual_langs), "ranks": positions})

    return StreamStateCallback()


def _weights_only_callback() -> Any:
    """save_only_model: strip optimizer states from every checkpoint but the newest (Sec. 6.1 keeps 20 snapshots)."""
    from transformers import TrainerCallback

    class WeightsOnlyCallback(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):  # noqa: ANN001
            if not state.is_local_process_zero:
                return
            newest = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            for folder in Path(args.output_dir).glob("checkpoint-*"):
                if folder != newest:
                    _strip_optimizer_state(folder)

    return WeightsOnlyCallback()


def _strip_optimizer_state(checkpoint: Path) -> None:
    """Delete a checkpoint's optimizer states (optimizer.pt; DeepSpeed's global_step*/ and `latest`), keeping its weights."""
    for path in [checkpoint / "optimizer.pt", checkpoint / "latest", *checkpoint.glob("global_step*")]:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file():
            path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# run


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _single_rank_env(enabled: bool) -> Iterator[bool]:
    """In-process DeepSpeed needs torch.distributed env vars (else it looks for mpi4py); set them, then undo."""
    if not enabled or "RANK" in os.environ:
        yield False
        return
    defaults = {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1",
                "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}
    saved = dict(os.environ)
    os.environ.update(defaults)
    try:
        yield True
    finally:
        # Undo these and what the Trainer set for DeepSpeed (ACCELERATE_USE_DEEPSPEED, ...), so a later
        # in-process run in the same process (a notebook, the test suite) is not taken for a DeepSpeed one.
        os.environ.clear()
        os.environ.update(saved)
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        with contextlib.suppress(Exception):
            from accelerate.state import AcceleratorState

            AcceleratorState._reset_state(reset_partial_state=True)


def _git_revision() -> str | None:
    try:
        root = Path(__file__).resolve().parent.parent
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "alma_core"], cwd=root, capture_output=True,
                               text=True, timeout=10)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if rev.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _hardware() -> dict[str, Any]:
    import torch

    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return {"machine": platform.machine(), "system": platform.system(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "gpus": gpus, "host": platform.node()}


def _is_local(name: str) -> bool:
    return Path(name).is_dir()


def training_arguments(cfg: TrainConfig, plan: dict[str, int], max_steps: int | None) -> Any:
    """HF TrainingArguments of a run: the paper's optimisation settings and the derived batch plan."""
    import torch
    from transformers import TrainingArguments

    on_gpu = torch.cuda.is_available()
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
        load_best_model_at_end=_loads_best(cfg),
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
        bf16=cfg.precision == "bf16",
        fp16=cfg.precision == "fp16",
        use_cpu=not on_gpu,
        deepspeed=cfg.deepspeed,
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to=[],
        disable_tqdm=True,
        save_safetensors=True,
        dataloader_num_workers=0,
    )


def _loads_best(cfg: TrainConfig) -> bool:
    """Stage 2 reloads the checkpoint with the lowest validation loss (Section 5.2); stage 1 always hands on its final model.

    Stage-1 validation blocks come from the training stream, so its "best" checkpoint is an arbitrary intermediate one.
    """
    return cfg.load_best_model_at_end and cfg.stage == 2


def _load_dtype(cfg: TrainConfig) -> str:
    """Load the weights in the training precision under DeepSpeed (it keeps fp32 master weights), else in fp32 (AMP needs them)."""
    return cfg.precision if cfg.deepspeed else "fp32"


def _record(cfg: TrainConfig, plan: dict[str, int], extra: dict[str, Any]) -> dict[str, Any]:
    return {"config": cfg.model_dump(), "learning_rate": cfg.lr, "batch": plan, "seed": cfg.seed,
            "git_revision": _git_revision(), "versions": _versions(), "hardware": _hardware(),
            "command": sys.argv, **extra}


def _token_record(seen: int, before: int, checkpoint: str | None, metrics: dict[str, Any]) -> dict[str, Any]:
    """run.json token counts: real (unpadded) tokens of ALL ranks; tokens/s over this process's training time (App. C)."""
    if checkpoint is not None and (Path(checkpoint) / "trainer_state.json").is_file():
        before = int(read_json(Path(checkpoint) / "trainer_state.json").get("num_input_tokens_seen", 0))
    runtime = float(metrics.get("train_runtime") or 0.0)
    session = seen - before
    return {"tokens_seen": seen, "tokens_seen_this_run": session,
            "tokens_per_s": round(session / runtime, 1) if runtime > 0 else None,
            "tokens_counted": "real (unpadded) input tokens summed over all ranks; tokens_per_s is this run's "
                              "(after a resume: since the resume) over its train_runtime"}


def run_training(cfg: TrainConfig, *, callbacks: Sequence[Any] = ()) -> TrainResult:
    """Train one stage as configured; resume from the last checkpoint in output_dir; write run.json (Sections 4-5.2)."""
    check_data(cfg)
    plan = batch_plan(cfg)
    out = Path(cfg.output_dir)
    started = time.perf_counter()
    with _single_rank_env(bool(cfg.deepspeed) and plan["world_size"] == 1):
        import torch
        from transformers import set_seed
        from transformers.trainer_utils import get_last_checkpoint

        from alma_core.modeling import apply_lora, count_parameters, count_trainable, load_backbone
        from alma_core.objectives import RightPadCollator

        set_seed(cfg.seed)
        model, tokenizer = load_backbone(cfg.base_model, local_files_only=cfg.local_files_only, dtype=_load_dtype(cfg))
        if cfg.lora:
            model = apply_lora(model, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.lora_target_modules)
        last = get_last_checkpoint(str(out)) if cfg.resume and out.is_dir() else None
        extra_callbacks, notes = [], {}
        if cfg.stage == 1:
            max_steps = cfg.max_steps or math.ceil(cfg.train_tokens / (cfg.global_batch_size * cfg.max_length))
            starts, notes["stream"] = _stream_starts(cfg, last, plan["world_size"])
            tracks: dict[int, dict[int, StreamPosition]] = {}
            train_set = _stage1_dataset(cfg, tokenizer, plan["world_size"], starts, tracks)
            extra_callbacks.append(_stream_state_callback(cfg, plan, tracks))
            eval_set = list(itertools.islice(packed_blocks(cfg, tokenizer, cfg.seed + 10_007), cfg.eval_blocks))
            counts = {"train_tokens_planned": max_steps * cfg.global_batch_size * cfg.max_length,
                      "language_ratios": monolingual_ratios(cfg)}
            notes["model_handed_on"] = "final model (stage 1 never loads its best checkpoint: its validation blocks " \
                                       "come from the training stream)"
        else:
            max_steps = cfg.max_steps
            train_set, eval_set = stage2_datasets(cfg, tokenizer)
            if not train_set:
                raise TrainDataError("language_pairs: the train files hold no examples. Fix: check data_root")
            counts = {"train_examples": len(train_set), "eval_examples": len(eval_set),
                      "train_tokens_per_epoch": sum(len(e["input_ids"]) for e in train_set),
                      "target_tokens_per_epoch": sum(sum(l != -100 for l in e["labels"]) for e in train_set)}
            notes["validation"] = validation_sources(cfg)
            if "holdout" in notes["validation"].values():
                notes["validation_note"] = (f"no direction has a valid file: each holds out {cfg.eval_holdout:.0%} of "
                                            "its train pairs (the official code trains on all of them)")
            notes["model_handed_on"] = "best checkpoint by validation loss" if _loads_best(cfg) and eval_set else "final model"
        if cfg.save_only_model:
            extra_callbacks.append(_weights_only_callback())
        collator = RightPadCollator(tokenizer.pad_token_id, pad_to_multiple_of=cfg.pad_to_multiple_of,
                                    model_config=getattr(model, "config", None))
        args = training_arguments(cfg, plan, max_steps)
        finite = _callbacks()
        trainer = _trainer_class()(model=model, args=args, train_dataset=train_set, eval_dataset=eval_set or None,
                                   data_collator=collator, processing_class=tokenizer,
                                   callbacks=[*finite, *extra_callbacks, *callbacks])
        from transformers.trainer_callback import PrinterCallback

        trainer.remove_callback(PrinterCallback)  # our log line replaces the raw dict prints
        if not eval_set:
            trainer.args.eval_strategy = "no"
            trainer.args.load_best_model_at_end = False
        record = _record(cfg, plan, {"status": "running", "resumed_from": last, "token_counts": counts,
                                     "parameters": count_parameters(model), "trainable": count_trainable(model),
                                     "load_best_model_at_end": trainer.args.load_best_model_at_end, **notes,
                                     "started": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        main_rank = trainer.is_world_process_zero()
        if main_rank:
            atomic_write_json(out / "run.json", record)
            print(f"[train] stage {cfg.stage} {cfg.objective}{' lora' if cfg.lora else ''}: world {plan['world_size']} "
                  f"x micro {plan['micro_batch_size']} x accum {plan['gradient_accumulation_steps']} = global "
                  f"{plan['global_batch_size']}; {counts}" + (f"; resuming from {last}" if last else ""), flush=True)
            for key in ("validation_note", "stream", "model_handed_on"):
                if key in notes:
                    print(f"[train] {key.replace('_', ' ')}: {notes[key]}", flush=True)
        tokens_before = 0
        output = trainer.train(resume_from_checkpoint=last)
        metrics = trainer.evaluate() if eval_set else {}
        trainer.save_model(str(out))
        base_copy = None
        if main_rank:
            tokenizer.save_pretrained(out)
            if cfg.lora and _is_local(cfg.base_model):
                base_copy = out / "base"
                if not base_copy.exists():
                    shutil.copytree(cfg.base_model, base_copy)
        losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
        final_loss = float(losses[-1]) if losses else float(output.training_loss)
        best_dir = trainer.state.best_model_checkpoint if trainer.args.load_best_model_at_end else None
        best = Path(best_dir) if best_dir else None
        wall = time.perf_counter() - started
        record.update(
            status="done", steps=trainer.state.global_step, final_loss=final_loss,
            eval_loss=metrics.get("eval_loss"), best_checkpoint=str(best) if best else None,
            best_metric=trainer.state.best_metric, wall_time_s=round(wall, 3),
            **_token_record(trainer.state.num_input_tokens_seen, tokens_before, last, output.metrics),
            skipped_steps=len(finite[0].skipped_steps), skipped_step_numbers=sorted(finite[0].skipped_steps)[:100],
            lora=cfg.lora, base_model=cfg.base_model, base_saved=str(base_copy) if base_copy else None,
            train_metrics=output.metrics, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        if main_rank:
            atomic_write_json(out / "run.json", record)
        del trainer, model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return TrainResult(out, best, out / "run.json", final_loss, metrics.get("eval_loss"), record["steps"], wall)


def load_trained(output_dir: str | os.PathLike, *, dtype: Any = None, merge: bool = False) -> tuple[Any, Any]:
    """Reload a finished run (full weights, or LoRA adapter on its saved/recorded base) for generation."""
    from alma_core.modeling import ModelLoadError, fix_pad_token, load_backbone

    out = Path(output_dir)
    if not (out / "adapter_config.json").is_file():
        return load_backbone(out, dtype=dtype)
    from peft import PeftModel
    from transformers import AutoTokenizer

    record = read_json(out / "run.json") if (out / "run.json").is_file() else {}
    base = out / "base" if (out / "base").is_dir() else record.get("base_model")
    if base is None:
        raise ModelLoadError(f"{out}: LoRA adapter without base/ or run.json base_model. Fix: rerun the training")
    model, _ = load_backbone(base, dtype=dtype)
    model = PeftModel.from_pretrained(model, str(out))
    tokenizer = AutoTokenizer.from_pretrained(out)
    if merge:
        model = model.merge_and_unload()
    fix_pad_token(model, tokenizer)
    return model.eval(), tokenizer


def _close_process_group() -> None:
    """End a launched multi-process run cleanly (ranks leaving with the group open can abort at exit)."""
    if "torch.distributed" not in sys.modules:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        with contextlib.suppress(Exception):
            dist.barrier()
        dist.destroy_process_group()


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: `python -m alma_core.train --config FILE.yaml [--set key=value ...] [--plan]`."""
    parser = argparse.ArgumentParser(prog="python -m alma_core.train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="training YAML (see TrainConfig)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a key (YAML value)")
    parser.add_argument("--plan", action="store_true", help="print the resolved config and batch plan, do not train")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set {item!r}: expected KEY=VALUE")
        overrides[key] = yaml.safe_load(value)
    try:
        cfg = load_train_config(args.config, overrides)
        if args.plan:
            print(yaml.safe_dump({"config": cfg.model_dump(), "batch": batch_plan(cfg), "learning_rate": cfg.lr}))
            return 0
        result = run_training(cfg)
    except (TrainConfigError, TrainDataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        _close_process_group()
    print(f"[train] done: final loss {result.final_loss:.4f}, eval loss {result.eval_loss}, "
          f"best {result.best_checkpoint}, {result.wall_time_s:.1f}s; {result.run_json}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
