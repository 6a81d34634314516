"""Checkpoints that are complete or not: the marker written last, resume from the newest complete one (Sec. 5.2).

A kill while HF (or the stage-1 stream state) is still writing a `checkpoint-N` folder leaves it half-saved; HF's own
resume would take the newest folder anyway. Every checkpoint gets `.complete.json` after all its files, and a resumed
run starts from the newest marked one whose files are intact (newer unmarked ones are deleted; a newer damaged one,
e.g. weights truncated by a copy or a full disk, is named and set aside as `damaged-checkpoint-N`). A run killed
after its last step is restored, not trained one step further. One run at a time trains into an output_dir
(`output_dir_lock`).
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alma_core.io import LockTimeout, atomic_write_json, locked, read_json
from alma_core.runs.config import TrainConfig, TrainConfigError

__all__ = ["COMPLETE", "checkpoint_problem", "complete_checkpoints", "last_complete_checkpoint", "at_end",
           "restore_finished", "complete_marker_callback", "TRAIN_LOCK", "output_dir_lock"]

COMPLETE = ".complete.json"  # written into a checkpoint after every file of it (HF's and ours) is on disk


def _checkpoint_step(path: Path) -> int:
    """The step number of a `checkpoint-N` folder (-1 for another name)."""
    tail = path.name.removeprefix("checkpoint-")
    return int(tail) if path.name.startswith("checkpoint-") and tail.isdigit() else -1


def _safetensors_problem(path: Path) -> str | None:
    """What is wrong with a .safetensors file's framing (8-byte header length, JSON header, data size), or None."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        length = int.from_bytes(head, "little") if len(head) == 8 else -1
        if length < 0 or length > size - 8:
            return f"{path.name} is cut off inside its header ({size} bytes)"
        try:
            header = json.loads(handle.read(length))
            end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return f"{path.name} has an unreadable header"
    if 8 + length + end != size:
        return f"{path.name} holds {size} bytes, its header describes {8 + length + end} (cut off or overwritten)"
    return None


def checkpoint_problem(folder: Path) -> str | None:
    """Why a saved checkpoint cannot be resumed from (trainer_state.json unreadable, weights or optimizer state
    truncated), or None when its files are intact (Sec. 5.2 resume)."""
    try:
        if not isinstance(read_json(folder / "trainer_state.json"), dict):
            return "trainer_state.json is not a JSON object"
    except (OSError, ValueError):
        return "trainer_state.json is missing or not valid JSON"
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".safetensors" and path.is_file():
            problem = _safetensors_problem(path)
            if problem:
                return problem
        elif path.suffix in (".pt", ".pth", ".bin") and path.is_file() and not zipfile.is_zipfile(path):
            return f"{path.relative_to(folder)} is cut off (torch's zip archive has no end record)"
    return None


def complete_checkpoints(out: Path) -> tuple[list[Path], list[Path]]:
    """(complete, incomplete) `checkpoint-N` folders of a run, by step (Sec. 5.2 resume; nothing half-saved is used).

    A checkpoint is complete when it holds the `.complete.json` marker written after all its files (a run saved
    before the marker existed: when its trainer_state.json, HF's last file, parses) and its files are intact
    (`checkpoint_problem`); a damaged one is listed as incomplete.
    """
    folders = sorted((p for p in out.glob("checkpoint-*") if p.is_dir() and _checkpoint_step(p) >= 0),
                     key=_checkpoint_step)
    legacy = not any((p / COMPLETE).is_file() for p in folders)
    complete, incomplete = [], []
    for folder in folders:
        ok = (folder / COMPLETE).is_file()
        if legacy and not ok:
            try:
                ok = isinstance(read_json(folder / "trainer_state.json"), dict)
            except (OSError, ValueError):
                ok = False
        (complete if ok and checkpoint_problem(folder) is None else incomplete).append(folder)
    return complete, incomplete


def last_complete_checkpoint(out: Path) -> str | None:
    """The newest complete checkpoint of a run to resume from; half-written newer ones (a kill mid-save) are deleted."""
    if not out.is_dir():
        return None
    complete, incomplete = complete_checkpoints(out)
    newest = _checkpoint_step(complete[-1]) if complete else -1
    for folder in incomplete:
        if _checkpoint_step(folder) <= newest:
            continue
        problem = checkpoint_problem(folder) if (folder / COMPLETE).is_file() else None
        if problem:  # saved in full once, damaged since: keep it for inspection, out of HF's `checkpoint-*` glob
            aside = folder.with_name(f"damaged-{folder.name}")
            shutil.rmtree(aside, ignore_errors=True)
            folder.rename(aside)
            print(f"[train] {folder} is damaged ({problem}); moved it to {aside.name} and resuming from "
                  f"{complete[-1].name if complete else 'the start'}", flush=True)
        else:
            print(f"[train] {folder} is incomplete (the run was killed while saving it); deleting it", flush=True)
            shutil.rmtree(folder, ignore_errors=True)
    return str(complete[-1]) if complete else None


def at_end(checkpoint: str | None) -> bool:
    """Whether a checkpoint was saved at the run's last step (HF's resume would still train one more step on a
    stream)."""
    if checkpoint is None:
        return False
    state = read_json(Path(checkpoint) / "trainer_state.json")
    return 0 < int(state.get("max_steps") or 0) <= int(state.get("global_step", 0))


def restore_finished(trainer: Any, checkpoint: str) -> Any:
    """Trainer state and weights of a run that finished training but was killed before run.json said done; the
    best checkpoint reloaded where the run loads it (Section 5.2), as trainer.train would at its end."""
    from transformers.trainer_callback import TrainerState
    from transformers.trainer_utils import TrainOutput

    trainer.state = TrainerState.load_from_json(str(Path(checkpoint) / "trainer_state.json"))
    trainer._load_from_checkpoint(checkpoint)
    if trainer.args.load_best_model_at_end and trainer.state.best_model_checkpoint:
        trainer._load_best_model()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    print(f"[train] {checkpoint} is the last step: restored it instead of training again", flush=True)
    return TrainOutput(trainer.state.global_step, sum(losses) / len(losses) if losses else 0.0, {})


def complete_marker_callback() -> Any:
    """Writes `.complete.json` into each checkpoint once HF and the callbacks before it have saved everything."""
    from transformers import TrainerCallback

    class CompleteMarkerCallback(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):  # noqa: ANN001
            if state.is_world_process_zero:
                folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if folder.is_dir():
                    atomic_write_json(folder / COMPLETE, {"step": state.global_step})

    return CompleteMarkerCallback()


TRAIN_LOCK = ".train.lock"  # in output_dir while a run trains into it (the job layer's own lock is `.lock`)


@contextmanager
def output_dir_lock(cfg: TrainConfig) -> Iterator[None]:
    """One training run per output_dir: a second one (another shell, a second launch) is refused at once, naming the
    first (its rank 0 holds the lock; a launch's other ranks share it)."""
    if int(os.environ.get("RANK", "0")) != 0:
        yield
        return
    out = Path(cfg.output_dir)
    try:
        with locked(out / TRAIN_LOCK, f"output_dir {out}", wait=False):
            yield
    except LockTimeout as err:
        raise TrainConfigError(f"{err}: another training run writes into this output_dir. Fix: wait for it to "
                               "finish (rerunning then finds the run done), or give this config its own output_dir"
                               ) from None
