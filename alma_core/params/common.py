"""The building blocks of every notebook's params schema (Sections 2-6, App. A-J): launch, evaluation, systems.

`alma_core.params.schemas` is the import surface; this module and `alma_core.params.sweeps` only split its size.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alma_core.recipe.languages import get_language
from alma_core.runs.config import DeclaredLanguages, TrainConfig, gradient_accumulation, make_config
from alma_core.standins.mini_world import WorldError
from alma_core.standins.mini_world_data import world_settings

__all__ = [
    "Profile",
    "PROFILES",
    "LOCAL_PROFILES",
    "ParamsError",
    "LaunchParams",
    "EvalParams",
    "english_pair",
    "PromptVariant",
    "SystemSpec",
    "NotebookParams",
    "TrainRunsParams",
    "check_train_runs",
    "plain_name",
    "check_directions",
    "check_batches",
]

Profile = Literal["tiny", "mini", "paper", "released"]
PROFILES: tuple[str, ...] = ("tiny", "mini", "paper", "released")
LOCAL_PROFILES: tuple[str, ...] = ("tiny", "mini")  # everything built here, offline: no hub, no TensorBoard logs


class ParamsError(ValueError):
    """A params file that does not match its notebook's schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LaunchParams(_Strict):
    """How jobs are started (fields of alma_core.jobs.launch.RunSpec): one process on a laptop, DeepSpeed/SLURM on a
    cluster."""

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


def english_pair(direction: str) -> tuple[str, str]:
    """(src, tgt) of a direction such as 'de-en' or 'en-de' (Sec. 5.1: every direction has English on one side)."""
    parts = direction.split("-")
    if len(parts) != 2 or "en" not in parts or parts[0] == parts[1]:
        raise ValueError(f"direction {direction!r} must look like 'de-en' or 'en-de' (one side English)")
    return parts[0], parts[1]


class EvalParams(_Strict):
    """Test sets, decoding and metrics of an evaluation (Section 5.1: beam 5, sacreBLEU, COMET-22)."""

    directions: list[str] = Field(min_length=1)
    test_root: str | None = None
    test_format: Literal["json", "sacrebleu-echo"] = "json"
    max_sentences: int | None = Field(None, ge=1)
    num_beams: int = Field(5, ge=1)
    batch_size: int = Field(16, ge=1, description="the most sentences in one decoding batch")
    token_budget: int | None = Field(
        None, ge=1, description="also cap a batch at this many KV-cache tokens: rows x beams x (longest prompt + "
        "max_new_tokens); batches then hold many short sentences and few long ones (None = by count only)")
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
            english_pair(direction)
        return value


def plain_name(value: str, what: str = "name") -> str:
    """A name from a params file that becomes part of a path (system, run, prompt, language): never a path itself."""
    if not value.strip() or any(ch in value for ch in "/\\\0") or value.startswith((".", "~")):
        raise ValueError(f"{what} {value!r} would leave the store folder (it reads as a path, not a name). Fix: use a "
                         "plain name without '/', '\\' or a leading '.' or '~'")
    return value


class PromptVariant(_Strict):
    """One prompting setting of Appendices E and I: the prompt language and the in-context examples."""

    name: str
    style: Literal["english", "target"] = "english"
    shots: Literal["HW", "Filtered"] | None = None
    n_shots: int = Field(0, ge=0, le=5)
    num_beams: int | None = Field(None, ge=1, description="beams for this prompt; None = evaluation.num_beams")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return plain_name(value, "prompt name")


class SystemSpec(_Strict):
    """One system of a results table: a backbone evaluated as is, a trained run, or a released checkpoint."""

    name: str
    model: str = "tiny"
    adapter: str | None = None
    train: str | None = None
    local_files_only: bool = True
    trust_remote_code: bool = Field(False, description="run the model's own Python code (config.json auto_map); "
                                    "only for a model whose authors you trust")
    prompt: PromptVariant | None = Field(None, description="App. E/I prompt variant; None = the Figure 2 prompt")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return plain_name(value, "system name")


class NotebookParams(_Strict):
    """Variables every notebook takes: its profile, where results are stored, whether to redo finished work."""

    profile: Profile
    store_dir: str
    force: bool = False  # redo evaluations; a finished training run is never retrained or rewritten (runs.train)
    seed: int = 42
    data_root: str | None = None
    seeds: list[int] = Field(
        default_factory=list, description="train every stage-2 run once per seed; tables show the mean, "
        "tables.seed_spread the range (issue 14); [] = once, with the run's seed")
    world: dict[str, Any] | None = Field(
        None, description="mini profile: the synthetic world (standins.mini_world_data.WORLD_KEYS) written to "
        "data_root before anything reads it; None = data_root holds real files")
    declared_languages: DeclaredLanguages = Field(
        default_factory=dict, description="languages the library does not know, {code: {name, native_name, "
        "bleu_tokenizer, target_prompt}}: registered in the notebook and carried by every job (recipe.languages)")

    @model_validator(mode="after")
    def _world_block(self) -> NotebookParams:
        """A `world:` block must be valid (standins.mini_world_data.world_settings) and name the data_root it fills."""
        if self.world is not None:
            try:
                world_settings(self.world)
            except WorldError as err:
                raise ValueError(str(err)) from None
            if self.data_root is None:
                raise ValueError("world: needs data_root, the folder the world is written to (e.g. runs/mini/world)")
        return self


def check_train_runs(runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Check every run of a notebook is a valid alma_core.runs.config.TrainConfig (Sec. 5.2, App. C; base_model `tiny` =
    the stand-in)."""
    for name, run in runs.items():
        plain_name(name, "train run name")
        make_config({"base_model": "tiny", "output_dir": "-", **run}, source=f"train.{name}")
    return runs


class TrainRunsParams(NotebookParams):
    """A notebook that trains: `train` maps run names to TrainConfig values, each one checked (Sec. 5.2, App. C)."""

    train: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("train")
    @classmethod
    def _train_configs(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Every run must be a valid alma_core.runs.config.TrainConfig (base_model `tiny` = the tiny stand-in)."""
        return check_train_runs(value)


def check_directions(params: Any, where: str) -> None:
    """Every evaluated direction names known (or declared) languages (Sec. 5.1); an unknown code fails at validation."""
    evaluation = getattr(params, "evaluation", None)
    for index, direction in enumerate(getattr(evaluation, "directions", None) or []):
        for code in direction.split("-"):
            try:
                get_language(code)
            except ValueError as err:
                raise ParamsError(f"{where}: evaluation.directions.{index} {direction!r}: {err}") from None


def check_batches(params: Any, where: str) -> None:
    """Each train run's global batch divides by micro-batch x the launch's ranks (App. C), before any job starts."""
    launch = getattr(params, "launch", None)
    world = launch.nodes * launch.gpus_per_node if launch is not None else 1
    runs = dict(getattr(params, "train", None) or {})
    runs.update({key: getattr(params, key) for key in ("stage1", "stage2") if isinstance(getattr(params, key, None),
                                                                                          dict)})
    fields = TrainConfig.model_fields
    for name, run in runs.items():
        size = {key: run.get(key, fields[key].default) for key in ("global_batch_size", "micro_batch_size")}
        try:
            gradient_accumulation(size["global_batch_size"], size["micro_batch_size"], run.get("world_size") or world)
        except ValueError as err:
            raise ParamsError(f"{where}: train.{name} on {world} rank(s) (launch nodes x gpus_per_node): "
                              f"{err}") from None
