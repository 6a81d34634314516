"""Appendix J's jobs (Table 12): one option-scoring job per system, through the same path as every other job.

Each system's model is resolved as the translation jobs resolve it (`core.model_of`: a trained run, a backbone or a
released checkpoint, `trust_remote_code` passed through), keyed with the items it scores, ensured, rendered and
started through `alma_core.jobs.core`; the process is `python -m alma_core.runs.crosslingual`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from alma_core.io import read_json
from alma_core.jobs import core, store
from alma_core.recipe.crosslingual_items import items_digest

__all__ = ["JOB_MODULE", "job_config", "ensure_evaluated", "render_jobs"]

JOB_MODULE = "alma_core.runs.crosslingual"


def job_config(params: Any, system: Any, trained: Mapping[str, Path]) -> tuple[dict[str, Any], str, Path]:
    """The Appendix J job of one system of a notebook's params: resolved model and data; its store key and folder."""
    ev = params.evaluation
    model, identity = core.model_of(params, system, trained)
    job = {
        "system": system.name,
        **model,
        "tasks": {t: list(langs) for t, langs in ev.tasks.items()},
        "source": ev.source,
        "data_root": str(store.resolve(ev.data_root)) if ev.data_root else None,
        "splits": dict(ev.splits),
        "max_items": ev.max_items,
        "batch_size": ev.batch_size,
        "dtype": ev.dtype,
    }
    key = store.run_key({
        "crosslingual": {k: v for k, v in job.items() if k not in ("trained", "model")},
        "identity": identity,
        "items": None if job["source"] == "hub" else items_digest(job["tasks"], job["data_root"]),
    })
    out = store.resolve(params.store_dir) / "crosslingual" / f"{core.slug(system.name)}-{key}"
    return {**job, "output_dir": str(out)}, key, out


def ensure_evaluated(params: Any, trained: Mapping[str, Path]) -> tuple[pd.DataFrame, dict[str, Path]]:
    """Score every system unless done for the same inputs (store key); (tidy frame, {system: run.json}).

    Used by notebooks/appJ_crosslingual.ipynb.
    """
    frames, runs = [], {}
    for system in params.systems:
        job, key, out = job_config(params, system, trained)
        core.ensure(params, job, key, out, JOB_MODULE, finished=lambda o: (o / "scores.json").is_file(),
                    info={"system": system.name})
        frames.append(pd.DataFrame(read_json(out / "scores.json")))
        runs[system.name] = out / "run.json"
    return pd.concat(frames, ignore_index=True), runs


def render_jobs(params: Any, out: Path, trained: Mapping[str, Path] | None = None) -> list[Path]:
    """Every Appendix J job of `params` written as config + command/script, without running it (the dry run);
    `trained` defaults to the folders the notebook's train runs will have."""
    if trained is None:
        trained = {run: core.train_config(params, run)[2] for run in getattr(params, "train", {}) or {}}
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for system in params.systems:
        job, _key, _dir = job_config(params, system, trained)
        written += core.write_job(out, system.name, "crosslingual", job, params, JOB_MODULE)
    return written
