"""The rehearsal's ONE override: a paper/released params file changed in scale (and location) only.

`make rehearsal` runs every chapter with its `params/paper/*.yaml` (and the released ones) offline on
a CPU. These rules are the whole difference between a rehearsal run and the real one; everything
else (hub ids, data formats, launcher, sbatch script, DeepSpeed config, global batch 256, 512-token
blocks, beam 5, learning rates, epochs, COMET model id) is the params file's own:

| what | paper | rehearsal |
|---|---|---|
| stage-1 length | `train_tokens` (12-20B) / `max_steps` | 2 optimizer steps (2 x 256 x 512 tokens) |
| Sec. 6.1 checkpoints | 20, one per 1B tokens | 2, one per optimizer step |
| stage-1 validation blocks | 64 | 2 |
| parallel-data sweeps (Sec. 3, App. A) | 10K ... 20M pairs | the smallest and largest point, as 16 and 48 pairs (0
stays 0) |
| test sets | WMT'22/'21, all segments | first 4 segments |
| `max_new_tokens` | 256 | 12 |
| App. J items | all | first 4 per task and language |
| released outputs | fe1ixxu/ALMA `outputs/` at the pinned commit, downloaded once | `source: synthetic`: a generated
tree in the same layout, 4 segments per direction |
| cluster | `nodes` x `gpus_per_node` (2 x 8) | 1 node x 2 processes on a CPU, 1 on one GPU; sbatch submitted with
`--wait` |
| precision | fp16 / bf16 | fp16 -> fp32 on a CPU (DeepSpeed refuses fp16 there); unchanged on a GPU |
| places | `runs/<profile>`, `data/...`, OSCAR from the hub | `runs/rehearsal/<profile>`, `runs/rehearsal/data/...`,
the local OSCAR-format shards |
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["ROOT", "SCALE", "scale_params"]

ROOT = "runs/rehearsal"
SCALE: dict[str, int] = {
    "stage1_steps": 2,
    "checkpoints": 2,
    "eval_blocks": 2,
    "small_size": 16,
    "large_size": 48,
    "test_sentences": 4,
    "max_new_tokens": 12,
    "max_items": 4,
    "cpu_processes": 2,
}


def _relocate(value: Any, profile: str, root: str) -> Any:
    """Every path of the params moved under the rehearsal root: `runs/<profile>...` and `data/...`."""
    if isinstance(value, dict):
        return {key: _relocate(item, profile, root) for key, item in value.items()}
    if isinstance(value, list):
        return [_relocate(item, profile, root) for item in value]
    if isinstance(value, str):
        if value == f"runs/{profile}" or value.startswith(f"runs/{profile}/"):
            return f"{root}/{value.removeprefix('runs/')}"
        if value.startswith("data/"):
            return f"{root}/{value}"
    return value


def _scale_run(run: dict[str, Any], gpu: bool, root: str) -> None:
    """One TrainConfig mapping: stage 1 shortened to a few steps on the local OSCAR shards; precision the CPU can
    run."""
    if run.get("stage") == 1:
        block = int(run.get("global_batch_size", 256)) * int(run.get("max_length", 512))
        if "train_tokens" in run:
            run["train_tokens"] = SCALE["stage1_steps"] * block
        if run.get("max_steps"):
            run["max_steps"] = min(int(run["max_steps"]), SCALE["stage1_steps"])
        run["eval_blocks"] = min(int(run.get("eval_blocks", 16)), SCALE["eval_blocks"])
        if run.get("monolingual_source") == "oscar":
            run["oscar_data_files"] = f"{root}/data/oscar/{{lang}}_meta/{{lang}}_meta_part_*.jsonl.zst"
    if not gpu and run.get("precision") == "fp16":
        run["precision"] = "fp32"


def _size_map(sizes: list[int]) -> dict[int, int]:
    """A sweep's points: 0 kept, the smallest and largest non-zero ones as the small and large rehearsal sizes."""
    points = sorted(n for n in sizes if n > 0)
    mapping = {0: 0} if 0 in sizes else {}
    if points:
        mapping[points[0]] = SCALE["small_size"]
        mapping[points[-1]] = SCALE["large_size"] if len(points) > 1 else SCALE["small_size"]
    return mapping


def _scale_sweep(values: dict[str, Any]) -> None:
    """Sec. 3 / App. A: each backbone's sizes through the same map as the sweep's (a point not kept is dropped)."""
    mapping = _size_map(values["sizes"])
    values["sizes"] = sorted(set(mapping.values()))
    for spec in (values.get("backbones") or {}).values():
        if spec.get("sizes"):
            spec["sizes"] = sorted({mapping.get(n, SCALE["large_size"]) for n in spec["sizes"]})


def _scale_launch(launch: dict[str, Any], gpu: bool) -> None:
    """One node; 2 processes on a CPU (gloo) or 1 on the one GPU; sbatch scripts submitted and waited for."""
    if launch.get("launcher", "python") == "python":
        launch["gpus_per_node"] = 1
        return
    launch.update(nodes=1, gpus_per_node=1 if gpu else SCALE["cpu_processes"])
    if launch.get("launcher") == "slurm":
        launch.update(submit=True, wait=True)


def scale_params(values: dict[str, Any], *, root: str = ROOT, gpu: bool = False) -> dict[str, Any]:
    """A paper/released params mapping changed in scale only (module docstring): what the rehearsal runs."""
    out = _relocate(copy.deepcopy(values), values["profile"], root)
    for run in [*(out.get("train") or {}).values(), *(out[key] for key in ("stage1", "stage2") if key in out)]:
        _scale_run(run, gpu, root)
    if "sizes" in out:
        _scale_sweep(out)
    if "checkpoints" in out:
        stage1 = out["stage1"]
        out["checkpoints"] = min(int(out["checkpoints"]), SCALE["checkpoints"])
        out["checkpoint_every_tokens"] = int(stage1.get("global_batch_size", 256)) * int(stage1.get("max_length", 512))
    evaluation = out.get("evaluation")
    if isinstance(evaluation, dict) and "directions" in evaluation:
        evaluation.update(max_sentences=SCALE["test_sentences"], max_new_tokens=SCALE["max_new_tokens"])
    elif isinstance(evaluation, dict) and "tasks" in evaluation:
        evaluation["max_items"] = SCALE["max_items"]
    if str(out.get("source", "")).startswith(("http://", "https://")):  # the released outputs: never the network
        out.update(source="synthetic", synthetic_segments=SCALE["test_sentences"])
    if "launch" in out:
        _scale_launch(out["launch"], gpu)
    return out
