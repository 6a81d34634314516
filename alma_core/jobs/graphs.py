"""The job graphs of the chapters built on a stage-1 model plus stage-2 runs (Sec. 6.2; App. E, H, I), declared from
their params so that the notebook and the dry run (`make paper-dry-run`) start and render the same jobs.

A graph is every training run a chapter starts (stage 1 first: the stage-2 runs name its folder as their base
model) and every system it evaluates, in the order of the chapter's table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alma_core.jobs import core, variants
from alma_core.params.common import PromptVariant, SystemSpec

__all__ = ["JobGraph", "GRAPHS", "chapter_graph", "stage1_run", "backbone_system"]

STAGE1 = "stage 1"


@dataclass(frozen=True)
class JobGraph:
    """A chapter's training runs (each after the runs it starts from) and the systems it evaluates."""

    runs: dict[str, dict[str, Any]]
    systems: list[SystemSpec]

    def params(self, params: Any) -> Any:
        """The chapter's params with these runs as its `train` runs (what ensure_trained / ensure_evaluated read)."""
        return core.with_train(params, self.runs)


def stage1_run(params: Any) -> dict[str, Any]:
    """The stage-1 run of a two-stage chapter (base model `tiny` unless the params name one; Sec. 4.1)."""
    return {**params.stage1, "base_model": params.stage1.get("base_model", "tiny")}


def _stage1(params: Any) -> tuple[dict[str, dict[str, Any]], str]:
    """({"stage 1": run} or {} for a released stage-1 model, the model stage 2 starts from: its folder or hub id)."""
    if params.stage1_from:
        return {}, str(params.stage1_from)
    run = stage1_run(params)
    folder = core.train_config(core.with_train(params, {STAGE1: run}), STAGE1)[2]  # its folder, known before training
    return {STAGE1: run}, str(folder)


def backbone_system(params: Any, name: str, prompt: PromptVariant | None = None) -> SystemSpec:
    """The backbone stage 1 starts from, evaluated as is (Sec. 2): the tiny stand-in, else its hub id or path."""
    model = str(params.stage1.get("base_model", "tiny"))
    return SystemSpec(name=name, model=model, local_files_only=model == "tiny" or Path(model).is_dir(), prompt=prompt)


def _stage1_system(params: Any, name: str, prompt: PromptVariant | None = None) -> SystemSpec:
    """The stage-1 model evaluated as is: the run trained here, or the released model named by `stage1_from`."""
    if params.stage1_from:
        model = str(params.stage1_from)
        return SystemSpec(name=name, model=model, local_files_only=Path(model).is_dir(), prompt=prompt)
    return SystemSpec(name=name, train=STAGE1, prompt=prompt)


def _stage2(params: Any, base: str, data_root: str | None = None) -> dict[str, Any]:
    """A stage-2 run on `base` (a folder or hub id), on the data root of a variant when given (Sec. 4.2)."""
    values = {**params.stage2, "base_model": base}
    return values if data_root is None else {**values, "data_root": data_root}


def _sec6_2(params: Any, data_root: Callable[[str], str | None]) -> JobGraph:
    """Table 3: with and without stage 1 (mono), stage 2 on each data quality or none (parallel)."""
    stage1, base = _stage1(params)
    roots = {q: data_root(q) for q in params.qualities}
    backbone = params.stage1.get("base_model", "tiny")
    runs = {**stage1, **{q: _stage2(params, backbone, roots[q]) for q in params.qualities}}
    runs |= {f"stage 1 + {q}": _stage2(params, base, roots[q]) for q in params.qualities}
    systems = [backbone_system(params, "mono=no,parallel=none"), _stage1_system(params, "mono=yes,parallel=none")]
    systems += [SystemSpec(name=f"mono=no,parallel={q}", train=q) for q in params.qualities]
    systems += [SystemSpec(name=f"mono=yes,parallel={q}", train=f"stage 1 + {q}") for q in params.qualities]
    return JobGraph(runs, systems)


def _appE(params: Any, data_root: Callable[[str], str | None]) -> JobGraph:
    """Table 6: the backbone with each prompt variant, and ALMA (stage 1 + stage 2) with the Figure 2 prompt."""
    stage1, base = _stage1(params)
    systems = [backbone_system(params, v.name, v) for v in params.prompts]
    systems.append(SystemSpec(name="ALMA (stage 1 + stage 2), zero-shot", train="stage 1 + HW"))
    return JobGraph({**stage1, "stage 1 + HW": _stage2(params, base)}, systems)


def _appH(params: Any, data_root: Callable[[str], str | None]) -> JobGraph:
    """Table 10: stage 2 on a Flores-like subset vs. on all of the human-written data."""
    stage1, base = _stage1(params)
    runs = {**stage1, "stage 1 + Flores-like": _stage2(params, base, data_root("Flores")),
            "stage 1 + HW": _stage2(params, base)}
    systems = [SystemSpec(name="Flores", train="stage 1 + Flores-like"),
               SystemSpec(name="Flores+WMT", train="stage 1 + HW")]
    return JobGraph(runs, systems)


def _icl_row(variant: PromptVariant, stage2: bool) -> str:
    """A Table 11 row: the stage-1 model with a prompt, or the stage-2 model (with shots when the prompt has them)."""
    return ("stage 2" + ("" if variant.n_shots == 0 else f" + {variant.name}")) if stage2 else variant.name


def _appI(params: Any, data_root: Callable[[str], str | None]) -> JobGraph:
    """Table 11: the stage-1 model prompted with k shots vs. stage 2 (and stage 2 with the same shots)."""
    stage1, base = _stage1(params)
    systems = [_stage1_system(params, _icl_row(v, False), v) for v in params.prompts]
    systems += [SystemSpec(name=_icl_row(v, True), train="stage 1 + HW", prompt=v) for v in params.prompts]
    return JobGraph({**stage1, "stage 1 + HW": _stage2(params, base)}, systems)


GRAPHS: dict[str, Callable[[Any, Callable[[str], str | None]], JobGraph]] = {
    "sec6_2_data_quality": _sec6_2, "appE_off_target": _appE, "appH_human_written_data": _appH, "appI_icl": _appI,
}


def chapter_graph(notebook: str, params: Any, *, dry_run: bool = False) -> JobGraph:
    """The job graph of a two-stage chapter; `dry_run` names derived data roots without writing them."""
    if notebook not in GRAPHS:
        raise KeyError(f"{notebook!r} declares no job graph; the two-stage chapters are {', '.join(GRAPHS)}")
    return GRAPHS[notebook](params, lambda kind: variants.data_variant(params, kind, write=not dry_run))
