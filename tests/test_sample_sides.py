"""The shipped sample corpora hold each side in its own language (issue 22: en->xx test sets had their sides swapped).

Every parallel file (train, valid, test; JSON lines or arrays) and every 5-shot file is read the way the project
reads it and each side is run through the project's language identifier; a file whose side is another language
(a swapped pair of keys, a source copied into the target) fails with the file named.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alma_core.recipe.data import sample_data_dir
from alma_core.recipe.metrics import detect_languages

SAMPLE = Path(sample_data_dir())
CANDIDATES = ["en", "de", "cs", "is", "zh", "ru", "uk"]
PARALLEL = sorted(p for p in SAMPLE.glob("*en/*.json"))
SHOTS = sorted(SAMPLE.glob("*-5-shot/shots.*.json"))


def _records(path: Path) -> list[dict]:
    """A JSON array, or JSON lines (the official train files)."""
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if text.lstrip().startswith("[") else [json.loads(line) for line in text.splitlines()
                                                                   if line.strip()]


def _share_identified(texts: list[str], lang: str) -> float:
    ids = detect_languages(texts, CANDIDATES)
    # Russian and Ukrainian short sentences are confused with each other; either counts for either
    ok = {"ru": {"ru", "uk"}, "uk": {"ru", "uk"}}.get(lang, {lang})
    return sum(i in ok for i in ids) / len(ids)


def test_the_sample_has_every_kind_of_file() -> None:
    assert len(PARALLEL) >= 18 and len(SHOTS) >= 12


@pytest.mark.parametrize("path", PARALLEL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_side_of_a_parallel_file_is_in_its_language(path: Path) -> None:
    records = _records(path)
    for lang in records[0]["translation"]:
        share = _share_identified([r["translation"][lang] for r in records], lang)
        assert share >= 0.8, f"{path}: only {share:.0%} of the '{lang}' side is identified as {lang} (swapped sides?)"


@pytest.mark.parametrize("path", SHOTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_side_of_a_shots_file_is_in_its_language(path: Path) -> None:
    src, tgt = path.name.split(".")[1].split("-")
    records = _records(path)
    for key, lang in (("source", src), ("target", tgt)):
        share = _share_identified([r[key] for r in records], lang)
        assert share >= 0.8, f"{path}: only {share:.0%} of the {key} side is identified as {lang}"
