"""Params of the sweeps whose runs are derived from a few variables: Section 3 (Figure 4), Appendix A (Figure 6)
and Section 6.1 (Figure 5, Tables 7-8). A params file sets the sweep variables, never `train` or `systems`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from alma_core.params.common import (
    EvalParams,
    LaunchParams,
    NotebookParams,
    SystemSpec,
    TrainRunsParams,
    _Strict,
    check_train_runs,
    declared_in,
)

__all__ = [
    "count_label",
    "BackboneSpec",
    "Sec3ParallelDataParams",
    "AppAObjectivesParams",
    "Sec61MonolingualTokensParams",
    "PortingBackbonesParams",
]


def count_label(n: int) -> str:
    """A data or token count as the paper writes it (Sec. 3, 6.1): 10K, 1M, 20M, 1B (exact below 1000)."""
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= size:
            return f"{n / size:.3g}{suffix}"
    return str(n)


class BackboneSpec(_Strict):
    """A backbone of a data-size sweep (Section 3, App. A): a hub id/path, or a tiny stand-in with its own config."""

    label: str
    model: str = "tiny"
    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    sizes: list[int] | None = Field(None, description="parallel-data sizes this backbone trains on; None = all `sizes`")


class _DerivedRuns(TrainRunsParams):
    """A sweep whose `train` runs and `systems` are derived from a few variables (never set them in a params file)."""

    DERIVED: ClassVar[frozenset[str]] = frozenset({"train", "systems"})
    systems: list[SystemSpec] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _derive(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get("train") or data.get("systems"):
            raise ValueError("`train` and `systems` are derived from the sweep variables of this notebook; remove them")
        try:
            return {**data, **cls._expand(data)}
        except (TypeError, KeyError, AttributeError, ValueError):
            return data  # the field validators below report what is wrong with the sweep variables

    @classmethod
    def _expand(cls, data: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


class Sec3ParallelDataParams(_DerivedRuns):
    """Section 3: stage 2 of several backbones (and one trained from scratch) on growing nested parallel subsets (Figure
    4)."""

    backbones: dict[str, BackboneSpec] = Field(min_length=1)
    sizes: list[int] = Field(min_length=1, description="nested parallel-data steps (10K ... 20M in the paper)")
    stage2: dict[str, Any] = Field(
        description="TrainConfig values shared by every run (language_pairs = evaluation.directions)"
    )
    DERIVED: ClassVar[frozenset[str]] = frozenset({"train", "systems", "tiny_backbone"})
    tiny_backbone: dict[str, Any] = Field(
        default_factory=dict, description="set per backbone by for_backbone(); leave empty"
    )
    evaluation: EvalParams
    launch: LaunchParams = LaunchParams()

    @field_validator("sizes")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if any(n < 1 for n in value) or value != sorted(set(value)):
            raise ValueError("sizes must be positive and strictly increasing, e.g. [20, 60, 180]")
        return value

    @classmethod
    def _expand(cls, data: dict[str, Any]) -> dict[str, Any]:
        train, systems = {}, []
        directions = data["evaluation"]["directions"]
        for key, spec in data["backbones"].items():
            spec = BackboneSpec.model_validate(spec)
            for size in spec.sizes or data["sizes"]:
                run = f"{key}-{size}"
                train[run] = {**data["stage2"], "base_model": spec.model, "language_pairs": list(directions),
                              "max_train_examples": size}
                systems.append({"name": f"{spec.label}, {count_label(size)} pairs", "train": run})
        return {"train": train, "systems": systems}

    def size_of(self, run: str) -> int:
        """The parallel-data size of a derived run (Figure 4). Used by notebooks/sec3_parallel_data.ipynb."""
        return int(self.train[run]["max_train_examples"])

    def point_of(self, system: str) -> tuple[str, int]:
        """(backbone label, parallel-data size) of a system (Figure 4). Used by notebooks/sec3_parallel_data.ipynb."""
        run = next(s.train for s in self.systems if s.name == system)
        return self.backbones[run.rsplit("-", 1)[0]].label, self.size_of(run)

    def for_backbone(self, key: str) -> Sec3ParallelDataParams:
        """One backbone's runs and systems (Sec. 3; its tiny stand-in as `tiny_backbone`). Used by
        notebooks/sec3_parallel_data.ipynb."""
        runs = {name: run for name, run in self.train.items() if name.rsplit("-", 1)[0] == key}
        systems = [s for s in self.systems if s.train in runs]
        return self.model_copy(
            update={"tiny_backbone": self.backbones[key].tiny_backbone, "train": runs, "systems": systems}
        )


class AppAObjectivesParams(_DerivedRuns):
    """Appendix A: CLM vs. prefix-LM vs. mixture-of-denoisers across parallel-data sizes, full weights (Figure 6)."""

    backbone: BackboneSpec
    objectives: list[Literal["clm", "prefix_lm", "mod"]] = Field(min_length=1)
    sizes: list[int] = Field(min_length=1, description="parallel-data sizes; 0 = the zero-shot backbone")
    stage2: dict[str, Any] = Field(
        description="TrainConfig values shared by every run (language_pairs = evaluation.directions)"
    )
    DERIVED: ClassVar[frozenset[str]] = frozenset({"train", "systems", "tiny_backbone"})
    tiny_backbone: dict[str, Any] = Field(
        default_factory=dict, description="copied from backbone.tiny_backbone; leave empty"
    )
    evaluation: EvalParams
    launch: LaunchParams = LaunchParams()

    @field_validator("sizes")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if any(n < 0 for n in value) or value != sorted(set(value)):
            raise ValueError("sizes must be >= 0 and strictly increasing, e.g. [0, 20, 60, 180]")
        return value

    @classmethod
    def _expand(cls, data: dict[str, Any]) -> dict[str, Any]:
        spec = BackboneSpec.model_validate(data["backbone"])
        train, systems = {}, []
        if 0 in data["sizes"]:
            systems.append({"name": f"{spec.label}, zero-shot", "model": spec.model,
                            "local_files_only": spec.model == "tiny"})
        for objective in data["objectives"]:
            for size in [n for n in data["sizes"] if n > 0]:
                run = f"{objective}-{size}"
                train[run] = {**data["stage2"], "base_model": spec.model, "objective": objective,
                              "language_pairs": list(data["evaluation"]["directions"]), "max_train_examples": size}
                systems.append({"name": f"{objective}, {count_label(size)} pairs", "train": run})
        return {"train": train, "systems": systems, "tiny_backbone": spec.tiny_backbone}

    def point_of(self, system: str) -> tuple[str, int]:
        """(objective, data size) of a system, zero-shot = size 0 (App. A, Figure 6). Used by
        notebooks/appA_objectives.ipynb."""
        spec = next(s for s in self.systems if s.name == system)
        if spec.train is None:
            return "zero-shot", 0
        run = self.train[spec.train]
        return run["objective"], int(run["max_train_examples"])


class Sec61MonolingualTokensParams(_DerivedRuns):
    """Section 6.1 / Appendix F: stage-1 checkpoints every N monolingual tokens, each followed by stage 2 (Figure 5,
    Tables 7-8)."""

    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    stage1: dict[str, Any] = Field(
        description="TrainConfig values of the one stage-1 run (its length comes from the checkpoints)"
    )
    stage2: dict[str, Any] = Field(
        description="TrainConfig values of every stage-2 run (language_pairs = evaluation.directions)"
    )
    checkpoint_every_tokens: int = Field(ge=1, description="N: a stage-1 snapshot every N tokens (1B in the paper)")
    checkpoints: int = Field(ge=1, description="how many snapshots (20 for ALMA-7B in the paper)")
    label: str = Field("ALMA", description="system name prefix in the tables")
    evaluation: EvalParams
    launch: LaunchParams = LaunchParams()

    @staticmethod
    def _steps_per_checkpoint(data: Mapping[str, Any]) -> int:
        stage1 = data["stage1"]
        per_step = int(stage1.get("global_batch_size", 256)) * int(stage1.get("max_length", 512))
        return max(1, -(-int(data["checkpoint_every_tokens"]) // per_step))

    @classmethod
    def _stage2_runs(cls, data: Mapping[str, Any], stage1_dir: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        steps = cls._steps_per_checkpoint(data)
        per_step = int(data["stage1"].get("global_batch_size", 256)) * int(data["stage1"].get("max_length", 512))
        train, systems = {}, []
        for k in range(1, int(data["checkpoints"]) + 1):
            label = count_label(k * steps * per_step)
            run = f"stage2-after-{label}"
            train[run] = {**data["stage2"], "base_model": f"{stage1_dir}/checkpoint-{k * steps}",
                          "local_files_only": True, "language_pairs": list(data["evaluation"]["directions"])}
            systems.append({"name": f"{data.get('label', 'ALMA')}@{label}", "train": run})
        return train, systems

    @classmethod
    def _expand(cls, data: dict[str, Any]) -> dict[str, Any]:
        steps, k = cls._steps_per_checkpoint(data), int(data["checkpoints"])
        stage1 = {**{key: v for key, v in data["stage1"].items() if key != "train_tokens"}, "stage": 1,
                  "max_steps": k * steps, "eval_every": (steps - 0.5) / (k * steps),
                  "save_total_limit": None, "load_best_model_at_end": False, "save_only_model": True}
        train, systems = cls._stage2_runs(data, "<stage1 output_dir>")  # after_stage1() puts the real folder
        return {"train": {"stage1": stage1, **train}, "systems": systems}

    def stage1_only(self) -> Sec61MonolingualTokensParams:
        """The stage-1 run only, whose checkpoints are stage 2's bases (Sec. 6.1). Used by
        notebooks/sec6_1_monolingual_tokens.ipynb."""
        return self.model_copy(update={"train": {"stage1": self.train["stage1"]}, "systems": []})

    def after_stage1(self, stage1_dir: str | Path) -> Sec61MonolingualTokensParams:
        """The stage-2 runs on the checkpoints in `stage1_dir` (Sec. 6.1). Used by
        notebooks/sec6_1_monolingual_tokens.ipynb."""
        train, systems = self._stage2_runs(self.model_dump(), str(stage1_dir))
        return self.model_copy(update={"train": train, "systems": [SystemSpec(**s) for s in systems]})

    def tokens_of(self, system: str) -> int:
        """Stage-1 tokens behind a system: steps x batch x length (Sec. 6.1). Used by
        notebooks/sec6_1_monolingual_tokens.ipynb."""
        run = next(s.train for s in self.systems if s.name == system)
        step = int(str(self.train[run]["base_model"]).rsplit("-", 1)[1])
        return step * int(self.stage1.get("global_batch_size", 256)) * int(self.stage1.get("max_length", 512))


class PortingBackbonesParams(NotebookParams):
    """notebooks/porting_backbones.ipynb: the stage-2 recipe (Sec. 5.2) on today's backbones, one LoRA run each."""

    backbones: dict[str, str] = Field(min_length=1, description="display name -> hub id (or local folder)")
    stand_ins: bool = Field(False, description="build local stand-ins of the hub ids (rehearsal.hub) instead")
    example: tuple[str, str] = Field(("Die Katze sitzt auf der Matte.", "The cat sits on the mat."),
                                     description="a de->en pair whose tokens and loss mask are shown per family")
    stage2: dict[str, Any] = Field(description="TrainConfig values of every backbone's run (base_model filled in)")
    evaluation: EvalParams
    launch: LaunchParams = LaunchParams()

    @field_validator("stage2")
    @classmethod
    def _stage2(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """Must be a valid TrainConfig once each backbone is its base_model."""
        return check_train_runs({"stage2": value}, declared_in(info), prefix="")["stage2"]
