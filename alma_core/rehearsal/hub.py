"""A local Hugging Face cache of tiny random models under the real hub ids (DESIGN.md, 'Proving the paper-scale paths').

`build_local_hub(hf_home)` writes `{hf_home}/hub/models--{org}--{name}/snapshots/{rev}/` and `refs/main` for every
model the paper and released params name, each with its family's real architecture class and tokenizer conventions
(special-token ids, whether a BOS is prepended, pad or none) at a tiny size with seeded random weights; plus the
ALMA LoRA adapters and the tiny COMET (alma_core.tiny_comet). With `HF_HOME={hf_home} HF_HUB_OFFLINE=1` the unchanged
`from_pretrained("meta-llama/Llama-2-7b-hf")` calls of a real run load them. Their outputs mean nothing.

CLI: `python -m alma_core.rehearsal.hub --hf-home DIR [--seed N]`.
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
from typing import Any, Literal

from alma_core.io import atomic_write_text
from alma_core.modeling import corpus_lines
from alma_core.tiny_comet import install_tiny_comet_as_hf_cache

__all__ = [
    "HubModel",
    "LoraAdapter",
    "HUB_MODELS",
    "LORA_ADAPTERS",
    "COMET_IDS",
    "hub_ids",
    "snapshot_revision",
    "build_local_hub",
    "main",
]

Family = Literal["llama", "mpt", "opt", "bloom", "falcon"]

_RECIPE = 1  # bump when a stand-in's recipe changes: new revisions, so old snapshots are not mistaken for new ones
_VOCAB = 768
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


# ---------------------------------------------------------------- tokenizers (one per family, trained on `texts`)


def _bpe(texts: Sequence[str], specials: Sequence[str]) -> Any:
    """A byte-level BPE (every script tokenizes) whose first ids are `specials`, in order."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_VOCAB, special_tokens=list(specials), initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    assert [tok.token_to_id(s) for s in specials] == list(range(len(specials)))
    return tok


def _llama_tokenizer(texts: Sequence[str], pad_unk: bool) -> Any:
    """LLaMA-1/2 and ALMA: LlamaTokenizerFast, <unk>=0 <s>=1 </s>=2, adds BOS not EOS; pad none (ALMA: <unk>)."""
    from transformers import LlamaTokenizerFast

    return LlamaTokenizerFast(
        tokenizer_object=_bpe(texts, ["<unk>", "<s>", "</s>"]), unk_token="<unk>", bos_token="<s>", eos_token="</s>",
        pad_token="<unk>" if pad_unk else None, add_bos_token=True, add_eos_token=False, legacy=False,
    )


def _mpt_tokenizer(texts: Sequence[str]) -> Any:
    """MPT: GPT-NeoX tokenizer, <|endoftext|>=0 is BOS, EOS and UNK, <|padding|>=1 exists but is not pad; no BOS
    added."""
    from transformers import GPTNeoXTokenizerFast

    end = "<|endoftext|>"
    return GPTNeoXTokenizerFast(
        tokenizer_object=_bpe(texts, [end, "<|padding|>"]), unk_token=end, bos_token=end, eos_token=end,
        add_bos_token=False, add_eos_token=False,
    )


def _opt_tokenizer(texts: Sequence[str]) -> Any:
    """OPT: GPT-2 style, <s>=0 <pad>=1 </s>=2 <unk>=3; </s> is BOS, EOS and UNK and is prepended as BOS."""
    from tokenizers import processors
    from transformers import GPT2TokenizerFast

    backend = _bpe(texts, ["<s>", "<pad>", "</s>", "<unk>"])
    backend.post_processor = processors.TemplateProcessing(
        single="</s> $A", pair="</s> $A </s> $B", special_tokens=[("</s>", 2)]
    )
    return GPT2TokenizerFast(
        tokenizer_object=backend, bos_token="</s>", eos_token="</s>", unk_token="</s>", pad_token="<pad>",
        add_bos_token=True,
    )


def _bloom_tokenizer(texts: Sequence[str]) -> Any:
    """BLOOM: BloomTokenizerFast, <unk>=0 <s>=1 </s>=2 <pad>=3, no BOS added, left padding."""
    from transformers import BloomTokenizerFast

    return BloomTokenizerFast(
        tokenizer_object=_bpe(texts, ["<unk>", "<s>", "</s>", "<pad>"]), unk_token="<unk>", bos_token="<s>",
        eos_token="</s>", pad_token="<pad>", padding_side="left",
    )


_FALCON_SPECIALS = [">>TITLE<<", ">>ABSTRACT<<", ">>INTRODUCTION<<", ">>SUMMARY<<", ">>COMMENT<<", ">>ANSWER<<",
                    ">>QUESTION<<", ">>DOMAIN<<", ">>PREFIX<<", ">>SUFFIX<<", ">>MIDDLE<<", "<|endoftext|>"]


def _falcon_tokenizer(texts: Sequence[str]) -> Any:
    """Falcon: a plain fast tokenizer, EOS <|endoftext|> = 11 as in the real one, no pad, no BOS added."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=_bpe(texts, _FALCON_SPECIALS), eos_token="<|endoftext|>",
        additional_special_tokens=_FALCON_SPECIALS[:-1],
    )


def _tokenizer(family: Family, texts: Sequence[str], pad_unk: bool = False) -> Any:
    """The family's tokenizer stand-in."""
    if family == "llama":
        return _llama_tokenizer(texts, pad_unk)
    return {"mpt": _mpt_tokenizer, "opt": _opt_tokenizer, "bloom": _bloom_tokenizer, "falcon": _falcon_tokenizer}[
        family
    ](texts)


# ---------------------------------------------------------------- models


def _config(spec: HubModel, tokenizer: Any) -> Any:
    """A 2-layer config of the family's real class with the tokenizer's special ids (vocab padded to 64 like
    MPT/OPT)."""
    from transformers import BloomConfig, FalconConfig, LlamaConfig, MptConfig, OPTConfig

    h, vocab = spec.hidden_size, len(tokenizer)
    if spec.family == "llama":
        return LlamaConfig(vocab_size=vocab, hidden_size=h, intermediate_size=3 * h, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=spec.max_positions,
                           rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False)
    padded = -(-vocab // 64) * 64
    if spec.family == "mpt":
        return MptConfig(d_model=h, n_heads=4, n_layers=2, expansion_ratio=4, max_seq_len=spec.max_positions,
                         vocab_size=padded, no_bias=True)
    if spec.family == "opt":
        return OPTConfig(vocab_size=padded, hidden_size=h, ffn_dim=4 * h, num_hidden_layers=2, num_attention_heads=4,
                         max_position_embeddings=spec.max_positions, word_embed_proj_dim=h, pad_token_id=1,
                         bos_token_id=2, eos_token_id=2)
    if spec.family == "bloom":
        return BloomConfig(vocab_size=vocab, hidden_size=h, n_layer=2, n_head=4, bos_token_id=1, eos_token_id=2,
                           pad_token_id=3)
    return FalconConfig(vocab_size=vocab, hidden_size=h, num_hidden_layers=2, num_attention_heads=4,
                        new_decoder_architecture=False, multi_query=True, parallel_attn=True, alibi=False, bias=False,
                        bos_token_id=11, eos_token_id=11)


def _seed_for(repo_id: str, seed: int) -> int:
    """A per-id torch seed, so stand-ins differ from each other but not from run to run."""
    return int(snapshot_revision(repo_id, seed)[:8], 16)


def _random_model(spec: HubModel, tokenizer: Any, seed: int) -> Any:
    """The family's real causal-LM class (via AutoModelForCausalLM) with seeded random fp32 weights."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.random.fork_rng():
        torch.manual_seed(_seed_for(spec.repo_id, seed))
        model = AutoModelForCausalLM.from_config(_config(spec, tokenizer))
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
        f"# {repo_id} (rehearsal stand-in)\n\nTiny model with RANDOM weights built by alma_core.rehearsal.hub "
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
            tokenizers[key] = _tokenizer(spec.family, lines, spec.pad_unk)
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


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: build the local hub into --hf-home and print each id with its snapshot."""
    parser = argparse.ArgumentParser(prog="python -m alma_core.rehearsal.hub", description=__doc__.split("\n")[0])
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
