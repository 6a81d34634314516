"""Turn a run spec into the process that trains it: python, torchrun, deepspeed, accelerate, or a SLURM job (Section
5.2).

The paper trains on 16 GPUs with DeepSpeed ZeRO-2; the same training YAML runs in-process on a
laptop CPU. `render` shows the exact command (or sbatch script); `launch` runs it and streams its log.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from alma_core.io import atomic_write_text

__all__ = ["LaunchError", "RunSpec", "LaunchResult", "command", "render", "launch"]

Launcher = Literal["python", "torchrun", "deepspeed", "accelerate", "slurm"]


class LaunchError(ValueError):
    """A run spec that cannot be launched, or a launched run that failed; the message says why."""


class RunSpec(BaseModel):
    """How to run one training config: launcher, scale (nodes x GPUs) and scheduler settings."""

    model_config = ConfigDict(extra="forbid")

    launcher: Launcher = "python"
    config_path: str = Field(description="job YAML, passed as `--config` to the module")
    module: str = Field(
        "alma_core.runs.train", description="module (and subcommand) run with -m, e.g. 'alma_core.book eval-job'"
    )
    in_process: bool = Field(
        True, description="launcher python: call the module's main() in this process (no start-up cost)"
    )
    nodes: int = Field(1, ge=1)
    gpus_per_node: int = Field(1, ge=1)
    deepspeed_config: str | None = Field(None, description="DeepSpeed JSON; passed to the run as --set deepspeed=...")
    accelerate_config: str = "params/launch/accelerate_zero2.yaml"
    overrides: dict[str, Any] = Field(default_factory=dict, description="training-config keys set on the command line")
    python: str = Field(default_factory=lambda: sys.executable)
    master_port: int = Field(29500, ge=1, le=65535)
    slurm_partition: str | None = None
    slurm_time: str = "24:00:00"
    slurm_account: str | None = None
    slurm_job_name: str = "alma-train"
    slurm_cpus_per_task: int = Field(16, ge=1)
    slurm_output: str = Field("%x-%j.log", description="sbatch --output (%x job name, %j job id)")
    slurm_setup: list[str] = Field(default_factory=list, description="shell lines before srun (module load, venv)")
    env: dict[str, str] = Field(default_factory=dict)

    @property
    def world_size(self) -> int:
        """Total number of training processes (one per GPU)."""
        return self.nodes * self.gpus_per_node


@dataclass(frozen=True)
class LaunchResult:
    """Outcome of `launch`: the command or script, its exit code (None for dry runs/unsubmitted scripts), the log."""

    command: str
    returncode: int | None
    log_path: Path | None = None
    script_path: Path | None = None
    job_id: str | None = None


def _train_args(spec: RunSpec) -> list[str]:
    args = ["--config", spec.config_path]
    sets = dict(spec.overrides)
    if spec.deepspeed_config:
        sets["deepspeed"] = spec.deepspeed_config
    for key, value in sets.items():
        text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True).strip()
        text = text[:-4].strip() if text.endswith("\n...") else text
        args += ["--set", f"{key}={text}"]
    return args


def _torchrun(spec: RunSpec, *, nnodes: str, endpoint: str | None, rdzv_id: str | None) -> list[str]:
    cmd = ["torchrun", "--nnodes", nnodes, "--nproc_per_node", str(spec.gpus_per_node)]
    if endpoint:
        cmd += ["--rdzv_id", rdzv_id or "alma", "--rdzv_backend", "c10d", "--rdzv_endpoint", endpoint]
    else:
        cmd += ["--master_port", str(spec.master_port)]
    return cmd + ["-m", *spec.module.split(), *_train_args(spec)]


def command(spec: RunSpec) -> list[str]:
    """The argv that runs `spec` on one machine (python, torchrun, deepspeed, accelerate)."""
    if spec.launcher == "python":
        if spec.world_size > 1:
            raise LaunchError(
                f"launcher python runs one process, but nodes x gpus_per_node = {spec.world_size}. "
                "Fix: use torchrun, deepspeed, accelerate or slurm"
            )
        return [spec.python, "-m", *spec.module.split(), *_train_args(spec)]
    if spec.launcher == "torchrun":
        if spec.nodes > 1:
            raise LaunchError("torchrun on several nodes needs a rendezvous host. Fix: use launcher slurm")
        return _torchrun(spec, nnodes="1", endpoint=None, rdzv_id=None)
    if spec.launcher == "deepspeed":
        return ["deepspeed", "--num_nodes", str(spec.nodes), "--num_gpus", str(spec.gpus_per_node),
                "--master_port", str(spec.master_port), "--module", *spec.module.split(), *_train_args(spec)]
    if spec.launcher == "accelerate":
        return ["accelerate", "launch", "--config_file", spec.accelerate_config, "--num_machines", str(spec.nodes),
                "--num_processes", str(spec.world_size), "--main_process_port", str(spec.master_port),
                "-m", *spec.module.split(), *_train_args(spec)]
    raise LaunchError(f"launcher {spec.launcher!r} has no single command; render() gives its sbatch script")


def sbatch_script(spec: RunSpec) -> str:
    """An sbatch script for nodes x GPUs: one srun task per node, each a torchrun with c10d rendezvous on the head
    node."""
    lines = ["#!/bin/bash", f"#SBATCH --job-name={spec.slurm_job_name}", f"#SBATCH --nodes={spec.nodes}",
             "#SBATCH --ntasks-per-node=1", f"#SBATCH --gpus-per-node={spec.gpus_per_node}",
             f"#SBATCH --cpus-per-task={spec.slurm_cpus_per_task}", f"#SBATCH --time={spec.slurm_time}",
             f"#SBATCH --output={spec.slurm_output}"]
    if spec.slurm_partition:
        lines.append(f"#SBATCH --partition={spec.slurm_partition}")
    if spec.slurm_account:
        lines.append(f"#SBATCH --account={spec.slurm_account}")
    lines += ["", "set -euo pipefail", *spec.slurm_setup]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in spec.env.items()]
    lines += ['head_node=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
              f"export MASTER_ADDR=$head_node MASTER_PORT={spec.master_port}",
              f'echo "ALMA training: $SLURM_NNODES nodes x {spec.gpus_per_node} GPUs, head $head_node"']
    torch_cmd = _torchrun(spec, nnodes="$SLURM_NNODES", endpoint="$head_node:$MASTER_PORT", rdzv_id="$SLURM_JOB_ID")
    quoted = " ".join(part if part.startswith("$") else shlex.quote(part) for part in torch_cmd)
    lines.append(f"srun --kill-on-bad-exit=1 {quoted}")
    return "\n".join(lines) + "\n"


def render(spec: RunSpec) -> str:
    """The exact shell command (or, for slurm, the full sbatch script) that runs `spec`."""
    if spec.launcher == "slurm":
        return sbatch_script(spec)
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in spec.env.items())
    return (env + " " if env else "") + shlex.join(command(spec))


def launch(
    spec: RunSpec,
    *,
    dry_run: bool = False,
    log_path: str | os.PathLike | None = None,
    submit: bool = False,
    wait: bool = False,
    script_path: str | os.PathLike | None = None,
    echo: Callable[[str], Any] = print,
    check: bool = True,
) -> LaunchResult:
    """Run `spec` as a subprocess streaming its log lines (also to log_path); dry run prints the command instead.

    Slurm: the sbatch script is written (script_path, default <config>.sbatch beside the config) and
    submitted with `sbatch` only when submit=True; with wait=True as `sbatch --wait`, so the result carries the
    job's exit code and its log (the script's --output).
    """
    text = render(spec)
    log = Path(log_path) if log_path else None
    if spec.launcher == "slurm":
        path = Path(script_path) if script_path else Path(spec.config_path).with_suffix(".sbatch")
        atomic_write_text(path, text)
        if not submit or dry_run:
            echo(text)
            return LaunchResult(text, None, None, path)
        done = subprocess.run(["sbatch", "--parsable", *(["--wait"] if wait else []), str(path)],
                              capture_output=True, text=True)
        job = done.stdout.strip().split(";")[0]
        job_log = Path(spec.slurm_output.replace("%j", job).replace("%x", spec.slurm_job_name)) if wait else None
        if check and done.returncode != 0:
            raise LaunchError(f"sbatch {path} failed ({done.returncode}): {done.stderr.strip()}")
        echo(f"submitted {path} as job {job}")
        return LaunchResult(text, done.returncode, job_log, path, job)
    if dry_run:
        echo(text)
        return LaunchResult(text, None)
    if spec.launcher == "python" and spec.in_process:
        code = _run_in_process(spec, log, echo)
    else:
        code = _run_subprocess(spec, log, echo)
    if check and code != 0:
        raise LaunchError(f"{text!r} exited with {code}" + (f"; see {log}" if log else ""))
    return LaunchResult(text, code, log)


class _Tee:
    """A text stream that echoes each line and appends it to a log file."""

    def __init__(self, echo: Callable[[str], Any], handle: Any) -> None:
        self.echo, self.handle, self.buffer = echo, handle, ""

    def write(self, text: str) -> int:
        self.buffer += text
        while "\n" in self.buffer:
            line, self.buffer = self.buffer.split("\n", 1)
            self.echo(line)
            if self.handle:
                self.handle.write(line + "\n")
                self.handle.flush()
        return len(text)

    def flush(self) -> None:
        """Nothing to do: lines are written as they complete."""


def _run_in_process(spec: RunSpec, log: Path | None, echo: Callable[[str], Any]) -> int:
    """Single-rank launcher `python`: call `module.main(argv)` here, saving a process start (imports) per job."""
    name, *subcommand = spec.module.split()
    main = importlib.import_module(name).main
    saved = {key: os.environ.get(key) for key in spec.env}
    os.environ.update(spec.env)
    if log:
        log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(log, "a", encoding="utf-8") if log else contextlib.nullcontext() as handle:
            tee = _Tee(echo, handle)
            with contextlib.redirect_stdout(tee), contextlib.redirect_stderr(tee):  # type: ignore[type-var]
                code = main([*subcommand, *_train_args(spec)])
                if tee.buffer:
                    tee.write("\n")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return int(code or 0)


def _run_subprocess(spec: RunSpec, log: Path | None, echo: Callable[[str], Any]) -> int:
    """Run the command as a child process, streaming its output lines to `echo` and the log file."""
    env = {**os.environ, **spec.env, "PYTHONUNBUFFERED": "1"}
    handle = None
    if log:
        log.parent.mkdir(parents=True, exist_ok=True)
        handle = log.open("a", encoding="utf-8")
    try:
        proc = subprocess.Popen(command(spec), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=env, bufsize=1)
        assert proc.stdout is not None
        for line in proc.stdout:
            echo(line.rstrip("\n"))
            if handle:
                handle.write(line)
                handle.flush()
        return proc.wait()
    finally:
        if handle:
            handle.close()
