"""What a chapter's jobs start from, built once under the store (DESIGN.md, "Profiles"): the tiny stand-in for
LLaMA-2, the mini world written from a params file's `world:` block, and the data root every job reads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alma_core.io import resolve, stable_hash
from alma_core.jobs.store import LOCK, cached_dir, locked
from alma_core.recipe.data import sample_data_dir
from alma_core.standins.mini_world_data import world_settings, write_world
from alma_core.standins.tiny_backbone import TinyBackboneConfig, build_tiny_backbone

__all__ = ["backbone_path", "backbone", "ensure_world", "data_dir", "data_root"]


def backbone_path(model: str, tiny_backbone: dict[str, Any] | None, store_dir: str | os.PathLike) -> str:
    """Where a system's backbone comes from: the tiny stand-in built (once, cached) under the store, or a hub
    id/path."""
    if model != "tiny":
        return model
    folder = resolve(store_dir) / "backbones"
    values = dict(tiny_backbone or {})
    if values.get("corpus_dir") is not None:  # relative to the repository, like every path of a params file
        values["corpus_dir"] = str(resolve(values["corpus_dir"]))
    with locked(folder / LOCK, "the tiny backbone build"):  # two runs must not write the same files at once
        return str(build_tiny_backbone(folder, TinyBackboneConfig(**values)))


def ensure_world(data_root: str | os.PathLike, spec: dict[str, Any]) -> Path:
    """Write the mini world of a params file's `world:` block to data_root once (cached by the block; issue 14)."""
    config, sizes = world_settings(spec, "world")

    def build(folder: Path) -> dict[str, Any]:
        write_world(folder, config, **sizes)
        return {"world": spec}

    return cached_dir(resolve(data_root), stable_hash({"world": spec, "v": 1}), build)


def data_dir(value: str | os.PathLike | None) -> Path:
    """The data root of a params file: the shipped sample corpora when None, else the given folder.

    Used by notebooks/appE_off_target.ipynb, appH_human_written_data.ipynb.
    """
    if value is None:
        return Path(sample_data_dir())
    return resolve(value)


def data_root(params: Any) -> Path:
    """The data root of a chapter's params, the mini world written there first when the params describe one."""
    if getattr(params, "world", None):
        ensure_world(params.data_root, params.world)
    return data_dir(params.data_root)


def backbone(params: Any, model: str = "tiny") -> str:
    """The backbone a chapter's job starts from (Sec. 2): the tiny stand-in, pretrained on the data root's text (the
    mini world written first), or a hub id or path as given."""
    if model == "tiny":
        data_root(params)
    return backbone_path(model, getattr(params, "tiny_backbone", {}), params.store_dir)
