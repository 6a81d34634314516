"""Results store for the notebooks: finished work is keyed by a hash of its inputs and skipped on rerun.

A result is a JSON file `{"key": ..., "inputs": ..., "value": ...}`; a directory result (a trained
model) carries a `.done.json` marker with its key. Same inputs -> same key -> reused, so notebooks
share tiny models; `force=True` redoes the work. Writes are atomic (alma_core.io).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import alma_core
from alma_core.data import sample_data_dir
from alma_core.io import atomic_write_json, read_json, stable_hash
from alma_core.modeling import TinyBackboneConfig, build_tiny_backbone

__all__ = [
    "repo_root",
    "resolve",
    "run_key",
    "cached_json",
    "cached",
    "is_done",
    "mark_done",
    "cached_dir",
    "backbone_path",
    "data_dir",
]

T = TypeVar("T")
DONE = ".done.json"


def repo_root() -> Path:
    """The project checkout (where `_toc.yml` lives); falls back to the current directory."""
    root = Path(alma_core.__file__).resolve().parents[1]
    if (root / "_toc.yml").is_file() or (root / "params").is_dir():
        return root
    return Path.cwd()


def resolve(path: str | os.PathLike) -> Path:
    """A path from a params file: absolute as given, otherwise relative to the repository root."""
    path = Path(path)
    return path if path.is_absolute() else repo_root() / path


def run_key(inputs: Any) -> str:
    """The key of a piece of work: a stable hash of everything that determines its result."""
    return stable_hash(inputs, length=16)


def _stored(path: Path, key: str) -> dict[str, Any] | None:
    """The stored record at `path` if it exists, is readable and has `key`."""
    if not path.is_file():
        return None
    try:
        record = read_json(path)
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("key") == key else None


def cached_json(
    path: str | os.PathLike, key: str, compute: Callable[[], T], force: bool = False, inputs: Any = None
) -> T:
    """Return the JSON result stored at `path` for `key`, computing and storing it if absent or forced."""
    path = Path(path)
    record = None if force else _stored(path, key)
    if record is not None:
        return record["value"]
    start = time.time()
    value = compute()
    atomic_write_json(path, {"key": key, "inputs": inputs, "value": value, "seconds": round(time.time() - start, 3)})
    return value


def cached(path: str | os.PathLike, key: str, fn: Callable[[], T], force: bool = False) -> T:
    """Alias of `cached_json` (the name in CONTRIBUTING.md)."""
    return cached_json(path, key, fn, force=force)


def is_done(directory: str | os.PathLike, key: str) -> bool:
    """Whether `directory` holds a finished result for `key`."""
    return _stored(Path(directory) / DONE, key) is not None


def mark_done(directory: str | os.PathLike, key: str, info: Any = None) -> Path:
    """Write the marker saying `directory` holds the finished result for `key` (last step of a job)."""
    return atomic_write_json(Path(directory) / DONE, {"key": key, "value": info})


def cached_dir(directory: str | os.PathLike, key: str, build: Callable[[Path], Any], force: bool = False) -> Path:
    """Build a directory result (e.g. a trained model) unless it is done for `key`; returns the directory."""
    directory = Path(directory)
    if force or not is_done(directory, key):
        directory.mkdir(parents=True, exist_ok=True)
        info = build(directory)
        mark_done(directory, key, info)
    return directory


def backbone_path(model: str, tiny_backbone: dict[str, Any] | None, store_dir: str | os.PathLike) -> str:
    """Where a system's backbone comes from: the tiny stand-in built (once, cached) under the store, or a hub
    id/path."""
    if model != "tiny":
        return model

    return str(build_tiny_backbone(resolve(store_dir) / "backbones", TinyBackboneConfig(**(tiny_backbone or {}))))


def data_dir(value: str | os.PathLike | None) -> Path:
    """The data root of a params file: the shipped sample corpora when None, else the given folder.

    Used by notebooks/appE_off_target.ipynb, appH_human_written_data.ipynb.
    """
    if value is None:
        return Path(sample_data_dir())
    return resolve(value)
