"""The language of each side of parallel data (issue 22: swapped sides, a source copied into the target): a fixed
sample of each side through the off-target metric's language identifier (Sec. 5.1, App. E), refused only when most of
a side is confidently the pair's other language."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alma_core.recipe.languages import get_language

__all__ = ["SIDE_SAMPLE", "side_sample", "side_problem"]

PathLike = str | os.PathLike

SIDE_SAMPLE = 20  # lines per side run through the language identifier: evenly spaced, so the same every read
SIDE_CONFIDENCE = 0.9  # a line counts against its side only when identified as the OTHER language this surely
SIDE_MIN_LETTERS = 10  # shorter lines ("OK", "RANGT", a name) are no evidence either way
_CONFUSABLE: frozenset[frozenset[str]] = frozenset({frozenset({"ru", "uk"})})  # too alike for short lines


def side_sample(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Up to SIDE_SAMPLE pairs, evenly spaced: the same lines on every read of a file."""
    if len(pairs) <= SIDE_SAMPLE:
        return list(pairs)
    step = len(pairs) / SIDE_SAMPLE
    return [pairs[int(i * step)] for i in range(SIDE_SAMPLE)]


def side_problem(pairs: Sequence[tuple[str, str]], src: str, tgt: str,
                files: tuple[PathLike, PathLike], labels: tuple[str, str]) -> str | None:
    """What is wrong (naming file, side and fix) when most of a sample of one side is confidently the pair's
    OTHER language: swapped sides or a copied side. Pairs the identifier (py3langid) cannot tell apart, or holding a
    language it does not know, are not checked; invented words (the mini world) are never confidently the other."""
    from alma_core.recipe import metrics

    if frozenset({src, tgt}) in _CONFUSABLE or not {src, tgt} <= set(metrics.langid_languages()):
        return None
    sample = side_sample(pairs)
    identifier = metrics.langid_identifier()  # the off-target metric's identifier, loaded once (cheap)
    identifier.set_languages([src, tgt])
    try:
        against = [sum(1 for pair in sample if _is_surely(identifier, pair[side], other))
                   for side, other in ((0, tgt), (1, src))]
    finally:
        identifier.set_languages(None)
    wrong = [k > len(sample) / 2 for k in against]
    if not any(wrong):
        return None
    names = {code: get_language(code).name for code in (src, tgt)}
    side = 0 if wrong[0] else 1
    lang, other = (src, tgt) if side == 0 else (tgt, src)
    unit = "records" if Path(files[0]) == Path(files[1]) else "lines"
    said = (f"{files[side]}: the {labels[side]} side reads as {names[other]}, not {names[lang]} "
            f"({against[side]} of {len(sample)} sampled {unit})")
    if all(wrong):
        other_side = f"the {labels[1]} side" if unit == "records" else f"{files[1]}"
        fix = (f"swap the {src!r} and {tgt!r} keys of every record (the {src!r} key holds the {names[src]} text)"
               if unit == "records" else
               f"swap the two files (the {labels[0]} file holds the {names[src]} text, the {labels[1]} file the "
               f"{names[tgt]} one)")
        return f"{said}, and {other_side} reads as {names[src]}: the sides are swapped. Fix: {fix}."
    return (f"{said}: a copy of the {names[other]} side, or the file of another pair? Fix: put the "
            f"{names[lang]} text on the {labels[side]} side (check that this is the {src}-{tgt} file).")


def _is_surely(identifier: Any, text: str, lang: str) -> bool:
    """Whether `text` is surely `lang`: identified so with high probability, and long enough to tell (10+ letters)."""
    if sum(ch.isalpha() for ch in text) < SIDE_MIN_LETTERS:
        return False
    label, probability = identifier.classify(text)
    return label == lang and probability >= SIDE_CONFIDENCE
