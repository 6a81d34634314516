"""JSON readers that name the file and line: JSON-lines or JSON-array records, and objects that give a key twice
refused (json.loads would keep the last)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

__all__ = ["json_records", "DuplicateKeyError", "loads_unique", "duplicate_key_item"]


def json_records(path: str | os.PathLike, text: str,
                 error: type[ValueError] = ValueError) -> Iterator[tuple[int | None, int | None, Any]]:
    """(line, item, record) of a JSON-lines or JSON-array text, 1-based; bad syntax or an object naming a key twice
    (json.loads would keep only the last value) raises `error` naming file:line."""
    array = text.lstrip().startswith("[")
    chunks = [(None, text)] if array else [(n, raw) for n, raw in enumerate(text.split("\n"), start=1) if raw.strip()]
    for number, chunk in chunks:
        try:
            value = loads_unique(chunk)
        except json.JSONDecodeError as err:
            fix = ("this file looks like a JSON array; repair the syntax at that line" if array
                   else "each line must be one complete JSON object; repair or delete that line")
            raise error(f"{path}:{number or err.lineno}: bad JSON {'array' if array else 'line'} ({err.msg}, "
                        f"column {err.colno}). Fix: {fix}.") from None
        except DuplicateKeyError as err:
            if number is None:
                item, line = duplicate_key_item(chunk, err.key)
                raise error(f"{path}:{line} (JSON array item {item}): {err}") from None
            raise error(f"{path}:{number}: {err}") from None
        if array:
            yield from ((None, index, record) for index, record in enumerate(value, start=1))
        else:
            yield number, None, value


class DuplicateKeyError(ValueError):
    """A JSON object naming one key twice: json.loads would silently keep the last value (`loads_unique` refuses)."""

    def __init__(self, key: str, first: Any, last: Any) -> None:
        self.key, self.first, self.last = key, first, last
        super().__init__(f"duplicate key {key!r} in one JSON object ({_short_json(first)}, then {_short_json(last)}; "
                         f"only the last would be read). Fix: keep one {key!r} entry in that object.")


def _short_json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """object_pairs_hook of `loads_unique`: the object as a dict, or DuplicateKeyError at its first repeated key."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise DuplicateKeyError(key, seen[key], value)
            seen[key] = value
    return obj


def loads_unique(text: str) -> Any:
    """json.loads that raises DuplicateKeyError for an object naming a key twice (instead of keeping the last)."""
    return json.loads(text, object_pairs_hook=_unique_pairs)


def duplicate_key_item(text: str, key: str) -> tuple[int, int]:
    """(1-based array item, 1-based line) of the first object naming `key` twice in the JSON array `text`."""
    import re

    decoder = json.JSONDecoder(object_pairs_hook=_unique_pairs)
    gap = re.compile(r"[\s,]*")
    pos, item = text.index("[") + 1, 0
    while True:
        pos = gap.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= len(text) or text[pos] == "]":
            return 0, 1
        item += 1
        try:
            _value, pos = decoder.raw_decode(text, pos)
        except DuplicateKeyError:
            names = [m.start() for m in re.finditer(re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:",
                                                  text[pos:])]
            at = pos + (names[1] if len(names) > 1 else 0)
            return item, text.count("\n", 0, at) + 1
        except json.JSONDecodeError:
            return item, text.count("\n", 0, pos) + 1
