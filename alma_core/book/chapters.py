"""The chapters built on a stage-1 model plus stage-2 runs (Section 6.2; Appendices E, G, H, I): run their declared
job graph (`alma_core.jobs.graphs`) and show what ran.

Every run and every evaluation goes through `alma_core.jobs.core` (so through `alma_core.jobs.launch`: a process on
the right device in every profile, DeepSpeed/SLURM at paper scale), each system with its prompt variant (Figure 2,
target-language, k-shot) on the notebook's directions. Their tables (Tables 3, 10, 11) are built by
`alma_core.book.tables`, their data variants by `alma_core.jobs.variants`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from alma_core.book import report, tables
from alma_core.io import read_json
from alma_core.jobs import assets, store
from alma_core.jobs import core as jobs
from alma_core.jobs.graphs import JobGraph, chapter_graph
from alma_core.jobs.variants import stage2_languages
from alma_core.recipe.metrics import bleu
from alma_core.recipe.testsets import read_test_set
from alma_core.runs.evaluate import read_hypotheses
from alma_core.standins.mini_world_data import held_out_flags, world_settings

__all__ = ["ChapterRuns", "run_chapter", "show_runs", "test_root", "stage2_languages", "show_prompt_provenance",
           "held_out_bleu"]


@dataclass(frozen=True)
class ChapterRuns:
    """What a two-stage chapter ran: its graph, {run: folder}, tidy scores, {system: run.json}, decoding provenance."""

    graph: JobGraph
    trained: dict[str, Path]
    scores: pd.DataFrame
    runs: dict[str, Path]
    provenance: dict[str, dict[str, str]]


def _provenance(run_files: dict[str, Path]) -> dict[str, dict[str, str]]:
    """{"system direction": sacreBLEU signature, language-ID signature, an example} from each evaluation's run.json."""
    provenance = {}
    for name, path in run_files.items():
        record = read_json(path) if path.is_file() else {}
        for direction, done in record.get("outputs", {}).items():
            provenance[f"{name} {direction}"] = {"signature": record.get("signatures", {}).get(f"bleu {direction}", ""),
                                                 "off-target": record.get("signatures", {}).get("off-target", ""),
                                                 "example": done.get("example", "")}
    return provenance


def run_chapter(notebook: str, params: Any) -> ChapterRuns:
    """Train every run of the chapter's graph (stage 1 first), then evaluate every system; finished jobs are skipped.

    Used by notebooks/sec6_2_data_quality.ipynb, appE_off_target.ipynb, appH_human_written_data.ipynb, appI_icl.ipynb.
    """
    graph = chapter_graph(notebook, params)
    with_runs = graph.params(params)
    trained = jobs.ensure_trained(with_runs)
    scores, run_files = jobs.ensure_evaluated(with_runs, trained, graph.systems)
    return ChapterRuns(graph, trained, scores, run_files, _provenance(run_files))


def show_runs(params: Any, chapter: ChapterRuns) -> None:
    """The tables of the stage-1 and stage-2 runs (settings and what each run.json says it did); a released stage-1
    model is named, not tabled."""
    if params.stage1_from:
        report.show_markdown(f"- **stage 1**: the released `{params.stage1_from}` (not trained by this build)")
    for stage, title in ((1, "Stage-1 run (shared with the other chapters that start from stage 1)"),
                         (2, "Stage-2 runs of this build (skipped when already done for the same inputs)")):
        runs = {name: run for name, run in chapter.graph.runs.items() if run.get("stage") == stage}
        if runs:
            trained = {name: chapter.trained[name] for name in runs}
            report.show_table(jobs.training_summary(jobs.with_train(params, runs), trained), title)


def test_root(params: Any) -> Path:
    """Where the notebook's test sets live: `evaluation.test_root`, else the data root (sample data by default).

    Used by notebooks/appE_off_target.ipynb.
    """
    return Path(
        store.resolve(params.evaluation.test_root) if params.evaluation.test_root else assets.data_root(params)
    )


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


def held_out_bleu(params: Any, runs: Mapping[str, str]) -> pd.DataFrame:
    """Sec. 6.2 (mini): BLEU on the test sentences with / without a held-out lexicon entry. Used by sec6_2.

    Rescored from each evaluation's hypothesis file (first seed); the tables only lay it out."""
    if not getattr(params, "world", None):
        return pd.DataFrame()
    config, sizes = world_settings(params.world)
    rows: dict[str, dict[str, float]] = {system: {} for system in runs}
    for direction in params.evaluation.directions:
        src, tgt = direction.split("-")
        sources, refs = read_test_set(assets.data_root(params), src, tgt, fmt="json")
        flags = held_out_flags(config, src, tgt, sizes.get("test", 200), sizes.get("train", 1000))
        for system, run in runs.items():
            hyp_file = Path(run).parent / f"hyp.{direction}.jsonl"
            if not hyp_file.is_file():
                continue
            hyps = read_hypotheses(hyp_file, sources[: getattr(params.evaluation, "max_sentences", None)])
            for held, label in ((True, "with a held-out entry"), (False, "without")):
                picked = [i for i, flag in enumerate(flags[: len(hyps)]) if flag == held]
                rows[system][f"{direction}, {label} ({len(picked)})"] = bleu(
                    [hyps[i] for i in picked], [refs[i] for i in picked], tgt).score
    return pd.DataFrame.from_dict({s: r for s, r in rows.items() if r}, orient="index")
