"""The building blocks of every notebook's params schema (Sections 2-6, App. A-J): launch, evaluation, systems.

`alma_core.params.schemas` is the import surface; this module and `alma_core.params.sweeps` only split its size.
"""

from __future__ import annotations

import os
import typing
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from alma_core.io import resolve, validation_message
from alma_core.recipe.languages import get_language
from alma_core.runs.config import DeclaredLanguages, TrainConfig, gradient_accumulation, make_config
from alma_core.runs.strict import Direction, NoBoolNumbers, PathStr, Seed, unknown_languages
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
    "check_languages",
    "check_references",
    "langid_candidates",
    "check_batches",
    "explain",
    "injected_names",
]

Profile = Literal["tiny", "mini", "paper", "released"]
PROFILES: tuple[str, ...] = ("tiny", "mini", "paper", "released")
LOCAL_PROFILES: tuple[str, ...] = ("tiny", "mini")  # everything built here, offline: no hub, no TensorBoard logs


class ParamsError(ValueError):
    """A params file that does not match its notebook's schema."""


class _Strict(NoBoolNumbers):
    """Every params model: unknown keys refused, values frozen, no bool read as a number (runs.strict.NoBoolNumbers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LaunchParams(_Strict):
    """How jobs are started (fields of alma_core.jobs.launch.RunSpec): one process on a laptop, DeepSpeed/SLURM on a
    cluster."""

    launcher: Literal["python", "torchrun", "deepspeed", "accelerate", "slurm"] = "python"
    nodes: int = Field(1, ge=1)
    gpus_per_node: int = Field(1, ge=1, description="processes per node (1 on a CPU)")
    deepspeed_config: PathStr | None = None
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

    directions: list[Direction] = Field(min_length=1)
    test_root: PathStr | None = None
    test_format: Literal["json", "sacrebleu-echo"] = "json"
    max_sentences: int | None = Field(None, ge=1)
    num_beams: int = Field(5, ge=1)
    batch_size: int = Field(16, ge=1, description="the most sentences in one decoding batch")
    token_budget: int | None = Field(
        None, ge=1, description="also cap a batch at this many KV-cache tokens: rows x beams x (longest prompt + "
        "max_new_tokens); batches then hold many short sentences and few long ones (None = by count only)")
    max_new_tokens: int = Field(256, ge=1)
    max_prompt_tokens: int = Field(256, ge=8)
    prompt_tokens_by_direction: dict[Direction, int] = Field(
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
    store_dir: PathStr
    force: bool = False  # redo evaluations; a finished training run is never retrained or rewritten (runs.train)
    seed: Seed = 42
    data_root: PathStr | None = None
    seeds: list[Seed] = Field(
        default_factory=list, description="train every stage-2 run once per seed; tables show the mean, "
        "tables.seed_spread the range (issue 14); [] = once, with the run's seed")
    world: dict[str, Any] | None = Field(
        None, description="mini profile: the synthetic world (standins.mini_world_data.WORLD_KEYS) written to "
        "data_root before anything reads it; None = data_root holds real files")
    declared_languages: DeclaredLanguages = Field(
        default_factory=dict, description="languages the library does not know, {code: {name, native_name, "
        "bleu_tokenizer, target_prompt}}: registered in the notebook and carried by every job (recipe.languages)")

    @field_validator("store_dir")
    @classmethod
    def _writable_store(cls, value: str) -> str:
        """The store folder, or the nearest folder above it that exists, must be a folder this user can write."""
        folder = probe = resolve(value)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not probe.is_dir():
            above = "" if probe == folder else f", so the store {folder} cannot be created in it"
            raise ValueError(f"{value!r}: {probe} is a file, not a folder{above}. Fix: point store_dir at a folder "
                             "(e.g. runs/tiny) or move the file away")
        if not os.access(probe, os.W_OK | os.X_OK):
            raise ValueError(f"{value!r}: {probe} is read-only for this user, so the store ({folder}) cannot be "
                             f"written. Fix: point store_dir at a folder you can write (e.g. runs/tiny) or make it "
                             f"writable (chmod u+w {probe})")
        return value

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


def check_train_runs(runs: dict[str, dict[str, Any]], declared: Mapping[str, Any] | None = None,
                     prefix: str = "train.") -> dict[str, dict[str, Any]]:
    """Check every run of a notebook is a valid alma_core.runs.config.TrainConfig (Sec. 5.2, App. C; base_model `tiny` =
    the stand-in); `declared` = the file's declared_languages, which its runs' language codes may use; messages start
    with `prefix` + the run's name (train.<run>, or stage1 for a two-stage chapter's run)."""
    for name, run in runs.items():
        plain_name(name, "train run name")
        values = {"base_model": "tiny", "output_dir": "-", **run}
        if declared and isinstance(run, Mapping):
            values["declared_languages"] = {**declared, **(run.get("declared_languages") or {})}
        make_config(values, source=f"{prefix}{name}")
    return runs


def declared_in(info: ValidationInfo) -> dict[str, Any]:
    """The declared_languages of the params being validated (validated before the fields that use them)."""
    return dict(info.data.get("declared_languages") or {})


class TrainRunsParams(NotebookParams):
    """A notebook that trains: `train` maps run names to TrainConfig values, each one checked (Sec. 5.2, App. C)."""

    train: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("train")
    @classmethod
    def _train_configs(cls, value: dict[str, dict[str, Any]], info: ValidationInfo) -> dict[str, dict[str, Any]]:
        """Every run must be a valid alma_core.runs.config.TrainConfig (base_model `tiny` = the tiny stand-in)."""
        return check_train_runs(value, declared_in(info))


def check_languages(params: Any, where: str) -> None:
    """Every language code of a params file names a known (or this file's declared) language (Sec. 5.1): each
    LanguageCode / Direction field of the schema (evaluation.directions, languages, off_target_candidates, App. J's
    tasks, starting_languages, ...) and the `world:` block's languages; the train runs' codes are TrainConfig's own
    check. Call it once the file's declared_languages are registered."""
    found = list(unknown_languages(params))
    for key in ("world", "control"):
        block = getattr(params, key, None)
        langs = block.get("languages") if isinstance(block, Mapping) else None
        if isinstance(langs, (list, tuple)):
            found += [((key, "languages", index), code, code) for index, code in enumerate(langs)
                      if isinstance(code, str) and not _known(code)]
    for path, value, code in found:
        try:
            get_language(code)
        except ValueError as err:
            raise ParamsError(f"{where}: {'.'.join(map(str, path))} {value!r}: {err}") from None


def _known(code: str) -> bool:
    try:
        get_language(code)
    except ValueError:
        return False
    return True


def langid_candidates(value: list[str] | None) -> list[str] | None:
    """App. E's off_target_candidates are language-ID codes (py3langid's 97, Belarusian and Polish too), not registry
    languages: each must be one py3langid identifies, else the evaluation job fails after decoding."""
    if value is None:
        return value
    from alma_core.recipe.metrics import langid_languages

    known = set(langid_languages())
    for index, code in enumerate(value):
        if code not in known:
            raise ValueError(f"{index} {code!r}: py3langid cannot identify this language, so it cannot be an "
                             f"off-target candidate. Fix: use codes among {', '.join(sorted(known))}")
    return value


def check_references(params: Any, where: str) -> None:
    """Systems have distinct names, and a system's `train:` (and App. J's before_after) names a run (system) the same
    file defines: a typo would otherwise fail only inside the job, or evaluate the wrong model."""
    systems = list(getattr(params, "systems", None) or [])
    twice = [name for name, count in Counter(s.name for s in systems).items() if count > 1]
    if twice:
        raise ParamsError(f"{where}: systems: two systems are named {twice[0]!r}; tables and records, keyed by "
                          "system name, could not tell them apart. Fix: give every system its own name")
    runs = set(getattr(params, "train", None) or {})
    runs |= {key for key in ("stage1", "stage2") if isinstance(getattr(params, key, None), Mapping)}
    for index, system in enumerate(systems):
        if system.train is not None and system.train not in runs:
            known = ", ".join(sorted(runs)) or "none (this file has no train: block)"
            raise ParamsError(f"{where}: systems.{index}.train {system.train!r} (system {system.name!r}) names no run "
                              f"of this file; its runs: {known}. Fix: name one of them, or add the run under train:")
    names = {s.name for s in systems}
    for index, pair in enumerate(getattr(params, "before_after", None) or []):
        for name in pair:
            if name not in names:
                raise ParamsError(f"{where}: before_after.{index} {name!r} is no system of this file. Fix: use a "
                                  f"name from systems: {', '.join(sorted(names))}")


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


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside a field's annotation (X, X | None, list[X], dict[str, X])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def _fields_at(schema: type[BaseModel], loc: Sequence[Any]) -> dict[str, Any]:
    """The fields of the (nested) model that holds the key at `loc` (for a did-you-mean hint)."""
    model = schema
    for part in loc[:-1]:
        if isinstance(part, int) or part not in model.model_fields:
            continue
        inner = _models_in(model.model_fields[part].annotation)
        if not inner:
            return {}
        model = inner[0]
    return dict(model.model_fields)


class _OneError:
    """One pydantic error item in the shape validation_message reads."""

    def __init__(self, item: dict[str, Any]) -> None:
        self.item = item

    def errors(self) -> list[dict[str, Any]]:
        return [self.item]


def explain(err: ValidationError, where: str, schema: type[BaseModel] | None = None) -> ParamsError:
    """One readable message per wrong key: file, key path, problem, the fix (and the key meant, for a typo)."""
    lines = []
    for item in err.errors():
        key = ".".join(str(part) for part in item["loc"])
        if item["type"] == "value_error":  # a validator's own message already names the value and the fix
            text = str(item.get("ctx", {}).get("error", item["msg"]))
            at = f"key '{key}': " if key else ""  # a model-level check (world:, cross-field) names its own keys
            lines.append(f"{where}: {at}{text}" + ("" if "Fix" in text else ". Fix: correct the value"))
            continue
        fields = _fields_at(schema, item["loc"]) if schema is not None else None
        lines.append(validation_message(_OneError(item), where, fields))
    return ParamsError("\n".join(lines))


def injected_names(namespace: Mapping[str, Any]) -> list[str]:
    """The names papermill's injected `# Parameters` cell assigned (IPython keeps each cell's source in `In`)."""
    import ast

    for source in reversed(list(namespace.get("In") or [])):
        if isinstance(source, str) and source.startswith("# Parameters"):
            try:
                body = ast.parse(source).body
            except SyntaxError:
                return []
            return [target.id for node in body if isinstance(node, ast.Assign) for target in node.targets
                    if isinstance(target, ast.Name)]
    return []
