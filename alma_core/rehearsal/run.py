"""`make rehearsal`: the paper and released profiles end to end, offline, changed in scale only.

1. A local Hugging Face cache (`HF_HOME`, offline) with tiny random models under every hub id the
   params name (`rehearsal.hub`), and data in the real formats (`rehearsal.data`).
2. Every `params/paper/*.yaml` and `params/released/*.yaml` rewritten by the ONE override
   (`rehearsal.scale`) into `runs/rehearsal/params/`, which the notebooks read ($ALMA_PARAMS_DIR).
3. Every chapter executed with papermill exactly as `make book PROFILE=paper` would: jobs go through
   `alma_core.jobs.core` -> `alma_core.jobs.launch` -> the rendered sbatch script, which a stand-in `sbatch`
   runs here with SLURM's environment (one node, 2 processes: torchrun c10d rendezvous, DeepSpeed
   ZeRO-2 on gloo, the global batch of 256 split over 2 ranks).
4. The book built from it (`_build/rehearsal/_build/html`), every page labelled a rehearsal, and
   checked in headless Chromium.

`--gpu` keeps the params' dtypes (fp16/bf16), one process on the one GPU, CUDA decoding and COMET on
the GPU. Library code has no rehearsal branch: only what is on disk and in the environment differs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

from alma_core.book import browser
from alma_core.book import site as book
from alma_core.io import atomic_write_text, read_yaml_mapping
from alma_core.jobs.store import repo_root
from alma_core.rehearsal import slurm_path
from alma_core.rehearsal.data import write_hub_datasets, write_rehearsal_data
from alma_core.rehearsal.scale import ROOT, scale_params
from alma_core.standins.hub import build_local_hub

__all__ = ["BOOK_DIR", "write_params", "environment", "random_init_backbone", "prepare", "rehearse", "main"]

BOOK_DIR = Path("_build") / "rehearsal"
NOTE = ("This page was built by `make rehearsal`: tiny random models under the real hub ids in a local "
        "Hugging Face cache, small generated data in the real formats, every job launched through the real "
        "sbatch script under a local SLURM stand-in (2 processes, DeepSpeed ZeRO-2). Only the scale differs "
        "(alma_core/rehearsal/scale.py: 2 stage-1 steps, 2 points per sweep, 4 test segments, 12 new tokens; "
        "on a CPU, fp16 runs in fp32, which DeepSpeed refuses there). It proves the paper-scale code paths run; "
        "its numbers mean nothing.")


def write_params(repo: Path, root: Path, *, gpu: bool = False) -> list[Path]:
    """Every paper/released params file rewritten by the rehearsal override into `root/params/<profile>/`."""
    written = []
    for profile in ("paper", "released"):
        for path in sorted((repo / "params" / profile).glob("*.yaml")):
            values = read_yaml_mapping(path, "params file")
            scaled = scale_params(
                values, root=str(root.relative_to(repo)) if root.is_relative_to(repo) else str(root), gpu=gpu
            )
            header = f"# {path.relative_to(repo)} changed in scale only by alma_core.rehearsal.scale (do not edit)\n"
            written.append(atomic_write_text(root / "params" / profile / path.name,
                                             header + yaml.safe_dump(scaled, sort_keys=False, allow_unicode=True)))
    return written


def environment(repo: Path, root: Path, *, gpu: bool = False) -> dict[str, str]:
    """The rehearsal's environment: the local hub offline, the scaled params, the SLURM stand-in first on PATH."""
    env = {"HF_HOME": str(root / "hf_home"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "HF_DATASETS_CACHE": str(root / "datasets_cache"),
           "ALMA_PARAMS_DIR": str(root / "params"), "ALMA_REHEARSAL": NOTE, "TOKENIZERS_PARALLELISM": "false",
           "WANDB_DISABLED": "true", "PYDEVD_DISABLE_FILE_VALIDATION": "1", "ALMA_FAKE_SLURM_DIR": str(root / "slurm"),
           "PATH": os.pathsep.join([str(slurm_path()), str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    if not gpu:
        env.update(DS_ACCELERATOR="cpu", CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
    return env


def random_init_backbone(hub_id: str, out: Path, seed: int = 0) -> Path:
    """A randomly initialised model of `hub_id`'s architecture with its tokenizer (Sec. 3's "from scratch" backbone)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    if (out / "config.json").is_file():
        return out
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(hub_id))
    tmp = out.with_name(f".{out.name}.tmp")
    model.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(hub_id).save_pretrained(tmp)
    os.replace(tmp, out)
    return out


def prepare(repo: Path, root: Path, *, gpu: bool = False) -> dict[str, str]:
    """Hub, data, scaled params and environment of a rehearsal (idempotent); returns the environment it set."""
    env = environment(repo, root, gpu=gpu)
    os.environ.update(env)  # before any Hugging Face import reads HF_HOME (alma_core imports none at module level)
    started = time.time()
    build_local_hub(root / "hf_home")
    write_hub_datasets(root / "hf_home")
    write_rehearsal_data(root)
    write_params(repo, root, gpu=gpu)
    random_init_backbone("meta-llama/Llama-2-7b-hf", root / "paper" / "backbones" / "llama-2-7b-random-init")
    print(f"[rehearsal] local hub, data and scaled params in {root} ({time.time() - started:.1f} s)", flush=True)
    return env


def rehearse(*, gpu: bool = False, force: bool = False, only: Sequence[str] = (), check: bool = True,
             build: bool = True) -> Path:
    """Prepare, execute every paper chapter and the released ones, build and check the rehearsal book; its HTML folder.

    `build=False` executes every chapter but builds no HTML (so checks none): returns the executed chapters' folder.
    """
    repo = repo_root()
    root = repo / ROOT / ("gpu" if gpu else "cpu")
    prepare(repo, root, gpu=gpu)
    dest = repo / BOOK_DIR
    dest.mkdir(parents=True, exist_ok=True)
    book.stage_sources(repo, dest)
    failures = []
    for profile, executed in (("paper", dest / book.EXECUTED), ("released", root / "released_executed")):
        try:
            book.run(profile, force=force, only=only, root=repo, executed=executed)
        except book.BookError as err:
            failures.append(str(err))
    if failures:
        raise book.BookError("rehearsal failed:\n" + "\n".join(failures))
    if not build:
        return dest / book.EXECUTED
    html = book.build(dest)
    if check:
        browser.check(dest)
    return html


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: `python -m alma_core.rehearsal [--gpu] [--force] [--only NAME ...] [--no-check] [--no-build]`."""
    parser = argparse.ArgumentParser(prog="python -m alma_core.rehearsal", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gpu", action="store_true", help="the params' dtypes, CUDA decoding, COMET on the GPU, 1 process"
    )
    parser.add_argument("--force", action="store_true", help="re-execute every notebook and redo every job")
    parser.add_argument("--only", nargs="*", default=[], help="notebook names (default: all)")
    parser.add_argument("--no-check", action="store_true", help="skip the headless-Chromium check")
    parser.add_argument("--no-build", action="store_true",
                        help="execute every chapter but skip the HTML build (and so the browser check)")
    args = parser.parse_args(argv)
    started = time.time()
    try:
        html = rehearse(gpu=args.gpu, force=args.force, only=args.only, check=not args.no_check,
                        build=not args.no_build)
    except book.BookError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    what = "executed chapters in" if args.no_build else "book in"
    print(f"[rehearsal] {what} {html} ({time.time() - started:.0f} s in all)", flush=True)
    return 0
