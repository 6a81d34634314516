"""Typed schema of every notebook params file `params/<profile>/<notebook>.yaml` (the book's inputs).

A params file holds exactly the variables of its notebook's `parameters` cell; papermill injects
them (`papermill notebooks/X.ipynb out.ipynb -f params/tiny/X.yaml`). Unknown keys and wrong
types are errors that name the file, the key and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from alma_core.io import validation_message

__all__ = [
    "ParamsError",
    "Profile",
    "PROFILES",
    "LaunchParams",
    "EvalParams",
    "SystemSpec",
    "NotebookParams",
    "Sec2ZeroShotParams",
    "Sec4RecipeParams",
    "Sec5MainResultsParams",
    "AppCTrainingDetailsParams",
    "AppDSamplingParams",
    "PromptVariant",
    "Sec62DataQualityParams",
    "AppEOffTargetParams",
    "AppHHumanWrittenParams",
    "AppIICLParams",
    "BackboneSpec",
    "Sec3ParallelDataParams",
    "AppAObjectivesParams",
    "Sec61MonolingualTokensParams",
    "SCHEMAS",
    "register_schema",
    "params_path",
    "load_params",
    "load_notebook_params",
    "notebook_params",
]

Profile = Literal["tiny", "paper", "released"]
PROFILES: tuple[str, ...] = ("tiny", "paper", "released")


class ParamsError(ValueError):
    """A params file that does not match its notebook's schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LaunchParams(_Strict):
    """How jobs are started (fields of alma_core.launch.RunSpec): one process on a laptop, DeepSpeed/SLURM on a cluster."""

    launcher: Literal["python", "torchrun", "deepspeed", "accelerate", "slurm"] = "python"
    nodes: int = Field(1, ge=1)
    gpus_per_node: int = Field(1, ge=1, description="processes per node (1 on a CPU)")
    deepspeed_config: str | None = None
    slurm_partition: str | None = None
    slurm_time: str = "24:00:00"
    slurm_account: str | None = None
    slurm_cpus_per_task: int = Field(16, ge=1)
    slurm_setup: list[str] = Field(default_factory=list)
    submit: bool = Field(False, description="slurm: submit the sbatch script (else it is only written)")
    wait: bool = Field(False, description="slurm: submit with `sbatch --wait`, block until the job ends, then go on")
    env: dict[str, str] = Field(default_factory=dict)


class EvalParams(_Strict):
    """Test sets, decoding and metrics of an evaluation (Section 5.1: beam 5, sacreBLEU, COMET-22)."""

    directions: list[str] = Field(min_length=1)
    test_root: str | None = None
    test_format: Literal["json", "sacrebleu-echo"] = "json"
    max_sentences: int | None = Field(None, ge=1)
    num_beams: int = Field(5, ge=1)
    batch_size: int = Field(16, ge=1)
    max_new_tokens: int = Field(256, ge=1)
    max_prompt_tokens: int = Field(256, ge=8)
    prompt_tokens_by_direction: dict[str, int] = Field(
        default_factory=lambda: {"zh-en": 512},
        description="a larger prompt budget for these directions (the official evaluation reruns zh-en with 512)")
    dtype: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="model dtype for decoding; auto = bf16 on a GPU that has it (else fp16), fp32 on a CPU")
    comet_model: str = "Unbabel/wmt22-comet-da"
    comet_batch_size: int = Field(8, ge=1)

    @field_validator("directions")
    @classmethod
    def _directions(cls, value: list[str]) -> list[str]:
        for direction in value:
            parts = direction.split("-")
            if len(parts) != 2 or "en" not in parts or parts[0] == parts[1]:
                raise ValueError(f"direction {direction!r} must look like 'de-en' or 'en-de' (one side English)")
        return value


class PromptVariant(_Strict):
    """One prompting setting of Appendices E and I: the prompt language and the in-context examples."""

    name: str
    style: Literal["english", "target"] = "english"
    shots: Literal["HW", "Filtered"] | None = None
    n_shots: int = Field(0, ge=0, le=5)
    num_beams: int | None = Field(None, ge=1, description="beams for this prompt; None = evaluation.num_beams")


class SystemSpec(_Strict):
    """One system of a results table: a backbone evaluated as is, a trained run, or a released checkpoint."""

    name: str
    model: str = "tiny"
    adapter: str | None = None
    train: str | None = None
    local_files_only: bool = True
    prompt: PromptVariant | None = Field(None, description="App. E/I prompt variant; None = the Figure 2 prompt")


class NotebookParams(_Strict):
    """Variables every notebook takes: its profile, where results are stored, whether to redo finished work."""

    profile: Profile
    store_dir: str
    force: bool = False
    seed: int = 42
    data_root: str | None = None


class Sec2ZeroShotParams(NotebookParams):
    """Section 2 / Appendix B: zero-shot translation of the backbones (Figure 3, Table 4)."""

    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    systems: list[SystemSpec] = Field(min_length=1)
    evaluation: EvalParams
    launch: LaunchParams = LaunchParams()


class Sec4RecipeParams(NotebookParams):
    """Section 4: the prompt, its loss mask token by token, and the stage-1 language mix."""

    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    tokenizer: str = "tiny"
    pair: tuple[str, str] = ("de", "en")
    example_index: int = Field(0, ge=0)
    languages: list[str] = Field(min_length=2)
    temperature: float = Field(6.0, gt=0)
    english_ratio: float = Field(1 / 6, gt=0, lt=1)
    mix_draws: int = Field(6000, ge=100)


class Sec5MainResultsParams(NotebookParams):
    """Section 5: ALMA full-weight and LoRA vs. the zero-shot backbone (Tables 1 and 2)."""

    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    train: dict[str, dict[str, Any]] = Field(default_factory=dict)
    systems: list[SystemSpec] = Field(min_length=1)
    evaluation: EvalParams
    launch: LaunchParams = LaunchParams()

    @field_validator("train")
    @classmethod
    def _train_configs(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Every run must be a valid alma_core.train.TrainConfig (base_model `tiny` = the tiny stand-in)."""
        from alma_core.train import make_config

        for name, run in value.items():
            make_config({"base_model": "tiny", "output_dir": "-", **run}, source=f"train.{name}")
        return value


class AppCTrainingDetailsParams(NotebookParams):
    """Appendix C: the training-details table, generated from the params of the notebooks that train."""

    sources: list[str] = Field(default_factory=lambda: ["sec5_main_results"], min_length=1)


class AppDSamplingParams(NotebookParams):
    """Appendix D: Table 5's sampling ratios recomputed from the word counts (T=6, English fixed)."""

    languages: list[str] = Field(min_length=2)
    temperature: float = Field(6.0, gt=0)
    english_ratio: float = Field(1 / 6, gt=0, lt=1)
    draws: int = Field(6000, ge=100)


class _TwoStageParams(NotebookParams):
    """Variables shared by the Section 6.2 / Appendix E, H, I chapters: the stage-1 and stage-2 runs they build on."""

    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    stage1: dict[str, Any] = Field(description="TrainConfig values of the stage-1 (monolingual) run")
    stage2: dict[str, Any] = Field(description="TrainConfig values shared by every stage-2 (parallel) run")
    evaluation: EvalParams
    launch: LaunchParams = LaunchParams()

    @field_validator("stage1", "stage2")
    @classmethod
    def _train_config(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Each must be a valid alma_core.train.TrainConfig (base_model `tiny` = the tiny stand-in)."""
        return _check_runs({"stage": value})["stage"]


class Sec62DataQualityParams(_TwoStageParams):
    """Section 6.2 / Appendix G: with/without stage 1 x parallel data of three qualities (Tables 3 and 9)."""

    qualities: list[Literal["Random", "Filtered", "HW"]] = Field(min_length=1)
    quality_data: dict[Literal["Random", "Filtered"], str] = Field(
        default_factory=dict, description="data roots (official layout) of the real Random/Filtered sets; "
        "a quality not listed is made from the human-written data by alma_core.sampling.degrade_pairs")


class AppEOffTargetParams(_TwoStageParams):
    """Appendix E: the off-target problem; prompt language and shots vs. the off-target rate (Table 6)."""

    prompts: list[PromptVariant] = Field(min_length=1)
    off_target_candidates: list[str] | None = None


class AppHHumanWrittenParams(_TwoStageParams):
    """Appendix H: stage 2 on the Flores subset only vs. Flores+WMT human-written data (Table 10)."""

    flores_fraction: float = Field(0.5, gt=0, lt=1, description="share of each pair's train set standing in for Flores")


class AppIICLParams(_TwoStageParams):
    """Appendix I: 5-shot in-context learning vs. stage 2 vs. both (Table 11)."""

    prompts: list[PromptVariant] = Field(min_length=1)


def _count_label(n: int) -> str:
    """A data or token count as the paper writes it: 10K, 1M, 20M, 1B (exact below 1000)."""
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= size:
            return f"{n / size:.3g}{suffix}"
    return str(n)


def _check_runs(runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every derived run must be a valid alma_core.train.TrainConfig (base_model `tiny` = the tiny stand-in)."""
    from alma_core.train import make_config

    for name, run in runs.items():
        make_config({"base_model": "tiny", "output_dir": "-", **run}, source=f"train.{name}")
    return runs


class BackboneSpec(_Strict):
    """A backbone of a data-size sweep (Section 3, App. A): a hub id/path, or a tiny stand-in with its own config."""

    label: str
    model: str = "tiny"
    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    sizes: list[int] | None = Field(None, description="parallel-data sizes this backbone trains on; None = all `sizes`")


class _DerivedRuns(NotebookParams):
    """A sweep whose `train` runs and `systems` are derived from a few variables (never set them in a params file)."""

    DERIVED: ClassVar[frozenset[str]] = frozenset({"train", "systems"})
    train: dict[str, dict[str, Any]] = Field(default_factory=dict)
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

    @field_validator("train")
    @classmethod
    def _train_configs(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return _check_runs(value)


class Sec3ParallelDataParams(_DerivedRuns):
    """Section 3: stage 2 of several backbones (and one trained from scratch) on growing nested parallel subsets (Figure 4)."""

    backbones: dict[str, BackboneSpec] = Field(min_length=1)
    sizes: list[int] = Field(min_length=1, description="nested parallel-data steps (10K ... 20M in the paper)")
    stage2: dict[str, Any] = Field(description="TrainConfig values shared by every run (language_pairs = evaluation.directions)")
    DERIVED: ClassVar[frozenset[str]] = frozenset({"train", "systems", "tiny_backbone"})
    tiny_backbone: dict[str, Any] = Field(default_factory=dict, description="set per backbone by for_backbone(); leave empty")
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
                systems.append({"name": f"{spec.label}, {_count_label(size)} pairs", "train": run})
        return {"train": train, "systems": systems}

    def size_of(self, run: str) -> int:
        """The parallel-data size of a derived run."""
        return int(self.train[run]["max_train_examples"])

    def point_of(self, system: str) -> tuple[str, int]:
        """(backbone label, parallel-data size) of a system of the sweep."""
        run = next(s.train for s in self.systems if s.name == system)
        return self.backbones[run.rsplit("-", 1)[0]].label, self.size_of(run)

    def for_backbone(self, key: str) -> Sec3ParallelDataParams:
        """These params restricted to one backbone's runs and systems (its tiny stand-in config as `tiny_backbone`)."""
        runs = {name: run for name, run in self.train.items() if name.rsplit("-", 1)[0] == key}
        systems = [s for s in self.systems if s.train in runs]
        return self.model_copy(update={"tiny_backbone": self.backbones[key].tiny_backbone, "train": runs, "systems": systems})


class AppAObjectivesParams(_DerivedRuns):
    """Appendix A: CLM vs. prefix-LM vs. mixture-of-denoisers across parallel-data sizes, full weights (Figure 6)."""

    backbone: BackboneSpec
    objectives: list[Literal["clm", "prefix_lm", "mod"]] = Field(min_length=1)
    sizes: list[int] = Field(min_length=1, description="parallel-data sizes; 0 = the zero-shot backbone")
    stage2: dict[str, Any] = Field(description="TrainConfig values shared by every run (language_pairs = evaluation.directions)")
    DERIVED: ClassVar[frozenset[str]] = frozenset({"train", "systems", "tiny_backbone"})
    tiny_backbone: dict[str, Any] = Field(default_factory=dict, description="copied from backbone.tiny_backbone; leave empty")
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
                systems.append({"name": f"{objective}, {_count_label(size)} pairs", "train": run})
        return {"train": train, "systems": systems, "tiny_backbone": spec.tiny_backbone}

    def point_of(self, system: str) -> tuple[str, int]:
        """(objective, parallel-data size) of a system; the zero-shot system is every objective's size 0."""
        spec = next(s for s in self.systems if s.name == system)
        if spec.train is None:
            return "zero-shot", 0
        run = self.train[spec.train]
        return run["objective"], int(run["max_train_examples"])


class Sec61MonolingualTokensParams(_DerivedRuns):
    """Section 6.1 / Appendix F: stage-1 checkpoints every N monolingual tokens, each followed by stage 2 (Figure 5, Tables 7-8)."""

    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    stage1: dict[str, Any] = Field(description="TrainConfig values of the one stage-1 run (its length comes from the checkpoints)")
    stage2: dict[str, Any] = Field(description="TrainConfig values of every stage-2 run (language_pairs = evaluation.directions)")
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
            label = _count_label(k * steps * per_step)
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
        """These params with the stage-1 run only (its checkpoints are the bases of stage 2)."""
        return self.model_copy(update={"train": {"stage1": self.train["stage1"]}, "systems": []})

    def after_stage1(self, stage1_dir: str | Path) -> Sec61MonolingualTokensParams:
        """These params with the stage-2 runs on the checkpoints of the finished stage-1 run in `stage1_dir`."""
        train, systems = self._stage2_runs(self.model_dump(), str(stage1_dir))
        return self.model_copy(update={"train": train, "systems": [SystemSpec(**s) for s in systems]})

    def tokens_of(self, system: str) -> int:
        """Stage-1 tokens seen by the checkpoint behind a system (steps x global batch x block length)."""
        run = next(s.train for s in self.systems if s.name == system)
        step = int(str(self.train[run]["base_model"]).rsplit("-", 1)[1])
        return step * int(self.stage1.get("global_batch_size", 256)) * int(self.stage1.get("max_length", 512))


class CrossLingualEvalParams(_Strict):
    """Appendix J's benchmarks: tasks and languages, where the items come from, and the scoring batch."""

    tasks: dict[Literal["XNLI", "XStoryCloze", "XWinograd"], list[str]] = Field(min_length=1)
    source: Literal["sample", "files", "hub"] = Field("sample", description="shipped sample items, a local root, or the hub datasets")
    data_root: str | None = Field(None, description="files: root of {xnli,xstorycloze,xwinograd}/{lang}.jsonl")
    splits: dict[str, str] = Field(default_factory=dict, description="hub: split per task (default test/eval/test)")
    max_items: int | None = Field(None, ge=1)
    batch_size: int = Field(16, ge=1)
    dtype: Literal["fp32", "bf16", "fp16"] | None = None


class AppJCrossLingualParams(NotebookParams):
    """Appendix J: zero-shot XNLI, XStoryCloze and XWinograd of the backbone before and after stage 1 (Table 12)."""

    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    train: dict[str, dict[str, Any]] = Field(default_factory=dict, description="stage-1 runs (tiny profile)")
    systems: list[SystemSpec] = Field(min_length=1)
    before_after: list[tuple[str, str]] = Field(default_factory=list, description="(system before stage 1, system after)")
    reported_systems: list[str] = Field(default_factory=list, description="Table 12 rows to show; [] = all")
    evaluation: CrossLingualEvalParams
    launch: LaunchParams = LaunchParams()

    @field_validator("train")
    @classmethod
    def _train_configs(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return _check_runs(value)


class AddLanguagePairParams(NotebookParams):
    """Worked example "Adding a language pair": a registered language (uk) trained and evaluated like Section 5."""

    language: str = Field("uk", description="the new language's registry code; its pair is language<->en")
    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    train: dict[str, dict[str, Any]] = Field(default_factory=dict)
    systems: list[SystemSpec] = Field(min_length=1)
    evaluation: EvalParams
    off_target_candidates: list[str] | None = None
    launch: LaunchParams = LaunchParams()

    @field_validator("train")
    @classmethod
    def _train_configs(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return _check_runs(value)


SCHEMAS: dict[str, type[NotebookParams]] = {
    "sec2_zero_shot": Sec2ZeroShotParams,
    "sec4_recipe": Sec4RecipeParams,
    "sec5_main_results": Sec5MainResultsParams,
    "appC_training_details": AppCTrainingDetailsParams,
    "appD_sampling": AppDSamplingParams,
    "sec6_2_data_quality": Sec62DataQualityParams,
    "appE_off_target": AppEOffTargetParams,
    "appH_human_written_data": AppHHumanWrittenParams,
    "appI_icl": AppIICLParams,
    "sec3_parallel_data": Sec3ParallelDataParams,
    "appA_objectives": AppAObjectivesParams,
    "sec6_1_monolingual_tokens": Sec61MonolingualTokensParams,
    "appJ_crosslingual": AppJCrossLingualParams,
    "add_language_pair": AddLanguagePairParams,
}


def register_schema(notebook: str, schema: type[NotebookParams]) -> type[NotebookParams]:
    """Add the schema of a new notebook (part 2 chapters, a reader's own experiment)."""
    SCHEMAS[notebook] = schema
    return schema


def _schema_for(notebook: str, where: str) -> type[NotebookParams]:
    """The schema of `notebook`, or an error listing the known ones."""
    try:
        return SCHEMAS[notebook]
    except KeyError:
        raise ParamsError(
            f"{where}: no params schema for notebook {notebook!r}; known: {sorted(SCHEMAS)}; "
            "add one with alma_core.params.register_schema"
        ) from None


def _explain(err: ValidationError, where: str) -> ParamsError:
    """One readable message per wrong key: file, key path, problem and the fix."""
    return ParamsError(validation_message(err, where))


def validate_params(notebook: str, values: Mapping[str, Any], where: str = "<params>") -> NotebookParams:
    """Validate a mapping of notebook variables against the notebook's schema."""
    schema = _schema_for(notebook, where)
    try:
        return schema.model_validate(dict(values))
    except ValidationError as err:
        raise _explain(err, where) from None


PARAMS_DIR_ENV = "ALMA_PARAMS_DIR"


def params_path(notebook: str, profile: str, root: str | Path | None = None) -> Path:
    """`params/<profile>/<notebook>.yaml` under the repository root (or under $ALMA_PARAMS_DIR: e.g. the rehearsal's scaled copies)."""
    from alma_core.store import repo_root

    base = os.environ.get(PARAMS_DIR_ENV)
    return (Path(base) if base else Path(root or repo_root()) / "params") / profile / f"{notebook}.yaml"


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping; a syntax error or a non-mapping names the file and line."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found; create it or pick another profile")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ParamsError(f"{path}{line}: invalid YAML ({err}); fix the syntax") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of notebook variables, got {type(data).__name__}")
    return data


def load_params(path: str | Path) -> NotebookParams:
    """Load and validate `params/<profile>/<notebook>.yaml` (notebook = file stem)."""
    path = Path(path)
    params = validate_params(path.stem, read_yaml(path), where=str(path))
    if path.parent.name in PROFILES and params.profile != path.parent.name:
        raise ParamsError(f"{path}: profile {params.profile!r} but the file lies in params/{path.parent.name}/; make them agree")
    return params


def load_notebook_params(notebook: str, profile: str, root: str | Path | None = None) -> NotebookParams:
    """Load the params of `notebook` for `profile` from the repository's params folder."""
    return load_params(params_path(notebook, profile, root))


def notebook_params(notebook: str, namespace: Mapping[str, Any]) -> NotebookParams:
    """Validate the variables of a notebook's `parameters` cell (after papermill's injection)."""
    fields = _schema_for(notebook, f"notebooks/{notebook}.ipynb").model_fields
    values = {key: namespace[key] for key in fields if key in namespace}
    return validate_params(notebook, values, where=f"notebooks/{notebook}.ipynb parameters")
