"""Kill anywhere, resume to the same result (issue 11 item 1): each long command of the project is started as a real
process, SIGKILLed (its whole process group, as a preemption or a lost node does) at seeded points, rerun, and its
final result compared with an uninterrupted run's.

Kill points: the process starts, a progress file appears (run.json, a checkpoint, a hypothesis file, a predictions
file, an executed notebook), then a seeded delay; several kills in a row hit one run (a resumed run is killed
again). `ALMA_KILL_SEED` changes the seed, `ALMA_KILL_POINTS` the number of kills per command (default 2).
Comparisons: bit-identical where the computation is deterministic (model weights, hypotheses, scores, App. J
scores, the book's outputs); each test states it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import yaml

from alma_core.io import read_json
from alma_core.runs import crosslingual, evaluate
from alma_core.runs.config import load_train_config
from alma_core.runs.train import run_training

ROOT = Path(__file__).resolve().parents[1]
SEED = int(os.environ.get("ALMA_KILL_SEED", "11"))
POINTS = int(os.environ.get("ALMA_KILL_POINTS", "2"))
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1",
       "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONHASHSEED": "0"}

KILL_LOG: list[dict] = []  # what every kill hit (printed with -s; the closing note quotes them)


def run(cmd: Sequence[str], cwd: Path = ROOT, env: dict | None = None, timeout: float = 300) -> str:
    """Run a command to completion; fail with its output otherwise."""
    done = subprocess.run(list(cmd), cwd=cwd, env=env or ENV, capture_output=True, text=True, timeout=timeout)
    tail = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, f"{' '.join(cmd)} exited {done.returncode}:\n{tail}"
    return done.stdout + done.stderr


def kill_at(cmd: Sequence[str], ready: Callable[[], bool], delay: float, *, cwd: Path = ROOT, env: dict | None = None,
            label: str = "") -> bool:
    """Start `cmd` in its own session, wait until `ready()` (a progress file), sleep `delay`, SIGKILL the group.

    Returns False when the command finished before the kill (the point was past its end)."""
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=env or ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 240
    try:
        while not ready() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(delay)
        finished = proc.poll() is not None
        if not finished:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    KILL_LOG.append({"command": label, "delay_s": round(delay, 3), "killed": not finished})
    print(f"[kill] {label}: +{delay:.3f}s after its progress file -> {'SIGKILL' if not finished else 'already done'}")
    return not finished


def kill_chain(cmd: Sequence[str], readies: Sequence[Callable[[], bool]], label: str, *, cwd: Path = ROOT,
               env: dict | None = None, max_delay: float = 0.6) -> int:
    """Kill the same command at several seeded points in a row (each rerun resumes the last), then run it to the end;
    returns how many kills landed before the end."""
    rng = random.Random(f"{SEED}-{label}")
    landed = 0
    for i in range(POINTS):
        ready = readies[i % len(readies)]
        landed += kill_at(cmd, ready, rng.uniform(0, max_delay), cwd=cwd, env=env, label=f"{label} #{i + 1}")
    run(cmd, cwd=cwd, env=env)
    return landed


def exists(pattern: Path) -> Callable[[], bool]:
    """A readiness check: some path matches the glob `pattern`."""
    return lambda: any(pattern.parent.glob(pattern.name)) if pattern.parent.exists() else False


def same_weights(a: Path, b: Path) -> None:
    """Bit-identical safetensors files (every tensor equal, same names)."""
    from safetensors.torch import load_file

    left, right = load_file(str(a)), load_file(str(b))
    assert left.keys() == right.keys()
    differ = [name for name in left if not (left[name] == right[name]).all()]
    assert not differ, f"tensors differ after kill + resume: {differ[:5]}"


# ---------------------------------------------------------------------------------------------
# training (Sections 4-5.2): stage 1 and stage 2 through `python -m alma_core.runs.train --config`


def _train_config(tmp: Path, base: Path, stage: int, out: Path) -> Path:
    common = dict(base_model=str(base), output_dir=str(out), max_steps=6, global_batch_size=8, micro_batch_size=4,
                  logging_steps=1, learning_rate=1e-3, eval_every=0.3, save_total_limit=None)
    if stage == 1:
        values = dict(stage=1, monolingual_langs=["en", "de", "cs"], max_length=64, eval_blocks=4, **common)
    else:
        values = dict(stage=2, language_pairs=["de-en", "en-de"], max_length=128, max_train_examples=24,
                      max_eval_examples=8, **common)
    path = tmp / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


@pytest.mark.parametrize("stage", [1, 2])
def test_training_killed_anywhere_resumes_to_the_same_weights(stage: int, tiny_backbone_dir: Path,
                                                              tmp_path: Path) -> None:
    """Bit-identical final weights, losses and steps (CPU, one thread; HF saves the RNG state, stage 1 its stream)."""
    train = [sys.executable, "-m", "alma_core.runs.train", "--config"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    run_training(load_train_config(_train_config(tmp_path, tiny_backbone_dir, stage, whole)))  # same code, in-process
    config = _train_config(tmp_path, tiny_backbone_dir, stage, killed)
    readies = [exists(killed / "run.json"), exists(killed / "checkpoint-2"), exists(killed / "checkpoint-4")]
    kill_chain([*train, str(config)], readies, f"stage-{stage} training")
    ref, got = read_json(whole / "run.json"), read_json(killed / "run.json")
    assert got["status"] == "done" and got["steps"] == ref["steps"] == 6
    assert got["final_loss"] == ref["final_loss"] and got["eval_loss"] == ref["eval_loss"]
    assert got["tokens_seen"] == ref["tokens_seen"]  # stage 1: the stream resumed at its saved position
    same_weights(whole / "model.safetensors", killed / "model.safetensors")
    assert not list(killed.glob("checkpoint-*/")) or all(
        (c / ".complete.json").is_file() for c in killed.glob("checkpoint-*"))


def test_half_saved_checkpoint_is_never_resumed_from(tiny_backbone_dir: Path, tmp_path: Path) -> None:
    """A kill while HF writes checkpoint-4 (files there, no completion marker) -> resume from checkpoint-2."""
    from alma_core.runs.checkpoints import COMPLETE, last_complete_checkpoint

    out = tmp_path / "run"
    run_training(load_train_config(_train_config(tmp_path, tiny_backbone_dir, 2, out)))
    (out / "checkpoint-4" / COMPLETE).unlink()
    (out / "checkpoint-4" / "trainer_state.json").write_text('{"global_step": 4, "log_hi', encoding="utf-8")
    for later in out.glob("checkpoint-6"):
        import shutil

        shutil.rmtree(later)
    assert last_complete_checkpoint(out) == str(out / "checkpoint-2")
    assert not (out / "checkpoint-4").exists()  # deleted: the rerun saves it again


def test_a_damaged_checkpoint_is_set_aside_and_the_run_resumes_from_an_intact_one(tiny_backbone_dir: Path,
                                                                                   tmp_path: Path) -> None:
    """Issue 22: weights cut off by a copy, a truncated trainer_state.json or optimizer state in checkpoints that were
    saved in full -> named, moved aside, and the rerun resumes from the newest intact one to the same weights."""
    import shutil

    from alma_core.runs.checkpoints import checkpoint_problem, last_complete_checkpoint

    whole, out = tmp_path / "whole", tmp_path / "run"
    run_training(load_train_config(_train_config(tmp_path, tiny_backbone_dir, 2, whole)))
    shutil.copytree(whole, out)
    config = _train_config(tmp_path, tiny_backbone_dir, 2, out)  # the same run in `out`, killed before it was done
    record = read_json(out / "run.json")
    (out / "run.json").write_text(json.dumps({**record, "status": "running", "config": {}}), encoding="utf-8")
    with (out / "checkpoint-6" / "model.safetensors").open("r+b") as handle:
        handle.truncate(handle.seek(0, 2) - 100)
    state = out / "checkpoint-4" / "trainer_state.json"
    state.write_text(state.read_text(encoding="utf-8")[:40], encoding="utf-8")
    assert "model.safetensors holds" in checkpoint_problem(out / "checkpoint-6") and "cut off" in checkpoint_problem(
        out / "checkpoint-6")
    assert "trainer_state.json" in checkpoint_problem(out / "checkpoint-4")
    with (out / "checkpoint-2" / "optimizer.pt").open("r+b") as handle:
        size = handle.seek(0, 2)
        handle.truncate(size // 2)
    assert "optimizer.pt is cut off" in checkpoint_problem(out / "checkpoint-2")
    (out / "checkpoint-2" / ".complete.json").unlink()  # checkpoint-2 as a kill mid-save leaves it: deleted, not kept
    log = run([sys.executable, "-m", "alma_core.runs.train", "--config", str(config)])
    assert "checkpoint-6 is damaged (model.safetensors holds" in log and "damaged-checkpoint-6" in log
    assert "checkpoint-4 is damaged (trainer_state.json" in log
    assert sorted(p.name for p in out.glob("damaged-*")) == ["damaged-checkpoint-4", "damaged-checkpoint-6"]
    got = read_json(out / "run.json")
    assert got["status"] == "done" and got["resumed_from"] is None and got["steps"] == 6
    same_weights(whole / "model.safetensors", out / "model.safetensors")
    assert last_complete_checkpoint(out) == str(out / "checkpoint-6")  # saved again by the rerun, intact


# ---------------------------------------------------------------------------------------------
# translation evaluation with COMET (Section 5.1): `python -m alma_core.runs.evaluate job --config`


def _eval_job(tmp: Path, model: Path, comet: Path, out: Path) -> Path:
    from alma_core.recipe.data import sample_data_dir

    job = {"system": "tiny", "model": str(model), "adapter": None, "local_files_only": True,
           "directions": ["de-en", "en-de", "cs-en"], "test_root": str(sample_data_dir()), "test_format": "json",
           "max_sentences": 12, "num_beams": 2, "batch_size": 2, "max_new_tokens": 16, "max_prompt_tokens": 256,
           "prompt_tokens_by_direction": {}, "dtype": "fp32", "comet_model": str(comet), "comet_batch_size": 8,
           "prompt": {}, "shots_root": None, "off_target_candidates": None, "output_dir": str(out)}
    path = tmp / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(job), encoding="utf-8")
    return path


def test_evaluation_with_comet_killed_anywhere_gives_the_same_scores(tiny_backbone_dir: Path, tiny_comet_checkpoint,
                                                                    tmp_path: Path) -> None:
    """Same hypotheses (byte-identical files) and the same BLEU, chrF, COMET, off-target values as one run."""
    cmd = [sys.executable, "-m", "alma_core.runs.evaluate", "job", "--config"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    evaluate.run_job(_eval_job(tmp_path, tiny_backbone_dir, tiny_comet_checkpoint, whole))  # in-process reference
    config = _eval_job(tmp_path, tiny_backbone_dir, tiny_comet_checkpoint, killed)
    readies = [exists(killed / f"hyp.{d}.jsonl") for d in ("de-en", "en-de", "cs-en")]
    kill_chain([*cmd, str(config)], readies, "evaluation + COMET", max_delay=1.0)
    for direction in ("de-en", "en-de", "cs-en"):
        name = f"hyp.{direction}.jsonl"
        assert (killed / name).read_bytes() == (whole / name).read_bytes(), name
    assert (killed / "scores.json").read_bytes() == (whole / "scores.json").read_bytes()
    assert any(row["metric"] == "comet" and row["value"] is not None for row in read_json(killed / "scores.json"))


# ---------------------------------------------------------------------------------------------
# Appendix J scoring: `python -m alma_core.runs.crosslingual --config`


def test_appendix_j_scoring_killed_anywhere_gives_the_same_scores(tiny_backbone_dir: Path, tmp_path: Path) -> None:
    """Byte-identical scores.json and predictions; finished (task, language) parts are reused, not rescored."""
    def job(out: Path) -> Path:
        values = {"system": "tiny", "model": str(tiny_backbone_dir), "adapter": None, "local_files_only": True,
                  "tasks": {"XNLI": ["en", "de"], "XStoryCloze": ["en", "ru"], "XWinograd": ["en"]},
                  "source": "sample", "data_root": None, "splits": {}, "max_items": 24, "batch_size": 8,
                  "dtype": "fp32", "output_dir": str(out)}
        path = tmp_path / f"{out.name}.yaml"
        path.write_text(yaml.safe_dump(values), encoding="utf-8")
        return path

    cmd = [sys.executable, "-m", "alma_core.runs.crosslingual", "--config"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    crosslingual.run_job(job(whole))  # in-process reference
    readies = [exists(killed / "predictions.XNLI.en.json"), exists(killed / "predictions.XStoryCloze.en.json")]
    kill_chain([*cmd, str(job(killed))], readies, "App. J scoring", max_delay=0.5)
    assert (killed / "scores.json").read_bytes() == (whole / "scores.json").read_bytes()
    for path in whole.glob("predictions.*.json"):
        assert (killed / path.name).read_bytes() == path.read_bytes(), path.name


# ---------------------------------------------------------------------------------------------
# a whole book run: `python -m alma_core.book run --root ROOT` on a two-chapter book


def book_root(tmp: Path, chapters: Sequence[str] = ("appD_sampling", "appC_training_details")) -> Path:
    """A checkout-like root: _toc.yml with `chapters`, their notebooks and tiny params ($ALMA_PARAMS_DIR)."""
    root = tmp / "book-root"
    (root / "notebooks").mkdir(parents=True)
    (root / "params" / "tiny").mkdir(parents=True)
    toc = {"format": "jb-book", "root": "book/intro",
           "chapters": [{"file": f"book/_executed/{name}"} for name in chapters]}
    (root / "_toc.yml").write_text(yaml.safe_dump(toc), encoding="utf-8")
    for name in chapters:
        (root / "notebooks" / f"{name}.ipynb").write_bytes((ROOT / "notebooks" / f"{name}.ipynb").read_bytes())
    for name in {*chapters, "sec5_main_results"}:  # App. C's table reads the params of the chapters it describes
        params = Path("params") / "tiny" / f"{name}.yaml"
        (root / params).write_bytes((ROOT / params).read_bytes())
    return root


def notebook_outputs(path: Path) -> list:
    """A notebook's results: cell outputs without execution counts, timing metadata and stderr (warnings, progress
    bars and lock messages are logs, e.g. a resumed run reports the stale lock its killed predecessor left)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [[{k: v for k, v in out.items() if k not in ("execution_count", "metadata")} for out in c.get("outputs", [])
             if out.get("name") != "stderr"] for c in cells if c["cell_type"] == "code"]


def first_difference(a: Path, b: Path) -> str:
    """The first differing line of two notebooks' outputs (for the assertion message)."""
    import difflib

    left, right = (json.dumps(notebook_outputs(p), indent=0).splitlines() for p in (a, b))
    return "\n".join(list(difflib.unified_diff(left, right, lineterm="", n=1))[:12])


def test_book_run_killed_anywhere_finishes_with_the_same_pages(tmp_path: Path) -> None:
    """The executed chapters have the same outputs as an uninterrupted run's, each carries its stamp (no copy
    without a stamp is taken as finished), and no papermill working copy is left."""
    env = {**ENV, "ALMA_PARAMS_DIR": ""}
    whole_root, killed_root = book_root(tmp_path / "a"), book_root(tmp_path / "b")
    book = [sys.executable, "-m", "alma_core.book.site", "run", "--profile", "tiny", "--root"]
    run([*book, str(whole_root)], env={**env, "ALMA_PARAMS_DIR": str(whole_root / "params")})  # uninterrupted
    executed = killed_root / "book" / "_executed"
    readies = [exists(executed / ".appD_sampling.running.ipynb"), exists(executed / "appD_sampling.ipynb")]
    kill_chain([*book, str(killed_root)], readies, "book run", max_delay=2.0,
               env={**env, "ALMA_PARAMS_DIR": str(killed_root / "params")})
    for name in ("appD_sampling", "appC_training_details"):
        got, ref = executed / f"{name}.ipynb", whole_root / "book" / "_executed" / f"{name}.ipynb"
        assert json.loads(got.read_text())["metadata"]["alma_book"]["input_hash"]
        assert notebook_outputs(got) == notebook_outputs(ref), first_difference(got, ref)
    assert not list(executed.glob(".*.running.ipynb"))
