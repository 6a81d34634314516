"""Data-parallel correctness: 2 ranks (torchrun, gloo, CPU) train exactly like 1 rank at the same global batch (App. C).

These tests LAUNCH PROCESSES (`torchrun --nproc_per_node 2`); they carry the `multiprocess` mark. Measured on a shared
2-core CPU: per-step losses of 2 ranks x accumulation 2 and 1 rank x accumulation 4 agree to ~1e-7 relative in fp32
(gradient norms; logged losses are rounded to 4 decimals)
(gradients are summed in another order), well inside the asserted TOLERANCE.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from alma_core.io import read_json
from alma_core.runs.config import make_config
from alma_core.runs.train import run_training

REPO = Path(__file__).resolve().parent.parent
TOLERANCE = 1e-4  # relative, per-step training loss and gradient norm, fp32
pytestmark = pytest.mark.multiprocess


def _values(base: Path, out: Path, **kw) -> dict:
    values = dict(stage=2, base_model=str(base), output_dir=str(out), language_pairs=["de-en", "en-de"], max_steps=4,
                  global_batch_size=8, micro_batch_size=2, max_length=128, max_train_examples=48, max_eval_examples=8,
                  logging_steps=1, learning_rate=1e-3, eval_every=0.5, save_total_limit=None)
    return {**values, **kw}


def _torchrun(values: dict, tmp: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    config = tmp / f"{Path(values['output_dir']).name}.yaml"
    config.write_text(yaml.safe_dump(values), encoding="utf-8")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_port()),
           "-m", "alma_core.runs.train", "--config", str(config)]
    environ = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), **(env or {})}
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        environ.pop(key, None)
    done = subprocess.run(cmd, cwd=REPO, env=environ, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _losses(out: Path) -> list[float]:
    """Per-step training loss (HF rounds it to 4 decimals) and gradient norm (unrounded) of the 4 steps."""
    state = read_json(out / "checkpoint-4" / "trainer_state.json")
    return [h[key] for h in state["log_history"] if "loss" in h for key in ("loss", "grad_norm")]


def _files(out: Path) -> set[str]:
    """Output files but the per-rank checkpoint parts (HF's rng_state[_{i}].pth, ZeRO's zero_pp_rank_{i}_* optimizer
    shards)."""
    names = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    return {n for n in names if "rng_state" not in n and "zero_pp_rank_" not in n}


def _compare(one: Path, two: Path) -> float:
    a, b = _losses(one), _losses(two)
    assert len(a) == len(b) == 2 * 4
    worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
    assert worst < TOLERANCE, (a, b)
    ra, rb = read_json(one / "run.json"), read_json(two / "run.json")
    # Not compared: eval_loss differs by ~7e-4 relative between 1 and 2 ranks while the weights agree (open question).
    assert ra["tokens_seen"] == rb["tokens_seen"]  # global (all ranks) in both
    assert rb["batch"] == {
        "world_size": 2,
        "micro_batch_size": 2,
        "gradient_accumulation_steps": 2,
        "global_batch_size": 8,
    }
    assert ra["batch"]["gradient_accumulation_steps"] == 4
    # Rank 1 writes nothing of its own: same files as the 1-rank run (RNG states aside), run.json from rank 0 only.
    assert _files(one) == _files(two)
    assert sorted(p.name for p in (two / "checkpoint-4").glob("rng_state*")) == ["rng_state_0.pth", "rng_state_1.pth"]
    assert rb["status"] == "done" and rb["steps"] == 4
    ranks = {p.name.split("_mp_rank")[0] for p in two.glob("checkpoint-4/global_step4/zero_pp_rank_*")}
    assert ranks in (set(), {"zero_pp_rank_0", "zero_pp_rank_1"})  # ZeRO-2: one optimizer shard per rank
    return worst


def test_two_ranks_match_one_rank(tiny_backbone_dir, tmp_path, capsys):
    """DDP over gloo: 2 ranks x micro 2 x accumulation 2 == 1 rank x micro 2 x accumulation 4 (same data order)."""
    one = run_training(make_config(_values(tiny_backbone_dir, tmp_path / "one")))
    done = _torchrun(_values(tiny_backbone_dir, tmp_path / "two"), tmp_path)
    assert done.stdout.count("[train] step 4/4") == 1  # only rank 0 logs
    worst = _compare(one.output_dir, tmp_path / "two")
    with capsys.disabled():
        print(f"\n2 ranks vs 1 rank: worst relative loss difference {worst:.2e}")


def test_two_ranks_match_one_rank_deepspeed_zero2(tiny_backbone_dir, tmp_path, capsys):
    """The same with DeepSpeed ZeRO-2 (params/launch/ds_zero2.json) on the CPU accelerator (stack-notes)."""
    ds = str(REPO / "params/launch/ds_zero2.json")
    one = run_training(make_config(_values(tiny_backbone_dir, tmp_path / "one", deepspeed=ds)))
    _torchrun(_values(tiny_backbone_dir, tmp_path / "two", deepspeed=ds), tmp_path, env={"DS_ACCELERATOR": "cpu"})
    worst = _compare(one.output_dir, tmp_path / "two")
    with capsys.disabled():
        print(f"\nZeRO-2, 2 ranks vs 1 rank: worst relative loss difference {worst:.2e}")
