"""Stage 2's parallel examples (Sections 4.2, 5.2, App. A): every direction's train and validation examples, and
their padding-free training batches (`PackedCollator`, chosen by `stage2_collators`; `TrainConfig.packing`)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from alma_core.recipe import denoising as objectives_appa
from alma_core.recipe import objectives
from alma_core.recipe.data import has_split, load_pairs
from alma_core.recipe.objectives import IGNORE_INDEX
from alma_core.runs.config import TrainConfig, TrainDataError, loads_best, parallel_data_root, train_directions
from alma_core.runs.trainer import StageData

if TYPE_CHECKING:
    import torch

__all__ = ["stage2_data", "validation_sources", "stage2_datasets", "packing_layout", "pack_rows", "PackedCollator",
           "block_causal_mask", "stage2_collators", "OfficialPadCollator"]


def _example(cfg: TrainConfig, tokenizer: Any, src: str, tgt: str, source: str, target: str, rng: Any) -> dict:
    if cfg.objective == "prefix_lm":
        return objectives_appa.prefix_lm_example(tokenizer, src, tgt, source, target, cfg.max_length)
    if cfg.objective == "mod":
        return objectives_appa.mixture_of_denoisers_example(tokenizer, src, tgt, source, target, rng, cfg.max_length)
    return objectives.parallel_example(tokenizer, src, tgt, source, target, cfg.max_length)


def validation_sources(cfg: TrainConfig) -> dict[str, Literal["valid", "none", "holdout"]]:
    """Where each direction's validation examples come from (Section 5.2, as the official code).

    "valid": its valid file; "none": it has no valid file (is-en), so it trains on all its pairs and adds no
    validation examples; "holdout": NO direction has a valid file, so each holds out `eval_holdout` of its pairs.
    """
    root = parallel_data_root(cfg)
    found = {f"{src}-{tgt}": has_split(root, src, tgt, "valid") for src, tgt in train_directions(cfg)}
    if not any(found.values()):
        return {pair: "holdout" for pair in found}
    return {pair: "valid" if has else "none" for pair, has in found.items()}


def stage2_datasets(cfg: TrainConfig, tokenizer: Any) -> tuple[list[dict], list[dict]]:
    """Train and validation examples for every direction; prompt masked (Section 4.2) or an App. A objective."""
    import numpy as np

    rng = np.random.default_rng(cfg.seed)
    root = parallel_data_root(cfg)
    sources = validation_sources(cfg)
    train, valid = [], []
    for src, tgt in train_directions(cfg):
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


# ---------------------------------------------------------------------------------------------
# padding-free batches (Sec. 5.2's global batch of examples, without the official pad-to-512 compute)

PackLayout = Literal["flat", "rows_bool", "rows_additive"]
_PACKABLE_TYPES = frozenset({"llama", "mistral"})  # rotary models whose 4D masks transformers 4.57 takes as given


def packing_layout(model_config: Any) -> PackLayout | None:
    """How a model takes a packed stage-2 batch (Sec. 5.2), or None where it cannot (it is right-padded instead).

    flash_attention_2/3: 'flat', one row [1, T] whose restarting position_ids drive varlen attention. sdpa: rows with
    a 4D bool block-diagonal causal mask ('rows_bool'); eager: the same mask additive ('rows_additive'). Restarting
    position_ids alone do NOT isolate examples on sdpa/eager in transformers 4.57: its packed-sequence detection is
    skipped whenever a KV cache exists, which a training forward builds under the default `use_cache=True`.
    """
    if getattr(model_config, "model_type", None) not in _PACKABLE_TYPES:
        return None
    implementation = str(getattr(model_config, "_attn_implementation", None) or "eager")
    if "flash" in implementation:
        return "flat"
    return {"sdpa": "rows_bool", "eager": "rows_additive"}.get(implementation)


def pack_rows(lengths: Sequence[int], max_length: int) -> list[list[int]]:
    """Indices of the examples in each row: the fewest rows of at most `max_length` tokens, balanced (Sec. 5.2).

    Longest example first into the least filled row that has room (LPT), one more row when none has; inside a row
    the examples keep their order. Balanced rows leave little padding when the rows are stacked into one tensor.
    """
    if any(n > max_length or n < 1 for n in lengths):
        raise ValueError(f"example lengths must lie in 1..max_length={max_length}, got {max(lengths)}; build the "
                         "examples with the same max_length as the packing (TrainConfig.max_length)")
    rows = max(1, math.ceil(sum(lengths) / max_length))
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    while True:
        loads, members = [0] * rows, [[] for _ in range(rows)]
        for i in order:
            fits = [r for r in range(rows) if loads[r] + lengths[i] <= max_length]
            if not fits:
                break
            r = min(fits, key=lambda r: (loads[r], r))
            loads[r] += lengths[i]
            members[r].append(i)
        else:
            return [sorted(m) for m in members if m]
        rows += 1


class PackedCollator:
    """A padding-free stage-2 batch (Sec. 4.2 examples, Sec. 5.2 batches): the micro-batch's examples, packed.

    Every example keeps its own positions (position_ids restart at 0) and attends only to itself; the label of
    each example's first token is IGNORE_INDEX, so no token is trained to predict the next example. The set of
    examples per micro-batch (and so per optimizer step) is the Trainer's, as unpacked; the loss, a mean over
    the target tokens of the global batch, is the same. `layout` comes from `packing_layout(model.config)`:
    'flat' = one row [1, T], no padding (flash attention, varlen); 'rows_bool' / 'rows_additive' = rows of at most
    `max_length` tokens (`pack_rows`), right-padded to the longest row, with a [rows, 1, W, W] block-diagonal
    causal mask (bool True = attend for sdpa; float 0 / min for eager). Padding tokens are pad_token_id (the
    trainer counts real tokens as the non-pad ids) and attend only to each other.
    """

    packs = True

    def __init__(self, pad_token_id: int, max_length: int, layout: PackLayout = "rows_bool",
                 pad_to_multiple_of: int | None = None):
        if layout not in ("flat", "rows_bool", "rows_additive"):
            raise ValueError(f"unknown packing layout {layout!r}; use 'flat', 'rows_bool' or 'rows_additive'")
        self.pad_token_id, self.max_length, self.layout = pad_token_id, max_length, layout
        self.pad_to_multiple_of = pad_to_multiple_of

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        import torch

        lengths = [len(f["input_ids"]) for f in features]
        if self.layout == "flat":
            rows = [list(range(len(features)))]
        else:
            rows = pack_rows(lengths, self.max_length)
        width = max(sum(lengths[i] for i in row) for row in rows)
        if self.pad_to_multiple_of and self.layout != "flat":
            width = -(-width // self.pad_to_multiple_of) * self.pad_to_multiple_of
        ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
        positions = torch.zeros((len(rows), width), dtype=torch.long)
        segment = torch.full((len(rows), width), -1, dtype=torch.long)  # -1: padding
        for r, row in enumerate(rows):
            start = 0
            for i in row:
                n, f = lengths[i], features[i]
                ids[r, start:start + n] = torch.tensor(f["input_ids"])
                labels[r, start:start + n] = torch.tensor(f["labels"])
                labels[r, start] = IGNORE_INDEX
                positions[r, start:start + n] = torch.arange(n)
                segment[r, start:start + n] = i
                start += n
            positions[r, start:] = torch.arange(width - start)
        batch: dict[str, Any] = {"input_ids": ids, "labels": labels, "position_ids": positions}
        if self.layout == "flat":  # varlen boundaries as transformers' DataCollatorWithFlattening gives them
            bounds = torch.tensor([0, *itertools.accumulate(lengths)], dtype=torch.int32)
            batch.update(cu_seq_lens_q=bounds, cu_seq_lens_k=bounds, max_length_q=max(lengths),
                         max_length_k=max(lengths))
        else:
            batch["attention_mask"] = block_causal_mask(segment, additive=self.layout == "rows_additive")
        return batch


def block_causal_mask(segment: torch.Tensor, *, additive: bool = False) -> torch.Tensor:
    """[rows, 1, W, W] causal mask inside each segment id (Sec. 5.2 packing); padding (-1) attends to padding only.

    bool: True = attend (sdpa); additive: 0 = attend, float32 min = blocked (eager).
    """
    import torch

    width = segment.shape[1]
    causal = torch.ones(width, width, dtype=torch.bool).tril()
    allowed = (segment[:, :, None] == segment[:, None, :]) & causal
    if not additive:
        return allowed[:, None]
    mask = torch.zeros(allowed.shape, dtype=torch.float32)
    return mask.masked_fill(~allowed, torch.finfo(torch.float32).min)[:, None]


def stage2_collators(cfg: TrainConfig, pad_token_id: int, model_config: Any) -> tuple[Any, Any, str]:
    """(train collator, eval collator, note) of a stage-2 run (Sec. 5.2): packed training where the model takes it.

    Training packs (`PackedCollator`) when `cfg.packing`, the objective is CLM and `packing_layout` knows the model;
    otherwise, and always for validation, examples are right-padded (`RightPadCollator`), so the validation loss
    and best-checkpoint choice are exactly those of an unpacked run. The note says which, for run.json.
    """
    padded = objectives.RightPadCollator(pad_token_id, pad_to_multiple_of=cfg.pad_to_multiple_of,
                                         model_config=model_config)
    layout = packing_layout(model_config) if cfg.packing and cfg.objective == "clm" else None
    if layout is None:
        why = ("packing: false" if not cfg.packing else f"objective {cfg.objective} needs its own 4D mask"
               if cfg.objective != "clm" else f"model type {getattr(model_config, 'model_type', None)!r} with "
               f"attention {getattr(model_config, '_attn_implementation', None)!r} is not packed")
        return padded, padded, f"right padding to the batch maximum ({why})"
    packed = PackedCollator(pad_token_id, cfg.max_length, layout, cfg.pad_to_multiple_of)
    return packed, padded, (f"padding-free: each micro-batch of {cfg.micro_batch_size} examples packed ({layout}), "
                            "per-example positions and attention; validation right-padded, unpacked")


class OfficialPadCollator:
    """The official code's stage-2 batches, the baseline of the throughput benchmarks (Sec. 5.2): every example
    padded to `max_length` (512), on the left as its tokenize_function_train_eval_left_pad does, or on the right
    (same compute; left-padded half-precision training went NaN, stack-notes), labels IGNORE_INDEX on the pads.
    """

    def __init__(self, pad_token_id: int, max_length: int = 512, side: Literal["left", "right"] = "left"):
        if side not in ("left", "right"):
            raise ValueError(f"side must be 'left' or 'right', got {side!r}")
        self.pad_token_id, self.max_length, self.side = pad_token_id, max_length, side

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        import torch

        def pad(seq: Sequence[int], value: int) -> list[int]:
            fill = [value] * (self.max_length - len(seq))
            return fill + list(seq) if self.side == "left" else list(seq) + fill

        if any(len(f["input_ids"]) > self.max_length for f in features):
            raise ValueError(f"an example is longer than max_length={self.max_length}; build the examples with it")
        return {"input_ids": torch.tensor([pad(f["input_ids"], self.pad_token_id) for f in features]),
                "attention_mask": torch.tensor([pad(f["attention_mask"], 0) for f in features]),
                "labels": torch.tensor([pad(f["labels"], IGNORE_INDEX) for f in features])}


def stage2_data(cfg: TrainConfig, tokenizer: Any) -> StageData:
    """Stage 2 (Sec. 4.2): every direction's prompt-masked examples and their validation split."""
    train_set, eval_set = stage2_datasets(cfg, tokenizer)
    if not train_set:
        raise TrainDataError("language_pairs: the train files hold no examples. Fix: check data_root")
    counts = {"train_examples": len(train_set), "eval_examples": len(eval_set),
              "train_tokens_per_epoch": sum(len(e["input_ids"]) for e in train_set),
              "target_tokens_per_epoch": sum(sum(label != -100 for label in e["labels"]) for e in train_set)}
    notes: dict[str, Any] = {"validation": validation_sources(cfg)}
    if "holdout" in notes["validation"].values():
        notes["validation_note"] = (f"no direction has a valid file: each holds out {cfg.eval_holdout:.0%} of "
                                    "its train pairs (the official code trains on all of them)")
    notes["model_handed_on"] = "best checkpoint by validation loss" if loads_best(cfg) and eval_set else "final model"
    return StageData(train_set, eval_set, counts, notes, [], cfg.max_steps)
