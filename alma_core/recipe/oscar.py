"""OSCAR-2301 streaming (Section 4, App. D.1): the stage-1 monolingual documents, per language, from the hub or
from local JSON-lines shards (`.jsonl` / `.jsonl.zst`) in its layout, each record checked against the schema.

Every malformed input raises `alma_core.recipe.data.DataError` naming the source, the record and the fix.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from alma_core.recipe.data import DataError, PathLike, check_language

__all__ = ["OSCAR_HUB_ID", "OSCAR_DATA_FILES", "oscar_files", "stream_oscar"]

OSCAR_HUB_ID = "oscar-corpus/OSCAR-2301"
# The hub layout of OSCAR-2301: per-language folders of zstd-compressed JSON-lines shards (datasets 5 refuses its
# script).
OSCAR_DATA_FILES = "hf://datasets/oscar-corpus/OSCAR-2301/{lang}_meta/{lang}_meta_part_*.jsonl.zst"


def oscar_files(lang: str, data_files: str | Sequence[str], base_path: PathLike = ".") -> list[str]:
    """The shards of one language (Section 4): `{lang}` in each pattern filled in, globs resolved (local or hf://)."""
    from datasets.data_files import resolve_pattern

    patterns = [data_files] if isinstance(data_files, (str, os.PathLike)) else list(data_files)
    files: list[str] = []
    for pattern in (str(p).replace("{lang}", lang) for p in patterns):
        try:
            files += resolve_pattern(pattern, str(base_path))
        except FileNotFoundError as err:
            raise FileNotFoundError(f"no file matches {pattern!r} ({err})") from None
    return files


def stream_oscar(
    lang: str,
    *,
    hub_id: str = OSCAR_HUB_ID,
    data_files: str | Sequence[str] | None = None,
    split: str = "train",
    streaming: bool = True,
    cache_dir: PathLike | None = None,
    rank: int = 0,
    world_size: int = 1,
) -> Iterator[str]:
    """Stream OSCAR-2301 documents (Section 4, App. D.1), yielding each record's `text`; rank `rank` of `world_size`
    reads its share.

    With `data_files` (patterns with `{lang}`, e.g. `OSCAR_DATA_FILES` or local `.jsonl`/`.jsonl.zst` shards) each
    shard is read with the "json" builder and every record is checked (a string `text`, a `meta` mapping); ranks take
    every `world_size`-th shard (every `world_size`-th record when there are fewer shards than ranks).
    Without `data_files` the hub set `hub_id` is loaded with config `lang` (needs a loading script: datasets 5 refuses).
    `cache_dir` is passed to `load_dataset` (it matters when `streaming=False`).
    """
    from datasets import load_dataset  # heavy import, only when streaming

    check_language(lang)
    if not 0 <= rank < world_size:
        raise DataError(f"rank {rank} is outside world size {world_size}. Fix: pass 0 <= rank < world_size.")
    cache = str(cache_dir) if cache_dir is not None else None
    try:
        if data_files is None:
            dataset = load_dataset(hub_id, lang, split=split, streaming=streaming, cache_dir=cache)
            return itertools.islice(_oscar_texts(dataset, f"{hub_id} ({lang})"), rank, None, world_size)
        files = oscar_files(lang, data_files)
    except (FileNotFoundError, ConnectionError) as err:
        source = f"data_files={data_files!r}" if data_files is not None else f"{hub_id!r} (config {lang!r})"
        raise DataError(
            f"cannot load OSCAR documents from {source}: {err}. Fix: check the paths, or for the hub set accept "
            "its terms and run `huggingface-cli login`, or download the JSON-lines shards and pass data_files."
        ) from None
    except RuntimeError as err:
        if "scripts" not in str(err):
            raise
        raise DataError(
            f"{hub_id!r} needs a loading script, which this datasets version refuses ({err}). Fix: pass its "
            f"JSON-lines shards as data_files, e.g. {OSCAR_DATA_FILES!r} (or local copies; .zst needs `zstandard`)."
        ) from None
    mine = files[rank::world_size] if len(files) >= world_size else files

    def shard_texts(file: str) -> Iterator[str]:
        shard = load_dataset("json", data_files=[file], split=split, streaming=streaming, cache_dir=cache)
        return _oscar_texts(shard, file)

    texts = itertools.chain.from_iterable(shard_texts(file) for file in mine)
    return texts if len(files) >= world_size else itertools.islice(texts, rank, None, world_size)


def _oscar_texts(dataset: Iterable[Any], source: str) -> Iterator[str]:
    """Yield the non-blank `text` of each OSCAR-2301 record, checking the schema: a string `text` and a `meta`
    mapping."""
    for number, record in enumerate(dataset, start=1):
        where = f"{source}: record {number}"
        if not isinstance(record, dict):
            raise DataError(
                f"{where} is a {type(record).__name__}, not an object. Fix: use files in the OSCAR-2301 schema "
                "(one JSON object per line with 'text' and 'meta')."
            )
        for key, kind, name in (("text", str, "string"), ("meta", dict, "mapping")):
            if not isinstance(record.get(key), kind):
                found = "missing (or null)" if record.get(key) is None else f"a {type(record[key]).__name__}"
                raise DataError(f"{where}: field {key!r} must be a {name}, but it is {found}. Fix: use files in the "
                                "OSCAR-2301 schema ({'text': ..., 'meta': {'warc_headers', 'identification', ...}}).")
        if record["text"].strip():
            yield record["text"]
