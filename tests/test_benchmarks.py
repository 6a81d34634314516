"""benchmarks/gpu_throughput.py --tiny: the GPU benchmark's code runs on a CPU and prints each pair with its speedup."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"([\d,]+(?:\.\d+)?)"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-bench") / "figures.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/gpu_throughput.py", "--tiny", "--peak-tflops", "1", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines(), json.loads(out.read_text())


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_tiny_run_prints_each_pair_then_its_same_run_speedup(tiny_run):
    lines, figures = tiny_run
    device = next(line for line in lines if line.startswith("device: "))  # (DeepSpeed's import logs to stdout first)
    attention = next(line for line in lines if line.startswith("attention: "))
    assert device.startswith("device: cpu") and "peak 1 TFLOP/s" in device
    assert attention.startswith("attention: sdpa") and "DeepSpeed ZeRO-2: off" in attention
    labelled = [line for line in lines if re.match(r"(stage[12]|decode) \w+[ :]", line) or line.startswith("speedup:")]
    heads = [line.split(":")[0].split(" (")[0] for line in labelled]
    assert heads == ["stage1 paper", "stage1 project", "speedup", "stage2 official", "stage2 project", "speedup",
                     "decode official", "decode project", "speedup"]
    assert lines[-1] == labelled[-1]  # the last line is the decoding speedup
    speedups = [_number(line.split()[-1]) for line in labelled if line.startswith("speedup:")]
    rates = {name: figures[name]["tokens_per_s"] for name in ("stage1 paper", "stage1 project", "stage2 official",
                                                              "stage2 project")}
    assert speedups[0] == pytest.approx(rates["stage1 project"] / rates["stage1 paper"], abs=0.006)
    assert speedups[1] == pytest.approx(rates["stage2 project"] / rates["stage2 official"], abs=0.006)
    decode = figures["decode project"]["sentences_per_s"] / figures["decode official"]["sentences_per_s"]
    assert speedups[2] == pytest.approx(decode, abs=0.006)
    for name, rate in rates.items():
        line = next(line for line in labelled if line.startswith(name + ":"))
        tokens, mfu = re.search(rf"{NUMBER} tokens/s, MFU {NUMBER}%", line).groups()
        assert rate > 0 and _number(tokens) == pytest.approx(rate, abs=1)
        assert _number(mfu) == pytest.approx(100 * 6 * figures["n_flop"] * rate / 1e12, abs=0.06)


def test_tiny_run_uses_the_projects_settings_and_checks_outputs(tiny_run):
    _, figures = tiny_run
    paper, project = figures["stage1 paper"], figures["stage1 project"]
    assert not paper["fused_adamw"] and project["fused_adamw"]  # alma_core.runs.train.training_arguments: fused AdamW
    assert project["micro_batch"] > paper["micro_batch"]
    assert paper["micro_batch"] * paper["accumulation"] == project["micro_batch"] * project["accumulation"]
    assert "padding-free" in figures["stage2 project"]["batching"]  # alma_core.runs.stage2's packing collator
    assert "left-padded to 512" in figures["stage2 official"]["batching"]
    assert figures["stage2 project"]["tokens_per_s"] > figures["stage2 official"]["tokens_per_s"]
    official, ours = figures["decode official"], figures["decode project"]
    assert ours["sentences"] > official["sentences"] and ours["identical"] == official["sentences"]  # fp32: exact
