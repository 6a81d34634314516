"""The base layer's files: atomic writes, reading with errors that name the file and line, input hashing, repository
paths, and the one lock (`locks`), the one YAML reader (`yaml_reader`) and the JSON readers (`json_reader`), re-exported
here: nothing already computed is lost, finished work is skipped, one writer at a time."""

from __future__ import annotations

import difflib
import errno
import hashlib
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

from alma_core.io.json_reader import DuplicateKeyError, duplicate_key_item, json_records, loads_unique
from alma_core.io.locks import LOCK, LockTimeout, lock_holder, locked
from alma_core.io.yaml_reader import YAML_MAX_BYTES, load_yaml_text, read_yaml_mapping

__all__ = [
    "DiskFullError",
    "is_disk_full",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "read_json",
    "read_text",
    "read_yaml_mapping",
    "load_yaml_text",
    "json_records",
    "DuplicateKeyError",
    "loads_unique",
    "duplicate_key_item",
    "YAML_MAX_BYTES",
    "stable_hash",
    "seeded_rng",
    "validation_message",
    "repo_root",
    "resolve",
    "LOCK",
    "LockTimeout",
    "lock_holder",
    "locked",
]


class DiskFullError(OSError, ValueError):
    """A write that failed for lack of space (or quota, or a file-size limit); nothing finished was overwritten."""


def is_disk_full(err: BaseException) -> bool:
    """Whether a write failed for lack of space, quota or a file-size limit (OSError, or safetensors' own I/O error)."""
    if isinstance(err, OSError):
        return err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
    text = str(err)
    return any(f"os error {code})" in text for code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write bytes to a temp file beside `path`, then rename it into place (never a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and is_disk_full(err):
            raise DiskFullError(err.errno, f"could not write {path}: no space left ({err.strerror}); the previous "
                                f"file, if any, is unchanged. Fix: free space (df -h {path.parent}), rerun") from None
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """UTF-8 text written atomically (alma_core.io.atomic_write_bytes)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Atomically write `obj` as indented UTF-8 JSON."""
    return atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file; a syntax error names the file, line and column, a key given twice names the file and key."""
    path = Path(path)
    try:
        return loads_unique(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}:{err.colno}: invalid JSON ({err.msg}); fix or delete the file") from None
    except DuplicateKeyError as err:
        raise ValueError(f"{path}: {err}") from None




def read_text(path: str | os.PathLike, what: str, fix: str,
              error: type[ValueError] = ValueError) -> tuple[Path, str]:
    """A UTF-8 file's text (BOM tolerated); a missing or undecodable file raises `error` naming the file and the fix."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: {what} not found. Fix: {fix}")
    try:
        return path, path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        utf16 = " (it looks like UTF-16)" if path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise error(f"{path}: not valid UTF-8 at byte {err.start}{utf16}. Fix: re-encode the file as UTF-8.") from None


def stable_hash(obj: Any, length: int = 12) -> str:
    """A short, order-independent hash of JSON-able inputs; keys cached results and built models."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


def validation_message(err: Any, where: str, fields: Any = None) -> str:
    """One line per wrong key of a pydantic ValidationError: file, key, problem and the fix (params and run configs)."""
    lines = []
    for item in err.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            known = f"; known keys: {', '.join(fields)}" if fields else ""
            meant = difflib.get_close_matches(str(item["loc"][-1]), list(fields or ()), n=1)
            known = f"; did you mean '{meant[0]}'?{known}" if meant else known
            lines.append(f"{where}: unknown key '{key}'. Fix: remove it or fix its spelling{known}")
        elif item["type"] == "missing":
            info = fields.get(key) if fields else None
            hint = f" ({info.description})" if info is not None and info.description else ""
            lines.append(f"{where}: missing key '{key}'. Fix: add it{hint}")
        elif item["type"] == "value_error":  # a validator's own message names the value (and often the fix)
            text = str(item.get("ctx", {}).get("error", item["msg"]))
            at = f"key '{key}': " if item["loc"] else ""
            lines.append(f"{where}: {at}{text}" + ("" if "Fix" in text else ". Fix: correct the value"))
        else:
            lines.append(f"{where}: key '{key}' = {item.get('input')!r}: {item['msg']}. Fix: correct the value")
    return "\n".join(lines)


def repo_root() -> Path:
    """The project checkout (where `_toc.yml` lives); falls back to the current directory."""
    root = Path(__file__).resolve().parents[2]
    if (root / "_toc.yml").is_file() or (root / "params").is_dir():
        return root
    return Path.cwd()


def resolve(path: str | os.PathLike) -> Path:
    """A path from a params file: absolute as given, otherwise relative to the repository root."""
    path = Path(path)
    return path if path.is_absolute() else repo_root() / path


def seeded_rng(*parts: object) -> random.Random:
    """A generator depending only on its parts, e.g. (seed, "documents", lang): stable across runs, processes and
    Python versions (the stand-ins' data: the mini world, the rehearsal's sentences and releases)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))
