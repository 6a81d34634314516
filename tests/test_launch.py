"""Tests of alma_core.jobs.launch: rendered commands per launcher, the sbatch script, and one real python launch."""

from __future__ import annotations

import shlex
import sys

import pytest
import yaml

from alma_core.io import read_json
from alma_core.jobs.launch import LaunchError, RunSpec, launch, render


def test_python_and_single_node_launchers_render_exact_commands():
    spec = RunSpec(launcher="python", config_path="params/paper/s2.yaml", python="py", overrides={"max_steps": 5})
    assert render(spec) == "py -m alma_core.runs.train --config params/paper/s2.yaml --set max_steps=5"
    tr = RunSpec(launcher="torchrun", config_path="c.yaml", gpus_per_node=8)
    assert render(tr) == (
        "torchrun --nnodes 1 --nproc_per_node 8 --master_port 29500 -m alma_core.runs.train --config c.yaml"
    )
    ds = RunSpec(
        launcher="deepspeed", config_path="c.yaml", gpus_per_node=4, deepspeed_config="params/launch/ds_zero2.json"
    )
    assert shlex.split(render(ds)) == ["deepspeed", "--num_nodes", "1", "--num_gpus", "4", "--master_port", "29500",
                                       "--module", "alma_core.runs.train", "--config", "c.yaml",
                                       "--set", "deepspeed=params/launch/ds_zero2.json"]
    acc = RunSpec(launcher="accelerate", config_path="c.yaml", nodes=1, gpus_per_node=8, env={"NCCL_DEBUG": "WARN"})
    assert render(acc) == (
        "NCCL_DEBUG=WARN accelerate launch --config_file params/launch/accelerate_zero2.yaml "
        "--num_machines 1 --num_processes 8 --main_process_port 29500 -m alma_core.runs.train --config c.yaml"
    )
    with pytest.raises(LaunchError, match="python runs one process"):
        render(RunSpec(launcher="python", config_path="c.yaml", gpus_per_node=2))


def test_slurm_script_for_the_papers_16_gpus(tmp_path, capsys):
    spec = RunSpec(launcher="slurm", config_path=str(tmp_path / "stage1.yaml"), nodes=2, gpus_per_node=8,
                   slurm_partition="gpu", slurm_account="mt", slurm_time="20:00:00",
                   deepspeed_config="params/launch/ds_zero2.json", slurm_setup=["source .venv/bin/activate"])
    script = render(spec)
    for line in (
        "#SBATCH --nodes=2",
        "#SBATCH --gpus-per-node=8",
        "#SBATCH --ntasks-per-node=1",
        "#SBATCH --partition=gpu",
        "#SBATCH --account=mt",
        "#SBATCH --time=20:00:00",
        "source .venv/bin/activate",
    ):
        assert line in script.splitlines()
    srun = script.splitlines()[-1]
    assert srun.startswith("srun --kill-on-bad-exit=1 torchrun --nnodes $SLURM_NNODES --nproc_per_node 8")
    assert "--rdzv_backend c10d --rdzv_endpoint $head_node:$MASTER_PORT" in srun and "--rdzv_id $SLURM_JOB_ID" in srun
    assert "-m alma_core.runs.train --config" in srun and "deepspeed=params/launch/ds_zero2.json" in srun
    result = launch(spec)  # not submitted: script written and printed
    assert result.returncode is None and result.script_path.read_text() == script
    assert "#SBATCH --nodes=2" in capsys.readouterr().out


def test_dry_run_prints_and_runs_nothing(tmp_path, capsys):
    spec = RunSpec(launcher="torchrun", config_path="missing.yaml")
    result = launch(spec, dry_run=True)
    assert result.returncode is None and capsys.readouterr().out.strip() == render(spec)


def test_real_python_launch_streams_log(tiny_backbone_dir, tmp_path):
    out = tmp_path / "run"
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(dict(stage=2, base_model=str(tiny_backbone_dir), output_dir=str(out),
                                          language_pairs=["de-en"], max_steps=1, global_batch_size=4,
                                          micro_batch_size=4, max_length=96, max_train_examples=8,
                                          max_eval_examples=4, logging_steps=1)))
    lines: list[str] = []
    spec = RunSpec(launcher="python", config_path=str(config), python=sys.executable,
                   env={"OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1"})
    result = launch(spec, log_path=tmp_path / "train.log", echo=lines.append)
    assert result.returncode == 0
    assert any(line.startswith("[train] step 1/1 loss") for line in lines)
    assert any(line.startswith("[train] done") for line in lines)
    assert "[train] step 1/1" in (tmp_path / "train.log").read_text()
    assert read_json(out / "run.json")["status"] == "done"
    for in_process in (True, False):  # in this process (the default) and as a child process
        bad = RunSpec(launcher="python", config_path=str(tmp_path / "nope.yaml"), python=sys.executable,
                      in_process=in_process)
        with pytest.raises(LaunchError, match="exited with 2"):
            launch(bad, echo=lines.append)
        assert any("nope.yaml" in line for line in lines)


def test_module_selects_the_job():
    spec = RunSpec(launcher="torchrun", config_path="e.yaml", module="alma_core.book eval-job", gpus_per_node=2)
    assert render(spec).endswith("-m alma_core.book eval-job --config e.yaml")
