"""Shared pytest set-up: offline, CPU-only, small thread counts; fixtures live in tests/fixtures/."""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("WANDB_DISABLED", "true")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # tiny models: one thread is faster and deterministic

sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = [
    name
    for name in ("fixtures.backbone", "fixtures.comet", "fixtures.local_hub", "fixtures.released_outputs",
                 "fixtures.languages")
    if (Path(__file__).parent / f"{name.replace('.', '/')}.py").exists()
]


def pytest_configure(config):
    """One torch thread for the whole suite (tiny models are overhead-bound; 5x faster on a shared 2-core box)."""
    import torch

    torch.set_num_threads(1)
