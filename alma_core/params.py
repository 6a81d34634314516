"""Typed schema of every notebook params file `params/<profile>/<notebook>.yaml` (the book's inputs).

A params file holds exactly the variables of its notebook's `parameters` cell; papermill injects
them (`papermill notebooks/X.ipynb out.ipynb -f params/tiny/X.yaml`). Unknown keys and wrong
types are errors that name the file, the key and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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
    """How jobs are started (alma_core.launch.RunSpec): a plain process on a laptop, DeepSpeed/SLURM on a cluster."""

    launcher: Literal["python", "torchrun", "deepspeed", "accelerate", "slurm"] = "python"
    nodes: int = Field(1, ge=1)
    gpus_per_node: int = Field(0, ge=0)
    deepspeed_config: str | None = None
    slurm: dict[str, str | int] = Field(default_factory=dict)


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


class SystemSpec(_Strict):
    """One system of a results table: a backbone evaluated as is, a trained run, or a released checkpoint."""

    name: str
    model: str = "tiny"
    adapter: str | None = None
    train: str | None = None
    local_files_only: bool = True


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


class PromptVariant(_Strict):
    """One prompting setting of Appendices E and I: the prompt language and the in-context examples."""

    name: str
    style: Literal["english", "target"] = "english"
    shots: Literal["HW", "Filtered"] | None = None
    n_shots: int = Field(0, ge=0, le=5)


class _TwoStageParams(NotebookParams):
    """Variables shared by the Section 6.2 / Appendix E, H, I chapters: the stage-1 and stage-2 runs they build on."""

    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    stage1: dict[str, Any] = Field(description="TrainConfig values of the stage-1 (monolingual) run")
    stage2: dict[str, Any] = Field(description="TrainConfig values shared by every stage-2 (parallel) run")
    evaluation: EvalParams
    launch: LaunchParams = LaunchParams()


class Sec62DataQualityParams(_TwoStageParams):
    """Section 6.2 / Appendix G: with/without stage 1 x parallel data of three qualities (Tables 3 and 9)."""

    qualities: list[Literal["Random", "Filtered", "HW"]] = Field(min_length=1)


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
    lines = []
    for item in err.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key {key!r}; remove it or fix its spelling")
        elif item["type"] == "missing":
            lines.append(f"{where}: missing key {key!r}; add it")
        else:
            lines.append(f"{where}: key {key!r} = {item.get('input')!r}: {item['msg']}; fix the value")
    return ParamsError("\n".join(lines))


def validate_params(notebook: str, values: Mapping[str, Any], where: str = "<params>") -> NotebookParams:
    """Validate a mapping of notebook variables against the notebook's schema."""
    schema = _schema_for(notebook, where)
    try:
        return schema.model_validate(dict(values))
    except ValidationError as err:
        raise _explain(err, where) from None


def params_path(notebook: str, profile: str, root: str | Path | None = None) -> Path:
    """`params/<profile>/<notebook>.yaml` under the repository root."""
    from alma_core.store import repo_root

    return Path(root or repo_root()) / "params" / profile / f"{notebook}.yaml"


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
