"""Appendix A's objectives for a decoder-only model: prefix-LM, span corruption (R/X denoisers) and their
mixture (mixture-of-denoisers, UL2 style).

Each example carries `prefix_length`; alma_core.recipe.objectives.RightPadCollator turns it into the 4D attention mask
(bidirectional inside the prefix, causal after it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alma_core.recipe.objectives import IGNORE_INDEX, check_special_tokens, parallel_example, prompt_start_ids, text_ids
from alma_core.recipe.prompts import prompt_parts

__all__ = [
    "DENOISERS",
    "prefix_lm_example",
    "span_corruption_mask",
    "denoising_example",
    "mixture_of_denoisers_example",
]

# Appendix A: R (regular) and X (extreme) span corruption; S (sequential) is prefix-LM. Drawn 25/25/50.
DENOISERS: dict[str, dict[str, float]] = {
    "R": {"mean_span": 3.0, "rate": 0.15, "prob": 0.25},
    "X": {"mean_span": 32.0, "rate": 0.25, "prob": 0.25},
    "S": {"prob": 0.50},
}



def prefix_lm_example(
    tokenizer: Any, src: str, tgt: str, source: str, target: str, max_length: int = 512, **kwargs: Any
) -> dict[str, Any]:
    """Prefix-LM example (Appendix A): as `parallel_example`, plus `prefix_length` for bidirectional prompt
    attention."""
    example = parallel_example(tokenizer, src, tgt, source, target, max_length, **kwargs)
    example["prefix_length"] = sum(label == IGNORE_INDEX for label in example["labels"])
    return example


def span_corruption_mask(length: int, mean_span: float, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean noise mask with ~`rate` of `length` tokens in spans of mean `mean_span` (T5/UL2 style, App. A)."""
    if length < 2:
        return np.zeros(length, dtype=bool)
    n_noise = int(min(max(round(length * rate), 1), length - 1))
    n_spans = int(min(max(round(n_noise / mean_span), 1), n_noise, length - n_noise))

    def split(total: int, parts: int) -> np.ndarray:
        cuts = (
            np.sort(rng.choice(np.arange(1, total), size=parts - 1, replace=False)) if parts > 1 else np.array([], int)
        )
        return np.diff(np.concatenate([[0], cuts, [total]]))

    noise, keep = split(n_noise, n_spans), split(length - n_noise, n_spans)
    mask = np.zeros(length, dtype=bool)
    pos = 0
    for k, n in zip(keep, noise):
        pos += int(k)
        mask[pos : pos + int(n)] = True
        pos += int(n)
    return mask


def _sentinel_ids(tokenizer: Any, index: int) -> list[int]:
    """Token ids of the i-th sentinel marker (plain text, so any tokenizer can express it)."""
    return text_ids(tokenizer, f"<extra_id_{index}>")


def denoising_example(
    tokenizer: Any,
    text: str,
    mean_span: float,
    rate: float,
    rng: np.random.Generator,
    *,
    mode: str = "R",
    max_length: int = 512,
) -> dict[str, Any]:
    """A span-corruption example for a decoder-only model (Appendix A, MoD R/X denoisers).

    Input (prefix, bidirectional): BOS + `[mode]` + text with each corrupted span replaced by a sentinel.
    Target (loss): each sentinel followed by the tokens it hides, then EOS.
    """
    check_special_tokens(tokenizer)
    ids = text_ids(tokenizer, text)
    mask = span_corruption_mask(len(ids), mean_span, rate, rng)
    inputs, targets, span = prompt_start_ids(tokenizer) + text_ids(tokenizer, f"[{mode}]"), [], -1
    for i, (tok, noisy) in enumerate(zip(ids, mask)):
        if noisy and (i == 0 or not mask[i - 1]):
            span += 1
            inputs += _sentinel_ids(tokenizer, span)
            targets += _sentinel_ids(tokenizer, span)
        (targets if noisy else inputs).append(tok)
    targets = targets[: max(max_length - len(inputs) - 1, 1)] + [tokenizer.eos_token_id]
    input_ids = (inputs + targets)[:max_length]
    labels = ([IGNORE_INDEX] * len(inputs) + targets)[:max_length]
    return {
        "input_ids": input_ids,
        "attention_mask": [1] * len(input_ids),
        "labels": labels,
        "prefix_length": len(inputs),
    }


def mixture_of_denoisers_example(
    tokenizer: Any,
    src: str,
    tgt: str,
    source: str,
    target: str,
    rng: np.random.Generator,
    max_length: int = 512,
) -> dict[str, Any]:
    """Mixture-of-denoisers (Appendix A): R (span 3, 15%) 25%, X (span 32, 25%) 25%, S (= prefix-LM) 50%."""
    draw = rng.random()
    if draw >= DENOISERS["R"]["prob"] + DENOISERS["X"]["prob"]:
        return prefix_lm_example(tokenizer, src, tgt, source, target, max_length)
    mode = "R" if draw < DENOISERS["R"]["prob"] else "X"
    before, after = prompt_parts(src, tgt)
    spec = DENOISERS[mode]
    return denoising_example(
        tokenizer,
        before + source + after + target,
        spec["mean_span"],
        spec["rate"],
        rng,
        mode=mode,
        max_length=max_length,
    )
