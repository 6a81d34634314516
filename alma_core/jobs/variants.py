"""Derived stage-2 training data (Section 6.2 data quality, Appendix H Flores vs. Flores + WMT), written once under the
store.

A variant is a copy of every stage-2 language's train split in the official layout (validation split
copied unchanged, so model selection is the same), in a folder named by the hash of its content: the
same inputs give the same folder, hence the same training-run key.
"""

from __future__ import annotations

from typing import Any

from alma_core.io import stable_hash
from alma_core.jobs import assets, store
from alma_core.recipe.data import load_pairs, write_train_pairs
from alma_core.recipe.sampling import QUALITIES, degrade_pairs, parallel_subset

__all__ = ["KINDS", "stage2_languages", "data_variant"]

KINDS: tuple[str, ...] = (*QUALITIES, "Flores")


def stage2_languages(params: Any) -> list[str]:
    """Non-English languages of the stage-2 runs (Sec. 4.2). Used by notebooks/sec6_2_data_quality.ipynb."""
    return sorted({part for pair in params.stage2["language_pairs"] for part in pair.split("-")} - {"en"})


def data_variant(params: Any, kind: str, *, write: bool = True) -> str | None:
    """Data root of a variant (Sec. 6.2, App. H): None for HW, else a given or written root. Used by sec6_2, appH."""
    if kind not in KINDS:
        raise ValueError(f"unknown data variant {kind!r}; use one of {', '.join(KINDS)}")
    if kind == "HW":
        return None
    if kind in (getattr(params, "quality_data", None) or {}):
        return str(store.resolve(params.quality_data[kind]))
    src_root = assets.data_root(params) if write else assets.data_dir(params.data_root)
    name = "flores-like" if kind == "Flores" else kind
    if not write and not src_root.is_dir():  # a dry run before the data is fetched: the folder is named by content
        return str(store.resolve(params.store_dir) / "data" / f"{name}-<hash of the data written at run time>")
    train = {xx: load_pairs(src_root, xx, "en", "train") for xx in stage2_languages(params)}
    if kind == "Flores":  # a Flores-like subset: `flores_fraction` of each pair's train set
        written = {
            xx: parallel_subset(pairs, max(1, round(params.flores_fraction * len(pairs))), params.seed)
            for xx, pairs in train.items()
        }
    else:
        written = {xx: degrade_pairs(pairs, kind, params.seed) for xx, pairs in train.items()}
    root = store.resolve(params.store_dir) / "data" / f"{name}-{stable_hash(written, length=12)}"
    for xx, pairs in written.items() if write else ():
        write_train_pairs(root, xx, pairs, valid_from=src_root)
    return str(root)
