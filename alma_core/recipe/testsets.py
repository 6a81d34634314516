"""WMT'22 / WMT'21 test sets (Section 5.1): is<->en from WMT'21, the other directions from WMT'22.

Two on-disk forms are read:

* ``fmt="sacrebleu-echo"``: plain text, one segment per line, as sacreBLEU prints it::

      sacrebleu -t wmt22 -l de-en --echo src > {root}/wmt22.de-en.src
      sacrebleu -t wmt22 -l de-en --echo ref > {root}/wmt22.de-en.ref

  i.e. ``{root}/{testset}.{src}-{tgt}.src`` and ``.ref``.
* ``fmt="json"``: the official human-written layout, ``{root}/{xx}en/test.{src}-{tgt}.json``, a JSON
  array (JSON lines also accepted) of ``{"translation": {src: ..., tgt: ...}}``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from alma_core.recipe.data import DataError, folder_problem, parallel_path, read_parallel, read_parallel_text
from alma_core.recipe.languages import get_language, wmt_test_set

__all__ = ["TestSetError", "TestSetFormat", "locate_test_set", "read_test_set", "read_lines"]

TestSetFormat = Literal["sacrebleu-echo", "json"]


class TestSetError(DataError):
    """A missing, malformed or misaligned test-set file."""

    __test__ = False  # not a pytest test class


def _pair_dir(src: str, tgt: str) -> str:
    """The official folder name of a language pair: `{xx}en` for xx<->en."""
    if "en" not in (src, tgt) or src == tgt:
        raise TestSetError(f"test sets are English-centric (xx-en or en-xx); got {src}-{tgt}")
    other = src if tgt == "en" else tgt
    return f"{other}en"


def locate_test_set(
    root: str | os.PathLike, src: str, tgt: str, fmt: TestSetFormat = "sacrebleu-echo", testset: str | None = None
) -> tuple[Path, ...]:
    """The file(s) read for one direction: (src file, ref file) for sacrebleu-echo, (json file,) for json."""
    get_language(src)
    get_language(tgt)
    root = Path(root)
    if fmt == "sacrebleu-echo":
        name = testset or wmt_test_set(src, tgt)
        stem = root / f"{name}.{src}-{tgt}"
        return Path(f"{stem}.src"), Path(f"{stem}.ref")
    if fmt == "json":
        _pair_dir(src, tgt)
        return (parallel_path(root, src, tgt, "test"),)
    raise TestSetError(f"unknown test-set format {fmt!r}; use 'sacrebleu-echo' or 'json'")


def _missing(path: Path, src: str, tgt: str, fmt: str, testset: str) -> TestSetError:
    """An error for a missing file that says how to produce it."""
    if fmt == "sacrebleu-echo":
        side = path.suffix.lstrip(".")
        how = (f"Fix: create it with `sacrebleu -t {testset} -l {src}-{tgt} --echo {side} > {path}` "
               "(needs internet once)")
    else:
        how = ("Fix: copy the official human_written_data/ folder (fe1ixxu/ALMA) or the HF dataset "
               "haoranxu/WMT22-Test there")
    listing = sorted(p.name for p in path.parent.iterdir())[:20] if path.parent.is_dir() else "folder missing"
    return TestSetError(f"test-set file not found: {path} (folder holds: {listing}); {how}")


def read_lines(path: str | os.PathLike) -> list[str]:
    """One segment per line (trailing newline stripped, inner whitespace kept); UTF-8 errors name the file."""
    path = Path(path)
    if folder_problem(path, "text file"):
        raise TestSetError(folder_problem(path, "text file (one segment per line)"))
    if not path.is_file():
        raise TestSetError(f"{path}: file not found. Fix: check the path (one segment per line, UTF-8)")
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM is not part of the first segment
    except UnicodeDecodeError as err:
        raise TestSetError(f"{path}: not UTF-8 at byte {err.start}. Fix: re-encode the file as UTF-8") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def read_test_set(
    root: str | os.PathLike, src: str, tgt: str, fmt: TestSetFormat = "sacrebleu-echo", testset: str | None = None
) -> tuple[list[str], list[str]]:
    """(sources, references) of a direction's test set, WMT'21 for is<->en and WMT'22 otherwise (Section 5.1)."""
    paths = locate_test_set(root, src, tgt, fmt, testset)
    name = testset or wmt_test_set(src, tgt)
    for path in paths:
        if folder_problem(path, "test-set file"):
            raise TestSetError(folder_problem(path, "test-set file"))
        if not path.is_file():
            raise _missing(path, src, tgt, fmt, name)
    pairs = read_parallel(paths[0], src, tgt) if fmt == "json" else read_parallel_text(*paths, src, tgt)
    return [s for s, _ in pairs], [r for _, r in pairs]
