"""The SLURM stand-in (alma_core/rehearsal/slurm): a rendered sbatch script runs for real, 2 ranks through torchrun."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from alma_core.jobs.launch import RunSpec, render
from alma_core.rehearsal import slurm_path

PROBE = """\
import os, sys
from pathlib import Path
config = Path(sys.argv[sys.argv.index("--config") + 1]).read_text().strip()
rank = os.environ["RANK"]
print(f"probe rank={rank} world={os.environ['WORLD_SIZE']} master={os.environ['MASTER_ADDR']} "
      f"job={os.environ['SLURM_JOB_ID']}", flush=True)
sys.exit(3 if config == "fail" and rank == "1" else 0)
"""


def _free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path: Path) -> dict[str, str]:
    """PATH with the stand-in first and the venv's torchrun next; job ids kept under tmp_path."""
    path = os.pathsep.join([str(slurm_path()), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "ALMA_FAKE_SLURM_DIR": str(tmp_path / "slurm-state"), "OMP_NUM_THREADS": "1"}


def _script(tmp_path: Path, name: str, config_text: str, **spec: object) -> Path:
    """Render the sbatch script of a 1-node x 2-GPU run of the probe module and write it."""
    (tmp_path / "rank_probe.py").write_text(PROBE)
    config = tmp_path / f"{name}.yaml"
    config.write_text(config_text + "\n")
    fields = {"launcher": "slurm", "config_path": str(config), "module": "rank_probe", "nodes": 1, "gpus_per_node": 2,
              "master_port": _free_port(), "slurm_job_name": name, "slurm_cpus_per_task": 1,
              "env": {"PYTHONPATH": str(tmp_path)}, **spec}
    script = tmp_path / f"{name}.sbatch"
    script.write_text(render(RunSpec(**fields)))
    return script


def _sbatch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the stand-in sbatch from tmp_path."""
    return subprocess.run(
        ["sbatch", *args], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=60
    )


def test_rendered_script_runs_two_ranks_and_propagates_exit_codes(tmp_path):
    ok = _sbatch(tmp_path, "--parsable", "--wait", str(_script(tmp_path, "probe-ok", "ok")))
    assert ok.returncode == 0, ok.stderr
    job = ok.stdout.strip()
    assert job.isdigit()
    log = (tmp_path / f"probe-ok-{job}.log").read_text()  # --output=%x-%j.log, relative to the submit dir
    assert "ALMA training: 1 nodes x 2 GPUs, head localhost" in log
    for rank in (0, 1):
        assert f"probe rank={rank} world=2 master=" in log and f"job={job}" in log, log

    failing = _sbatch(tmp_path, "--parsable", "--wait", str(_script(tmp_path, "probe-fail", "fail")))
    assert failing.returncode != 0
    assert int(failing.stdout.strip()) == int(job) + 1  # ids come from the counter file
    assert "probe rank=1" in (tmp_path / f"probe-fail-{failing.stdout.strip()}.log").read_text()


def test_without_wait_returns_zero_and_prints_the_submission_line(tmp_path):
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\n#SBATCH --job-name=quick\n#SBATCH --output=logs/%x.%j.out\n"
                      'echo "$SLURM_JOB_NAME $SLURM_NNODES $SLURM_JOB_NODELIST $SLURM_SUBMIT_DIR"\nexit 7\n')
    done = _sbatch(tmp_path, str(script))
    assert done.returncode == 0
    assert done.stdout.startswith("Submitted batch job ")
    job = done.stdout.split()[-1]
    assert (tmp_path / "logs" / f"quick.{job}.out").read_text().strip() == f"quick 1 localhost {tmp_path}"
    assert '"exit_code": 7' in (tmp_path / "slurm-state" / "jobs" / f"{job}.json").read_text()


def test_more_than_one_node_is_refused(tmp_path):
    done = _sbatch(tmp_path, "--parsable", "--wait", str(_script(tmp_path, "two-nodes", "ok", nodes=2)))
    assert done.returncode != 0
    assert "one machine" in done.stderr and "nodes: 1" in done.stderr


@pytest.mark.parametrize("args, expected", [
    (["show", "hostnames", "localhost"], "localhost"),
    (["show", "hostnames", "gpu[01-02,07],login1"], "gpu01\ngpu02\ngpu07\nlogin1"),
])
def test_scontrol_expands_host_lists(tmp_path, args, expected):
    done = subprocess.run(["scontrol", *args], env=_env(tmp_path), capture_output=True, text=True, check=True)
    assert done.stdout.strip() == expected


def test_srun_runs_one_task_and_refuses_more(tmp_path):
    one = subprocess.run(["srun", "--kill-on-bad-exit=1", "--ntasks", "1", "sh", "-c", "echo task $SLURM_PROCID"],
                         env=_env(tmp_path), capture_output=True, text=True)
    assert (one.returncode, one.stdout.strip()) == (0, "task 0")
    many = subprocess.run(["srun", "-n", "2", "true"], env=_env(tmp_path), capture_output=True, text=True)
    assert many.returncode != 0 and "one task" in many.stderr
