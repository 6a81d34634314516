"""What every scoring job does before it scores (Sec. 5.1, App. J): the device and dtype to decode in, the model of
the job (a finished run with LoRA merged, a backbone or a released checkpoint), and progress bars quiet in a log.
Used by runs.evaluate (translation jobs) and runs.crosslingual (App. J jobs).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from alma_core.runs.generate import load_translator
from alma_core.runs.train import load_trained

__all__ = ["decoding_device", "load_job_model", "quiet_progress"]


def decoding_device(dtype: str | None = "auto") -> tuple[str, str]:
    """(device, dtype) for decoding: the GPU when there is one, in bf16 (fp16 without bf16) for `auto`; fp32 on a
    CPU."""
    import torch

    if not torch.cuda.is_available():
        return "cpu", "fp32" if dtype in (None, "auto", "fp16") else str(dtype)
    if dtype in (None, "auto"):
        return "cuda", "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "cuda", str(dtype)


def load_job_model(job: Mapping[str, Any], device: str, dtype: str | None) -> tuple[Any, Any]:
    """A job's model on `device` in `dtype`: a finished training run (LoRA merged), or a backbone/released
    checkpoint."""
    if job.get("trained"):
        model, tokenizer = load_trained(job["trained"], dtype=dtype, merge=True)
        return model.to(device).eval(), tokenizer

    return load_translator(
        job["model"],
        adapter=job.get("adapter"),
        local_files_only=job.get("local_files_only", False),
        trust_remote_code=job.get("trust_remote_code", False),
        dtype=dtype,
        device=device,
    )


def quiet_progress(seconds: int = 30) -> None:
    """A job writing to a log (not a terminal) updates its progress bars every `seconds`, not 10 times a second."""
    if not sys.stderr.isatty():
        os.environ.setdefault("TQDM_MININTERVAL", str(seconds))
