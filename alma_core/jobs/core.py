"""THE job layer: every chapter's training, translation evaluation and App. J scoring runs as a job.

A job spec (a training run, or a system to evaluate) becomes a config file, a store key (a hash of
its inputs) and a folder under the store. `ensure_*` skips a job already done for the same key,
adopts one finished by hand (e.g. an sbatch script submitted from `make paper-dry-run`), and
otherwise starts it through `alma_core.jobs.launch`: in-process or as a process on a laptop, torchrun/
DeepSpeed on a GPU box, an sbatch script under SLURM. `render_jobs` writes the same configs and
commands without running anything (the dry run). Data flow: notebook -> params -> jobs -> launch ->
train / evaluate / crosslingual -> store -> tables -> report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml

from alma_core.io import atomic_write_text, read_json
from alma_core.jobs import assets, launch, store
from alma_core.params.common import LOCAL_PROFILES
from alma_core.runs.config import batch_plan, make_config
from alma_core.standins.tiny_comet import build_tiny_comet, tiny_comet_digest

__all__ = [
    "JobError",
    "TRAIN_MODULE",
    "EVAL_MODULE",
    "slug",
    "run_spec",
    "start",
    "resume_command",
    "ensure",
    "train_config",
    "ensure_trained",
    "training_summary",
    "comet_checkpoint",
    "model_of",
    "eval_config",
    "ensure_evaluated",
    "with_train",
    "seed_runs",
    "seed_folders",
    "seed_mean",
    "scores_frame",
    "write_job",
    "resolved_values",
    "render_jobs",
]

TRAIN_MODULE = "alma_core.runs.train"
EVAL_MODULE = "alma_core.runs.evaluate job"


class JobError(RuntimeError):
    """A job that failed, or was handed to SLURM without waiting; the message says what to do next."""


def slug(name: str) -> str:
    """A folder-safe name for a system or run."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name).strip("-").lower() or "system"


def run_spec(params: Any, config_path: Path, module: str = TRAIN_MODULE) -> launch.RunSpec:
    """The launch spec of one job: training uses the notebook's launch params (nodes x GPUs, DeepSpeed, SLURM);
    an evaluation is one process on one GPU (an sbatch script under SLURM)."""
    values = params.launch.model_dump(exclude={"submit", "wait"})
    if module != TRAIN_MODULE:
        values.update(nodes=1, gpus_per_node=1, deepspeed_config=None,
                      launcher="slurm" if values["launcher"] == "slurm" else "python")
    job = config_path.parent.name
    return launch.RunSpec(
        config_path=str(config_path),
        slurm_job_name=f"alma-{job}"[:60],
        module=module,
        in_process=False,
        slurm_output=str(config_path.parent / "slurm-%j.log"),
        **values,
    )


def start(params: Any, config_path: Path, module: str, dry_run: bool = False) -> str:
    """Start (or with dry_run only render) one job through jobs.launch; returns the command or sbatch script."""
    spec = run_spec(params, config_path, module)
    text = launch.render(spec)
    if dry_run:
        return text
    slurm = spec.launcher == "slurm"
    submit, wait = bool(params.launch.submit), bool(getattr(params.launch, "wait", False))
    log = config_path.parent / "job.log"
    try:
        result = launch.launch(spec, log_path=log, submit=submit, wait=wait, echo=lambda line: None,
                               check=not (slurm and wait))
    except launch.LaunchError as err:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:] if log.is_file() else ""
        raise JobError(f"job {config_path.parent.name} ({module}) failed: {err}; log {log}:\n{tail}") from None
    if slurm and not submit:
        raise JobError(f"wrote {result.script_path}; submit it with `sbatch {result.script_path}` (or set "
                       "launch.submit: true), then rerun the notebook when the job has finished: the store picks it up")
    if slurm and not wait:
        raise JobError(f"submitted {result.script_path} as job {result.job_id or '?'}; rerun the notebook when it has "
                       "finished")
    if slurm and result.returncode != 0:
        job_log = result.log_path
        tail = job_log.read_text(encoding="utf-8", errors="replace")[-3000:] if job_log and job_log.is_file() else ""
        raise JobError(f"SLURM job {result.job_id or '?'} ({result.script_path}) failed with exit {result.returncode}:"
                       f"\n{tail}")
    return text


def resume_command(params: Any, config_path: Path, module: str) -> str:
    """The command that resumes (or reruns) one job by hand: the rendered launch command or sbatch submission."""
    text = start(params, config_path, module, dry_run=True)
    if text.startswith("#!"):
        return f"sbatch {config_path.with_suffix('.sbatch')}"
    return "\n".join(line for line in text.splitlines() if line.strip() and not line.startswith("#")).strip()


def ensure(params: Any, config: Mapping[str, Any], key: str, out: Path, module: str, *,
           finished: Callable[[Path], bool], info: Mapping[str, Any]) -> Path:
    """Run one job unless done for `key`: skip, adopt a finished result without a marker, or write its config and
    start it. One run at a time per job folder (store.locked): a second waits, then skips what the first finished."""
    if store.is_done(out, key) and not params.force:
        return out
    with store.locked(out / store.LOCK, f"job {out.name}"):
        if finished(out) and not store.is_done(out, key) and not params.force:  # a job run by hand
            store.mark_done(out, key, {**info, "adopted": True})
        if store.is_done(out, key) and not params.force:
            print(f"[jobs] {out.name}: finished by another run while this one waited; reusing it", flush=True)
            return out
        config_path = out / ("train_config.yaml" if module == TRAIN_MODULE else "job_config.yaml")
        atomic_write_text(config_path, yaml.safe_dump(dict(config), sort_keys=True, allow_unicode=True))
        print(f"[jobs] {out.name}: running {module.split()[0]}; progress and ETA in {out / 'job.log'}", flush=True)
        try:
            start(params, config_path, module)
            if not finished(out):
                raise JobError(f"job {out.name} ({module}) ended without its result; see {out}")
        except JobError as err:
            raise JobError(f"{err}\nlog: {out / 'job.log'}\nresume it by rerunning the notebook (or `make book`), "
                           f"or by hand (finished work is kept):\n  {resume_command(params, config_path, module)}"
                           ) from None
        store.mark_done(out, key, dict(info))
    return out


# ---------------------------------------------------------------------------------------------
# training (Sections 4-5: stage 1 and stage 2)


def _world_key(params: Any) -> dict[str, Any]:
    """The mini world's recipe as part of a job's key (its data and test sets are written from it); {} elsewhere."""
    return {"world": params.world} if getattr(params, "world", None) else {}


def train_config(params: Any, name: str) -> tuple[dict[str, Any], str, Path]:
    """The resolved TrainConfig values of one run of a notebook, its store key and output folder."""
    values = dict(params.train[name])
    if values.get("base_model", "tiny") == "tiny":
        values["base_model"] = assets.backbone(params)
        values["local_files_only"] = True
    if params.data_root is not None and "data_root" not in values:
        values["data_root"] = str(assets.data_root(params))
    values.setdefault("seed", params.seed)
    if getattr(params, "declared_languages", None):  # declared in the params file: the job registers them
        values["declared_languages"] = dict(params.declared_languages)
    report_to = values.pop("report_to", getattr(params, "report_to", None))
    if report_to is None:  # TensorBoard event files at paper scale, where runs take days; none for the tiny profile
        report_to = [] if params.profile in LOCAL_PROFILES else ["tensorboard"]
    key = store.run_key({"train": {k: v for k, v in values.items() if k != "output_dir"}, "profile": params.profile,
                         **_world_key(params)})
    if report_to:  # where the logs go does not change the result: not part of the key
        values["report_to"] = list(report_to)
    out = store.resolve(params.store_dir) / "train" / f"{slug(name)}-{key}"
    values["output_dir"] = str(out)
    return values, key, out


def _trained(out: Path) -> bool:
    """Whether a training folder holds a finished run (run.json status done)."""
    return (out / "run.json").is_file() and read_json(out / "run.json").get("status") == "done"


def with_train(params: Any, train: Mapping[str, Mapping[str, Any]]) -> SimpleNamespace:
    """A notebook's params (a params model or a namespace) with other `train` runs."""
    values = vars(params) if isinstance(params, SimpleNamespace) else dict(params)
    return SimpleNamespace(**{**values, "train": dict(train)})


def seed_runs(params: Any, name: str) -> list[tuple[int | None, Any]]:
    """(seed, params) of each copy of one run: a stage-2 run once per seed of `seeds` (issue 14), stage 1 once (its
    cost); a run without `seeds` is the params themselves."""
    run = params.train[name]
    seeds = list(getattr(params, "seeds", None) or []) if run.get("stage") == 2 else []
    if not seeds:
        return [(None, params)]
    return [(seed, with_train(params, {name: {**run, "seed": seed}})) for seed in seeds]


def seed_folders(params: Any, name: str, trained: Mapping[str, Path]) -> list[tuple[int | None, Path]]:
    """(seed, folder) of every copy of the trained run `name`: derived from the params, as ensure_trained trains
    them; an evaluation scores each copy and reports their mean and range (`seed_mean`)."""
    if name not in getattr(params, "train", {}):
        if getattr(params, "seeds", None):
            raise JobError(f"run {name!r} is not among these params' `train` runs, so its seed copies are unknown. "
                           "Fix: evaluate with the params that trained it (jobs.with_train(params, runs))")
        return [(None, Path(trained[name]))]
    copies = seed_runs(params, name)
    if len(copies) == 1:
        return [(copies[0][0], Path(trained[name]))]
    return [(seed, train_config(run, name)[2]) for seed, run in copies]


def ensure_trained(params: Any, runs: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Path]:
    """Train every run of `params.train` (or `runs`) through launch unless done for the same inputs; {run: folder of
    its first seed}.

    Used by every chapter that trains (Sec. 3, 5, 6.1, 6.2; App. A, E, H, I, J; adding a language)."""
    if runs is not None:
        params = with_train(params, runs)
    trained: dict[str, Path] = {}
    for name in params.train:
        folders = [ensure(run, *train_config(run, name), TRAIN_MODULE, finished=_trained, info={"run": name})
                   for _seed, run in seed_runs(params, name)]
        trained[name] = folders[0]
    return trained


def training_summary(params: Any, trained: Mapping[str, Path]) -> Any:
    """One row per training run: the settings that matter and what run.json says it did.

    Used by notebooks/add_language_pair.ipynb, appA_objectives.ipynb, appJ_crosslingual.ipynb and 3 more.
    """
    import pandas as pd

    rows = {}
    for name, out in trained.items():
        record = read_json(out / "run.json") if (out / "run.json").is_file() else {}
        cfg = record.get("config", params.train[name] if name in getattr(params, "train", {}) else {})
        rows[name] = {"LoRA": cfg.get("lora", False), "learning rate": record.get("learning_rate"),
                      "directions": len(cfg.get("language_pairs", [])), "steps": record.get("steps"),
                      "final loss": record.get("final_loss"), "eval loss": record.get("eval_loss"),
                      "trainable params": record.get("trainable"), "seconds": record.get("wall_time_s")}
    return pd.DataFrame.from_dict(rows, orient="index")


# ---------------------------------------------------------------------------------------------
# translation evaluation (Section 5.1; Appendices E and I prompt variants)


def comet_checkpoint(params: Any) -> str:
    """The COMET model of an evaluation: `tiny` builds the locally made checkpoint in the store."""
    if params.evaluation.comet_model != "tiny":
        return params.evaluation.comet_model
    folder = store.resolve(params.store_dir) / "tiny_comet"
    with store.locked(folder.parent / ".tiny_comet.lock", "the tiny COMET build"):
        return str(build_tiny_comet(folder))


def model_of(params: Any, system: Any, trained: Mapping[str, Path]) -> tuple[dict[str, Any], Any]:
    """(model fields of a job, the identity that keys it): a trained run, or a backbone / released checkpoint."""
    if system.train is not None:
        if system.train not in trained:
            raise JobError(f"system {system.name!r} names train run {system.train!r}, which is not in `train`; add it")
        return {"trained": str(trained[system.train])}, {"trained": Path(trained[system.train]).name}
    path = assets.backbone(params, system.model)
    local = Path(path).is_dir()
    return ({"model": path, "adapter": system.adapter, "local_files_only": system.local_files_only,
             **({"trust_remote_code": True} if getattr(system, "trust_remote_code", False) else {})},
            {"model": Path(path).name if local else path, "adapter": system.adapter})


def eval_config(params: Any, system: Any, trained: Mapping[str, Path]) -> tuple[dict[str, Any], str, Path]:
    """The evaluation job of one system: resolved model, test sets, prompt, decoding, metrics; its key and folder."""
    ev = params.evaluation
    model, identity = model_of(params, system, trained)
    prompt = system.prompt.model_dump(exclude={"name"}) if getattr(system, "prompt", None) else {}
    test_root = str(store.resolve(ev.test_root)) if ev.test_root else str(assets.data_root(params))
    job = {"system": system.name, **model, "directions": list(ev.directions), "test_root": test_root,
           "test_format": ev.test_format, "max_sentences": ev.max_sentences, "num_beams": ev.num_beams,
           "batch_size": ev.batch_size, "max_new_tokens": ev.max_new_tokens, "max_prompt_tokens": ev.max_prompt_tokens,
           "prompt_tokens_by_direction": dict(ev.prompt_tokens_by_direction), "dtype": ev.dtype,
           "comet_model": ev.comet_model, "comet_batch_size": ev.comet_batch_size, "prompt": prompt,
           "shots_root": str(assets.data_root(params)) if prompt.get("shots") else None,
           "off_target_candidates": getattr(params, "off_target_candidates", None)}
    if ev.token_budget:  # only when set, so the keys of jobs batched by count alone do not change
        job["token_budget"] = ev.token_budget
    if getattr(params, "declared_languages", None):  # declared in the params file: the job registers them
        job["declared_languages"] = dict(params.declared_languages)
    if ev.comet_model == "tiny":  # the locally built checkpoint changes with its code, not with its name or folder
        identity = {"system": identity, "tiny_comet": tiny_comet_digest(comet_checkpoint(params))[:16]}
    key = store.run_key({"job": {k: v for k, v in job.items() if k not in ("trained", "model", "system")},
                         "identity": identity, **_world_key(params)})
    out = store.resolve(params.store_dir) / "eval" / f"{slug(system.name)}-{key}"
    return {**job, "output_dir": str(out)}, key, out


def scores_frame(frames: list[Any]) -> Any:
    """One tidy frame (system, direction, lang, metric, value, note) of several jobs' scores.json."""
    import pandas as pd

    scores = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["system", "direction", "lang", "metric", "value", "note"])
    scores["value"] = pd.to_numeric(scores["value"], errors="coerce")
    return scores


def ensure_evaluated(
    params: Any, trained: Mapping[str, Path], systems: list[Any] | None = None
) -> tuple[Any, dict[str, Path]]:
    """Evaluate every system (or `systems`) through launch unless done for the same inputs; (tidy scores, {system:
    run.json}).
    Used by notebooks/add_language_pair.ipynb, appA_objectives.ipynb, sec2_zero_shot.ipynb and 3 more.
    """
    import pandas as pd

    frames, runs = [], {}
    for system in systems if systems is not None else params.systems:
        copies = seed_folders(params, system.train, trained) if system.train in trained else [(None, None)]
        seeded = []
        for seed, model in copies:  # a run trained per seed: each copy
            job, key, out = eval_config(params, system, {**trained, system.train: model} if model else trained)
            job["comet_model"] = comet_checkpoint(params)
            ensure(params, job, key, out, EVAL_MODULE, finished=lambda o: (o / "scores.json").is_file(),
                   info={"system": system.name})
            seeded.append(pd.DataFrame(read_json(out / "scores.json")).assign(seed=seed))
            runs.setdefault(system.name, out / "run.json")
        frames.append(seed_mean(pd.concat(seeded, ignore_index=True)) if len(seeded) > 1 else seeded[0].drop(
            columns="seed"))
    return scores_frame(frames), runs


def seed_mean(scores: Any) -> Any:
    """One system's scores over its seeds: the mean as `value`, with `seed_min`, `seed_max` and `seeds` (issue 14)."""
    keys = ["system", "direction", "lang", "metric"]
    scores = scores.assign(value=lambda f: f["value"].astype(float))
    grouped = scores.groupby(keys, sort=False, dropna=False)
    return grouped.agg(value=("value", "mean"), seed_min=("value", "min"), seed_max=("value", "max"),
                       seeds=("seed", "count"), note=("note", "first")).reset_index()


# ---------------------------------------------------------------------------------------------
# dry run


def write_job(out: Path, name: str, kind: str, config: Mapping[str, Any], params: Any, module: str) -> list[Path]:
    """One job's config and its launch command/script, as the notebook would start it (dry run)."""
    config_path = out / f"{slug(name)}.{kind}.yaml"
    atomic_write_text(config_path, yaml.safe_dump(dict(config), sort_keys=True, allow_unicode=True))
    text = start(params, config_path, module, dry_run=True)
    if module == TRAIN_MODULE:  # the values the run will use, not only the file's keys
        resolved = resolved_values(config, run_spec(params, config_path, module).world_size)
        head, _, rest = text.partition("\n") if text.startswith("#!") else ("", "", text)
        text = (head + "\n" if head else "") + resolved + rest
    script = out / f"{slug(name)}.{kind}.{'sbatch' if params.launch.launcher == 'slurm' else 'sh'}"
    atomic_write_text(script, text)
    return [config_path, script]


def resolved_values(config: Mapping[str, Any], world_size: int) -> str:
    """Shell comments with the values a training job resolves at run time (App. C): lr, batch plan, schedule,
    precision."""
    cfg = make_config(dict(config), source="job config")
    plan = batch_plan(cfg, world_size)
    lines = [f"learning rate {cfg.lr:g} ({cfg.lr_scheduler}, warm-up {cfg.warmup_ratio})",
             f"world size {plan['world_size']} x micro-batch {plan['micro_batch_size']} x gradient accumulation "
             f"{plan['gradient_accumulation_steps']} = global batch {plan['global_batch_size']}",
             f"precision {cfg.precision}, DeepSpeed {cfg.deepspeed or 'none'}, max length {cfg.max_length}"]
    return "".join(f"# resolved: {line}\n" for line in lines)


def render_jobs(params: Any, out: Path, systems: list[Any] | None = None) -> list[Path]:
    """Write every job of one notebook's params (training configs, evaluations; launch command or script) without
    running it."""
    if not hasattr(params, "launch"):
        return []
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    trained: dict[str, Path] = {}
    for run in getattr(params, "train", {}) or {}:
        for seed, copy in seed_runs(params, run):
            values, _key, folder = train_config(copy, run)
            trained.setdefault(run, folder)
            written += write_job(out, _seeded(run, seed), "train", values, params, TRAIN_MODULE)
    for system in systems if systems is not None else getattr(params, "systems", []) or []:
        copies = seed_folders(params, system.train, trained) if system.train in trained else [(None, None)]
        for seed, model in copies:
            job, _key, _ = eval_config(params, system, {**trained, system.train: model} if model else trained)
            written += write_job(out, _seeded(system.name, seed), "eval", job, params, EVAL_MODULE)
    return written


def _seeded(name: str, seed: int | None) -> str:
    """A job's name in the dry run: the run or system, and its seed when it is trained once per seed."""
    return name if seed is None else f"{name} seed {seed}"
