"""Sampling: temperature language ratios (App. D.1), language mixtures, parallel subsets (Section 3),
graded-quality parallel data (Section 6.2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TypeVar

import numpy as np

__all__ = [
    "SamplingError",
    "DEFAULT_FIXED",
    "QUALITIES",
    "FILTERED_PERTURBED",
    "RANDOM_MISALIGNED",
    "RANDOM_TRUNCATED",
    "temperature_ratios",
    "MixtureSampler",
    "interleave",
    "parallel_subset",
    "degrade_pairs",
]

T = TypeVar("T")

# English takes a fixed 1/6 of the stage-1 mixture (App. D.1).
DEFAULT_FIXED: Mapping[str, float] = MappingProxyType({"en": 1 / 6})

QUALITIES: tuple[str, ...] = ("HW", "Filtered", "Random")
FILTERED_PERTURBED = 0.2  # share of pairs "Filtered" perturbs (truncated or with a duplicated word)
RANDOM_MISALIGNED = 0.5  # share of pairs "Random" gives another pair's target
RANDOM_TRUNCATED = 0.2  # further share of pairs "Random" truncates (0.7 corrupted in all)


class SamplingError(ValueError):
    """Invalid sampling arguments (ratios, sizes, qualities); the message says the fix."""


def temperature_ratios(
    sizes: Mapping[str, float], temperature: float = 6.0, fixed: Mapping[str, float] = DEFAULT_FIXED
) -> dict[str, float]:
    """App. D.1: fixed languages take their share; the rest share 1 - sum(fixed) in proportion to (D_l / sum D)^(1/T).

    `sizes` are data amounts (e.g. Table 5's word counts); the sum in D_l / sum D runs over the
    non-fixed languages only, as in the paper. `fixed` entries for languages absent from `sizes` are ignored.
    Returns ratios in the order of `sizes`, summing to 1.
    """
    if not sizes:
        raise SamplingError("no languages given. Fix: pass sizes such as {'de': 73.8, 'en': 523.9}.")
    if not temperature > 0:
        raise SamplingError(f"temperature must be > 0, got {temperature}. Fix: the paper uses T=6.")
    for lang, size in sizes.items():
        if not (size >= 0 and math.isfinite(size)):
            raise SamplingError(f"size of {lang!r} is {size}. Fix: sizes must be finite and >= 0.")
    held = {lang: float(share) for lang, share in fixed.items() if lang in sizes}
    if any(not 0 <= share <= 1 for share in held.values()) or sum(held.values()) > 1 + 1e-9:
        raise SamplingError(f"fixed shares {held} must each lie in [0, 1] and sum to <= 1. Fix: lower them.")
    free = {lang: float(size) for lang, size in sizes.items() if lang not in held}
    rest = 1.0 - sum(held.values())
    total = sum(free.values())
    if free and total <= 0:
        raise SamplingError(f"all sizes of {sorted(free)} are 0. Fix: give at least one a positive size.")
    if not free and abs(rest) > 1e-9:
        raise SamplingError(f"every language is fixed but the shares sum to {1 - rest}. Fix: make them sum to 1.")
    weights = {lang: (size / total) ** (1.0 / temperature) for lang, size in free.items()}
    norm = sum(weights.values())
    ratios = {lang: held[lang] if lang in held else rest * weights[lang] / norm for lang in sizes}
    return ratios


class MixtureSampler:
    """Draw language codes with fixed ratios for as long as asked (App. D.1), deterministic by seed.

    Unlike HF `interleave_datasets(stopping_strategy="all_exhausted")` in the official code, the
    ratios never change as sources run out. Ratios are normalised; drawing in chunks gives the same
    sequence as drawing all at once.
    """

    def __init__(self, ratios: Mapping[str, float], seed: int) -> None:
        """Validate and normalise `ratios`; seed a numpy Generator."""
        if not ratios:
            raise SamplingError("no ratios given. Fix: pass e.g. temperature_ratios(sizes).")
        values = np.asarray([float(v) for v in ratios.values()], dtype=np.float64)
        if not np.all(np.isfinite(values)) or np.any(values < 0) or values.sum() <= 0:
            raise SamplingError(f"ratios {dict(ratios)} must be finite, >= 0 and not all 0. Fix: check them.")
        self.languages: tuple[str, ...] = tuple(ratios)
        self.probabilities = values / values.sum()
        self._cdf = np.cumsum(self.probabilities)
        self._cdf[-1] = 1.0
        self._rng = np.random.default_rng(seed)

    def draw(self, n: int) -> list[str]:
        """The next `n` language codes of this sampler's sequence."""
        if n < 0:
            raise SamplingError(f"cannot draw {n} items. Fix: pass n >= 0.")
        indices = np.searchsorted(self._cdf, self._rng.random(n), side="right")
        last = len(self.languages) - 1
        return [self.languages[min(int(i), last)] for i in indices]

    def __iter__(self) -> Iterator[str]:
        """Endless stream continuing this sampler's sequence."""
        while True:
            yield from self.draw(1024)


def interleave(
    sources: Mapping[str, Callable[[], Iterable[T]]], ratios: Mapping[str, float], seed: int, skip: int = 0
) -> Iterator[tuple[str, T]]:
    """Mix per-language streams by `ratios` forever (App. D.1), yielding (lang, item).

    `sources[lang]()` makes a fresh iterable; an exhausted source is restarted (a new pass over it)
    instead of changing the ratios. Stop with `itertools.islice`. `skip=n` starts at item n of the same
    sequence (a resumed stream): the languages of the skipped items are drawn at once and each source is
    advanced by its count, without yielding the skipped items.
    """
    missing = sorted(lang for lang, ratio in ratios.items() if ratio > 0 and lang not in sources)
    unused = sorted(lang for lang in sources if lang not in ratios)
    if missing or unused:
        raise SamplingError(
            f"sources and ratios disagree (no source for {missing}, no ratio for {unused}). "
            "Fix: give every language both a source and a ratio."
        )
    if skip < 0:
        raise SamplingError(f"cannot skip {skip} items. Fix: pass skip >= 0.")
    sampler = MixtureSampler(ratios, seed)
    iterators: dict[str, Iterator[T]] = {}

    def take(lang: str) -> T:
        iterator = iterators.get(lang)
        if iterator is None:
            iterator = iterators[lang] = iter(sources[lang]())
        try:
            return next(iterator)
        except StopIteration:
            iterator = iterators[lang] = iter(sources[lang]())
            try:
                return next(iterator)
            except StopIteration:
                raise SamplingError(
                    f"the source for {lang!r} yielded nothing. Fix: give it data or a ratio of 0."
                ) from None

    for done in range(0, skip, 1 << 20):
        for lang in sampler.draw(min(1 << 20, skip - done)):
            take(lang)
    for lang in sampler:
        yield lang, take(lang)


def parallel_subset(pairs: Sequence[T], size: int, seed: int) -> list[T]:
    """A deterministic random subset of `size` items (Section 3's 10K..20M steps); smaller sizes are prefixes of larger
    ones."""
    if not 0 <= size <= len(pairs):
        raise SamplingError(
            f"asked for a subset of {size} items but the data has {len(pairs)}. "
            f"Fix: pass a size between 0 and {len(pairs)}."
        )
    order = np.random.default_rng(seed).permutation(len(pairs))
    return [pairs[int(i)] for i in order[:size]]


def _tokens(text: str) -> tuple[list[str], str]:
    """Split into words (joined by spaces) or, for unspaced text such as Chinese, characters."""
    words = text.split()
    return (words, " ") if len(words) >= 2 else (list(text.strip()), "")


def _truncate(text: str) -> str:
    """Drop the last ~40% of the words (characters for unspaced text), keeping at least one."""
    units, joiner = _tokens(text)
    keep = max(1, math.floor(len(units) * 0.6))
    return joiner.join(units[:keep])


def _duplicate(text: str, rng: np.random.Generator) -> str:
    """Repeat one word (character for unspaced text) in place."""
    units, joiner = _tokens(text)
    if not units:
        return text
    at = int(rng.integers(len(units)))
    return joiner.join(units[: at + 1] + units[at:])


def _other_target(donors: Sequence[str], target: str, rng: np.random.Generator, tries: int = 16) -> str:
    """A random donor target that differs from `target`; truncation when none is found."""
    for _ in range(tries if donors else 0):
        candidate = donors[int(rng.integers(len(donors)))]
        if candidate != target:
            return candidate
    return _truncate(target)


def degrade_pairs(
    pairs: Sequence[tuple[str, str]],
    quality: str,
    seed: int,
    *,
    pool: Sequence[tuple[str, str]] | None = None,
) -> list[tuple[str, str]]:
    """Graded-quality parallel data for the Section 6.2 ablation at tiny scale; sources are never changed.

    A stand-in for the paper's WMT "Random" and "Filtered" sets, which this project cannot ship:
    "HW" returns the pairs unchanged; "Filtered" perturbs FILTERED_PERTURBED (20%) of the targets
    (half truncated, half with a duplicated word); "Random" gives RANDOM_MISALIGNED (50%) a target of
    another pair (from `pool` when given, else from `pairs`) and truncates RANDOM_TRUNCATED (20%) more.
    Which pairs are hit is deterministic by `seed`.
    """
    if quality not in QUALITIES:
        raise SamplingError(f"unknown quality {quality!r}. Fix: use one of {', '.join(QUALITIES)}.")
    out = [(str(s), str(t)) for s, t in pairs]
    if quality == "HW" or not out:
        return out
    rng = np.random.default_rng(seed)
    order = [int(i) for i in rng.permutation(len(out))]
    if quality == "Filtered":
        hit = order[: round(FILTERED_PERTURBED * len(out))]
        for k, i in enumerate(hit):
            source, target = out[i]
            out[i] = (source, _truncate(target) if k % 2 == 0 else _duplicate(target, rng))
        return out
    n_mis = round(RANDOM_MISALIGNED * len(out))
    n_trunc = round(RANDOM_TRUNCATED * len(out))
    donors = [t for _, t in (pool if pool is not None else pairs)]
    for i in order[:n_mis]:
        source, target = out[i]
        out[i] = (source, _other_target(donors, target, rng))
    for i in order[n_mis : n_mis + n_trunc]:
        source, target = out[i]
        out[i] = (source, _truncate(target))
    return out
