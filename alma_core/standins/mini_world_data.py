"""The mini world on disk and in numbers (issue 14): graded-quality data (Sec. 6.2), the data layout, statistics.

`graded_pairs` gives Sec. 6.2's three qualities from the world's own meanings: HW is exact; Filtered is
mostly right with fluent near-misses (a slot translated wrongly, a phrase left out); Random adds
misaligned pairs and untranslated copies as web-mined data has them. `write_world` writes the official
layout (CONTRIBUTING.md, "Data layout") that recipe.data and recipe.testsets read; `world_statistics`
gives the world's chapter its figures.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from alma_core.io import atomic_write_text, seeded_rng
from alma_core.recipe.data import (
    check_language,
    monolingual_path,
    parallel_path,
    shots_path,
    word_count,
    write_train_pairs,
)
from alma_core.recipe.languages import PAPER_LANGUAGES
from alma_core.standins.lexicon import LANGS
from alma_core.standins.mini_corpus import document, pretraining_documents, pretraining_shares
from alma_core.standins.mini_world import (
    Meaning,
    WorldConfig,
    WorldError,
    held_out_entries,
    pairs,
    realise,
    sample_meaning,
    slot_sizes,
    test_meanings,
    train_meanings,
    uses_held_out,
    valid_meanings,
)

__all__ = ["UKRAINIAN", "QUALITY_NOISE", "WORLD_KEYS", "PRETRAINING_FILE", "world_settings", "graded_pairs",
           "write_pretraining", "write_world",
           "write_quality_root", "world_statistics", "held_out_flags", "PAPER_TOKENS", "budget_proportions"]

# Ukrainian is not in the library's registry (the add-a-language chapter declares it): the declaration a params
# file (`declared_languages:`) or `recipe.languages.declare_languages` needs before the world's uk data is used.
UKRAINIAN: dict[str, dict[str, str]] = {
    "uk": {"name": "Ukrainian", "native_name": "українська", "bleu_tokenizer": "13a"},
}

# Per quality, the share of pairs hit by each kind of noise (the rest exact); Sec. 6.2: HW > Filtered > Random.
QUALITY_NOISE: dict[str, dict[str, float]] = {
    "HW": {},
    "Filtered": {"substitute": 0.10, "omit": 0.05, "misalign": 0.03},
    "Random": {"substitute": 0.20, "omit": 0.10, "misalign": 0.25, "copy": 0.05},
}


# The keys of a params file's `world:` block: WorldConfig's knobs plus write_world's sizes.
WORLD_KEYS: tuple[str, ...] = ("seed", "held_out", "test_share", "valid_share", "state_rate", "front_rate",
                               "code_switch", "rare_objects", "rare_places", "zipf", "bilingual", "train", "valid",
                               "test", "documents", "english_documents", "languages", "qualities",
                               "pretraining_documents", "pretraining_english")
PRETRAINING_FILE = "pretraining.jsonl"  # v2: the backbone's own corpus, one {"lang", "kind", "text"} per line


def world_settings(spec: dict[str, Any], where: str = "world") -> tuple[WorldConfig, dict[str, Any]]:
    """(WorldConfig, write_world keyword arguments) of a params file's `world:` block; unknown keys name the fix."""
    unknown = sorted(set(spec) - set(WORLD_KEYS))
    if unknown:
        raise WorldError(f"{where}: unknown key(s) {', '.join(unknown)}. Fix: use only {', '.join(WORLD_KEYS)}.")
    knobs = {k: v for k, v in spec.items() if k in WorldConfig.__dataclass_fields__}
    sizes = {k: v for k, v in spec.items() if k not in knobs}
    if "seed" in knobs and (isinstance(knobs["seed"], bool) or not isinstance(knobs["seed"], int)):
        raise WorldError(f"{where}.seed={knobs['seed']!r} must be a whole number (a boolean is not one). Fix: seed: 0.")
    for key, value in sizes.items():
        if key in ("languages", "qualities") and not (isinstance(value, (list, tuple))
                                                      and all(isinstance(item, str) for item in value)):
            raise WorldError(f"{where}.{key}={value!r} must be a list of names. Fix: e.g. {key}: "
                             f"{'[de, cs, is, zh, ru]' if key == 'languages' else '[Filtered, Random]'}.")
        if key == "languages" and not set(value) <= set(LANGS) - {"en"}:
            raise WorldError(f"{where}.languages={value!r}: the world's lexicon writes only "
                             f"{', '.join(lang for lang in LANGS if lang != 'en')} (English is always written). "
                             "Fix: choose among them, e.g. languages: [de, cs, is, zh, ru].")
        if key == "qualities" and not set(value) <= set(QUALITY_NOISE) - {"HW"}:
            raise WorldError(f"{where}.qualities={value!r}: only Filtered and Random are written apart (HW is the "
                             "world's own train split). Fix: qualities: [Filtered, Random].")
        if key == "pretraining_english":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
                raise WorldError(f"{where}.pretraining_english={value!r} must be a share in (0, 1). Fix: 0.897 "
                                 "(LLaMA-2's English share, Touvron et al. 2023, Table 10).")
        elif key not in ("languages", "qualities") and (isinstance(value, bool) or not isinstance(value, int)
                                                        or value < 1):
            raise WorldError(f"{where}.{key}={value!r} must be a positive whole number. Fix: e.g. {key}: 100.")
    return WorldConfig(**knobs), sizes


def _substitute(cfg: WorldConfig, meaning: Meaning, rng: Any) -> Meaning:
    """The meaning with one slot's entry replaced by another (a fluent but wrong translation)."""
    other = sample_meaning(cfg, rng, covered_only=True)
    while other.kind != meaning.kind:
        other = sample_meaning(cfg, rng, covered_only=True)
    slot = rng.choice(sorted(meaning.entries()))
    changes: dict[str, Any] = {slot: getattr(other, slot)}
    changes.update(number=other.number if slot == "place" else meaning.number,
                   clock=other.clock if slot == "time" else meaning.clock)
    return replace(meaning, **changes)


def graded_pairs(cfg: WorldConfig, xx: str, count: int, quality: str) -> list[tuple[str, str]]:
    """`count` (xx, en) training pairs of a quality (Sec. 6.2): HW exact, Filtered and Random with QUALITY_NOISE."""
    if quality not in QUALITY_NOISE:
        raise WorldError(f"unknown quality {quality!r}. Fix: use one of {', '.join(QUALITY_NOISE)}.")
    if quality == "HW":
        return pairs(train_meanings(cfg, xx, count), xx, "en")
    meanings = train_meanings(cfg, xx, count, stream=f"quality-{quality}")
    out = []
    for index, meaning in enumerate(meanings):
        rng = seeded_rng(cfg.seed, "noise", quality, xx, index)
        u, edge, noise = rng.random(), 0.0, "exact"
        for kind, share in QUALITY_NOISE[quality].items():
            edge += share
            if u < edge:
                noise = kind
                break
        source, target = realise(meaning, xx), realise(meaning, "en")
        if noise == "substitute":
            target = realise(_substitute(cfg, meaning, rng), "en")
        elif noise == "omit":
            target = realise(meaning, "en", omit="P" if meaning.kind == "act" and rng.random() < 0.5 else "T")
        elif noise == "misalign":
            target = realise(meanings[(index + 1 + rng.randrange(count - 1)) % count] if count > 1 else meaning, "en")
        elif noise == "copy":
            source = target
        out.append((source, target))
    return out


def _json_array(records: Sequence[Any]) -> str:
    """A JSON array as the official valid/test files hold it."""
    return json.dumps(list(records), ensure_ascii=False, indent=2) + "\n"


def _records(items: Sequence[tuple[str, str]], src: str, tgt: str) -> list[dict[str, dict[str, str]]]:
    """`{"translation": {src, tgt}}` records."""
    return [{"translation": {src: a, tgt: b}} for a, b in items]


def write_pretraining(root: str | Path, cfg: WorldConfig, count: int, english: float) -> Path:
    """The backbone's pretraining corpus (v2, Sec. 2.2): `count` documents in LLaMA-2's language shares over all the
    world's languages (Ukrainian too: LLaMA-2 saw it), JSON lines."""
    shares = pretraining_shares(english, LANGS)
    lines = (json.dumps({"lang": lang, "kind": kind, "text": text}, ensure_ascii=False) + "\n"
             for lang, kind, text in pretraining_documents(cfg, count, shares))
    path = Path(root) / PRETRAINING_FILE
    atomic_write_text(path, "".join(lines))
    return path


def write_world(root: str | Path, cfg: WorldConfig, *, train: int = 1000, valid: int = 100, test: int = 200,
                documents: int = 2000, english_documents: int | None = None,
                languages: Sequence[str] = PAPER_LANGUAGES, qualities: Sequence[str] = (),
                pretraining_documents: int = 0, pretraining_english: float = 0.897) -> Path:
    """Write the world in the official layout: parallel train/valid/test, 5-shot files, monolingual text (Sec. 4).

    `english_documents` (default `documents`) sizes English apart: the backbone's mostly-English pretraining text.
    Each of `qualities` (Filtered, Random) gets its Sec. 6.2 root beside it, `quality-<name>/` (`write_quality_root`).
    `pretraining_documents` > 0 (v2) also writes the backbone's own corpus, `pretraining.jsonl` (`write_pretraining`).
    A language outside the registry (uk) must be declared first (`UKRAINIAN`); it is checked before anything is written.
    """
    root = Path(root)
    for lang in languages:
        check_language(lang)
    if pretraining_documents:
        write_pretraining(root, cfg, pretraining_documents, pretraining_english)
    for lang in ("en", *languages):
        count = english_documents if lang == "en" and english_documents is not None else documents
        text = "".join(document(cfg, lang, i) + "\n" for i in range(count))
        atomic_write_text(monolingual_path(root, lang), text)
    for xx in languages:
        write_train_pairs(root, xx, graded_pairs(cfg, xx, train, "HW"))
        atomic_write_text(parallel_path(root, xx, "en", "valid"),
                          _json_array(_records(pairs(valid_meanings(cfg, xx, valid), xx, "en"), xx, "en")))
        for src, tgt in ((xx, "en"), ("en", xx)):
            atomic_write_text(parallel_path(root, src, tgt, "test"),
                              _json_array(_records(pairs(test_meanings(cfg, src, tgt, test), src, tgt), src, tgt)))
        for kind, stream in (("HW", "shots-HW"), ("Filtered", "shots-Filtered")):
            shots = pairs(train_meanings(cfg, xx, 5, stream=stream), xx, "en")
            for src, tgt in ((xx, "en"), ("en", xx)):
                flip = shots if src == xx else [(b, a) for a, b in shots]
                atomic_write_text(shots_path(root, src, tgt, kind),
                                  _json_array([{"source": a, "target": b} for a, b in flip]))
    for quality in qualities:
        write_quality_root(root / f"quality-{quality}", cfg, quality, train=train, languages=languages, valid_from=root)
    return root


def write_quality_root(root: str | Path, cfg: WorldConfig, quality: str, *, train: int = 1000,
                       languages: Sequence[str] = PAPER_LANGUAGES, valid_from: str | Path | None = None) -> Path:
    """A Sec. 6.2 data root of one quality: each language's train split (valid copied from `valid_from`)."""
    for xx in languages:
        check_language(xx)
    for xx in languages:
        write_train_pairs(root, xx, graded_pairs(cfg, xx, train, quality), valid_from=valid_from)
    return Path(root)


def _types(texts: Sequence[str], lang: str) -> set[str]:
    """Word types (characters for zh), punctuation stripped."""
    strip = ".,。，()（）"
    if lang == "zh":
        return {ch for text in texts for ch in text if not ch.isspace() and ch not in strip}
    return {word.strip(strip).lower() for text in texts for word in text.split() if word.strip(strip)}


def world_statistics(cfg: WorldConfig, *, sample: int = 500, train: int = 1000, test: int = 200,
                     languages: Sequence[str] = LANGS) -> dict[str, Any]:
    """The world in numbers: lexicon and held-out sizes, per language vocabulary, lengths and parallel coverage."""
    held = held_out_entries(cfg)
    stats: dict[str, Any] = {
        "slots": {slot: {"entries": size, "held_out": len(held[slot])} for slot, size in slot_sizes(cfg).items()},
        "languages": {},
    }
    for lang in languages:
        docs = [document(cfg, lang, i) for i in range(sample)]
        row: dict[str, Any] = {
            "mono_vocabulary": len(_types(docs, lang)),
            "words_per_document": statistics.fmean(word_count(d, lang) for d in docs),
            "code_switched_documents": sum(("(" in d or "（" in d) for d in docs) / len(docs),
        }
        if lang != "en":
            train_pairs = pairs(train_meanings(cfg, lang, train), lang, "en")
            tests = test_meanings(cfg, lang, "en", test)
            mono_types, par_types = _types(docs, lang), _types([a for a, _ in train_pairs], lang)
            lengths = [word_count(a, lang) for a, _ in train_pairs]
            row.update(
                parallel_vocabulary=len(par_types),
                parallel_coverage_of_mono_vocabulary=len(par_types & mono_types) / max(1, len(mono_types)),
                words_per_sentence={"mean": statistics.fmean(lengths), "min": min(lengths), "max": max(lengths)},
                test_sentences_with_held_out_entries=sum(held_out_flags(cfg, lang, "en", test, train)) / len(tests),
            )
        stats["languages"][lang] = row
    return stats


def held_out_flags(cfg: WorldConfig, src: str, tgt: str, count: int, train: int = 1000) -> list[bool]:
    """Per test sentence of a direction (as `write_world` writes them): whether it uses a lexicon entry the parallel
    data never shows, the part only monolingual text can teach (Sec. 6.1-6.2). v1 holds a share of entries out;
    in v2 (held_out 0) an entry is unseen when none of the `train` pairs of the direction's language uses it."""
    if cfg.held_out > 0:
        return [uses_held_out(cfg, meaning) for meaning in test_meanings(cfg, src, tgt, count)]
    xx = tgt if src == "en" else src
    seen: dict[str, set[int]] = {}
    for meaning in train_meanings(cfg, xx, train):
        for slot, index in meaning.entries().items():
            seen.setdefault(slot, set()).add(index)
    return [any(index not in seen.get(slot, ()) for slot, index in meaning.entries().items())
            for meaning in test_meanings(cfg, src, tgt, count)]


# The paper's token budgets (Sec. 4.1, 5.2, App. C; Touvron et al. 2023): LLaMA-2's pretraining, ALMA-7B's stage 1
# (1B at the first Fig. 5 snapshot, 20B at the last) and stage 2 (58K human-written examples, 2 epochs: about 12M).
PAPER_TOKENS: dict[str, str] = {"pretraining": "2T", "stage 1": "1B-20B", "stage 2": "~12M (58K examples x 2 epochs)"}


def budget_proportions(tokenizer: Any, cfg: WorldConfig, *, pretraining_tokens: int, stage1_tokens: int,
                       stage2_epochs: int, xx: str = "de", train: int = 1000) -> list[dict[str, Any]]:
    """The mini budgets in tokens beside the paper's (issue 20): pretraining >> stage 1 >> stage 2, each ratio shown;
    stage 2 counts every token of its prompt-masked examples (both directions) over its epochs."""
    from alma_core.recipe.objectives import parallel_examples

    examples = parallel_examples(tokenizer, pairs(train_meanings(cfg, xx, train), xx, "en"), (xx, "en"))
    stage2 = stage2_epochs * sum(len(e["input_ids"]) for e in examples)
    rows = [("pretraining", pretraining_tokens), ("stage 1", stage1_tokens), ("stage 2", stage2)]
    ratios = [tokens / rows[k + 1][1] if k + 1 < len(rows) else None for k, (_, tokens) in enumerate(rows)]
    return [{"budget": name, "mini tokens": tokens, "x the next": ratio, "paper": PAPER_TOKENS[name]}
            for (name, tokens), ratio in zip(rows, ratios)]
