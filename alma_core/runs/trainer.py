"""The HF Trainer as the runs use it (Section 5.2, App. C): reproducible batching, real-token counting, callbacks.

Also the plumbing around a run: finite-loss checks and the progress line, weights-only older checkpoints,
the single-rank DeepSpeed environment and a clean end of a launched process group.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from alma_core.io import read_json

__all__ = [
    "StageData",
    "NonFiniteLossError",
    "bf16_supported",
    "trainer_class",
    "training_callbacks",
    "weights_only_callback",
    "token_record",
    "single_rank_env",
    "close_process_group",
]


@dataclass
class StageData:
    """What one stage trains on: datasets, token counts, notes for run.json, its own callbacks, the step budget."""

    train_set: Any
    eval_set: Any
    counts: dict[str, Any]
    notes: dict[str, Any]
    callbacks: list[Any]
    max_steps: int | None

_log = logging.getLogger(__name__)


class NonFiniteLossError(FloatingPointError):
    """The training or validation loss became NaN/inf (e.g. left-padded half-precision batches)."""


def _real_tokens(inputs: dict, pad_token_id: int | None) -> int:
    """Unpadded tokens of a batch: the 2D attention mask's ones, else (a 4D App. A or packing mask, or a flat packed
    row) the non-pad input ids (pad differs from every text token: <unk> of a byte-fallback vocabulary)."""
    mask = inputs.get("attention_mask")
    if mask is not None and mask.dim() == 2:
        return int(mask.sum())
    ids = inputs["input_ids"]
    return int((ids != pad_token_id).sum()) if pad_token_id is not None else ids.numel()


def bf16_supported() -> bool:
    """Whether this machine's GPU trains in bf16 (App. C precision; `TrainConfig.effective_precision`); False on CPU."""
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def trainer_class() -> type:
    """HF Trainer with reproducible batching (Sec. 5.2): length-grouped train order seeded by epoch, eval in file order.

    HF's own length-grouped samplers draw from the global RNG (also for evaluation), so eval losses and
    resumed runs would not be reproducible. A packing collator (`packs = True`, alma_core.runs.stage2.PackedCollator)
    trains in the seeded random order (no length grouping: nothing to save, and steps mix lengths as the official
    code's do); `eval_data_collator=` gives evaluation its own collator (unpacked), else the training one is used.
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
        def __init__(self, *args: Any, eval_data_collator: Any = None, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.eval_data_collator = eval_data_collator

        def _get_dataloader(self, dataset, description, batch_size, sampler_fn=None, is_training=False,  # noqa: ANN001, ANN202
                            dataloader_key=None):
            if is_training or self.eval_data_collator is None:
                return super()._get_dataloader(dataset, description, batch_size, sampler_fn, is_training,
                                               dataloader_key)
            train_collator, self.data_collator = self.data_collator, self.eval_data_collator
            try:
                return super()._get_dataloader(dataset, description, batch_size, sampler_fn, is_training,
                                               dataloader_key)
            finally:
                self.data_collator = train_collator

        def _get_train_sampler(self, train_dataset=None):  # noqa: ANN001, ANN202
            dataset = train_dataset if train_dataset is not None else self.train_dataset
            if getattr(self.data_collator, "packs", False) and dataset is not None and hasattr(dataset, "__len__"):
                return torch.utils.data.RandomSampler(dataset)  # accelerate seeds it (data_seed + epoch)
            if self.args.group_by_length and dataset is not None and hasattr(dataset, "__len__"):
                # Megabatches of one GLOBAL batch, so 1 rank x accum 4 and 2 ranks x accum 2 see the same order
                # (HF's sampler groups per rank: train_batch_size x accumulation).
                size = self.args.train_batch_size * self.args.gradient_accumulation_steps * self.args.world_size
                return EpochSeededLengthSampler(
                    size, dataset=dataset, model_input_name="input_ids", seed=self.args.seed
                )
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


def training_callbacks() -> list[Any]:
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


def weights_only_callback() -> Any:
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
    """Delete a checkpoint's optimizer states (optimizer.pt; DeepSpeed's global_step*/ and `latest`), keeping its
    weights."""
    for path in [checkpoint / "optimizer.pt", checkpoint / "latest", *checkpoint.glob("global_step*")]:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file():
            path.unlink(missing_ok=True)


def token_record(seen: int, before: int, checkpoint: str | None, metrics: dict[str, Any]) -> dict[str, Any]:
    """run.json token counts: real (unpadded) tokens of ALL ranks; tokens/s over this process's training time (App.
    C)."""
    if checkpoint is not None and (Path(checkpoint) / "trainer_state.json").is_file():
        before = int(read_json(Path(checkpoint) / "trainer_state.json").get("num_input_tokens_seen", 0))
    runtime = float(metrics.get("train_runtime") or 0.0)
    session = seen - before
    return {"tokens_seen": seen, "tokens_seen_this_run": session,
            "tokens_per_s": round(session / runtime, 1) if runtime > 0 else None,
            "tokens_counted": "real (unpadded) input tokens summed over all ranks; tokens_per_s is this run's "
                              "(after a resume: since the resume) over its train_runtime"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def single_rank_env(enabled: bool) -> Iterator[bool]:
    """In-process DeepSpeed (App. C: ZeRO-2) needs torch.distributed env vars (else it wants mpi4py); set them, then
    undo."""
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
        _forget_deepspeed_groups()


def _forget_deepspeed_groups() -> None:
    """Drop DeepSpeed's cached process groups and comm backend, which die with the process group ("Group ... is not
    registered" in the next in-process run otherwise)."""
    if "deepspeed" not in sys.modules:
        return
    from deepspeed import comm
    from deepspeed.utils import groups

    for name, value in vars(groups).copy().items():
        if name.startswith("_") and name.endswith(("_GROUP", "_GROUP_RANKS")) and name.isupper():
            setattr(groups, name, {} if isinstance(value, dict) else None)
    comm.comm.cdb = None


def close_process_group() -> None:
    """End a launched multi-process run (App. C) cleanly: ranks leaving with the group open can abort at exit."""
    if "torch.distributed" not in sys.modules:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        with contextlib.suppress(Exception):
            dist.barrier()
        dist.destroy_process_group()
