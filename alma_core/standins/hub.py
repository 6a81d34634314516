"""A local Hugging Face cache of tiny random models under the real hub ids (DESIGN.md, 'Proving the paper-scale paths').

`build_local_hub(hf_home)` writes `{hf_home}/hub/models--{org}--{name}/snapshots/{rev}/` and `refs/main` for every
model the paper and released params name, each with its family's real architecture class and tokenizer conventions
(special-token ids, whether a BOS is prepended, pad or none) at a tiny size with seeded random weights; plus the
ALMA LoRA adapters and the tiny COMET (standins.tiny_comet). With `HF_HOME={hf_home} HF_HUB_OFFLINE=1` the unchanged
`from_pretrained("meta-llama/Llama-2-7b-hf")` calls of a real run load them. Their outputs mean nothing.

CLI: `python -m alma_core.standins.hub --hf-home DIR [--seed N]`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alma_core.io import atomic_write_text
from alma_core.standins.families import Family, family_config, family_tokenizer
from alma_core.standins.tiny_backbone import corpus_lines
from alma_core.standins.tiny_comet import install_tiny_comet_as_hf_cache

__all__ = [
    "HubModel",
    "LoraAdapter",
    "HUB_MODELS",
    "LORA_ADAPTERS",
    "COMET_IDS",
    "hub_ids",
    "snapshot_revision",
    "build_local_hub",
    "build_stand_ins",
    "main",
]

_RECIPE = 1  # bump when a stand-in's recipe changes: new revisions, so old snapshots are not mistaken for new ones
_NOTE = "README.md"

# Generation defaults the real checkpoints ship (both switch sampling on; official-implementation.md section 5).
_LLAMA2_GENERATION = (("do_sample", True), ("temperature", 0.6), ("top_p", 0.9))
_ALMA_GENERATION = (("do_sample", True), ("temperature", 0.9), ("top_p", 0.6))


@dataclass(frozen=True)
class HubModel:
    """One causal-LM stand-in: hub id, family (architecture and tokenizer conventions), width, saved dtype, defaults."""

    repo_id: str
    family: Family
    hidden_size: int = 32
    dtype: str = "float16"
    pad_unk: bool = False  # the released ALMA tokenizers ship pad "<unk>"; the LLaMA ones ship no pad
    max_positions: int = 2048
    generation: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class LoraAdapter:
    """A PEFT LoRA adapter stand-in (r 16, alpha 32, dropout 0.05, down_proj; Section 5.2) for a base hub id."""

    repo_id: str
    base: str


def _llama(repo_id: str, hidden: int, **kw: Any) -> HubModel:
    return HubModel(repo_id, "llama", hidden_size=hidden, max_positions=4096, **kw)


HUB_MODELS: tuple[HubModel, ...] = (
    _llama("meta-llama/Llama-2-7b-hf", 32, generation=_LLAMA2_GENERATION),
    _llama("meta-llama/Llama-2-13b-hf", 48, generation=_LLAMA2_GENERATION),
    HubModel("huggyllama/llama-7b", "llama", hidden_size=32, max_positions=2048),
    _llama("haoranxu/ALMA-7B", 32, pad_unk=True, generation=_ALMA_GENERATION),
    _llama("haoranxu/ALMA-13B", 48, pad_unk=True, generation=_ALMA_GENERATION),
    _llama("haoranxu/ALMA-7B-Pretrain", 32, pad_unk=True),
    _llama("haoranxu/ALMA-13B-Pretrain", 48, pad_unk=True),
    HubModel("mosaicml/mpt-7b", "mpt", dtype="bfloat16"),
    HubModel("facebook/opt-6.7b", "opt"),
    HubModel("bigscience/bloom-7b1", "bloom"),
    HubModel("tiiuae/falcon-7b", "falcon", dtype="bfloat16"),
    # today's backbones (notebooks/porting_backbones.ipynb): each family's class, tokenizer, context and saved dtype
    HubModel("meta-llama/Llama-3.1-8B", "llama3", dtype="bfloat16", max_positions=131072,
             generation=_LLAMA2_GENERATION),
    HubModel("Qwen/Qwen2.5-7B", "qwen2", dtype="bfloat16", max_positions=131072),
    HubModel("google/gemma-2-9b", "gemma2", dtype="float32", max_positions=8192),
    HubModel("mistralai/Mistral-7B-v0.1", "mistral", dtype="bfloat16", max_positions=32768),
)
LORA_ADAPTERS: tuple[LoraAdapter, ...] = (
    LoraAdapter("haoranxu/ALMA-7B-Pretrain-LoRA", "haoranxu/ALMA-7B-Pretrain"),
    LoraAdapter("haoranxu/ALMA-13B-Pretrain-LoRA", "haoranxu/ALMA-13B-Pretrain"),
)
COMET_IDS: tuple[str, str] = ("Unbabel/wmt22-comet-da", "xlm-roberta-large")


def hub_ids() -> list[str]:
    """Every hub id `build_local_hub` provides: causal LMs, LoRA adapters, COMET and its encoder."""
    return [m.repo_id for m in HUB_MODELS] + [a.repo_id for a in LORA_ADAPTERS] + list(COMET_IDS)


def snapshot_revision(repo_id: str, seed: int = 0) -> str:
    """A deterministic 40-hex 'commit' for a stand-in (same id, seed and recipe give the same snapshot)."""
    return hashlib.sha1(f"alma-rehearsal:{repo_id}:{seed}:{_RECIPE}".encode()).hexdigest()


def _repo_dir(hf_home: Path, repo_id: str) -> Path:
    """`{hf_home}/hub/models--{org}--{name}` as huggingface_hub lays it out."""
    return hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))


def _present(repo_dir: Path) -> Path | None:
    """The snapshot `refs/main` points to, when the repo is already in the cache (ours or a real download)."""
    ref = repo_dir / "refs" / "main"
    if ref.is_file():
        snapshot = repo_dir / "snapshots" / ref.read_text().strip()
        if snapshot.is_dir():
            return snapshot
    return None


# ---------------------------------------------------------------- models


def _seed_for(repo_id: str, seed: int) -> int:
    """A per-id torch seed, so stand-ins differ from each other but not from run to run."""
    return int(snapshot_revision(repo_id, seed)[:8], 16)


def _random_model(spec: HubModel, tokenizer: Any, seed: int) -> Any:
    """The family's real causal-LM class (via AutoModelForCausalLM) with seeded random fp32 weights."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.random.fork_rng():
        torch.manual_seed(_seed_for(spec.repo_id, seed))
        model = AutoModelForCausalLM.from_config(
            family_config(spec.family, spec.hidden_size, spec.max_positions, tokenizer)
        )
    if spec.generation:
        model.generation_config.update(**dict(spec.generation))
    return model.eval()


def _write_model(spec: HubModel, tokenizer: Any, seed: int, out: Path) -> None:
    """Save a causal-LM stand-in (weights in the real checkpoint's dtype) with its tokenizer into `out`."""
    import torch

    model = _random_model(spec, tokenizer, seed).to(getattr(torch, spec.dtype))
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)


def _write_adapter(adapter: LoraAdapter, base: HubModel, tokenizer: Any, seed: int, out: Path) -> None:
    """Save a LoRA adapter (adapter_config.json + adapter_model.safetensors) naming its base by hub id."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model

    model = _random_model(base, tokenizer, seed)
    config = LoraConfig(task_type=TaskType.CAUSAL_LM, r=16, lora_alpha=32, lora_dropout=0.05, bias="none",
                        # random B too: the adapter changes outputs
                        target_modules=["down_proj"], init_lora_weights=False)
    with torch.random.fork_rng():
        torch.manual_seed(_seed_for(adapter.repo_id, seed))
        peft_model = get_peft_model(model, config)
    peft_model.peft_config["default"].base_model_name_or_path = base.repo_id
    peft_model.save_pretrained(out, safe_serialization=True, save_embedding_layers=False)  # no hub lookup


def _note(repo_id: str, seed: int) -> str:
    return (
        f"# {repo_id} (rehearsal stand-in)\n\nTiny model with RANDOM weights built by alma_core.standins.hub "
        f"(seed {seed}); same architecture class and tokenizer conventions as the real {repo_id}, NOT its weights.\n"
    )


def _publish(hf_home: Path, repo_id: str, seed: int, write: Any) -> Path:
    """Build a snapshot in a temp dir, rename it into place, then point refs/main at it; skip an id already present."""
    repo_dir = _repo_dir(hf_home, repo_id)
    existing = _present(repo_dir)
    if existing is not None:
        return existing
    rev = snapshot_revision(repo_id, seed)
    snapshot = repo_dir / "snapshots" / rev
    if not snapshot.is_dir():  # a snapshot without refs/main is complete (renamed whole): only the ref is missing
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=snapshot.parent, prefix=f".{rev[:8]}."))
        try:
            write(tmp)
            atomic_write_text(tmp / _NOTE, _note(repo_id, seed))
            os.replace(tmp, snapshot)
        except OSError:
            if not snapshot.is_dir():
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    atomic_write_text(repo_dir / "refs" / "main", rev)
    return snapshot


def _publish_comet(hf_home: Path) -> dict[str, Path]:
    """The tiny COMET and its encoder under their hub ids (tiny_comet), staged in a temp HF_HOME then renamed in."""
    dirs = {repo_id: _repo_dir(hf_home, repo_id) for repo_id in COMET_IDS}
    found = {repo_id: _present(d) for repo_id, d in dirs.items()}
    if all(found.values()):
        return {k: v for k, v in found.items() if v is not None}
    if any(found.values()) or any(d.exists() for d in dirs.values()):
        have = [repo_id for repo_id, d in dirs.items() if d.exists()]
        raise FileExistsError(
            f"{hf_home}: holds {have} but not all of {list(COMET_IDS)}; the tiny COMET and its tiny encoder go "
            f"together. "
            "Fix: remove those folders from the cache or use another --hf-home"
        )
    staging = Path(tempfile.mkdtemp(dir=hf_home / "hub", prefix=".comet."))
    try:
        install_tiny_comet_as_hf_cache(staging, repo_id=COMET_IDS[0], encoder_id=COMET_IDS[1])
        for repo_id, target in dirs.items():
            staged = _repo_dir(staging, repo_id)
            snapshot = _present(staged)
            assert snapshot is not None, f"tiny_comet did not lay out {repo_id}"
            atomic_write_text(snapshot / _NOTE, _note(repo_id, 0))
            os.replace(staged, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {repo_id: _present(d) for repo_id, d in dirs.items()}  # type: ignore[misc]


def _check_not_default_cache(hf_home: Path) -> None:
    """Refuse the user's default Hugging Face cache: random stand-ins must never sit where real weights are expected."""
    default = (Path.home() / ".cache" / "huggingface").resolve()
    if hf_home.resolve() == default:
        raise ValueError(
            f"--hf-home {hf_home} is the default Hugging Face cache; random stand-ins there would shadow real models. "
            "Fix: pass a separate folder (e.g. --hf-home /tmp/alma-hub) and set HF_HOME to it for the rehearsal"
        )


def build_local_hub(
    hf_home: str | os.PathLike, texts: Iterable[str] | None = None, *, seed: int = 0
) -> dict[str, Path]:
    """Write tiny random stand-ins under every hub id of the paper/released params into `hf_home`; {id: snapshot}.

    Tokenizers are trained on `texts` (default: the shipped sample corpora, all languages). Deterministic for a
    seed, idempotent (an id already in the cache is left as it is) and atomic per id.
    """
    hf_home = Path(hf_home).expanduser()
    _check_not_default_cache(hf_home)
    (hf_home / "hub").mkdir(parents=True, exist_ok=True)
    lines = list(texts) if texts is not None else corpus_lines()
    if not any(line.strip() for line in lines):
        raise ValueError("texts: no non-empty line to train the tokenizers on; pass sentences or None for the sample")
    tokenizers: dict[tuple[Family, bool], Any] = {}

    def tokenizer_for(spec: HubModel) -> Any:
        key = (spec.family, spec.pad_unk)
        if key not in tokenizers:
            tokenizers[key] = family_tokenizer(spec.family, lines, spec.pad_unk)
        return tokenizers[key]

    built: dict[str, Path] = {}
    specs = {m.repo_id: m for m in HUB_MODELS}
    for spec in HUB_MODELS:
        built[spec.repo_id] = _publish(
            hf_home, spec.repo_id, seed, lambda out, s=spec: _write_model(s, tokenizer_for(s), seed, out)
        )
    for adapter in LORA_ADAPTERS:
        base = specs[adapter.base]
        built[adapter.repo_id] = _publish(
            hf_home,
            adapter.repo_id,
            seed,
            lambda out, a=adapter, b=base: _write_adapter(a, b, tokenizer_for(b), seed, out),
        )
    built.update(_publish_comet(hf_home))
    return built


def build_stand_ins(repo_ids: Iterable[str], folder: str | os.PathLike, *, seed: int = 0) -> dict[str, Path]:
    """Stand-ins of hub ids as plain local folders `folder/<org>--<name>` (the tiny profile of
    notebooks/porting_backbones.ipynb, which has no hub); same weights and tokenizer as in the local hub."""
    specs = {m.repo_id: m for m in HUB_MODELS}
    unknown = [r for r in repo_ids if r not in specs]
    if unknown:
        raise ValueError(f"no stand-in for {unknown}; known: {sorted(specs)}. Fix: add a HubModel to HUB_MODELS")
    lines, out = corpus_lines(), {}
    for repo_id in repo_ids:
        target = Path(folder) / repo_id.replace("/", "--")
        if not (target / "config.json").is_file():
            spec = specs[repo_id]
            Path(folder).mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=folder, prefix="."))
            try:
                _write_model(spec, family_tokenizer(spec.family, lines, spec.pad_unk), seed, tmp)
                os.replace(tmp, target)
            except OSError:
                if not (target / "config.json").is_file():
                    raise
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        out[repo_id] = target
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: build the local hub into --hf-home and print each id with its snapshot."""
    parser = argparse.ArgumentParser(prog="python -m alma_core.standins.hub", description=__doc__.split("\n")[0])
    parser.add_argument("--hf-home", required=True, type=Path, help="folder to use as HF_HOME for the rehearsal")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights (default 0)")
    args = parser.parse_args(argv)
    before = {repo_id for repo_id in hub_ids() if _present(_repo_dir(args.hf_home.expanduser(), repo_id))}
    try:
        built = build_local_hub(args.hf_home, seed=args.seed)
    except (ValueError, FileExistsError) as err:
        parser.exit(2, f"error: {err}\n")
    for repo_id, snapshot in built.items():
        print(f"{'present' if repo_id in before else 'built  '}  {repo_id:36s} {snapshot}")
    print(f"use: HF_HOME={args.hf_home} HF_HUB_OFFLINE=1")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
