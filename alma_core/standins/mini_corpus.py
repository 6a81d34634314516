"""The mini world v2's text (issue 20): documents with incidental bilingual content, and the backbone's pretraining
corpus in LLaMA-2's language shares (Sec. 2.2, 4.1; Touvron et al. 2023, Table 10; Briakou et al. 2023).

LLaMA-2 translates zero-shot because web text carries bilingual content no one put there on purpose. Briakou et
al. (ACL 2023) measured it in PaLM's training data: 1.4 % of the natural-language instances are bilingual; of
those, 20 % are translations, 20 % near-translations (related, not exact), 10 % code-switching, 21 % named
entities in their own language and 24 % unrelated neighbours (5 % other). `document` draws the world's documents
with that rate and mix (`WorldConfig.bilingual`; 0 gives v1's monolingual text, the control). `pretraining_document`
draws the backbone's corpus: each document's language by LLaMA-2's shares, bilingual documents among them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from alma_core.io import seeded_rng
from alma_core.standins import mini_world
from alma_core.standins.mini_world import WorldConfig, draw_meaning, realise

__all__ = ["LLAMA2_SHARES", "BILINGUAL_MIX", "LANGUAGE_NAMES", "pretraining_shares", "document",
           "pretraining_document", "pretraining_documents"]

# LLaMA-2's pretraining languages (Touvron et al. 2023, Table 10, % of documents): English and the world's other
# languages; Icelandic is below the table's 0.005 % floor and gets that floor.
LLAMA2_SHARES: dict[str, float] = {"en": 89.70, "de": 0.17, "zh": 0.13, "ru": 0.13, "uk": 0.07, "cs": 0.03,
                                   "is": 0.005}
# Briakou et al. (2023), Sec. 3: the kinds of PaLM's bilingual instances (the 5 % "other" left out, renormalised).
BILINGUAL_MIX: dict[str, float] = {"translation": 0.20, "near-translation": 0.20, "code-switching": 0.10,
                                   "named-entity": 0.21, "unrelated": 0.24}
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "de": "German", "cs": "Czech", "is": "Icelandic", "zh": "Chinese",
                                  "ru": "Russian", "uk": "Ukrainian"}
_CITIES = range(9, 13)  # Berlin, Prague, Reykjavik, London: the named places of the hand lexicon


def pretraining_shares(english: float, languages: tuple[str, ...]) -> dict[str, float]:
    """Document shares of pretraining: `english` for English, the rest split over `languages` in Table 10's ratio."""
    weights = {lang: LLAMA2_SHARES[lang] for lang in languages if lang != "en"}
    total = sum(weights.values())
    return {"en": english, **{lang: (1 - english) * w / total for lang, w in weights.items()}}


def _draw(table: dict[str, float], u: float) -> str:
    """The key of `table` (weights) that the uniform draw `u` falls on."""
    edge, total = 0.0, sum(table.values())
    for key, weight in table.items():
        edge += weight / total
        if u < edge:
            return key
    return next(reversed(table))


def _sentences(cfg: WorldConfig, stream: str, index: int, count: int) -> list[mini_world.Meaning]:
    """`count` train-bucket meanings of one document about one subject."""
    first = draw_meaning(cfg, stream, index, "train", covered_only=False)
    return [first] + [draw_meaning(cfg, stream, index, "train", covered_only=False, subject=first.subject, salt=k)
                      for k in range(1, count)]


def _join(texts: list[str], lang: str) -> str:
    """Sentences as running text in `lang` (no spaces in Chinese)."""
    return mini_world.word_space(lang).join(texts)


def _bilingual(cfg: WorldConfig, main: str, other: str, kind: str, stream: str, index: int, sep: str = "\n") -> str:
    """One bilingual document of a kind: `main` is its language, `other` the second one (one of them English);
    `sep` separates its two parts (a line break; a space where a corpus holds one document per line)."""
    rng = seeded_rng(cfg.seed, "bilingual", stream, index)
    meanings = _sentences(cfg, stream, index, 2 + rng.randrange(4))
    main_text = _join([realise(m, main) for m in meanings], main)
    if kind in ("translation", "near-translation"):
        if kind == "near-translation":  # related, not exact: one sentence loses its time or place
            k = rng.randrange(len(meanings))
            other_texts = [realise(m, other, omit="T" if rng.random() < 0.5 else "P") if i == k else realise(m, other)
                           for i, m in enumerate(meanings)]
        else:
            other_texts = [realise(m, other) for m in meanings]
        other_text = _join(other_texts, other)
        if rng.random() < 0.5:  # half the pages label their two versions by language, as bilingual sites do
            return f"{LANGUAGE_NAMES[main]}: {main_text}{sep}{LANGUAGE_NAMES[other]}: {other_text}"
        return f"{main_text}{sep}{other_text}"
    if kind == "code-switching":
        return _join([realise(m, main, gloss=rng.random() < 0.5 or i == 0, gloss_in=other)
                      for i, m in enumerate(meanings)], main)
    if kind == "named-entity":  # one sentence names a city as the other language writes it
        k = rng.randrange(len(meanings))
        city = replace(meanings[k], place=_CITIES[rng.randrange(len(_CITIES))], number=0)
        texts = [realise(city, main, place_in=other) if i == k else realise(m, main) for i, m in enumerate(meanings)]
        return _join(texts, main)
    unrelated = _sentences(cfg, f"{stream}:neighbour", index, 2 + rng.randrange(4))
    return f"{main_text}{sep}{_join([realise(m, other) for m in unrelated], other)}"


def document(cfg: WorldConfig, lang: str, index: int) -> str:
    """The `index`-th monolingual-corpus document in `lang` (Sec. 4.1's OSCAR): v1's document, or with probability
    `cfg.bilingual` a bilingual one of Briakou's mix (the second language English, or for English by Table 10)."""
    if cfg.bilingual == 0.0:
        return mini_world.document(cfg, lang, index)
    rng = seeded_rng(cfg.seed, "doc-kind", lang, index)
    if rng.random() >= cfg.bilingual:
        return mini_world.document(cfg, lang, index)
    kind = _draw(BILINGUAL_MIX, rng.random())
    other = "en" if lang != "en" else _draw({k: v for k, v in LLAMA2_SHARES.items() if k not in ("en", "uk")},
                                            rng.random())
    return _bilingual(cfg, lang, other, kind, f"mono:{lang}", index, sep=" ")


def pretraining_document(cfg: WorldConfig, index: int, shares: dict[str, float]) -> tuple[str, str, str]:
    """(language, kind, text) of the backbone's `index`-th pretraining document: language by `shares`, bilingual with
    probability `cfg.bilingual` (then the language is that of the non-English side, by the same shares)."""
    rng = seeded_rng(cfg.seed, "pretrain", index)
    stream = f"pretrain:{index // 1_000_000}"
    if rng.random() < cfg.bilingual:
        xx = _draw({k: v for k, v in shares.items() if k != "en"}, rng.random())
        kind = _draw(BILINGUAL_MIX, rng.random())
        main, other = (xx, "en") if rng.random() < 0.5 else ("en", xx)
        return xx, kind, _bilingual(cfg, main, other, kind, stream, index)
    lang = _draw(shares, rng.random())
    meanings = _sentences(cfg, f"{stream}:{lang}", index, 2 + rng.randrange(4))
    return lang, "monolingual", _join([realise(m, lang) for m in meanings], lang)


def pretraining_documents(cfg: WorldConfig, count: int, shares: dict[str, float]) -> Iterator[tuple[str, str, str]]:
    """The first `count` pretraining documents (`pretraining_document`)."""
    for index in range(count):
        yield pretraining_document(cfg, index, shares)
