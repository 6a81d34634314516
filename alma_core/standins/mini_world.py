"""The mini world: a seeded meaning generator realised in en, de, cs, is, zh, ru, uk (Sec. 4-6 in miniature; issue 14).

A `Meaning` is an action (subject, verb + object, place, time) or a state (subject, attribute, place, time), with
room numbers, clock times and personal names as the bridges real text has. `realise` writes it in a language
with THE hand-written lexicon (`alma_core.standins.lexicon`) in that language's word order. Every meaning falls in
one bucket (train / valid / test) by a hash of its content, so test meanings never occur in any training text;
a share of the lexicon is held out of the parallel data (it occurs only in monolingual text and tests).
Every stream is random-access: item i depends only on the seed, the stream's name and i.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass, replace

from alma_core.io import seeded_rng
from alma_core.standins.lexicon import (
    ATTRIBUTES,
    COPULA,
    FRONT_COMMA,
    LANGS,
    NAMES,
    PLACES,
    SUBJECTS,
    TIMES,
    VERBS,
)
from alma_core.standins.mini_words import rare_object, rare_place

__all__ = [
    "WorldConfig", "Meaning", "ALL_SUBJECTS", "ACTIONS", "SLOT_SIZES", "BUCKETS", "WorldError", "RARE_VERBS",
    "slot_sizes", "held_out_entries", "sample_meaning", "bucket", "word_space", "lower_first", "realise",
    "uses_held_out", "draw_meaning",
    "document", "documents",
    "train_meanings", "valid_meanings", "test_meanings", "pairs",
]

ALL_SUBJECTS = SUBJECTS + NAMES
ACTIONS: tuple[tuple[int, int], ...] = tuple(
    (v, o) for v, (_verb, objects) in enumerate(VERBS) for o in range(len(objects))
)
SLOT_SIZES: dict[str, int] = {"subject": len(ALL_SUBJECTS), "action": len(ACTIONS), "place": len(PLACES),
                              "time": len(TIMES), "attribute": len(ATTRIBUTES)}
BUCKETS: tuple[str, ...] = ("train", "valid", "test")
_ROOM, _CLOCK = len(PLACES) - 1, len(TIMES) - 1  # the entries that carry a number
RARE_VERBS: tuple[int, ...] = (1, 11)  # "buys", "sells": the verbs the invented rare objects (v2) go with, in turn


class WorldError(ValueError):
    """A mini-world setting or request that cannot be met; the message names the value and the fix."""


@dataclass(frozen=True)
class WorldConfig:
    """The world's knobs (issue 14): seed, held-out lexicon share, bucket shares, state/fronting/code-switch rates."""

    seed: int = 0
    held_out: float = 0.15  # share of each slot's entries never seen in parallel data
    test_share: float = 0.02  # share of the meaning space reserved for test sets
    valid_share: float = 0.02
    state_rate: float = 0.3  # share of state sentences ("X is tired today")
    front_rate: float = 0.3  # share of sentences with the time fronted
    code_switch: float = 0.03  # share of non-English monolingual sentences glossing a phrase in English
    # v2 (issue 20); the defaults are v1's world
    rare_objects: int = 0  # invented rare object nouns added to the action slot (the Zipfian tail, mini_words)
    rare_places: int = 0  # invented rare place nouns added to the place slot
    zipf: float = 0.0  # exponent s of the entries' frequencies within a slot, p(rank r) ~ 1/r^s (0: uniform, v1)
    bilingual: float = 0.0  # share of documents with incidental bilingual content (mini_corpus; Briakou: 1.4 %)

    def __post_init__(self) -> None:
        for name in ("held_out", "test_share", "valid_share", "state_rate", "front_rate", "code_switch", "bilingual"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise WorldError(f"WorldConfig.{name}={value!r} is outside [0, 1). Fix: pass a share such as 0.1.")
        for name in ("rare_objects", "rare_places"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 20_000:
                raise WorldError(f"WorldConfig.{name}={value!r} must be a whole number in 0..20000. Fix: e.g. 400.")
        if isinstance(self.zipf, bool) or not isinstance(self.zipf, (int, float)) or not 0.0 <= self.zipf <= 3.0:
            raise WorldError(f"WorldConfig.zipf={self.zipf!r} is outside [0, 3]. Fix: 1.0 (Zipf's law) or 0 (uniform).")
        if self.test_share + self.valid_share >= 0.5:
            raise WorldError(
                f"test_share + valid_share = {self.test_share + self.valid_share} leaves too little to train on. "
                "Fix: keep their sum below 0.5 (the default is 0.02 + 0.02)."
            )


@dataclass(frozen=True)
class Meaning:
    """One sentence's meaning; -1 marks a slot the kind does not use, `number` a room number, `clock` h*100+m."""

    kind: str  # "act" or "state"
    subject: int
    action: int = -1
    place: int = -1
    time: int = -1
    attribute: int = -1
    number: int = 0
    clock: int = 0
    front: bool = False

    def key(self) -> tuple[object, ...]:
        """The content that decides the bucket: everything except the word order (fronting)."""
        return astuple(replace(self, front=False))

    def entries(self) -> dict[str, int]:
        """The lexicon entries the meaning uses, by slot."""
        slots = ("subject", "action", "place", "time", "attribute")
        return {slot: getattr(self, slot) for slot in slots if getattr(self, slot) >= 0}


def slot_sizes(cfg: WorldConfig) -> dict[str, int]:
    """The number of entries of each slot in a world: the hand-written lexicon plus v2's invented tail."""
    return {**SLOT_SIZES, "action": len(ACTIONS) + cfg.rare_objects, "place": len(PLACES) + cfg.rare_places}


@functools.lru_cache(maxsize=16)
def held_out_entries(cfg: WorldConfig) -> dict[str, frozenset[int]]:
    """Per slot, the entries the parallel data never uses (a fixed share of each slot, chosen by the seed)."""
    held: dict[str, frozenset[int]] = {}
    for slot, size in slot_sizes(cfg).items():
        order = list(range(size))
        seeded_rng(cfg.seed, "held-out", slot).shuffle(order)
        held[slot] = frozenset(order[: round(cfg.held_out * size)])
    return held


def bucket(cfg: WorldConfig, meaning: Meaning) -> str:
    """The meaning's bucket, by a hash of its content and the seed: test, valid or train."""
    digest = hashlib.sha256(f"{cfg.seed}|bucket|{meaning.key()}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return "test" if u < cfg.test_share else "valid" if u < cfg.test_share + cfg.valid_share else "train"


def uses_held_out(cfg: WorldConfig, meaning: Meaning) -> bool:
    """Whether the meaning uses an entry held out of the parallel data."""
    held = held_out_entries(cfg)
    return any(index in held[slot] for slot, index in meaning.entries().items())


@functools.lru_cache(maxsize=256)
def _zipf_table(size: int, exclude: frozenset[int], zipf: float) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """The allowed entries of a slot and their cumulative Zipf weights 1/r^s (rank r = entry index + 1)."""
    allowed = tuple(i for i in range(size) if i not in exclude)
    return allowed, tuple(itertools.accumulate(1.0 / (i + 1) ** zipf for i in allowed))


def _pick(rng: random.Random, size: int, exclude: frozenset[int], zipf: float = 0.0) -> int:
    """An entry of a slot outside `exclude`: uniform (v1) or by Zipf's law with exponent `zipf` (v2)."""
    if zipf == 0.0:
        allowed = [i for i in range(size) if i not in exclude]
        return allowed[rng.randrange(len(allowed))]
    allowed, cumulative = _zipf_table(size, exclude, zipf)
    return allowed[min(bisect.bisect_left(cumulative, rng.random() * cumulative[-1]), len(allowed) - 1)]


def sample_meaning(cfg: WorldConfig, rng: random.Random, covered_only: bool, subject: int | None = None) -> Meaning:
    """One meaning drawn per slot, uniformly or by Zipf's law (from the covered entries only when `covered_only`)."""
    sizes = slot_sizes(cfg)
    held = held_out_entries(cfg) if covered_only else {slot: frozenset() for slot in sizes}
    subj = subject if subject is not None else _pick(rng, sizes["subject"], held["subject"], cfg.zipf)
    time = _pick(rng, sizes["time"], held["time"], cfg.zipf)
    clock = (1 + rng.randrange(12)) * 100 + 15 * rng.randrange(4) if time == _CLOCK else 0
    front = rng.random() < cfg.front_rate
    place = _pick(rng, sizes["place"], held["place"], cfg.zipf)
    number = 100 + rng.randrange(400) if place == _ROOM else 0
    if rng.random() < cfg.state_rate:
        return Meaning("state", subj, place=place, time=time,
                       attribute=_pick(rng, sizes["attribute"], held["attribute"], cfg.zipf), number=number,
                       clock=clock, front=front)
    return Meaning("act", subj, action=_pick(rng, sizes["action"], held["action"], cfg.zipf), place=place, time=time,
                   number=number, clock=clock, front=front)


def draw_meaning(cfg: WorldConfig, stream: str, index: int, want: str, *, covered_only: bool,
                 subject: int | None = None, salt: int = 0) -> Meaning:
    """The `index`-th meaning of a named stream that falls in bucket `want` (rejection sampling; deterministic)."""
    if want not in BUCKETS:
        raise WorldError(f"unknown bucket {want!r}. Fix: use one of {', '.join(BUCKETS)}.")
    rng = seeded_rng(cfg.seed, stream, index, salt)
    for _ in range(100_000):
        meaning = sample_meaning(cfg, rng, covered_only, subject)
        if bucket(cfg, meaning) == want:
            return meaning
    raise WorldError(f"no {want!r} meaning found for stream {stream!r}. Fix: raise WorldConfig.{want}_share.")


# ---------------------------------------------------------------------------------------------
# realisation

_ACT_ORDER: dict[str, tuple[str, str]] = {
    "en": ("SVOPT", "TSVOP"), "de": ("SVTPO", "TVSPO"), "cs": ("STVOP", "TVSOP"), "is": ("SVOPT", "TVSOP"),
    "zh": ("STPVO", "TSPVO"), "ru": ("STVOP", "TSVOP"), "uk": ("STVOP", "TSVOP"),
}
_STATE_ORDER: dict[str, tuple[str, str]] = {
    "en": ("SCAPT", "TSCAP"), "de": ("SCTPA", "TCSPA"), "cs": ("SCTPA", "TCSPA"), "is": ("SCAPT", "TCSAP"),
    "zh": ("STPA", "TSPA"), "ru": ("STPA", "TSPA"), "uk": ("STPA", "TSPA"),
}


def _column(lang: str) -> int:
    """The lexicon column of a language."""
    if lang not in LANGS:
        raise WorldError(f"the mini world has no language {lang!r}. Fix: use one of {', '.join(LANGS)}.")
    return LANGS.index(lang)


def _gendered(form: str, gender: str) -> str:
    """Pick the masculine or feminine form of 'm|f'."""
    forms = form.split("|")
    return forms[1] if gender == "f" and len(forms) > 1 else forms[0]


def _place(meaning: Meaning, lang: str) -> str:
    """The place phrase in `lang`: a hand-written entry (with its room number) or an invented rare place."""
    if meaning.place < len(PLACES):
        return PLACES[meaning.place][_column(lang)].format(n=meaning.number)
    return rare_place(lang, meaning.place - len(PLACES))


def _action(meaning: Meaning, lang: str) -> tuple[str, str]:
    """(verb, object) in `lang`: a hand-written action or a rare invented object after one of RARE_VERBS."""
    col = _column(lang)
    if meaning.action < len(ACTIONS):
        verb, obj = ACTIONS[meaning.action]
        return VERBS[verb][0][col], VERBS[verb][1][obj][col]
    rare = meaning.action - len(ACTIONS)
    return VERBS[RARE_VERBS[rare % len(RARE_VERBS)]][0][col], rare_object(lang, rare)


def _parts(meaning: Meaning, lang: str, gloss: bool, gloss_in: str = "en", place_in: str = "") -> dict[str, str]:
    """The sentence's slot texts in `lang` (S subject, V verb, O object, P place, T time, C copula, A attribute);
    `gloss` glosses the object or attribute in `gloss_in`, `place_in` writes the place in another language."""
    col = _column(lang)
    row, gender = ALL_SUBJECTS[meaning.subject]
    subject = row[col]
    parts = {"S": subject, "C": COPULA[lang]}
    if meaning.time >= 0:
        h, m = divmod(meaning.clock, 100)
        parts["T"] = TIMES[meaning.time][col].format(h=h, m=f"{m:02d}")
    if meaning.place >= 0:
        parts["P"] = _place(meaning, place_in or lang)
    gloss = gloss and gloss_in != lang
    if meaning.kind == "act":
        parts["V"], parts["O"] = _action(meaning, lang)
        if gloss:
            parts["O"] += _paren(lang, _action(meaning, gloss_in)[1])
    else:
        parts["A"] = _gendered(ATTRIBUTES[meaning.attribute][col], gender)
        if gloss:
            parts["A"] += _paren(lang, _gendered(ATTRIBUTES[meaning.attribute][_column(gloss_in)], gender))
    return parts


def _paren(lang: str, gloss: str) -> str:
    """A gloss in brackets (code-switching as web text has it)."""
    return f"（{gloss}）" if lang == "zh" else f" ({gloss})"


def word_space(lang: str) -> str:
    """What stands between words and sentences in `lang`: nothing in Chinese, else a space (Sec. 4 in miniature)."""
    return "" if lang == "zh" else " "


def lower_first(text: str) -> str:
    """Lower-case the first letter (a phrase moved inside a sentence); German nouns keep their capital."""
    return text[:1].lower() + text[1:]


def realise(meaning: Meaning, lang: str, *, gloss: bool = False, omit: str = "", gloss_in: str = "en",
            place_in: str = "") -> str:
    """The meaning as one sentence in `lang`; `gloss` adds a gloss in `gloss_in` (English), `omit` drops the slots
    named (e.g. "T"), `place_in` names the place in another language (a named entity in its own language)."""
    if "T" in omit and meaning.front:  # nothing left to front: the plain order (German would start with its verb)
        meaning = replace(meaning, front=False)
    parts = _parts(meaning, lang, gloss, gloss_in, place_in)
    order = (_ACT_ORDER if meaning.kind == "act" else _STATE_ORDER)[lang][int(meaning.front)]
    pieces = []
    for slot in order:
        text = parts.get(slot, "")
        if not text or slot in omit:
            continue
        if slot == "S" and pieces and meaning.subject < len(SUBJECTS):
            text = lower_first(text)
        pieces.append(text)
    if meaning.front and lang in FRONT_COMMA:
        pieces[0] += FRONT_COMMA[lang].rstrip()
    text = word_space(lang).join(pieces)
    return text[:1].upper() + text[1:] + ("。" if lang == "zh" else ".")


# ---------------------------------------------------------------------------------------------
# streams


def document(cfg: WorldConfig, lang: str, index: int) -> str:
    """The `index`-th monolingual document in `lang`: 2-5 train-bucket sentences about one subject (Sec. 4)."""
    _column(lang)
    rng = seeded_rng(cfg.seed, "doc", lang, index)
    first = draw_meaning(cfg, f"mono:{lang}", index, "train", covered_only=False)
    sentences = [first] + [
        draw_meaning(cfg, f"mono:{lang}", index, "train", covered_only=False, subject=first.subject, salt=k)
        for k in range(1, 2 + rng.randrange(4))
    ]
    return word_space(lang).join(
        realise(m, lang, gloss=lang != "en" and rng.random() < cfg.code_switch) for m in sentences
    )


def documents(cfg: WorldConfig, lang: str, start: int = 0) -> Iterator[str]:
    """An unlimited stream of monolingual documents in `lang` from document `start` on."""
    index = start
    while True:
        yield document(cfg, lang, index)
        index += 1


def train_meanings(cfg: WorldConfig, xx: str, count: int, stream: str = "train") -> list[Meaning]:
    """The xx-en parallel training meanings: train bucket, covered lexicon only (Sec. 4.2's human-written data)."""
    return [draw_meaning(cfg, f"{stream}:{xx}", i, "train", covered_only=True) for i in range(count)]


def _distinct(cfg: WorldConfig, stream: str, count: int, want: str, covered_only: bool) -> list[Meaning]:
    """The first `count` meanings of a stream with distinct content (a held-out set repeats no sentence)."""
    found: dict[tuple[object, ...], Meaning] = {}
    index = 0
    while len(found) < count:
        if index > 20 * count + 100:
            raise WorldError(f"only {len(found)} distinct {want} meanings found for {stream!r}. Fix: ask for fewer.")
        meaning = draw_meaning(cfg, stream, index, want, covered_only=covered_only)
        found.setdefault(meaning.key(), meaning)
        index += 1
    return list(found.values())


def valid_meanings(cfg: WorldConfig, xx: str, count: int) -> list[Meaning]:
    """The xx-en validation meanings: valid bucket, distinct, covered lexicon only (model selection)."""
    return _distinct(cfg, f"valid:{xx}", count, "valid", covered_only=True)


def test_meanings(cfg: WorldConfig, src: str, tgt: str, count: int) -> list[Meaning]:
    """A direction's test meanings: test bucket (never in any training text), distinct, whole lexicon (Sec. 5.1)."""
    return _distinct(cfg, f"test:{src}-{tgt}", count, "test", covered_only=False)


def pairs(meanings: Sequence[Meaning], src: str, tgt: str) -> list[tuple[str, str]]:
    """Exact translations: (sentence in `src`, sentence in `tgt`) of each meaning."""
    return [(realise(m, src), realise(m, tgt)) for m in meanings]
