"""The official `outputs/` layout of fe1ixxu/ALMA (Sec. 5.1 test sets, released translations), and a tree in it.

`testset_path` / `system_path` name the files exactly as the official `evals/*.sh` read them; the generated tree
(`write_synthetic_release`) fills that layout with the lexicon's aligned sentences (`standins.sentences`), so the
released-outputs chapter and its tests run offline on files written for them, not copied.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alma_core.io import atomic_write_text, seeded_rng
from alma_core.standins.lexicon import LANGS
from alma_core.standins.mini_world import word_space
from alma_core.standins.sentences import COMBOS, sentence

__all__ = ["TESTSET", "MAX_SEGMENTS", "SyntheticReleaseError", "testset_path", "system_path", "write_synthetic_release"]

TESTSET = "wmt-testset"
MAX_SEGMENTS = len(COMBOS)  # distinct lexicon sentences


class SyntheticReleaseError(ValueError):
    """A generated release asked for something the lexicon cannot write."""


def testset_path(collection: str, direction: str, lang: str) -> str:
    """`outputs/{collection}/wmt-testset/{src}{tgt}/test.{src}-{tgt}.{lang}`: one side of a direction's test set."""
    return f"outputs/{collection}/{TESTSET}/{direction.replace('-', '')}/test.{direction}.{lang}"


def system_path(collection: str, folder: str, direction: str) -> str:
    """`outputs/{collection}/{system}/{src}{tgt}/test.{src}-{tgt}.{tgt}`: a system's translations, one per line."""
    return f"outputs/{collection}/{folder}/{direction.replace('-', '')}/test.{direction}.{direction.split('-')[1]}"


def _perturb(text: str, rng: Any, lang: str) -> str:
    """Drop one word (one character for Chinese): a small, deterministic translation error."""
    units = list(text) if lang == "zh" else text.split(" ")
    if len(units) > 2:
        del units[rng.randrange(1, len(units) - 1)]
    return word_space(lang).join(units)


def _hypotheses(combos: Sequence[Any], src: str, tgt: str, rng: Any, profile: Any) -> list[str]:
    """One system's outputs: each exact, one word dropped, a wrong sentence, or the source copied (off-target)."""
    copy, wrong, drop = profile.uniform(0, 0.15), profile.uniform(0.05, 0.3), profile.uniform(0.1, 0.5)
    lines = []
    for combo in combos:
        draw = rng.random()
        if draw < copy:  # the source copied: off-target
            text = sentence(combo, src)
        elif draw < copy + wrong:  # a fluent sentence that translates something else
            text = sentence(rng.choice(COMBOS), tgt)
        else:
            text = sentence(combo, tgt)
        lines.append(_perturb(text, rng, tgt) if rng.random() < drop else text)
    return lines


def write_synthetic_release(root: str | os.PathLike, collections: Sequence[Any], segments: int,
                            seed: int = 0) -> Path:
    """A generated tree in the official layout for `collections` (objects with name, directions, systems[].folder);
    each system gets a seeded error profile (Sec. 5.1 files, App. E off-target outputs included)."""
    root = Path(root)
    if not 1 <= segments <= len(COMBOS):
        raise SyntheticReleaseError(f"segments={segments}: the lexicon makes 1 to {len(COMBOS)} distinct sentences")
    for c in collections:
        for direction in c.directions:
            src, tgt = direction.split("-")
            missing = [code for code in (src, tgt) if code not in LANGS]
            if missing:
                raise SyntheticReleaseError(f"synthetic release, {c.name} {direction}: no lexicon for {missing}; "
                                            f"use directions between English and {LANGS[1:]}")
            combos = seeded_rng(seed, "released", c.name, direction).sample(COMBOS, segments)
            for lang in (src, tgt):
                atomic_write_text(root / testset_path(c.name, direction, lang),
                                  "".join(f"{sentence(x, lang)}\n" for x in combos))
            for s in c.systems:
                lines = _hypotheses(combos, src, tgt, seeded_rng(seed, "hyps", c.name, s.folder, direction),
                                    seeded_rng(seed, "profile", c.name, s.folder))
                atomic_write_text(root / system_path(c.name, s.folder, direction), "".join(f"{x}\n" for x in lines))
    return root
