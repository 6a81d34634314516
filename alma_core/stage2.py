"""Stage 2's parallel examples (Sections 4.2, 5.2, App. A): every direction's train and validation examples."""

from __future__ import annotations

from typing import Any, Literal

from alma_core import objectives, objectives_appa
from alma_core.config import TrainConfig, parallel_data_root, train_directions
from alma_core.data import has_split, load_pairs

__all__ = ["validation_sources", "stage2_datasets"]


def _example(cfg: TrainConfig, tokenizer: Any, src: str, tgt: str, source: str, target: str, rng: Any) -> dict:
    if cfg.objective == "prefix_lm":
        return objectives_appa.prefix_lm_example(tokenizer, src, tgt, source, target, cfg.max_length)
    if cfg.objective == "mod":
        return objectives_appa.mixture_of_denoisers_example(tokenizer, src, tgt, source, target, rng, cfg.max_length)
    return objectives.parallel_example(tokenizer, src, tgt, source, target, cfg.max_length)


def validation_sources(cfg: TrainConfig) -> dict[str, Literal["valid", "none", "holdout"]]:
    """Where each direction's validation examples come from (Section 5.2, as the official code).

    "valid": its valid file; "none": it has no valid file (is-en), so it trains on all its pairs and adds no
    validation examples; "holdout": NO direction has a valid file, so each holds out `eval_holdout` of its pairs.
    """
    root = parallel_data_root(cfg)
    found = {f"{src}-{tgt}": has_split(root, src, tgt, "valid") for src, tgt in train_directions(cfg)}
    if not any(found.values()):
        return {pair: "holdout" for pair in found}
    return {pair: "valid" if has else "none" for pair, has in found.items()}


def stage2_datasets(cfg: TrainConfig, tokenizer: Any) -> tuple[list[dict], list[dict]]:
    """Train and validation examples for every direction; prompt masked (Section 4.2) or an App. A objective."""
    import numpy as np

    rng = np.random.default_rng(cfg.seed)
    root = parallel_data_root(cfg)
    sources = validation_sources(cfg)
    train, valid = [], []
    for src, tgt in train_directions(cfg):
        pairs = load_pairs(root, src, tgt, "train")
        held: list[tuple[str, str]] = []
        if sources[f"{src}-{tgt}"] == "valid":
            held = load_pairs(root, src, tgt, "valid")
        elif sources[f"{src}-{tgt}"] == "holdout" and len(pairs) > 1:
            cut = max(1, int(len(pairs) * cfg.eval_holdout))
            pairs, held = pairs[cut:], pairs[:cut]
        train += [_example(cfg, tokenizer, src, tgt, s, t, rng) for s, t in pairs]
        valid += [_example(cfg, tokenizer, src, tgt, s, t, rng) for s, t in held]
    order = np.random.default_rng(cfg.seed).permutation(len(train))
    train = [train[i] for i in order][: cfg.max_train_examples]
    order = np.random.default_rng(cfg.seed + 1).permutation(len(valid))
    valid = [valid[i] for i in order][: cfg.max_eval_examples]
    return train, valid
