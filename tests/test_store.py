"""Results store (alma_core.jobs.store): same inputs -> same key -> reused; force redoes; atomic JSON."""

from __future__ import annotations

import json
from pathlib import Path

from alma_core.jobs.store import cached_dir, cached_json, is_done, resolve, run_key


def test_run_key_is_stable_and_order_independent() -> None:
    assert run_key({"a": 1, "b": [1, 2]}) == run_key({"b": [1, 2], "a": 1})
    assert run_key({"a": 1}) != run_key({"a": 2})
    assert len(run_key({})) == 16


def test_cached_json_skips_finished_work(tmp_path: Path) -> None:
    calls: list[int] = []

    def compute() -> dict:
        calls.append(1)
        return {"bleu": 12.5}

    path = tmp_path / "scores" / "x.json"
    key = run_key({"model": "m", "direction": "de-en"})
    assert cached_json(path, key, compute) == {"bleu": 12.5}
    assert cached_json(path, key, compute) == {"bleu": 12.5}
    assert len(calls) == 1
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["key"] == key and record["value"] == {"bleu": 12.5}
    cached_json(path, key, compute, force=True)
    assert len(calls) == 2
    cached_json(path, run_key({"model": "other"}), compute)
    assert len(calls) == 3
    assert not list(path.parent.glob("*.tmp"))


def test_corrupt_record_is_recomputed(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{half-written", encoding="utf-8")
    assert cached_json(path, "k", lambda: 7) == 7
    assert cached_json(path, "k", lambda: 8) == 7


def test_cached_dir_marks_done(tmp_path: Path) -> None:
    built: list[Path] = []

    def build(directory: Path) -> dict:
        (directory / "model.bin").write_text("weights", encoding="utf-8")
        built.append(directory)
        return {"steps": 3}

    out = cached_dir(tmp_path / "run", "key1", build)
    assert (out / "model.bin").is_file() and is_done(out, "key1") and not is_done(out, "key2")
    cached_dir(tmp_path / "run", "key1", build)
    assert len(built) == 1
    cached_dir(tmp_path / "run", "key2", build)
    assert len(built) == 2


def test_resolve_keeps_absolute_paths(tmp_path: Path) -> None:
    assert resolve(tmp_path) == tmp_path
    assert resolve("runs/tiny").name == "tiny" and resolve("runs/tiny").is_absolute()
