"""Helpers of the chapters built on a stage-1 model plus stage-2 runs (Section 6.2; Appendices E, G, H, I).

They train through `alma_core.book.ensure_trained` (so through `alma_core.launch`), evaluate one
model with one prompt variant (Figure 2, target-language, k-shot) on the notebook's directions with
results cached in the store, and shape the paper's average tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from alma_core import book, metrics, report, store
from alma_core.data import read_shots, shots_path
from alma_core.params import PromptVariant

__all__ = [
    "train_runs",
    "stage1_model",
    "show_runs",
    "backbone_dir",
    "test_root",
    "stage2_languages",
    "score_prompt",
    "score_systems",
    "averages",
    "bleu_bars",
    "comet_note",
    "blank_comet",
    "show_prompt_provenance",
]

METRICS = ("bleu", "chrf", "comet", "off_target")


def train_runs(params: Any, runs: dict[str, dict[str, Any]]) -> dict[str, Path]:
    """Train `{name: TrainConfig values}` through launch (DeepSpeed/SLURM at paper scale), skipping finished runs."""
    return book.ensure_trained(SimpleNamespace(**{**dict(params), "train": runs}))


def stage1_model(params: Any) -> Path:
    """The stage-1 (monolingual) model every two-stage chapter starts from; trained once, shared by key (Sec. 4.1)."""
    return train_runs(params, {"stage 1": {**params.stage1, "base_model": params.stage1.get("base_model", "tiny")}})["stage 1"]


def show_runs(runs: dict[str, dict[str, Any]], trained: dict[str, Path], title: str) -> None:
    """The table of training runs (settings and what each run.json says it did)."""
    report.show_table(book.training_summary(SimpleNamespace(train=runs), trained), title)


def backbone_dir(params: Any) -> Path | None:
    """The tiny backbone (the LLaMA-2 stand-in) of the tiny profile; None at paper scale (a hub id)."""
    return Path(store.backbone_path("tiny", params.tiny_backbone, params.store_dir)) if params.profile == "tiny" else None


def test_root(params: Any) -> Path:
    """Where the notebook's test sets live: `evaluation.test_root`, else the data root (sample data by default)."""
    return Path(store.resolve(params.evaluation.test_root) if params.evaluation.test_root else store.data_dir(params.data_root))


def stage2_languages(params: Any) -> list[str]:
    """The non-English languages of the stage-2 runs' language pairs."""
    return sorted({part for pair in params.stage2["language_pairs"] for part in pair.split("-")} - {"en"})


@lru_cache(maxsize=2)
def _load(model_dir: str) -> Any:
    """A trained (or backbone) model and tokenizer, kept while a notebook scores several prompts with it."""
    from alma_core.train import load_trained

    return load_trained(model_dir)


def _evaluate(params: Any, model_dir: Path, src: str, tgt: str, variant: PromptVariant) -> dict[str, Any]:
    """Translate one test set with one prompt variant and score BLEU, chrF, COMET (unless off) and off-target rate."""
    from alma_core.generate import translate
    from alma_core.testsets import read_test_set

    ev = params.evaluation
    sources, refs = (part[: ev.max_sentences] for part in read_test_set(test_root(params), src, tgt, fmt=ev.test_format))
    shots = ()
    if variant.shots:
        shots = read_shots(shots_path(store.data_dir(params.data_root), src, tgt, kind=variant.shots))[: variant.n_shots]
    hyps = translate(*_load(str(model_dir)), sources, src, tgt, num_beams=ev.num_beams, batch_size=ev.batch_size,
                     max_new_tokens=ev.max_new_tokens, max_prompt_tokens=ev.max_prompt_tokens, style=variant.style,
                     shots=shots, progress=False)
    bleu = metrics.bleu(hyps, refs, tgt)
    comet = None
    if ev.comet_model != "none":
        comet = metrics.comet(sources, hyps, refs, model=ev.comet_model, batch_size=ev.comet_batch_size).score
    off = metrics.off_target_rate(hyps, tgt, candidates=getattr(params, "off_target_candidates", None))
    return {"bleu": bleu.score, "chrf": metrics.chrf(hyps, refs).score, "comet": comet, "off_target": 100 * off.score,
            "signature": bleu.signature, "off_target_signature": off.signature, "example": hyps[0] if hyps else ""}


def score_prompt(
    params: Any, system: str, model_dir: Path, variant: PromptVariant | None = None
) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    """Tidy score rows of one system and prompt on every direction (cached by inputs), and their provenance."""
    variant = variant or PromptVariant(name="zero-shot")
    rows, provenance = [], {}
    for direction in params.evaluation.directions:
        src, tgt = direction.split("-")
        inputs = {"model": Path(model_dir).name, "direction": direction, "prompt": variant.model_dump(exclude={"name"}),
                  "eval": params.evaluation.model_dump(exclude={"directions"}), "test_root": str(test_root(params)),
                  "profile": params.profile}
        key = store.run_key(inputs)
        result = store.cached_json(store.resolve(params.store_dir) / "eval_prompts" / f"{direction}-{key}.json", key,
                                   lambda: _evaluate(params, Path(model_dir), src, tgt, variant), force=params.force,
                                   inputs=inputs)
        side, lang = ("xx-en", src) if tgt == "en" else ("en-xx", tgt)
        rows += [{"system": system, "direction": side, "lang": lang, "metric": m, "value": result[m]} for m in METRICS]
        provenance[f"{system} {direction}"] = {"signature": result["signature"], "off-target": result["off_target_signature"],
                                               "example": result["example"]}
    return rows, provenance


def score_systems(
    params: Any, systems: Iterable[tuple[str, Path, PromptVariant | None]]
) -> tuple[pd.DataFrame, dict[str, dict[str, str]]]:
    """`score_prompt` over (system name, model folder, prompt variant) triples: one tidy frame and all provenance."""
    rows, provenance = [], {}
    for system, model_dir, variant in systems:
        system_rows, system_provenance = score_prompt(params, system, model_dir, variant)
        rows += system_rows
        provenance |= system_provenance
    return pd.DataFrame(rows), provenance


def averages(frame: pd.DataFrame, metrics_: tuple[str, ...] = ("bleu", "comet")) -> pd.DataFrame:
    """One row per system, (direction, metric) columns: the paper's Avg. cells, or the mean over this build's languages."""
    rows = frame[frame["metric"].isin(metrics_)]
    rows = rows[rows["lang"] == "avg"] if (rows["lang"] == "avg").any() else rows
    table = rows.pivot_table(index="system", columns=["direction", "metric"], values="value", aggfunc="mean",
                             sort=False, dropna=False)
    return table.reindex(columns=[(d, m) for d in ("xx-en", "en-xx") for m in metrics_ if (d, m) in table.columns])


def bleu_bars(table: pd.DataFrame) -> pd.DataFrame:
    """The BLEU columns of an `averages` table, numeric, labelled by direction, for a bar chart."""
    return table.xs("bleu", axis=1, level="metric").apply(pd.to_numeric, errors="coerce").rename(columns=report.DIRECTION_LABELS)


def comet_note(params: Any) -> str:
    """Why COMET is absent ('' when the notebook computes it)."""
    if params.evaluation.comet_model != "none":
        return ""
    return "COMET skipped in this profile (evaluation.comet_model: none) to fit the book's time budget"


def blank_comet(table: pd.DataFrame, note: str) -> pd.DataFrame:
    """An `averages` table whose COMET cells read "not computed" when `note` says COMET was skipped."""
    if not note:
        return table
    table = table.astype(object)
    table.loc[:, [c for c in table.columns if c[1] == "comet"]] = "not computed"
    return table


def show_prompt_provenance(params: Any, provenance: dict[str, dict[str, str]], limit: int = 6) -> None:
    """The provenance table: sacreBLEU signature per system/direction, the language-ID signature, the COMET model."""
    first = next(iter(provenance.values()), {})
    report.show_provenance(
        {name: {"signature": info["signature"], "model": name.rsplit(" ", 1)[0]} for name, info in list(provenance.items())[:limit]},
        extra={"off-target language ID": first.get("off-target", ""), "COMET": comet_note(params) or params.evaluation.comet_model},
    )
