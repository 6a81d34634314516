"""Results store for the notebooks: finished work is keyed by a hash of its inputs and skipped on rerun.

A result is a JSON file `{"key": ..., "inputs": ..., "value": ...}`; a directory result (a trained
model) carries a `.done.json` marker with its key. Same inputs -> same key -> reused, so notebooks
share tiny models; `force=True` redoes the work. Writes are atomic (alma_core.io).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from alma_core.io import (
    LOCK,
    atomic_write_json,
    lock_holder,
    locked,
    read_json,
    repo_root,
    resolve,
    stable_hash,
)
from alma_core.io import LockTimeout as StoreLockTimeout

__all__ = [
    "repo_root",
    "resolve",
    "run_key",
    "cached_json",
    "cached",
    "LOCK",
    "StoreLockTimeout",
    "lock_holder",
    "locked",
    "is_done",
    "mark_done",
    "cached_dir",
]

T = TypeVar("T")
DONE = ".done.json"


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
    with locked(path.with_name(f".{path.name}{LOCK}"), f"store entry {path.name}"):
        record = None if force else _stored(path, key)  # another run may have finished it while we waited
        if record is not None:
            return record["value"]
        value = compute()
        atomic_write_json(path, {"key": key, "inputs": inputs, "value": value})
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
        with locked(directory / LOCK, f"store folder {directory.name}"):
            if force or not is_done(directory, key):
                info = build(directory)
                mark_done(directory, key, info)
    return directory
