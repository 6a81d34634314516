"""What produced a number (Section 5.1, App. C): package versions, the git revision, the hardware and the
determinism settings, once.

Every run.json (training, evaluation, Appendix J scoring) records them; `report.provenance` shows them. Two builds
from clean stores on the same machine give byte-identical results (scores.json, hypotheses, predictions, weights,
the chapters' tables and figure data; tests/test_rebuild.py); what would make two builds differ is recorded here:
other package versions, another git revision, other hardware (GPU model, CPU count, torch threads: float sums
change with the thread count), other seeds, and the torch determinism flags. run.json files also hold what differs
on every run by nature and is therefore never compared: wall times ("seconds", "wall_time_s", "train_metrics"),
start/finish timestamps, the host name, the command line, and absolute paths of the store.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "VOLATILE", "package_versions", "git_revision", "hardware", "determinism"]

# run.json keys that differ on every run by nature (times, host, command); never compared across builds (nor is the
# store's own folder, which appears in paths).
VOLATILE = ("seconds", "wall_time_s", "started", "finished", "train_metrics", "tokens_per_s", "host", "command")

PACKAGES = ("torch", "transformers", "tokenizers", "peft", "accelerate", "deepspeed", "datasets", "numpy", "sacrebleu",
            "unbabel-comet", "alma-core")


def package_versions(packages: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    """Python and the installed versions of the packages that determine the numbers (None: not installed; App. C)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision() -> str | None:
    """HEAD of the checkout, `+dirty` when alma_core/ has uncommitted changes; None outside git (App. C provenance)."""
    try:
        root = Path(__file__).resolve().parent.parent
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "alma_core"], cwd=root, capture_output=True,
                               text=True, timeout=10)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if rev.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def hardware() -> dict[str, Any]:
    """Machine, CPU count, torch threads and GPU names of this process (App. C: what a run ran on)."""
    import torch

    gpus = (
        [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    )
    return {"machine": platform.machine(), "system": platform.system(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "gpus": gpus, "host": platform.node()}


def determinism() -> dict[str, Any]:
    """The settings that decide whether a rerun is bit-identical (App. C): torch's deterministic mode, cuDNN flags,
    TF32, threads, and the environment variables that change reductions or hashing."""
    import torch

    return {
        "torch_deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "tf32_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
        "torch_threads": torch.get_num_threads(),
        "env": {name: os.environ.get(name) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUBLAS_WORKSPACE_CONFIG",
                                                        "PYTHONHASHSEED", "CUDA_VISIBLE_DEVICES")},
    }
