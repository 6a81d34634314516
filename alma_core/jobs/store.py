"""Results store for the notebooks: finished work is keyed by a hash of its inputs and skipped on rerun.

A result is a JSON file `{"key": ..., "inputs": ..., "value": ...}`; a directory result (a trained
model) carries a `.done.json` marker with its key. Same inputs -> same key -> reused, so notebooks
share tiny models; `force=True` redoes the work. Writes are atomic (alma_core.io).
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alma_core.io import atomic_write_json, read_json, repo_root, resolve, stable_hash

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
LOCK = ".lock"


class StoreLockTimeout(RuntimeError):
    """Another run held a store lock for longer than the caller was willing to wait."""


def _pid_alive(pid: int) -> bool:
    """Whether process `pid` runs on this host (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def lock_holder(path: str | os.PathLike) -> dict[str, Any]:
    """The pid, host, start time and command recorded in a lock file ({} when empty or unreadable)."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    """'pid 12 on host h since 2026-..: python -m ...' for messages."""
    if not holder:
        return "another process"
    command = " ".join(holder.get("command", []))[:160]
    return f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('since')} ({command})"


@contextmanager
def locked(path: str | os.PathLike, what: str, *, timeout: float | None = None,
           echo: Callable[[str], Any] = lambda line: print(line, file=sys.stderr, flush=True)) -> Iterator[Path]:
    """Hold an exclusive lock on `path` (a lock file) while the block runs: one writer per store key, job folder or
    book run.

    The lock is an `flock` on the file, so the kernel releases it when its holder dies (SIGKILL, OOM, a lost
    node); the file also records pid, host, start and command for the messages. A second run waits (printing who
    holds the lock), or raises StoreLockTimeout after `timeout` seconds; a record left by a dead holder is reported
    as a stale lock and cleared. The file is emptied, never deleted, on release (deleting a locked file lets two
    processes lock two different files).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed in finally
    acquired = False
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            echo(f"[store] {what} is locked by {_describe(lock_holder(path))}; waiting for it to finish ({path})")
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline is not None and time.monotonic() > deadline:
                        raise StoreLockTimeout(
                            f"{what}: still locked by {_describe(lock_holder(path))} after {timeout:.0f} s ({path}). "
                            "Fix: wait for that run to finish, or stop it if it hangs") from None
                    time.sleep(0.2)
            echo(f"[store] {what}: the other run released the lock; continuing")
        acquired = True
        old = lock_holder(path)
        if old and old.get("pid") != os.getpid():
            alive = old.get("host") == platform.node() and _pid_alive(int(old.get("pid", 0)))
            echo(f"[store] {what}: stale lock of {_describe(old)} cleared"
                 f" ({'pid reused by another process' if alive else 'that process is gone'}; {path})")
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": platform.node(), "command": sys.argv,
                                 "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}))
        handle.flush()
        yield path
    finally:
        try:
            if acquired:
                handle.seek(0)
                handle.truncate()
                handle.flush()
        finally:
            handle.close()  # closing the file releases the flock


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
