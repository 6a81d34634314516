"""The tiny stand-in for LLaMA-2 (Section 2.2): a byte-level BPE tokenizer and a small LLaMA-architecture model
"pretrained" on English-dominant text, built once under the store and keyed by its recipe and corpus.

The tiny and mini profiles start every chapter from it; the paper profile starts from meta-llama/Llama-2-7b-hf.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from alma_core.io import atomic_write_json, stable_hash
from alma_core.recipe.data import sample_data_dir
from alma_core.runs.backbones import fix_pad_token
from alma_core.runs.load_errors import ModelLoadError
from alma_core.runs.modeling import BOS, EOS, UNK, count_parameters

__all__ = ["TinyBackboneConfig", "train_tokenizer", "corpus_lines", "tiny_llama_config", "build_tiny_backbone",
           "adamw_steps"]

_FORMAT_VERSION = 1  # bump when the tiny-backbone recipe changes, so old caches are not reused


class TinyBackboneConfig(BaseModel):
    """Size and 'pretraining' recipe of the tiny LLaMA stand-in (the tiny profile's LLaMA-2-7B)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vocab_size: int = Field(1024, ge=300, description="BPE vocabulary incl. 256 byte symbols and 3 specials")
    hidden_size: int = Field(64, ge=16)
    intermediate_size: int = Field(256, ge=16)
    num_layers: int = Field(2, ge=1)
    num_heads: int = Field(4, ge=1)
    max_position_embeddings: int = Field(512, ge=64)
    pretrain_steps: int = Field(100, ge=0, description="CLM steps on English-dominant text")
    pretrain_batch_size: int = Field(16, ge=1)
    pretrain_block_size: int = Field(64, ge=8)
    pretrain_lr: float = Field(3e-3, gt=0)
    english_fraction: float = Field(0.9, ge=0.0, le=1.0, description="share of pretraining documents in English")
    corpus: Literal["monolingual", "pretraining"] = Field(
        "monolingual", description="monolingual: English_fraction of monolingual/*.txt (v1); pretraining: the "
        "root's pretraining.jsonl as written, LLaMA-2's shares with incidental bilingual text (mini world v2)")
    pretrain_threads: int = Field(1, ge=1, le=64, description="CPU threads of the pretraining loop (part of the key: "
                                  "float sums depend on it); 1 suits a shared CPU, 2 a machine the build has alone")
    seed: int = 0
    corpus_dir: str | None = Field(None, description="root with monolingual/{lang}.txt; None = shipped sample")


def _corpus_root(cfg: TinyBackboneConfig) -> Path:
    if cfg.corpus_dir is not None:
        return Path(cfg.corpus_dir)

    return Path(sample_data_dir())


def _read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _corpus_texts(root: Path) -> dict[str, list[str]]:
    """All text of the corpus by language: monolingual/{lang}.txt plus both sides of parallel train files."""
    mono = root / "monolingual"
    if not mono.is_dir():
        raise ModelLoadError(
            f"{mono}: no monolingual corpus for the tiny backbone; pass corpus_dir= a root with "
            f"monolingual/{{lang}}.txt"
        )
    texts = {p.stem: _read_lines(p) for p in sorted(mono.glob("*.txt"))}
    if "en" not in texts:
        raise ModelLoadError(f"{mono}/en.txt is missing; the tiny backbone is 'pretrained' on English-dominant text")
    for path in sorted(root.glob("*en/train.*.json")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                for lang, text in json.loads(line).get("translation", {}).items():
                    texts.setdefault(lang, []).append(str(text).strip())
    return texts


_PRETRAINING_FILE = "pretraining.jsonl"  # the mini world v2's corpus (standins.mini_world_data.write_pretraining)


def _pretraining_texts(root: Path, cfg: TinyBackboneConfig) -> list[str]:
    """The root's pretraining.jsonl texts in order when `cfg.corpus` is "pretraining", else none (v1)."""
    if cfg.corpus != "pretraining":
        return []
    path = root / _PRETRAINING_FILE
    if not path.is_file():
        raise ModelLoadError(f"{path} is missing; tiny_backbone.corpus: pretraining needs the world's pretraining "
                             "corpus (world: pretraining_documents > 0) or corpus: monolingual")
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def corpus_lines(corpus_dir: str | os.PathLike | None = None) -> list[str]:
    """Every line of a corpus root (default: the shipped sample), all languages, for training tokenizers (Sec. 2.2)."""
    texts = _corpus_texts(_corpus_root(TinyBackboneConfig(corpus_dir=None if corpus_dir is None else str(corpus_dir))))
    return [line for lang in sorted(texts) for line in texts[lang]]


def _corpus_digest(texts: dict[str, list[str]]) -> str:
    digest = hashlib.sha256()
    for lang in sorted(texts):
        digest.update(lang.encode())
        for line in texts[lang]:
            digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()[:16]


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1024) -> Any:
    """A byte-level BPE tokenizer with LLaMA's specials <unk>=0 (pad), <s>=1 (BOS, prepended), </s>=2 (EOS)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[UNK, BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, 1), (EOS, 2)]
    )
    assert [tok.token_to_id(t) for t in (UNK, BOS, EOS)] == [0, 1, 2]
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token=UNK,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=UNK,
        padding_side="left",  # generation pads left; training collators pad right themselves
        clean_up_tokenization_spaces=False,
        model_max_length=1_000_000,
        model_input_names=["input_ids", "attention_mask"],
    )


def tiny_llama_config(tokenizer: Any, **overrides: Any) -> Any:
    """A small LlamaConfig (hidden 64, 2 layers, 4 heads) with the tokenizer's vocab and special ids."""
    from transformers import LlamaConfig

    kwargs: dict[str, Any] = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        rms_norm_eps=1e-6,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    kwargs.update(overrides)
    return LlamaConfig(**kwargs)


def _pretrain_documents(texts: dict[str, list[str]], cfg: TinyBackboneConfig) -> list[str]:
    """English-dominant document list: `english_fraction` English, the rest spread over the other languages."""
    rng = random.Random(cfg.seed)
    english = texts["en"]
    others = [line for lang in sorted(texts) if lang != "en" for line in texts[lang]]
    n_other = int(round(len(english) * (1 - cfg.english_fraction) / max(cfg.english_fraction, 1e-6)))
    picked = list(english) + (rng.sample(others, min(n_other, len(others))) if others else [])
    rng.shuffle(picked)
    return picked


def _pretrain(model: Any, tokenizer: Any, documents: Sequence[str], cfg: TinyBackboneConfig) -> list[float]:
    """Brief CLM on packed blocks (BOS doc EOS ...), plain AdamW loop; deterministic for a seed."""
    import torch

    ids: list[int] = []
    for doc_ids in (tokenizer(list(documents), add_special_tokens=False)["input_ids"] if documents else []):
        ids += [tokenizer.bos_token_id, *doc_ids, tokenizer.eos_token_id]
    block = cfg.pretrain_block_size
    n_blocks = len(ids) // block
    if n_blocks == 0 or cfg.pretrain_steps == 0:
        return []
    data = torch.tensor(ids[: n_blocks * block]).view(n_blocks, block)
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.pretrain_lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 10) * max(0.1, 1 - s / max(cfg.pretrain_steps, 1))
    )

    def next_batch(step: int) -> dict[str, Any]:
        batch = data[torch.randint(0, n_blocks, (cfg.pretrain_batch_size,), generator=gen)]
        return {"input_ids": batch, "labels": batch}

    return adamw_steps(model, next_batch, cfg.pretrain_steps, opt, sched)


def adamw_steps(model: Any, next_batch: Callable[[int], dict[str, Any]], steps: int, opt: Any,
                sched: Any) -> list[float]:
    """The tiny stand-ins' plain training loop (Sec. 2.2's "pretrained" backbone): one clipped AdamW step per batch
    of `next_batch(step)` (model inputs with labels); the model is left in eval mode; the losses."""
    import torch

    model.train()
    losses = []
    for step in range(steps):
        loss = model(**next_batch(step)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
    model.eval()
    return losses


def build_tiny_backbone(cache_dir: str | os.PathLike, cfg: TinyBackboneConfig | None = None) -> Path:
    """Build (or reuse) the tiny 'pretrained' LLaMA stand-in under cache_dir/<hash of cfg + corpus>/ (Section 2.2).

    Tokenizer trained on every language of the corpus; model 'pretrained' on English-dominant text,
    so it is English-strong and weak elsewhere, like LLaMA-2. Same config and seed give identical weights.
    """
    import torch
    from transformers import LlamaForCausalLM

    cfg = cfg or TinyBackboneConfig()
    texts = _corpus_texts(_corpus_root(cfg))
    pretraining = _pretraining_texts(_corpus_root(cfg), cfg)
    digest = _corpus_digest({**texts, **({"<pretraining>": pretraining} if pretraining else {})})
    key = stable_hash({"cfg": cfg.model_dump(exclude={"corpus_dir"}), "corpus": digest, "v": _FORMAT_VERSION})
    target = Path(cache_dir) / key
    if (target / "backbone.json").exists():
        return target
    torch.manual_seed(cfg.seed)
    all_text = [line for lang in sorted(texts) for line in texts[lang]] + pretraining
    tokenizer = train_tokenizer(all_text, vocab_size=cfg.vocab_size)
    config = tiny_llama_config(
        tokenizer,
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_heads,
        max_position_embeddings=cfg.max_position_embeddings,
    )
    threads = torch.get_num_threads()
    try:  # a model this small gains little from threads on a shared CPU (the mini world v2 uses 2)
        torch.set_num_threads(cfg.pretrain_threads)
        with torch.random.fork_rng():
            torch.manual_seed(cfg.seed)
            model = LlamaForCausalLM(config)
            losses = _pretrain(model, tokenizer, pretraining or _pretrain_documents(texts, cfg), cfg)
    finally:
        torch.set_num_threads(threads)
    fix_pad_token(model, tokenizer)
    model.generation_config.do_sample = False
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".{key}."))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        atomic_write_json(
            tmp / "backbone.json",
            {"config": cfg.model_dump(), "key": key, "parameters": count_parameters(model), "pretrain_losses": losses},
        )
        try:
            os.replace(tmp, target)
        except OSError:  # another process built it first: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
