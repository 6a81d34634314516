"""Typed schema of every notebook params file `params/<profile>/<notebook>.yaml` (the book's inputs).

A params file holds exactly the variables of its notebook's `parameters` cell; papermill injects
them (`papermill notebooks/X.ipynb out.ipynb -f params/tiny/X.yaml`). Unknown keys and wrong
types are errors that name the file, the key and the fix.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from alma_core.io import read_yaml_mapping, repo_root
from alma_core.params.common import (
    PROFILES,
    EvalParams,
    LaunchParams,
    NotebookParams,
    ParamsError,
    Profile,
    PromptVariant,
    SystemSpec,
    TrainRunsParams,
    _Strict,
    check_batches,
    check_languages,
    check_references,
    check_train_runs,
    declared_in,
    explain,
    injected_names,
    langid_candidates,
    plain_name,
)
from alma_core.params.released import ReleasedOutputsParams
from alma_core.params.sweeps import (
    AppAObjectivesParams,
    BackboneSpec,
    PortingBackbonesParams,
    Sec3ParallelDataParams,
    Sec61MonolingualTokensParams,
)
from alma_core.recipe.languages import declare_languages
from alma_core.runs.strict import LanguageCode, PathStr, Seed
from alma_core.standins.mini_world import WorldError
from alma_core.standins.mini_world_data import world_settings

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
    "ScorecardParams",
    "MiniWorldParams",
    "SCHEMAS",
    "register_schema",
    "params_path",
    "load_params",
    "load_notebook_params",
    "notebook_params",
]


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
    pair: tuple[LanguageCode, LanguageCode] = ("de", "en")
    example_index: int = Field(0, ge=0)
    languages: list[LanguageCode] = Field(min_length=2)
    temperature: float = Field(6.0, gt=0, description="App. D.1's T, as a stage-1 run's `temperature`")
    mix_draws: int = Field(6000, ge=100)


class Sec5MainResultsParams(TrainRunsParams):
    """Section 5: ALMA full-weight and LoRA vs. the zero-shot backbone (Tables 1 and 2)."""

    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    systems: list[SystemSpec] = Field(min_length=1)
    evaluation: EvalParams
    launch: LaunchParams = LaunchParams()
    reported_systems: list[str] = Field(
        default_factory=lambda: ["NLLB-54B", "GPT-3.5-D", "GPT-4", "LLaMA-2-7B", "ALMA-7B", "ALMA-7B-LoRA",
                                 "LLaMA-2-13B", "ALMA-13B", "ALMA-13B-LoRA"],
        description="the rows of Tables 1-2 shown beside this build's (names as in alma_core/reported/)")
    reported_bars: list[str] = Field(
        default_factory=lambda: ["LLaMA-2-7B", "ALMA-7B", "ALMA-7B-LoRA", "ALMA-13B-LoRA"],
        description="the paper's systems in the average-BLEU figure")


class AppCTrainingDetailsParams(NotebookParams):
    """Appendix C: the training-details table, generated from the params of the notebooks that train."""

    sources: list[str] = Field(default_factory=lambda: ["sec5_main_results"], min_length=1)


class AppDSamplingParams(NotebookParams):
    """Appendix D: Table 5's sampling ratios recomputed from the word counts (T=6, English fixed at 1/6)."""

    languages: list[LanguageCode] = Field(min_length=2)
    temperature: float = Field(6.0, gt=0, description="App. D.1's T, as a stage-1 run's `temperature`")
    draws: int = Field(6000, ge=100)


class _TwoStageParams(NotebookParams):
    """Variables shared by the Section 6.2 / Appendix E, H, I chapters: the stage-1 and stage-2 runs they build on."""

    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    stage1: dict[str, Any] = Field(description="TrainConfig values of the stage-1 (monolingual) run")
    stage1_from: str | None = Field(
        None, description="a released stage-1 model (hub id or path) to build on instead of training `stage1` "
        "(haoranxu/ALMA-7B-Pretrain: 20B tokens on LLaMA-2-7B; -13B-Pretrain: 12B tokens); `stage1` then documents it")
    stage2: dict[str, Any] = Field(description="TrainConfig values shared by every stage-2 (parallel) run")
    evaluation: EvalParams
    launch: LaunchParams = LaunchParams()

    @field_validator("stage1", "stage2")
    @classmethod
    def _train_config(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """Each must be a valid alma_core.runs.config.TrainConfig (base_model `tiny` = the tiny stand-in)."""
        return check_train_runs({info.field_name: value}, declared_in(info), prefix="")[info.field_name]


class Sec62DataQualityParams(_TwoStageParams):
    """Section 6.2 / Appendix G: with/without stage 1 x parallel data of three qualities (Tables 3 and 9)."""

    qualities: list[Literal["Random", "Filtered", "HW"]] = Field(min_length=1)
    quality_data: dict[Literal["Random", "Filtered"], PathStr] = Field(
        default_factory=dict, description="data roots (official layout) of the real Random/Filtered sets; "
        "a quality not listed is made from the human-written data by alma_core.recipe.sampling.degrade_pairs")


class AppEOffTargetParams(_TwoStageParams):
    """Appendix E: the off-target problem; prompt language and shots vs. the off-target rate (Table 6)."""

    prompts: list[PromptVariant] = Field(min_length=1)
    off_target_candidates: list[str] | None = None

    @field_validator("off_target_candidates")
    @classmethod
    def _candidates(cls, value: list[str] | None) -> list[str] | None:
        """Language-ID codes py3langid identifies (App. E), checked before any job decodes."""
        return langid_candidates(value)


class AppHHumanWrittenParams(_TwoStageParams):
    """Appendix H: stage 2 on the Flores subset only vs. Flores+WMT human-written data (Table 10)."""

    flores_fraction: float = Field(0.5, gt=0, lt=1, description="share of each pair's train set standing in for Flores")


class AppIICLParams(_TwoStageParams):
    """Appendix I: 5-shot in-context learning vs. stage 2 vs. both (Table 11)."""

    prompts: list[PromptVariant] = Field(min_length=1)


class CrossLingualEvalParams(_Strict):
    """Appendix J's benchmarks: tasks and languages, where the items come from, and the scoring batch."""

    tasks: dict[Literal["XNLI", "XStoryCloze", "XWinograd"], list[LanguageCode]] = Field(min_length=1)

    @field_validator("tasks")
    @classmethod
    def _languages(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        """Language codes become file names (items, predictions): plain names only."""
        for task, langs in value.items():
            for lang in langs:
                plain_name(lang, f"{task} language")
        return value
    source: Literal["sample", "files", "hub"] = Field(
        "sample", description="shipped sample items, a local root, or the hub datasets"
    )
    data_root: PathStr | None = Field(None, description="files: root of {xnli,xstorycloze,xwinograd}/{lang}.jsonl")
    splits: dict[str, str] = Field(default_factory=dict, description="hub: split per task (default test/eval/test)")
    max_items: int | None = Field(None, ge=1)
    batch_size: int = Field(16, ge=1)
    dtype: Literal["fp32", "bf16", "fp16"] | None = None


class AppJCrossLingualParams(TrainRunsParams):
    """Appendix J: zero-shot XNLI, XStoryCloze and XWinograd of the backbone before and after stage 1 (Table 12)."""

    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    train: dict[str, dict[str, Any]] = Field(default_factory=dict, description="stage-1 runs (tiny profile)")
    systems: list[SystemSpec] = Field(min_length=1)
    before_after: list[tuple[str, str]] = Field(
        default_factory=list, description="(system before stage 1, system after)"
    )
    reported_systems: list[str] = Field(default_factory=list, description="Table 12 rows to show; [] = all")
    evaluation: CrossLingualEvalParams
    launch: LaunchParams = LaunchParams()


class AddLanguagePairParams(TrainRunsParams):
    """Worked example "Adding a language pair": a language declared in the params file (uk), trained as Section 5."""

    language: LanguageCode = Field("uk", description="the new language's code (registered, or declared in "
                                   "declared_languages); its pair is language<->en")
    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    systems: list[SystemSpec] = Field(min_length=1)
    evaluation: EvalParams
    off_target_candidates: list[str] | None = None
    launch: LaunchParams = LaunchParams()

    @field_validator("off_target_candidates")
    @classmethod
    def _candidates(cls, value: list[str] | None) -> list[str] | None:
        """Language-ID codes py3langid identifies (App. E), checked before any job decodes."""
        return langid_candidates(value)


class ScorecardParams(NotebookParams):
    """The scorecard page: the systems that play each claim's roles in this profile, and the stated tolerances."""

    roles: dict[str, str | None] = Field(
        default_factory=dict, description="role -> system name in its chapter's params (null: not in this profile)")
    tolerance: dict[str, float] = Field(
        default_factory=lambda: {"bleu": 1.0, "chrf": 1.0, "comet": 1.0, "accuracy": 2.0, "off_target": 5.0},
        description="points within which 'matches'/'equals' claims count as reproduced, per metric")
    effect: float = Field(0.0, ge=0, description="the margin a 'beats' claim's difference must exceed")
    metric_for: dict[str, str] = Field(
        default_factory=dict, description="a metric this profile does not compute -> the one its claims are measured "
        "with instead (mini: {comet: bleu}); the scorecard says so in the claim's row")
    noise: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=dict, description="metric -> the profile's measured noise (the spread over seeds of the same "
        "run); a build difference within it is 'inconclusive' (issue 21); {} = not measured")
    noise_measured: str = Field(
        "not measured", min_length=1, description="how `noise` was measured: the command, seeds and date (or where "
        "the measurement is recorded); 'not measured' with `noise: {}`")

    @model_validator(mode="after")
    def _noise_has_a_source(self) -> ScorecardParams:
        """Sec. 5 seeds: a recorded noise says how it was measured (command, seeds, date)."""
        if self.noise and self.noise_measured.strip().lower() == "not measured":
            raise ValueError("`noise` is set but `noise_measured` says 'not measured'. Fix: give the command, seeds "
                             "and date that measured it, or set `noise: {}`")
        return self


class MiniWorldParams(NotebookParams):
    """The mini world's chapter (issue 14): its statistics, examples and protocol; at the mini profile also the data it
    writes and the backbone it pretrains."""

    tiny_backbone: dict[str, Any] = Field(default_factory=dict)
    world_seed: Seed = Field(0, description="the world shown when `world` is not set (the tiny profile)")
    sample: int = Field(500, ge=10, description="documents per language behind the statistics")
    control: dict[str, Any] = Field(default_factory=dict, description="v2: the control world's changes to `world` "
                                    "(bilingual: 0.0, Briakou et al.'s ablation); {} runs no control")
    control_root: PathStr | None = Field(None, description="where the control world and its text are written")
    starting_languages: list[LanguageCode] = Field(default_factory=list, description="v2: languages whose zero-shot "
                                                   "starting point (BLEU, off-target, perplexity) the chapter measures")
    starting_test: int = Field(100, ge=10, description="test sentences per direction behind the starting point")

    @model_validator(mode="after")
    def _control_world(self) -> MiniWorldParams:
        """The control world ({**world, **control}) must be a valid world block too."""
        if self.control:
            try:
                world_settings({**(self.world or {}), **self.control}, "control")
            except WorldError as err:
                raise ValueError(str(err)) from None
        return self


SCHEMAS: dict[str, type[NotebookParams]] = {
    "mini_world": MiniWorldParams,
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
    "porting_backbones": PortingBackbonesParams,
    "scorecard": ScorecardParams,
    "released_outputs": ReleasedOutputsParams,
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
            "add one with alma_core.params.schemas.register_schema"
        ) from None


def validate_params(notebook: str, values: Mapping[str, Any], where: str = "<params>") -> NotebookParams:
    """Validate a mapping of notebook variables against the notebook's schema."""
    schema = _schema_for(notebook, where)
    try:
        params = schema.model_validate(dict(values))
    except ValidationError as err:
        raise explain(err, where, schema) from None
    declare_languages(getattr(params, "declared_languages", None), where)  # this process knows them from here
    check_languages(params, where)
    check_references(params, where)
    check_batches(params, where)
    return params


PARAMS_DIR_ENV = "ALMA_PARAMS_DIR"


def params_path(notebook: str, profile: str, root: str | Path | None = None) -> Path:
    """`params/<profile>/<notebook>.yaml` under the repo root or $ALMA_PARAMS_DIR. Used by
    notebooks/add_language_pair.ipynb."""
    base = os.environ.get(PARAMS_DIR_ENV)
    return (Path(base) if base else Path(root or repo_root()) / "params") / profile / f"{notebook}.yaml"


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a params file (a YAML mapping); a missing file, a syntax error or a non-mapping names the file and line."""
    return read_yaml_mapping(path, "params file", ParamsError, fix_missing="create it or pick another profile")


def load_params(path: str | Path) -> NotebookParams:
    """Load and validate `params/<profile>/<notebook>.yaml` (notebook = file stem)."""
    path = Path(path)
    params = validate_params(path.stem, read_yaml(path), where=str(path))
    if path.parent.name in PROFILES and params.profile != path.parent.name:
        raise ParamsError(
            f"{path}: profile {params.profile!r} but the file lies in params/{path.parent.name}/. Fix: make them agree"
        )
    return params


def load_notebook_params(notebook: str, profile: str, root: str | Path | None = None) -> NotebookParams:
    """Load the params of `notebook` for `profile` from the repository's params folder."""
    return load_params(params_path(notebook, profile, root))


def notebook_params(notebook: str, namespace: Mapping[str, Any]) -> NotebookParams:
    """Validate a notebook's `parameters` cell after papermill's injection (Sec. 2-6, App. A-J). Used by every
    chapter notebook."""
    fields = _schema_for(notebook, f"notebooks/{notebook}.ipynb").model_fields
    unknown = [name for name in injected_names(namespace) if name not in fields]
    if unknown:  # papermill only warns ("Passed unknown parameter") and the chapter would run on the default
        meant = difflib.get_close_matches(unknown[0], list(fields), n=1)
        hint = f"did you mean '{meant[0]}'? " if meant else ""
        raise ParamsError(f"notebooks/{notebook}.ipynb: papermill passed {', '.join(map(repr, unknown))}, which is not "
                          f"a parameter of this notebook. Fix: {hint}pass only its parameters: {', '.join(fields)}")
    values = {key: namespace[key] for key in fields if key in namespace}
    return validate_params(notebook, values, where=f"notebooks/{notebook}.ipynb parameters")
