"""The one lock: an flock on a lock file that records its holder, for store keys, job folders, book runs and
training output_dirs (one writer at a time; a dead holder's lock is free at once)."""

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
from typing import Any

__all__ = ["LOCK", "LockTimeout", "lock_holder", "locked"]


LOCK = ".lock"  # the lock file of a store entry, job folder or book run


class LockTimeout(RuntimeError):
    """Another run held a lock for longer than the caller was willing to wait."""


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
def locked(path: str | os.PathLike, what: str, *, timeout: float | None = None, wait: bool = True,
           echo: Callable[[str], Any] = lambda line: print(line, file=sys.stderr, flush=True)) -> Iterator[Path]:
    """Hold an exclusive lock on `path` (a lock file) while the block runs: one writer per store key, job folder,
    book run or training output_dir.

    The lock is an `flock` on the file, so the kernel releases it when its holder dies (SIGKILL, OOM, a lost
    node); the file also records pid, host, start and command for the messages. A second run waits (printing who
    holds the lock), or raises LockTimeout after `timeout` seconds (at once with `wait=False`); a record left by a
    dead holder is reported as a stale lock and cleared. The file is emptied, never deleted, on release (deleting a
    locked file lets two processes lock two different files).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed in finally
    acquired = False
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:  # the caller refuses at once (the train CLI's output_dir)
                raise LockTimeout(f"{what} is locked by {_describe(lock_holder(path))} ({path})") from None
            echo(f"[lock] {what} is locked by {_describe(lock_holder(path))}; waiting for it to finish ({path})")
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline is not None and time.monotonic() > deadline:
                        raise LockTimeout(
                            f"{what}: still locked by {_describe(lock_holder(path))} after {timeout:.0f} s ({path}). "
                            "Fix: wait for that run to finish, or stop it if it hangs") from None
                    time.sleep(0.2)
            echo(f"[lock] {what}: the other run released the lock; continuing")
        acquired = True
        old = lock_holder(path)
        if old and old.get("pid") != os.getpid():
            alive = old.get("host") == platform.node() and _pid_alive(int(old.get("pid", 0)))
            echo(f"[lock] {what}: stale lock of {_describe(old)} cleared"
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
