"""Data readers with validation (Section 3, Section 4, Appendix D.2): parallel, few-shot, monolingual.

Formats mirror the official `human_written_data/` folder (see CONTRIBUTING.md, "Data layout"):

* parallel train files are JSON lines, valid/test files a JSON array, of
  ``{"translation": {"de": "...", "en": "..."}}`` objects (the reader auto-detects which);
* plain parallel text is two files with one segment per line (as WMT / sacreBLEU ship test sets);
* few-shot files are a JSON array of ``{"source": ..., "target": ...}``;
* monolingual text is one document per line, or JSON lines with a ``text`` field (OSCAR schema;
  streaming OSCAR-2301 itself is alma_core.recipe.oscar).

Every malformed input raises `DataError` naming the file, the 1-based line (or array item) and the fix: besides bad
syntax and missing keys, a segment of only invisible characters or with a NUL, a JSON key given twice, a folder where
a file is expected, and parallel data whose sides are in the wrong languages (`check_sides`: a fixed sample of each
side run through the off-target metric's language identifier).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from alma_core.io import atomic_write_text, json_records, read_text
from alma_core.recipe.data.sides import side_problem
from alma_core.recipe.languages import UnknownLanguageError, get_language

__all__ = [
    "write_train_pairs",
    "DataError",
    "check_language",
    "check_sides",
    "segment_problem",
    "folder_problem",
    "SPLITS",
    "SHOT_KINDS",
    "CHARACTER_COUNTED",
    "read_parallel",
    "read_parallel_text",
    "read_shots",
    "read_monolingual",
    "sample_data_dir",
    "parallel_path",
    "has_split",
    "load_pairs",
    "shots_path",
    "monolingual_path",
    "word_count",
]

PathLike = str | os.PathLike

SPLITS: tuple[str, ...] = ("train", "valid", "test")
SHOT_KINDS: tuple[str, ...] = ("HW", "Filtered")
# Languages written without spaces between words: `word_count` counts their characters instead.
CHARACTER_COUNTED: frozenset[str] = frozenset({"zh", "ja"})


class DataError(ValueError):
    """Malformed or missing data; the message names the file, the line and the fix."""


# ---------------------------------------------------------------------------------------------
# small helpers


def _where(path: Path, line: int | None = None, item: int | None = None) -> str:
    """Location prefix for error messages: `file:line` or `file (array item N)`, both 1-based."""
    if line is not None:
        return f"{path}:{line}"
    if item is not None:
        return f"{path} (JSON array item {item}, 1-based)"
    return str(path)


def folder_problem(path: PathLike, what: str) -> str:
    """'' unless `path` is a folder: then the message (naming what it holds and the fix) for a reader wanting a file."""
    path = Path(path)
    if not path.is_dir():
        return ""
    names = sorted(p.name for p in path.iterdir())
    holds = f"it holds {', '.join(names[:5])}{', ...' if len(names) > 5 else ''}" if names else "it is empty"
    return f"{path}: is a folder, not a {what} ({holds}). Fix: pass the path of the file itself, not its folder."


def _read_text(path: PathLike, what: str) -> tuple[Path, str]:
    """Read a UTF-8 file (BOM tolerated); a missing or undecodable file, or a folder, raises DataError."""
    folder = folder_problem(path, f"{what} file")
    if folder:
        raise DataError(folder)
    fix = ("check the path (and the data root), or write the file in the documented layout "
           "(CONTRIBUTING.md, 'Data layout').")
    return read_text(path, f"{what} file", fix, DataError)


def check_language(code: str, path: Path | None = None) -> str:
    """Validate a language code against the registry, naming the file in the error."""
    try:
        return get_language(code).code
    except UnknownLanguageError as err:
        prefix = f"{path}: " if path is not None else ""
        raise DataError(f"{prefix}{err}") from None


# Characters that show nothing (zero-width spaces and joiners, BOM, bidi and other format marks, fillers): a segment of
# only these is empty to a reader, a metric and a model.
_INVISIBLE = re.compile("[\\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]*")


def segment_problem(text: str) -> str:
    """'' for a usable segment, else what is wrong: 'empty segment', 'empty segment (only invisible characters:
    U+200B)' or 'NUL character at column N'; read_parallel, read_parallel_text and the evaluator's hypotheses use it."""
    if not text.strip():
        return "empty segment"
    if "\x00" in text:
        return f"NUL character at column {text.index(chr(0)) + 1}"
    if _INVISIBLE.fullmatch(text):
        shown = sorted({f"U+{ord(ch):04X}" for ch in text if not ch.isspace()})
        return f"empty segment (only invisible characters: {', '.join(shown)})"
    return ""


NUL_FIX = "the file is corrupted (a crashed or binary write?): re-create it, or remove the NUL bytes (tr -d '\\000')"


def _segment(value: Any, key: str, where: str, fix: str) -> str:
    """Check one text field: a non-empty string (not only invisible characters, no NUL)."""
    if not isinstance(value, str):
        raise DataError(f"{where}: {key!r} must be a string, got {type(value).__name__}. Fix: {fix}")
    problem = segment_problem(value)
    if problem:
        fix = NUL_FIX + "." if problem.startswith("NUL") else fix
        raise DataError(f"{where}: {problem.replace('segment', f'{key!r} segment', 1)}. Fix: {fix}")
    return value


# ---------------------------------------------------------------------------------------------
# the language of each side (issue 22: swapped sides, a source copied into the target)

def check_sides(pairs: Sequence[tuple[str, str]], src: str, tgt: str,
                files: tuple[PathLike, PathLike], labels: tuple[str, str]) -> None:
    """Refuse (DataError naming file, side and fix) parallel data whose sides are in the wrong languages
    (`sides.side_problem`: a fixed sample of each side through the language identifier)."""
    problem = side_problem(pairs, src, tgt, files, labels)
    if problem:
        raise DataError(problem)


# ---------------------------------------------------------------------------------------------
# readers


def read_parallel(path: PathLike, src: str, tgt: str) -> list[tuple[str, str]]:
    """Read human-written parallel data (Section 4; App. D.2) as (source in `src`, target in `tgt`) pairs.

    Accepts JSON lines (train files) or a JSON array (valid/test files) of
    ``{"translation": {src: ..., tgt: ...}}``; `read_parallel(p, "en", "de")` swaps the sides of a de-en file.
    """
    path = Path(path)
    check_language(src, path)
    check_language(tgt, path)
    if src == tgt:
        raise DataError(f"{path}: source and target language are both {src!r}. Fix: pass two different codes.")
    path, text = _read_text(path, "parallel data")
    fix_segment = "fill in the translation or delete this record."
    pairs: list[tuple[str, str]] = []
    for line, item, record in json_records(path, text, DataError):
        where = _where(path, line, item)
        translation = record.get("translation") if isinstance(record, dict) else None
        if not isinstance(translation, dict):
            raise DataError(
                f"{where}: expected an object {{\"translation\": {{\"{src}\": ..., \"{tgt}\": ...}}}}. "
                "Fix: wrap the pair in a 'translation' object."
            )
        for code in (src, tgt):
            if code not in translation:
                found = ", ".join(sorted(map(str, translation))) or "none"
                raise DataError(
                    f"{where}: missing language key {code!r} in 'translation' (found: {found}). "
                    f"Fix: add the {code!r} side, or pass the language codes this file holds."
                )
        pairs.append(
            (
                _segment(translation[src], src, where, fix_segment),
                _segment(translation[tgt], tgt, where, fix_segment),
            )
        )
    if not pairs:
        raise DataError(
            f"{path}: no parallel pairs found. Fix: the file is empty; add records or point to another file."
        )
    check_sides(pairs, src, tgt, (path, path), (repr(src), repr(tgt)))
    return pairs


def _text_lines(path: Path, text: str) -> list[str]:
    """Split text into lines on '\\n' only (WMT segments may hold other Unicode separators)."""
    if text.endswith("\n"):
        text = text[:-1]
    return [line.rstrip("\r") for line in text.split("\n")] if text else []


def read_parallel_text(src_path: PathLike, ref_path: PathLike, src: str | None = None,
                       tgt: str | None = None) -> list[tuple[str, str]]:
    """Read plain parallel text (Section 5.1 test sets): one segment per line, line N of both files aligned; given
    the languages, the side of each file is checked (`check_sides`)."""
    src_file, src_text = _read_text(src_path, "source")
    ref_file, ref_text = _read_text(ref_path, "reference")
    sources, references = _text_lines(src_file, src_text), _text_lines(ref_file, ref_text)
    for file, lines in ((src_file, sources), (ref_file, references)):
        if not lines:
            raise DataError(f"{file}: no segments found. Fix: the file is empty; point to the right test set.")
    if len(sources) != len(references):
        raise DataError(
            f"{src_file} has {len(sources)} lines but {ref_file} has {len(references)} lines. "
            "Fix: the files must be line-aligned (one segment per line, same count); "
            "check for a missing or extra line or an embedded newline."
        )
    for file, lines in ((src_file, sources), (ref_file, references)):
        for number, line in enumerate(lines, start=1):
            problem = segment_problem(line)
            if problem:
                fix = NUL_FIX if problem.startswith("NUL") else f"fill it in or delete line {number} in both files"
                raise DataError(f"{file}:{number}: {problem}. Fix: {fix}.")
    pairs = list(zip(sources, references))
    if src is not None and tgt is not None:
        check_sides(pairs, src, tgt, (src_file, ref_file), (f"source ({src})", f"reference ({tgt})"))
    return pairs


def read_shots(path: PathLike) -> list[tuple[str, str]]:
    """Read a few-shot file (Appendix I): a JSON array of {"source", "target"}, returned as (source, target)."""
    path, text = _read_text(path, "few-shot")
    if not text.lstrip().startswith("["):
        raise DataError(
            f'{path}:1: expected a JSON array of {{"source", "target"}} objects. Fix: wrap the shots in [...].'
        )
    shots: list[tuple[str, str]] = []
    for _line, item, record in json_records(path, text, DataError):
        where = _where(path, item=item)
        if not isinstance(record, dict):
            raise DataError(
                f"{where}: expected an object with 'source' and 'target'. Fix: write "
                f"{{\"source\": ..., \"target\": ...}}."
            )
        for key in ("source", "target"):
            if key not in record:
                raise DataError(f"{where}: missing key {key!r}. Fix: every shot needs both 'source' and 'target'.")
        fix = "every shot needs a non-empty source and target."
        shots.append(
            (_segment(record["source"], "source", where, fix), _segment(record["target"], "target", where, fix))
        )
    if not shots:
        raise DataError(f"{path}: no shots found. Fix: add at least one {{\"source\", \"target\"}} object.")
    return shots


def _is_json_lines(path: Path, text: str) -> bool:
    """Monolingual format detection: .jsonl/.json suffix, .txt never, otherwise a leading '{'."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return True
    if suffix == ".txt":
        return False
    return text.lstrip().startswith("{")


def read_monolingual(path: PathLike) -> list[str]:
    """Read monolingual documents (Section 4, stage 1): one per line (blank lines skipped) or JSON lines with `text`."""
    path, text = _read_text(path, "monolingual")
    documents: list[str] = []
    if _is_json_lines(path, text):
        for line, _item, record in json_records(path, text, DataError):
            where = _where(path, line)
            if not isinstance(record, dict) or "text" not in record:
                raise DataError(
                    f"{where}: missing key 'text'. Fix: each JSON line must be an object with a 'text' field (OSCAR "
                    f"schema)."
                )
            documents.append(_segment(record["text"], "text", where, "delete the line or fill in the document."))
    else:
        documents = [line for line in _text_lines(path, text) if line.strip()]
    if not documents:
        raise DataError(f"{path}: no documents found. Fix: the file is empty; add one document per line.")
    return documents


# ---------------------------------------------------------------------------------------------
# layout


def sample_data_dir() -> Path:
    """The shipped sample corpora (tiny profile; not WMT): `alma_core/recipe/data/sample/`."""
    return Path(str(resources.files("alma_core.recipe.data") / "sample"))


def _non_english(src: str, tgt: str) -> str:
    """The non-English side of an English-centric direction (the layout pairs every language with English)."""
    check_language(src)
    check_language(tgt)
    if (src == "en") == (tgt == "en"):
        raise DataError(
            f"direction {src}-{tgt} is not English-centric. Fix: the human-written layout pairs each "
            "language with English; use xx-en or en-xx."
        )
    return tgt if src == "en" else src


def parallel_path(root: PathLike, src: str, tgt: str, split: str) -> Path:
    """Path of a split in the official layout: `{xx}en/{train|valid}.{xx}-en.json`, `{xx}en/test.{src}-{tgt}.json`."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}. Fix: use one of {', '.join(SPLITS)}.")
    xx = _non_english(src, tgt)
    name = f"test.{src}-{tgt}.json" if split == "test" else f"{split}.{xx}-en.json"
    return Path(root) / f"{xx}en" / name


def has_split(root: PathLike, src: str, tgt: str, split: str) -> bool:
    """Whether a split exists (e.g. False for is-en valid: the paper has no Icelandic dev set, App. D.2)."""
    return parallel_path(root, src, tgt, split).is_file()


def load_pairs(root: PathLike, src: str, tgt: str, split: str) -> list[tuple[str, str]]:
    """Read one split of the layout as (source in `src`, target in `tgt`) pairs; a missing split says why."""
    path = parallel_path(root, src, tgt, split)
    if not path.is_file():
        hint = (
            " (the paper has no Icelandic validation set, App. D.2)" if split == "valid" and "is" in (src, tgt) else ""
        )
        raise DataError(
            f"{path}: no {split} split for {src}-{tgt}{hint}. Fix: check has_split() first and skip it, "
            "or write the file in the documented layout."
        )
    return read_parallel(path, src, tgt)


def write_train_pairs(
    root: PathLike, xx: str, pairs: Sequence[tuple[str, str]], *, valid_from: PathLike | None = None
) -> Path:
    """Write (xx, en) pairs as `{xx}en/train.{xx}-en.json` in the official layout (JSON lines), atomically.

    With `valid_from`, that root's validation split (if any) is copied beside it, so a derived data
    set (a subset, a degraded copy; Sections 3, 6.2, App. H) keeps the same model selection.
    """
    lines = "".join(json.dumps({"translation": {xx: a, "en": b}}, ensure_ascii=False) + "\n" for a, b in pairs)
    path = atomic_write_text(parallel_path(root, xx, "en", "train"), lines)
    if valid_from is not None and has_split(valid_from, xx, "en", "valid"):
        atomic_write_text(parallel_path(root, xx, "en", "valid"),
                          parallel_path(valid_from, xx, "en", "valid").read_text(encoding="utf-8"))
    return path


def shots_path(root: PathLike, src: str, tgt: str, kind: str = "HW") -> Path:
    """Path of a 5-shot file (Appendix I): `{HW|Filtered}-5-shot/shots.{src}-{tgt}.json`."""
    if kind not in SHOT_KINDS:
        raise DataError(f"unknown shot kind {kind!r}. Fix: use one of {', '.join(SHOT_KINDS)}.")
    _non_english(src, tgt)
    return Path(root) / f"{kind}-5-shot" / f"shots.{src}-{tgt}.json"


def monolingual_path(root: PathLike, lang: str) -> Path:
    """Path of a language's monolingual text: `monolingual/{lang}.txt`."""
    return Path(root) / "monolingual" / f"{check_language(lang)}.txt"


def word_count(texts: str | Iterable[str], lang: str | None = None) -> int:
    """Word count as in Table 5's #Words: whitespace-separated words; for zh/ja non-space characters.

    Chinese and Japanese do not separate words with spaces, so for `lang` in `CHARACTER_COUNTED`
    every non-whitespace character counts as one word (a common proxy; the paper does not say).
    """
    if isinstance(texts, str):
        texts = [texts]
    if lang is not None and check_language(lang) in CHARACTER_COUNTED:
        return sum(sum(1 for ch in text if not ch.isspace()) for text in texts)
    return sum(len(text.split()) for text in texts)
