"""The building blocks of every notebook's params schema (Sections 2-6, App. A-J): launch, evaluation, systems.

`alma_core.params` is the import surface; this module and `alma_core.params_sweeps` only split its size.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from alma_core.config import make_config
from alma_core.languages import parse_declarations

__all__ = [
    "Profile",
    "PROFILES",
    "ParamsError",
    "LaunchParams",
    "EvalParams",
    "PromptVariant",
    "SystemSpec",
    "NotebookParams",
    "TrainRunsParams",
    "check_train_runs",
]

Profile = Literal["tiny", "paper", "released"]
PROFILES: tuple[str, ...] = ("tiny", "paper", "released")


class ParamsError(ValueError):
    """A params file that does not match its notebook's schema."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LaunchParams(_Strict):
    """How jobs are started (fields of alma_core.launch.RunSpec): one process on a laptop, DeepSpeed/SLURM on a
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
    declared_languages: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="languages the library does not know, {code: {name, native_name, "
        "bleu_tokenizer, target_prompt}}: registered in the notebook and carried by every job (alma_core.languages)")

    @field_validator("declared_languages")
    @classmethod
    def _declared_languages(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Each entry must be a valid declaration (alma_core.languages.parse_declarations)."""
        parse_declarations(value, "declared_languages")
        return value


def check_train_runs(runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Check every run of a notebook is a valid alma_core.config.TrainConfig (Sec. 5.2, App. C; base_model `tiny` =
    the stand-in)."""
    for name, run in runs.items():
        make_config({"base_model": "tiny", "output_dir": "-", **run}, source=f"train.{name}")
    return runs


class TrainRunsParams(NotebookParams):
    """A notebook that trains: `train` maps run names to TrainConfig values, each one checked (Sec. 5.2, App. C)."""

    train: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("train")
    @classmethod
    def _train_configs(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Every run must be a valid alma_core.config.TrainConfig (base_model `tiny` = the tiny stand-in)."""
        return check_train_runs(value)
