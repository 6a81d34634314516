"""THE YAML reader (params files, training and job configs): safe loading, bounded before anything is built, strict
about duplicate keys; every problem names the file, the line and the fix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["YAML_MAX_BYTES", "load_yaml_text", "read_yaml_mapping"]


YAML_MAX_BYTES = 1 << 20  # a params file or run config is a page of settings, never data
YAML_MAX_ALIASES = 100  # no shipped params file uses anchors or aliases at all
YAML_MAX_DEPTH = 32
YAML_MAX_VALUES = 100_000  # values after expanding every alias: a 12-line "billion laughs" holds 10**9


class _YAMLRefused(Exception):
    """A YAML text refused before (or while) it is built: the message, its line and the fix."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


def _bounded(text: str) -> None:
    """Scan the parser's events (nothing is built yet): refuse too many aliases, deep nesting, a huge expansion."""
    import yaml

    aliases, total, sizes, stack = 0, 0, {}, []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > YAML_MAX_ALIASES:
                raise _YAMLRefused(line, f"more than {YAML_MAX_ALIASES} aliases (*name). Fix: write the values out; "
                                         "settings need no anchors and aliases")
            total += sizes.get(event.anchor, 1)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            stack.append((event.anchor, total))
            total += 1
            if len(stack) > YAML_MAX_DEPTH:
                raise _YAMLRefused(line, f"nested deeper than {YAML_MAX_DEPTH} levels. Fix: flatten the structure "
                                         "(settings are a few levels of `key: value`)")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, start = stack.pop()
            if anchor is not None:
                sizes[anchor] = total - start
        elif isinstance(event, yaml.ScalarEvent):
            total += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        if total > YAML_MAX_VALUES:
            raise _YAMLRefused(line, f"its aliases expand to more than {YAML_MAX_VALUES} values (an alias bomb?). "
                                     "Fix: write the values out; settings need no anchors and aliases")


def _no_duplicate_keys(root: Any) -> None:
    """Refuse a key given twice in one mapping of a composed YAML document (plain YAML keeps the last one silently);
    keys are compared as the safe loader builds them (`1` and `0x1` are the same key), `<<` merges are left alone."""
    import yaml

    constructor, done, todo = yaml.constructor.SafeConstructor(), set(), [root]
    while todo:
        node = todo.pop()
        if node is None or id(node) in done:
            continue
        done.add(id(node))  # an alias is the same node again: each is checked once
        if isinstance(node, yaml.SequenceNode):
            todo.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                todo.extend((key_node, value_node))
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue  # `<<: *base` overrides on purpose; a non-scalar key fails in the loader itself
                key, line = constructor.construct_object(key_node, deep=True), key_node.start_mark.line + 1
                if key in seen:
                    raise _YAMLRefused(line, f"duplicate key {key!r} (first at line {seen[key]}; YAML would keep only "
                                             "the last). Fix: keep one of them")
                seen[key] = line


def load_yaml_text(text: str, where: str, error: type[Exception] = ValueError) -> Any:
    """Parse YAML with the safe loader, bounded (aliases, depth, expansion: checked on the parser's events before
    anything is built) and strict (no duplicate keys); a problem raises `error` naming `where`, the line and the fix.
    The parser behind read_yaml_mapping."""
    import yaml

    try:
        _bounded(text)  # events only: nothing is built before the bounds hold
        _no_duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader))  # nodes: an alias is not expanded
        return yaml.safe_load(text)
    except _YAMLRefused as err:
        raise error(f"{where}{f':{err.line}' if err.line else ''}: {err.message}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise error(f"{where}{line}: invalid YAML ({getattr(err, 'problem', None) or err}). Fix: correct the syntax "
                    "(or delete a file the job layer wrote and rerun the notebook to write it again)") from None


def read_yaml_mapping(path: str | os.PathLike, what: str, error: type[Exception] = ValueError, *,
                      fix_missing: str = "check the path (the job layer writes it into the job's folder)",
                      allow_empty: bool = False) -> dict[str, Any]:
    """THE YAML reader (params files, training and job configs): a mapping read with the safe loader; a missing file,
    a file over 1 MiB, bad syntax, an alias bomb, deep nesting, a duplicate key, an empty file or a non-mapping
    raises `error` naming the file, the line and the fix."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: {what} not found. Fix: {fix_missing}")
    size = path.stat().st_size
    if size > YAML_MAX_BYTES:
        raise error(f"{path}: {size} bytes, more than a {what} may hold ({YAML_MAX_BYTES} bytes). Fix: keep settings "
                    "in it and data in the files it names")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{path}: not valid UTF-8 at byte {err.start}. Fix: re-encode the file as UTF-8") from None
    data = load_yaml_text(text, str(path), error)
    if data is None and allow_empty:
        return {}
    if data is None:
        raise error(f"{path}: the {what} is empty. Fix: write its `key: value` lines")
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping of keys to values, got {type(data).__name__}. Fix: rewrite it as "
                    "`key: value` lines")
    return data
