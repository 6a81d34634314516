"""What produced a number (Section 5.1, App. C): package versions, the git revision and the hardware, once.

Every run.json (training, evaluation, Appendix J scoring) records them; `report.provenance` shows them.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "package_versions", "git_revision", "hardware"]

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
