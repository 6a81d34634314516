"""What a training run is: `TrainConfig` (Sections 4, 5.2, App. A, C), its batch plan, and where its data lives.

Validating a params file needs only this module (no torch, no trainer). `check_data` fails early, before any
model loads, when a file the config names is missing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from alma_core.io import read_yaml_mapping, resolve, validation_message
from alma_core.recipe.data import DataError, monolingual_path, parallel_path, read_parallel, sample_data_dir
from alma_core.recipe.languages import get_language, parse_declarations
from alma_core.recipe.oscar import OSCAR_DATA_FILES, oscar_files
from alma_core.runs.strict import Direction, LanguageCode, NoBoolNumbers, PathStr, Seed, unknown_languages

__all__ = [
    "FULL_LR",
    "LORA_LR",
    "TrainConfig",
    "TrainConfigError",
    "TrainDataError",
    "loads_best",
    "make_config",
    "load_train_config",
    "set_value",
    "gradient_accumulation",
    "batch_plan",
    "train_directions",
    "parallel_data_root",
    "monolingual_data_root",
    "oscar_pattern",
    "check_data",
]

FULL_LR, LORA_LR = 2e-5, 2e-3  # App. C's lr; the LoRA lr is the official runs/parallel_ft_lora.sh's (deviations page)


class TrainConfigError(ValueError):
    """A training config that does not validate; the message names the file, the key and the fix."""


class TrainDataError(ValueError):
    """A data file the config points at is missing; the message names the config key and the path."""


def _valid_declarations(value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A `declared_languages` block whose every entry is a valid declaration (alma_core.recipe.languages)."""
    parse_declarations(value, "")  # the message starts at declared_languages.<code>
    return value


# The languages a params file (and so every job config) declares: {code: {name, native_name, bleu_tokenizer, ...}}.
DeclaredLanguages = Annotated[dict[str, dict[str, Any]], AfterValidator(_valid_declarations)]


class TrainConfig(NoBoolNumbers):
    """One training run (stage 1 or 2); defaults are the paper's (Section 5.2, Appendix C)."""

    model_config = ConfigDict(extra="forbid")

    stage: Literal[1, 2]
    objective: Literal["clm", "prefix_lm", "mod"] = Field("clm", description="App. A: CLM (ALMA), prefix-LM or MoD")
    base_model: str = Field(description="hub id (meta-llama/Llama-2-7b-hf) or a local directory")
    local_files_only: bool = False
    trust_remote_code: bool = Field(False, description="run the model's own Python code (config.json auto_map); "
                                    "only for a model whose authors you trust")
    output_dir: PathStr
    # stage 2: parallel data in the official layout
    data_root: PathStr | None = Field(None, description="root of {xx}en/train.{xx}-en.json; None = shipped sample")
    language_pairs: list[Direction] = Field(default_factory=list, description="directions, e.g. [de-en, en-de]")
    max_train_examples: int | None = Field(None, ge=1)
    max_eval_examples: int | None = Field(None, ge=1)
    eval_holdout: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="share of train held out per direction, only when NO "
        "direction has a valid file (a direction without one otherwise trains on all its pairs)",
    )
    # stage 1: monolingual mixture
    monolingual_source: Literal["files", "oscar"] = "files"
    monolingual_root: PathStr | None = Field(None, description="root of monolingual/{lang}.txt; None = shipped "
                                             "sample")
    oscar_data_files: str = Field(
        OSCAR_DATA_FILES,
        description="monolingual_source oscar: OSCAR-2301 JSON-lines(.zst) "
        "shards, a pattern with {lang}; hf://datasets/... or a local path (relative = repo root)",
    )
    monolingual_langs: list[LanguageCode] = Field(default_factory=list)
    monolingual_ratios: dict[LanguageCode, Annotated[float, Field(ge=0, le=1)]] | None = Field(
        None, description="None = App. D.1 temperature sampling")
    temperature: float = Field(6.0, gt=0)
    train_tokens: int | None = Field(None, ge=1, description="stage-1 budget; sets max_steps")
    eval_blocks: int = Field(16, ge=1)
    # model
    lora: bool = False
    lora_r: int = Field(16, ge=1)
    lora_alpha: int = Field(32, ge=1)
    lora_dropout: float = Field(0.05, ge=0, lt=1)
    lora_target_modules: list[str] = Field(default_factory=lambda: ["down_proj"])
    # optimisation
    learning_rate: float | None = Field(None, gt=0, lt=1, description="None = 2e-5 full / 2e-3 LoRA; a value >= 1 "
                                        "is refused (a typo such as 2e3 for 2e-3)")
    lr_scheduler: str = "inverse_sqrt"
    warmup_ratio: float = Field(0.01, ge=0, lt=1)
    weight_decay: float = Field(0.01, ge=0)
    max_grad_norm: float = Field(1.0, gt=0)
    max_length: int = Field(512, ge=8)
    epochs: float = Field(2.0, gt=0)
    max_steps: int | None = Field(None, ge=1)
    global_batch_size: int = Field(256, ge=1)
    micro_batch_size: int = Field(4, ge=1)
    world_size: int | None = Field(None, ge=1, description="None = $WORLD_SIZE or 1")
    eval_every: float = Field(0.1, gt=0, lt=1, description="evaluate/save every this share of training")
    load_best_model_at_end: bool = True
    group_by_length: bool = Field(True, description="stage 2 without packing: batch similar lengths (less padding)")
    packing: bool = Field(
        True,
        description="stage 2: pack each micro-batch's examples padding-free, per-example positions and attention "
        "(alma_core.runs.stage2.PackedCollator; same examples per step, same loss); false = right padding",
    )
    pad_to_multiple_of: int | None = Field(None, ge=1)
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    fp16_as_bf16: bool = Field(
        True,
        description="precision fp16 trains in bf16 on a GPU that has it (fp32's range, no loss scaling); "
        "false keeps fp16 (the paper's) everywhere",
    )
    gradient_checkpointing: bool = Field(False, description="recompute activations in the backward pass (less memory)")
    save_only_model: bool = Field(
        False,
        description="every checkpoint but the newest keeps weights only (no optimizer "
        "states; Sec. 6.1 snapshots); the newest stays complete, so resume restores the optimizer",
    )
    deepspeed: PathStr | None = Field(None, description="DeepSpeed JSON, e.g. params/launch/ds_zero2.json")
    seed: Seed = 42
    logging_steps: int = Field(10, ge=1)
    report_to: list[Literal["tensorboard", "wandb"]] = Field(
        default_factory=list, description="training logs for HF users: tensorboard (event files under "
        "output_dir/tensorboard), wandb; [] = run.json and trainer_state.json only")
    save_total_limit: int | None = Field(2, ge=1)
    resume: bool = True
    declared_languages: DeclaredLanguages = Field(
        default_factory=dict, description="languages the params file declares (alma_core.recipe.languages); the job "
        "registers them before reading any data")

    @model_validator(mode="after")
    def _stage_fields(self) -> TrainConfig:
        if self.stage == 1:
            if not self.monolingual_langs:
                raise ValueError("stage 1 needs monolingual_langs, e.g. [en, de, cs, is, zh, ru]")
            if self.max_steps is None and self.train_tokens is None:
                raise ValueError("stage 1 needs max_steps or train_tokens (the monolingual stream is endless)")
            if self.objective != "clm":
                raise ValueError("stage 1 trains with objective clm (packed blocks, loss on all tokens)")
        elif not self.language_pairs:
            raise ValueError("stage 2 needs language_pairs, e.g. [de-en, en-de]")
        for pair in self.language_pairs:
            if pair.count("-") != 1:
                raise ValueError(f"language_pairs entry {pair!r} is not a direction like 'de-en'")
        if self.monolingual_ratios is not None and set(self.monolingual_ratios) != set(self.monolingual_langs):
            raise ValueError("monolingual_ratios must give a ratio for exactly the monolingual_langs")
        return self

    @model_validator(mode="after")
    def _known_languages(self) -> TrainConfig:
        """Every code of language_pairs, monolingual_langs and monolingual_ratios is registered or declared here."""
        for path, value, code in unknown_languages(self, set(parse_declarations(self.declared_languages))):
            try:
                get_language(code)
            except ValueError as err:
                raise ValueError(f"{path[0]}: {value}: {err}") from None
        return self

    def effective_precision(self, bf16_supported: bool) -> str:
        """The precision a run trains in (App. C): fp16 becomes bf16 where supported unless `fp16_as_bf16` is false."""
        if self.precision == "fp16" and self.fp16_as_bf16 and bf16_supported:
            return "bf16"
        return self.precision

    @property
    def lr(self) -> float:
        """Peak learning rate: the file's, else 2e-5 (App. C), or 2e-3 with LoRA (the official LoRA script)."""
        return self.learning_rate if self.learning_rate is not None else (LORA_LR if self.lora else FULL_LR)


def make_config(values: dict[str, Any], source: str = "<config>") -> TrainConfig:
    """Validate a dict into a TrainConfig (Section 5.2, App. C defaults); errors name the source and the key."""
    try:
        return TrainConfig.model_validate(values)
    except ValidationError as err:
        raise TrainConfigError(validation_message(err, source, TrainConfig.model_fields)) from None


def set_value(key: str, value: str) -> Any:
    """The value of `--set KEY=VALUE`, read as YAML (a config file goes through io.read_yaml_mapping instead)."""
    import yaml

    try:
        return yaml.safe_load(value)
    except yaml.YAMLError as err:
        raise TrainConfigError(f"--set {key}: invalid YAML value {value!r} ({getattr(err, 'problem', None) or err}). "
                               f"Fix: correct it, or quote it as a string: --set '{key}=\"...\"'") from None


def load_train_config(path: str | os.PathLike, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML training config (Section 5.2, App. C); unknown keys, wrong types and stage mismatches fail naming the
    key."""
    values = read_yaml_mapping(path, "training config", TrainConfigError, fix_missing="check the path",
                               allow_empty=True)
    return make_config({**values, **(overrides or {})}, str(path))


def gradient_accumulation(global_batch_size: int, micro_batch_size: int, world_size: int) -> int:
    """Accumulation steps that keep the global batch fixed whatever the GPU count (Appendix C: 16 x 4 x 4 = 256)."""
    per_step = micro_batch_size * world_size
    if global_batch_size % per_step:
        raise TrainConfigError(
            f"global_batch_size={global_batch_size} is not divisible by micro_batch_size x world_size = "
            f"{micro_batch_size} x {world_size} = {per_step}. Fix: choose sizes whose product divides it"
        )
    return global_batch_size // per_step


def batch_plan(cfg: TrainConfig, world_size: int | None = None) -> dict[str, int]:
    """World size, micro-batch, accumulation and global batch of a run (App. C: the global batch never changes)."""
    world = world_size or cfg.world_size or int(os.environ.get("WORLD_SIZE", "1"))
    accum = gradient_accumulation(cfg.global_batch_size, cfg.micro_batch_size, world)
    return {"world_size": world, "micro_batch_size": cfg.micro_batch_size, "gradient_accumulation_steps": accum,
            "global_batch_size": cfg.micro_batch_size * accum * world}


# ---------------------------------------------------------------------------------------------
# data locations


def train_directions(cfg: TrainConfig) -> list[tuple[str, str]]:
    """The stage-2 directions of a run as (source, target) pairs, e.g. de-en -> (de, en) (Section 5.1)."""
    return [tuple(p.split("-")) for p in cfg.language_pairs]  # type: ignore[misc]


def parallel_data_root(cfg: TrainConfig) -> Path:
    """Root of the parallel data in the official layout {xx}en/train.{xx}-en.json; the shipped sample when unset (Sec.
    5.1)."""
    return Path(cfg.data_root) if cfg.data_root else Path(sample_data_dir())


def monolingual_data_root(cfg: TrainConfig) -> Path:
    """Root of monolingual/{lang}.txt for stage 1 from files; the shipped sample when unset (Section 4.1)."""
    return Path(cfg.monolingual_root) if cfg.monolingual_root else Path(sample_data_dir())


def oscar_pattern(cfg: TrainConfig) -> str:
    """The OSCAR-2301 shard pattern of a run (Sec. 4.1): remote as given, a relative local path resolved against the
    repo root."""
    pattern = cfg.oscar_data_files
    return pattern if "://" in pattern else str(resolve(pattern))


def check_data(cfg: TrainConfig) -> None:
    """Fail before any model loads (Sections 4-5.2), naming the key and the path, when a data file or base model is
    missing."""
    base = Path(cfg.base_model)
    if (base.is_absolute() or cfg.base_model.startswith(".")) and not base.is_dir():
        raise TrainDataError(f"base_model: {base} does not exist. Fix: build/train it first or give a hub id")
    if cfg.deepspeed and not Path(cfg.deepspeed).is_file():
        raise TrainDataError(f"deepspeed: {cfg.deepspeed} does not exist. Fix: use e.g. params/launch/ds_zero2.json")
    if cfg.stage == 2:
        root = parallel_data_root(cfg)
        for src, tgt in train_directions(cfg):
            try:
                path = parallel_path(root, src, tgt, "train")
            except ValueError as err:
                raise TrainDataError(f"language_pairs: {src}-{tgt}: {err}") from None
            if not path.is_file():
                raise TrainDataError(
                    f"language_pairs: {src}-{tgt} needs {path}, which does not exist. "
                    "Fix: set data_root to the folder holding {xx}en/train.{xx}-en.json, or drop the pair"
                )
            try:  # a malformed line fails here, not after the backbone has loaded
                read_parallel(path, src, tgt)
            except DataError as err:
                raise TrainDataError(f"language_pairs: {src}-{tgt}: {err}") from None
    elif cfg.monolingual_source == "files":
        for lang in cfg.monolingual_langs:
            path = monolingual_path(monolingual_data_root(cfg), lang)
            if not path.is_file():
                raise TrainDataError(
                    f"monolingual_langs: {lang} needs {path}, which does not exist. Fix: set monolingual_root or drop "
                    f"{lang}"
                )
    elif cfg.monolingual_ratios is None:
        raise TrainDataError("monolingual_ratios: needed with monolingual_source=oscar (App. D.1 ratios)")
    elif "://" not in cfg.oscar_data_files:
        for lang in cfg.monolingual_langs:
            try:
                oscar_files(lang, oscar_pattern(cfg))
            except FileNotFoundError as err:
                raise TrainDataError(
                    f"oscar_data_files: {lang}: {err}. Fix: download the OSCAR-2301 shards ({{lang}}_meta/"
                    f"{{lang}}_meta_part_*.jsonl.zst) there, point oscar_data_files at them, or drop {lang}"
                ) from None


def loads_best(cfg: TrainConfig) -> bool:
    """Stage 2 reloads the checkpoint with the lowest validation loss (Section 5.2); stage 1 always hands on its final
    model.

    Stage-1 validation blocks come from the training stream, so its "best" checkpoint is an arbitrary intermediate one.
    """
    return cfg.load_best_model_at_end and cfg.stage == 2
