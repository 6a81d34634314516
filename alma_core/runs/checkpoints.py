"""Checkpoints that are complete or not: the marker written last, resume from the newest complete one (Sec. 5.2).

A kill while HF (or the stage-1 stream state) is still writing a `checkpoint-N` folder leaves it half-saved; HF's own
resume would take the newest folder anyway. Every checkpoint gets `.complete.json` after all its files, and a resumed
run starts from the newest marked one (newer unmarked ones are deleted). A run killed after its last step is restored,
not trained one step further.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from alma_core.io import atomic_write_json, read_json

__all__ = ["COMPLETE", "complete_checkpoints", "last_complete_checkpoint", "at_end", "restore_finished",
           "complete_marker_callback"]

COMPLETE = ".complete.json"  # written into a checkpoint after every file of it (HF's and ours) is on disk


def _checkpoint_step(path: Path) -> int:
    """The step number of a `checkpoint-N` folder (-1 for another name)."""
    tail = path.name.removeprefix("checkpoint-")
    return int(tail) if path.name.startswith("checkpoint-") and tail.isdigit() else -1


def complete_checkpoints(out: Path) -> tuple[list[Path], list[Path]]:
    """(complete, incomplete) `checkpoint-N` folders of a run, by step (Sec. 5.2 resume; nothing half-saved is used).

    A checkpoint is complete when it holds the `.complete.json` marker written after all its files; a run saved
    before the marker existed counts a checkpoint whose trainer_state.json (HF's last file) parses as complete.
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
        (complete if ok else incomplete).append(folder)
    return complete, incomplete


def last_complete_checkpoint(out: Path) -> str | None:
    """The newest complete checkpoint of a run to resume from; half-written newer ones (a kill mid-save) are deleted."""
    if not out.is_dir():
        return None
    complete, incomplete = complete_checkpoints(out)
    newest = _checkpoint_step(complete[-1]) if complete else -1
    for folder in incomplete:
        if _checkpoint_step(folder) > newest:
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
