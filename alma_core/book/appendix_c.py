"""Appendix C of the paper as a table: its training settings beside the TrainConfig of every run this build made,
and what each run did (from its run.json). Pure pandas frames; `report` displays them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from alma_core.io import read_json
from alma_core.jobs.core import train_config
from alma_core.jobs.store import resolve
from alma_core.params.schemas import load_notebook_params
from alma_core.runs.config import batch_plan, make_config

__all__ = ["PAPER_TRAINING", "deepspeed_summary", "training_details", "run_jsons", "run_outcomes", "log_history",
           "loss_curves", "loss_figure"]

PAPER_TRAINING = {
    "backbone": "LLaMA-2-7B / 13B",
    "stage": "2 (human-written parallel data)",
    "fine-tuning": "full weights / LoRA",
    "learning rate": "2e-5 (full); 2e-3 (LoRA, official script)",
    "lr schedule": "inverse_sqrt",
    "warm-up ratio": 0.01,
    "weight decay": 0.01,
    "max length": 512,
    "epochs": "2 (App. C); 1 in the official scripts",
    "global batch": "256 (16 GPUs x 4 x 4)",
    "micro batch x accumulation": "4 x 4",
    "precision": "fp16",
    "DeepSpeed": "ZeRO stage 2",
    "validation every": "10% of training",
    "best checkpoint by": "lowest validation loss",
    "LoRA": "r 16, alpha 32, dropout 0.05, down_proj",
    "GPUs": "16 MI200",
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
