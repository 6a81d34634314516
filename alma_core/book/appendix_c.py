"""Appendix C of the paper as a table: its training settings beside the TrainConfig of every run this build made,
and what each run did (from its run.json). Pure pandas frames; `report` displays them.

`PAPER_VALUES` is the one record of the values the paper states (App. C, Sec. 2.2, 4, 5.2, D.1) or, where it is
silent, the official scripts set; `PAPER_TRAINING` (the table's paper column) is written from it, and
tests/test_paper_values.py checks every `paper`-profile params file against it and book/deviations.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from alma_core.io import read_json
from alma_core.jobs.core import train_config
from alma_core.jobs.store import resolve
from alma_core.params.schemas import load_notebook_params
from alma_core.runs.config import batch_plan, make_config

__all__ = ["PAPER_TRAINING", "PAPER_VALUES", "PaperValue", "deepspeed_summary", "training_details", "run_jsons",
           "run_outcomes", "log_history", "loss_curves", "loss_figure"]


@dataclass(frozen=True)
class PaperValue:
    """One recorded setting: the paper's value and where it says so; `official` marks a value the paper does not
    give, taken from the official scripts (fe1ixxu/ALMA a3cc787) under the project's rule for silent points."""

    value: Any
    source: str
    scopes: tuple[str, ...]  # where the key sits in a params file: train (stage-1 and stage-2 runs), stage1, stage2,
    # lora (stage-2 LoRA runs), evaluation, prompt (an evaluation's prompt variants), launch (files that train), top
    by_notebook: Mapping[str, Any] = field(default_factory=dict)  # chapters whose section records another value
    official: bool = False

    def expected(self, notebook: str) -> Any:
        """The value recorded for this notebook's runs (App. C: 3 epochs in Sec. 3 / App. A, 2 elsewhere)."""
        return self.by_notebook.get(notebook, self.value)


_TRAIN, _STAGE2, _LORA, _EVAL = ("train",), ("stage2",), ("lora",), ("evaluation",)

# Keys are the params files' own (TrainConfig, EvalParams); `world_size` is launch.nodes x launch.gpus_per_node.
PAPER_VALUES: dict[str, PaperValue] = {
    "learning_rate": PaperValue(2e-5, "App. C: one peak learning rate; Sec. 5.2: both stages and both model types "
                                "share the settings", _TRAIN),
    "lr_scheduler": PaperValue("inverse_sqrt", "App. C: inverse-square-root decay to 0", _TRAIN),
    "warmup_ratio": PaperValue(0.01, "App. C; Sec. 5.2", _TRAIN),
    "weight_decay": PaperValue(0.01, "App. C", _TRAIN),
    "max_length": PaperValue(512, "App. C; Sec. 5.2", _TRAIN),
    "global_batch_size": PaperValue(256, "App. C; Sec. 5.2", _TRAIN),
    "micro_batch_size": PaperValue(4, "App. C: 4 per GPU, gradient accumulation 4", _TRAIN),
    "precision": PaperValue("fp16", "App. C", _TRAIN),
    "max_grad_norm": PaperValue(1.0, "official configs/deepspeed_train_config.yaml (gradient_clipping)", _TRAIN,
                                official=True),
    "world_size": PaperValue(16, "App. C: 16 MI200 GPUs", ("launch",)),
    "epochs": PaperValue(2, "App. C: 2 epochs for LLaMA-2 on the human-written data, 3 for Sec. 3's runs", _STAGE2,
                         by_notebook={"sec3_parallel_data": 3, "appA_objectives": 3}),
    "eval_every": PaperValue(0.1, "App. C: validation every 10% of training", _STAGE2),
    "load_best_model_at_end": PaperValue(True, "App. C; Sec. 5.2: the lowest validation loss", _STAGE2),
    "lora_r": PaperValue(16, "Sec. 5.2", _LORA),
    "lora_target_modules": PaperValue(["down_proj"], "Sec. 4: the down-projection of each feed-forward network",
                                      _LORA),
    "lora_alpha": PaperValue(32, "official runs/parallel_ft_lora.sh (LoraConfig); the paper gives only r 16", _LORA,
                             official=True),
    "lora_dropout": PaperValue(0.05, "official runs/parallel_ft_lora.sh (LoraConfig); the paper gives only r 16",
                               _LORA, official=True),
    "monolingual_ratios": PaperValue({"de": 0.20, "cs": 0.14, "is": 0.08, "zh": 0.19, "ru": 0.22, "en": 0.17},
                                     "App. D.1, Table 5", ("stage1",)),
    "temperature": PaperValue(6.0, "App. D.1", ("top", "stage1")),
    "num_beams": PaperValue(5, "Sec. 2.2: beam size 5", ("evaluation", "prompt")),
    "comet_model": PaperValue("Unbabel/wmt22-comet-da", "Sec. 2.2", _EVAL),
    "max_new_tokens": PaperValue(256, "official run_llmmt.py (--max_new_tokens 256)", _EVAL, official=True),
    "max_prompt_tokens": PaperValue(256, "official evaluation (--max_source_length 256)", _EVAL, official=True),
    "prompt_tokens_by_direction": PaperValue({"zh-en": 512}, "official eval scripts (zh-en rerun with 512)", _EVAL,
                                             official=True),
    "dtype": PaperValue("fp16", "official evaluation config (fp16)", _EVAL, official=True),
}


def _v(key: str) -> Any:
    return PAPER_VALUES[key].value


PAPER_TRAINING = {
    "backbone": "LLaMA-2-7B / 13B",
    "stage": "2 (human-written parallel data)",
    "fine-tuning": "full weights / LoRA",
    "learning rate": f"{_v('learning_rate'):.0e}".replace("e-0", "e-") + " (one peak rate for full weights and "
                     "LoRA; the official LoRA script uses 2e-3)",
    "lr schedule": f"{_v('lr_scheduler')}, decaying to 0",
    "warm-up ratio": _v("warmup_ratio"),
    "weight decay": _v("weight_decay"),
    "max length": _v("max_length"),
    "epochs": f"{_v('epochs')} ({PAPER_VALUES['epochs'].by_notebook['sec3_parallel_data']} in Sec. 3); "
              "1 in the official scripts",
    "global batch": f"{_v('global_batch_size')} ({_v('world_size')} GPUs x {_v('micro_batch_size')} x "
                    f"{_v('global_batch_size') // (_v('world_size') * _v('micro_batch_size'))})",
    "micro batch x accumulation": f"{_v('micro_batch_size')} x "
                                  f"{_v('global_batch_size') // (_v('world_size') * _v('micro_batch_size'))}",
    "precision": _v("precision"),
    "DeepSpeed": "ZeRO stage 2",
    "validation every": f"{_v('eval_every'):.0%} of training (the official LoRA script: 5%)",
    "best checkpoint by": "lowest validation loss",
    "LoRA": f"r {_v('lora_r')}, {', '.join(_v('lora_target_modules'))} (Sec. 4, 5.2); alpha {_v('lora_alpha')}, "
            f"dropout {_v('lora_dropout')} (official script; the paper gives only the rank)",
    "GPUs": f"{_v('world_size')} MI200",
}


def deepspeed_summary(path: str | None) -> str:
    """App. C: what a DeepSpeed JSON sets (ZeRO stage, dtype, offload). Used by notebooks/appC_training_details."""
    if not path:
        return "none"
    try:
        config = json.loads(resolve(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{path} (not readable here)"
    zero = config.get("zero_optimization", {})
    parts = [
        f"ZeRO-{zero.get('stage', 0)}",
        f"grad accumulation in {config.get('data_types', {}).get('grad_accum_dtype', 'the model dtype')}",
        f"optimizer offload {zero.get('offload_optimizer', {}).get('device', 'none')}",
    ]
    return f"{', '.join(parts)} ({path})"


def training_details(params: Any) -> pd.DataFrame:
    """App. C: the paper's settings beside every source run's TrainConfig. Used by notebooks/appC_training_details."""
    columns = {"paper (App. C)": PAPER_TRAINING}
    for source in params.sources:
        src_params = load_notebook_params(source, params.profile)
        for run, values in getattr(src_params, "train", {}).items():
            cfg = make_config({**values, "output_dir": "-"}, source=f"params/{params.profile}/{source}.yaml")
            world = src_params.launch.nodes * src_params.launch.gpus_per_node
            plan = batch_plan(cfg, world)
            columns[f"{source}: {run}"] = {
                "backbone": values.get("base_model", "tiny")
                + (" (tiny stand-in)" if values.get("base_model", "tiny") == "tiny" else ""),
                "stage": cfg.stage,
                "fine-tuning": "LoRA" if cfg.lora else "full weights",
                "learning rate": cfg.lr,
                "lr schedule": cfg.lr_scheduler,
                "warm-up ratio": cfg.warmup_ratio,
                "weight decay": cfg.weight_decay,
                "max length": cfg.max_length,
                "epochs": cfg.max_steps and f"max_steps {cfg.max_steps}" or cfg.epochs,
                "global batch": plan["global_batch_size"],
                "micro batch x accumulation": f"{plan['micro_batch_size']} x {plan['gradient_accumulation_steps']}",
                "precision": cfg.precision,
                "DeepSpeed": deepspeed_summary(src_params.launch.deepspeed_config or cfg.deepspeed),
                "validation every": f"{cfg.eval_every:.0%} of training",
                "best checkpoint by": "lowest validation loss"
                if cfg.load_best_model_at_end and cfg.stage == 2
                else "last step (the final model)",
                "LoRA": f"r {cfg.lora_r}, alpha {cfg.lora_alpha}, dropout {cfg.lora_dropout}, "
                        f"{', '.join(cfg.lora_target_modules)}"
                if cfg.lora
                else "-",
                "GPUs": f"{world} ({src_params.launch.launcher})"
                if src_params.profile != "tiny"
                else f"CPU, {world} process ({src_params.launch.launcher})",
            }
    table = pd.DataFrame(columns).astype(str)
    table.index.name = "setting"
    return table


def run_jsons(params: Any) -> dict[str, Path]:
    """App. C: run.json of every training run of the source notebooks. Used by notebooks/appC_training_details.ipynb."""
    found = {}
    for source in params.sources:
        src_params = load_notebook_params(source, params.profile)
        for run in getattr(src_params, "train", {}):
            found[f"{source}: {run}"] = train_config(src_params, run)[2] / "run.json"
    return found


def run_outcomes(params: Any) -> pd.DataFrame:
    """App. C: what each training run did (from run.json). Used by notebooks/appC_training_details.ipynb."""
    rows = {}
    for name, path in run_jsons(params).items():
        record = read_json(path) if path.is_file() else {}
        hardware = record.get("hardware", {})
        rows[name] = {
            "status": record.get("status", "not run yet"),
            "steps": record.get("steps"),
            "final loss": record.get("final_loss"),
            "eval loss": record.get("eval_loss"),
            "tokens seen": record.get("tokens_seen"),
            "seconds": record.get("wall_time_s"),
            "hardware": ", ".join(f"{k} {v}" for k, v in hardware.items()) if isinstance(hardware, dict) else hardware,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def log_history(run_dir: Path) -> list[dict[str, Any]]:
    """App. C: a run's logged steps (final trainer_state.json, else its newest checkpoint's). Used by loss_curves."""
    candidates = [run_dir / "trainer_state.json"]
    candidates += sorted(run_dir.glob("checkpoint-*/trainer_state.json"),
                         key=lambda p: int(p.parent.name.split("-")[-1]) if p.parent.name.split("-")[-1].isdigit()
                         else -1, reverse=True)
    for path in candidates:
        if path.is_file():
            return list(read_json(path).get("log_history", []))
    return []


def loss_curves(params: Any) -> pd.DataFrame:
    """App. C: training and validation loss by step of every run. Used by notebooks/appC_training_details.ipynb."""
    # From trainer_state.json's log history: the values TensorBoard shows from <run>/tensorboard with report_to.
    rows = []
    for name, path in run_jsons(params).items():
        for entry in log_history(path.parent):
            for key, curve in (("loss", "train loss"), ("eval_loss", "validation loss")):
                if key in entry and "step" in entry:
                    rows.append({"run": name, "curve": curve, "step": int(entry["step"]), "loss": float(entry[key])})
    return pd.DataFrame(rows, columns=["run", "curve", "step", "loss"])


def loss_figure(curves: pd.DataFrame, profile: str) -> Any:
    """App. C: one panel per curve kind (train, validation), one line per run. Used by notebooks/appC_*.ipynb."""
    import matplotlib.pyplot as plt

    from alma_core.book import plots

    kinds = ["train loss", "validation loss"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, kind in zip(axes, kinds):
        part = curves[curves["curve"] == kind]
        for run, group in part.groupby("run", sort=False):
            ax.plot(group["step"], group["loss"], marker=".", label=run)
        ax.set_title(f"{kind} by step", fontsize=10)
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        if not part.empty:
            ax.legend(fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return plots.add_caption(plots.add_banner(fig, profile), "Loss curves of this build's runs, from their logs")
