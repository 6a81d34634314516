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

sys.path.insert(0, str(Path(__file__).parent))

pytest_plugins = [name for name in ("fixtures.backbone", "fixtures.comet") if (Path(__file__).parent / f"{name.replace('.', '/')}.py").exists()]
