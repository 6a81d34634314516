"""The mini world v2's long tail (issue 20): invented rare nouns, one word per language per concept (Sec. 6.1).

Real vocabularies are Zipfian: a few words are frequent and most are rare, so a small parallel corpus leaves a
share of any test set's words unseen; only monolingual and incidental bilingual text can teach them. The
hand-written lexicon (`lexicon`) gives the frequent head; this module invents the tail. Each concept gets an
independent word in every language from that language's own letters and syllable shapes (no cognates, so
nothing but bilingual context links two of them). Like the hand-written lexicon, the tail is fixed: word k of a
language is the same in every world (a prefix-stable stream), whatever the world's seed or tail size.
"""

from __future__ import annotations

import functools

from alma_core.io import seeded_rng

__all__ = ["SYLLABLES", "LEXICON_SEED", "rare_words", "rare_object", "rare_place"]

LEXICON_SEED = 0  # the invented lexicon's own seed (not the world's: worlds of any seed share one lexicon)
_CHUNK = 512  # words are invented in chunks; word k never depends on how many are asked for

# (onsets, vowels, codas) per language: the shapes of its words, in its own script.
SYLLABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "en": (("b", "bl", "br", "c", "cr", "d", "dr", "f", "fl", "g", "gr", "h", "l", "m", "n", "p", "pl", "r", "s",
            "sl", "st", "t", "tr", "w"), ("a", "e", "i", "o", "u", "ea", "oo", "ai"),
           ("", "", "n", "nd", "rt", "st", "ck", "ll", "m", "sh", "ng", "t", "r")),
    "de": (("b", "br", "d", "f", "fl", "g", "gr", "h", "k", "kl", "kr", "l", "m", "n", "pf", "r", "sch", "st", "t",
            "w", "z"), ("a", "e", "i", "o", "u", "ä", "ö", "ü", "ei", "au", "ie"),
           ("", "n", "ng", "rt", "st", "ch", "lt", "tz", "ck", "l", "r")),
    "cs": (("b", "č", "d", "h", "ch", "k", "kr", "l", "m", "n", "p", "př", "r", "s", "š", "t", "v", "z", "ž"),
           ("a", "á", "e", "é", "i", "í", "o", "u", "ů", "y"), ("", "", "k", "n", "l", "r", "st", "ch", "ť")),
    "is": (("b", "d", "f", "g", "h", "k", "l", "m", "n", "r", "s", "sk", "st", "t", "v", "þ"),
           ("a", "á", "e", "é", "i", "í", "o", "ó", "u", "ú", "y", "æ", "ö"),
           ("", "ð", "rð", "nn", "ll", "r", "st", "k")),
    "ru": (("б", "в", "г", "д", "ж", "з", "к", "л", "м", "н", "п", "р", "с", "т", "ф", "х", "ч", "ш", "пр", "ст"),
           ("а", "е", "и", "о", "у", "ы", "я", "ё"), ("", "", "к", "н", "л", "р", "ст", "ш", "й")),
    "uk": (("б", "в", "г", "д", "ж", "з", "к", "л", "м", "н", "п", "р", "с", "т", "х", "ч", "ш", "пр", "ст"),
           ("а", "е", "и", "і", "о", "у", "я", "ї", "є"), ("", "", "к", "н", "л", "р", "ст", "ш", "й")),
}
_ZH_POOL = 240  # Chinese words: two characters from a fixed pool of CJK ideographs drawn by the seed


def rare_words(lang: str, count: int, kind: str) -> tuple[str, ...]:
    """The first `count` distinct invented words of `lang` for a kind of concept ("object", "place")."""
    chunks = -(-count // _CHUNK)
    return _invented(lang, kind, max(1, chunks) * _CHUNK)[:count]


@functools.lru_cache(maxsize=64)
def _invented(lang: str, kind: str, count: int) -> tuple[str, ...]:
    """`count` distinct words drawn from one seeded stream per (language, kind): a prefix of any longer draw."""
    rng = seeded_rng(LEXICON_SEED, "rare-words", lang, kind)
    if lang == "zh":
        pool = [chr(c) for c in rng.sample(range(0x4E00, 0x9FA6), _ZH_POOL)]
        make = lambda: rng.choice(pool) + rng.choice(pool)  # noqa: E731
    else:
        onsets, vowels, codas = SYLLABLES[lang]

        def make() -> str:
            syllables = [rng.choice(onsets) + rng.choice(vowels) for _ in range(2 + (rng.random() < 0.3))]
            word = "".join(syllables) + rng.choice(codas)
            return word.capitalize() if lang == "de" else word
    seen: dict[str, None] = {}
    while len(seen) < count:
        word = make()
        if lang == "zh" or len(word) > 2:  # no two-letter words: they could collide with the hand lexicon's
            seen.setdefault(word, None)
    return tuple(seen)


_ARTICLE = {"de": "ein ", "cs": "", "is": "", "ru": "", "uk": "", "zh": "一个"}
_PLACE = {"en": "at the {w}", "de": "am {w}", "cs": "u {w}", "is": "við {w}", "zh": "在{w}", "ru": "у {w}",
          "uk": "біля {w}"}


def rare_object(lang: str, index: int) -> str:
    """The `index`-th invented object noun phrase in `lang` (an article where the language has one)."""
    word = rare_words(lang, index + 1, "object")[index]
    if lang == "en":
        return ("an " if word[0] in "aeiou" else "a ") + word
    return _ARTICLE[lang] + word


def rare_place(lang: str, index: int) -> str:
    """The `index`-th invented place phrase in `lang` ("at the X" in each language's own preposition)."""
    return _PLACE[lang].format(w=rare_words(lang, index + 1, "place")[index])
