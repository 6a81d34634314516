"""Helpers of the chapters built on a stage-1 model plus stage-2 runs (Section 6.2; Appendices E, G, H, I).

They train and evaluate through `alma_core.jobs.core` (so through `alma_core.jobs.launch`: a process on the
right device in every profile, DeepSpeed/SLURM at paper scale), evaluate each model with one prompt
variant (Figure 2, target-language, k-shot) on the notebook's directions. Their tables (Tables 3, 10,
11) are built by `alma_core.book.tables`, their data variants by `alma_core.jobs.variants`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from alma_core.book import report, tables
from alma_core.io import read_json
from alma_core.jobs import core as jobs
from alma_core.jobs import store
from alma_core.jobs.variants import stage2_languages
from alma_core.params.schemas import PromptVariant, SystemSpec

__all__ = [
    "train_runs",
    "stage1_model",
    "show_runs",
    "backbone_dir",
    "test_root",
    "stage2_languages",
    "score_systems",
    "show_prompt_provenance",
    "render_jobs",
]

METRICS = ("bleu", "chrf", "comet", "off_target")


def train_runs(params: Any, runs: dict[str, dict[str, Any]]) -> dict[str, Path]:
    """Train `{name: TrainConfig values}` through the job layer (DeepSpeed/SLURM at paper scale), skipping finished
    runs.
    Used by notebooks/appE_off_target.ipynb, appH_human_written_data.ipynb, appI_icl.ipynb and 1 more.
    """
    return jobs.ensure_trained(params, runs)


def _stage1_run(params: Any) -> dict[str, Any]:
    """The stage-1 run of a two-stage chapter (base model `tiny` unless the params name one)."""
    return {**params.stage1, "base_model": params.stage1.get("base_model", "tiny")}


def stage1_model(params: Any) -> Path | str:
    """The stage-1 (monolingual) model every two-stage chapter starts from: the released one named by `stage1_from`,
    else trained once and shared by key (Sec. 4.1).
    Used by notebooks/appE_off_target.ipynb, appH_human_written_data.ipynb, appI_icl.ipynb and 1 more.
    """
    if params.stage1_from:
        return params.stage1_from
    return train_runs(params, {"stage 1": _stage1_run(params)})["stage 1"]


def show_runs(runs: dict[str, dict[str, Any]], trained: dict[str, Path | str], title: str) -> None:
    """The table of training runs (settings and what each run.json says it did); a released model is named, not
    tabled.
    Used by notebooks/appE_off_target.ipynb, appH_human_written_data.ipynb, appI_icl.ipynb and 1 more.
    """
    released = {name: model for name, model in trained.items() if not Path(model).is_dir()}
    if released:
        report.show_markdown("\n".join(f"- **{name}**: the released `{model}` (not trained by this build)"
                                        for name, model in released.items()))
    runs = {name: run for name, run in runs.items() if name not in released}
    trained = {name: Path(out) for name, out in trained.items() if name not in released}
    if not trained:
        return
    report.show_table(jobs.training_summary(SimpleNamespace(train=runs), trained), title)


def backbone_dir(params: Any) -> str:
    """The backbone stage 1 starts from: the tiny stand-in's folder (tiny profile), else its hub id or path (Sec. 2).

    Used by notebooks/appE_off_target.ipynb, appH_human_written_data.ipynb, appI_icl.ipynb and 1 more.
    """
    return store.backbone_path(params.stage1.get("base_model", "tiny"), params.tiny_backbone, params.store_dir)


def test_root(params: Any) -> Path:
    """Where the notebook's test sets live: `evaluation.test_root`, else the data root (sample data by default).

    Used by notebooks/appE_off_target.ipynb.
    """
    return Path(
        store.resolve(params.evaluation.test_root) if params.evaluation.test_root else store.data_dir(params.data_root)
    )


def _system(name: str, model: str | Path, variant: PromptVariant | None) -> tuple[SystemSpec, dict[str, Path]]:
    """A system to evaluate: a finished training folder (a `train` system) or a backbone id/path, with its prompt."""
    if (Path(model) / "run.json").is_file():
        return SystemSpec(name=name, train=name, prompt=variant), {name: Path(model)}
    return SystemSpec(name=name, model=str(model), local_files_only=Path(model).is_dir(), prompt=variant), {}


def score_systems(
    params: Any, systems: Iterable[tuple[str, str | Path, PromptVariant | None]]
) -> tuple[pd.DataFrame, dict[str, dict[str, str]]]:
    """Evaluate (system name, model, prompt variant) triples as jobs (cached by inputs): one tidy frame and
    provenance.
    Used by notebooks/appE_off_target.ipynb, appH_human_written_data.ipynb, appI_icl.ipynb and 1 more.
    """
    specs, trained = [], {}
    for name, model, variant in systems:
        spec, runs = _system(name, model, variant)
        specs.append(spec)
        trained |= runs
    scores, run_files = jobs.ensure_evaluated(params, trained, systems=specs)
    scores.attrs["runs"] = {name: str(path) for name, path in run_files.items()}  # e.g. tables.held_out_bleu
    provenance = {}
    for name, path in run_files.items():
        record = read_json(path) if path.is_file() else {}
        for direction, done in record.get("outputs", {}).items():
            provenance[f"{name} {direction}"] = {"signature": record.get("signatures", {}).get(f"bleu {direction}", ""),
                                                 "off-target": record.get("signatures", {}).get("off-target", ""),
                                                 "example": done.get("example", "")}
    return scores, provenance


def show_prompt_provenance(params: Any, provenance: dict[str, dict[str, str]], limit: int = 6) -> None:
    """The provenance table: sacreBLEU signature per system/direction, the language-ID signature, the COMET model.

    Used by notebooks/appE_off_target.ipynb, appH_human_written_data.ipynb, appI_icl.ipynb and 1 more.
    """
    first = next(iter(provenance.values()), {})
    report.show_provenance(
        {
            name: {"signature": info["signature"], "model": name.rsplit(" ", 1)[0]}
            for name, info in list(provenance.items())[:limit]
        },
        extra={
            "off-target language ID": first.get("off-target", ""),
            "COMET": tables.comet_note(params) or params.evaluation.comet_model,
        },
    )


def render_jobs(params: Any, out: Path) -> list[Path]:
    """The dry run of a two-stage chapter: its stage-1 run, a stage-2 run on it, and that system's evaluation."""
    if params.stage1_from:
        runs = {"stage 2": {**params.stage2, "base_model": params.stage1_from}}
    else:
        stage1 = jobs.train_config(
            SimpleNamespace(**{**dict(params), "train": {"stage 1": _stage1_run(params)}}), "stage 1"
        )[2]
        runs = {"stage 1": _stage1_run(params), "stage 2": {**params.stage2, "base_model": str(stage1)}}
    systems = [SystemSpec(name="stage 1 + stage 2", train="stage 2")]
    return jobs.render_jobs(SimpleNamespace(**{**dict(params), "train": runs}), out, systems=systems)
