"""A tiny, untrained COMET checkpoint for offline runs (Section 5.1's COMET, scaled down for tests and the tiny
profile).

The real Unbabel/wmt22-comet-da (XLM-R large, 2.3 GB) cannot be downloaded here. This builds a
COMET `RegressionMetric` with the same architecture family on a 2-layer XLM-R encoder whose
tokenizer is a hand-built Unigram vocabulary, with seeded random weights. Its scores exercise
the real `comet` API end to end and are identical run to run, but they do NOT measure translation
quality: numbers from it are plumbing checks, never comparable to the paper's COMET.
"""

from __future__ import annotations

import json
import os
import string
from pathlib import Path

import yaml

from alma_core.io import atomic_write_text, stable_hash

__all__ = ["TINY_COMET_SEED", "TINY_COMET_REVISION", "build_tiny_comet", "tiny_comet_digest",
           "install_tiny_comet_as_hf_cache"]

TINY_COMET_SEED = 20231020
# A fixed 40-hex "commit" for the fake hub snapshots (any hex string works for an offline cache).
TINY_COMET_REVISION = "7a1e0c0ffee0000000000000000000000000a1ba"

_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
DIGEST = "weights.sha256"


def _vocabulary() -> list[tuple[str, float]]:
    """The hand-built Unigram vocabulary: specials, characters of the paper's scripts, a few words."""
    chars = (
        string.ascii_letters
        + string.digits
        + string.punctuation
        + "äöüßÄÖÜčďěňřšťůžýáéíóúČŘŠŽÁÉÍÓÚðþæÐÞÆ"
        + "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
        + "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年你好谢再见翻译英文中文，。！？"
        + "，。、「」"
    )
    words = ["▁the", "▁and", "▁of", "▁to", "▁is", "▁der", "▁die", "▁und", "▁je", "▁og", "▁и", "▁в", "ing", "en", "er"]
    vocab: list[tuple[str, float]] = [(tok, 0.0) for tok in _SPECIALS]
    seen = set()
    for i, piece in enumerate(words):
        vocab.append((piece, -2.0 - 0.01 * i))
        seen.add(piece)
    for i, ch in enumerate(dict.fromkeys(chars)):
        for piece in (ch, "▁" + ch):
            if piece not in seen:
                vocab.append((piece, -5.0 - 0.001 * i - (0.5 if piece.startswith("▁") else 0.0)))
                seen.add(piece)
    vocab.append(("▁", -4.0))
    vocab.append(("<mask>", 0.0))
    return vocab


def _save_encoder(encoder_dir: Path) -> None:
    """Write the tiny XLM-R encoder: tokenizer files and a config (weights live in the COMET checkpoint)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import XLMRobertaConfig, XLMRobertaTokenizerFast

    vocab = _vocabulary()
    backend = Tokenizer(models.Unigram(vocab, unk_id=3, byte_fallback=False))
    backend.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(r"\s+", " ")])
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tokenizer = XLMRobertaTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=512,
    )
    tokenizer.save_pretrained(encoder_dir)
    config = XLMRobertaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=514,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
        type_vocab_size=1,
    )
    config.save_pretrained(encoder_dir)


def _save_checkpoint(model_dir: Path, pretrained_model: str) -> Path:
    """Build a seeded RegressionMetric on the tiny encoder and save it as `checkpoints/model.ckpt` + `hparams.yaml`."""
    import pytorch_lightning as pl
    import torch
    from comet.models import RegressionMetric

    state = torch.random.get_rng_state()
    torch.manual_seed(TINY_COMET_SEED)
    try:
        model = RegressionMetric(
            pretrained_model=pretrained_model,
            load_pretrained_weights=False,
            hidden_sizes=[16],
            layer="mix",
            pool="avg",
            dropout=0.0,
            final_activation="sigmoid",  # bounded like a real score: 0-100 after x100
            local_files_only=True,
        )
        # A larger scale on the estimator weights spreads the untrained scores so tests can tell systems apart.
        with torch.no_grad():
            for param in model.estimator.parameters():
                param.mul_(4.0)
    finally:
        torch.random.set_rng_state(state)
    hparams = dict(model.hparams)
    _write_digest(model_dir, model.state_dict(), hparams)
    ckpt = model_dir / "checkpoints" / "model.ckpt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    tmp = ckpt.with_suffix(".ckpt.tmp")
    torch.save(
        {"state_dict": model.state_dict(), "hyper_parameters": hparams, "pytorch-lightning_version": pl.__version__},
        tmp,
    )
    os.replace(tmp, ckpt)
    atomic_write_text(model_dir / "hparams.yaml", yaml.safe_dump(hparams, sort_keys=True))
    return ckpt


def _write_digest(model_dir: Path, state: dict, hparams: dict) -> str:
    """sha256 of the weights and settings, not of the file (its hparams name the encoder's folder): the identity
    that keys evaluation jobs, the same for the same checkpoint wherever the store lies (Section 5.1 COMET)."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(state):
        digest.update(name.encode())
        digest.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    digest.update(json.dumps({k: v for k, v in hparams.items() if k != "pretrained_model"}, sort_keys=True,
                             default=str).encode())
    atomic_write_text(model_dir / DIGEST, digest.hexdigest() + "\n")
    return digest.hexdigest()


def tiny_comet_digest(checkpoint: str | os.PathLike) -> str:
    """The weights digest of a tiny COMET checkpoint built by build_tiny_comet (see _write_digest)."""
    return (Path(checkpoint).parent.parent / DIGEST).read_text(encoding="utf-8").strip()


def build_tiny_comet(out_dir: str | os.PathLike) -> Path:
    """Build (once; reused if complete) a tiny COMET model; returns its `checkpoints/model.ckpt` path.

    Layout: `{out_dir}/encoder/` (tiny XLM-R tokenizer + config), `{out_dir}/checkpoints/model.ckpt`,
    `{out_dir}/hparams.yaml`. `comet.load_from_checkpoint(path)` loads it offline.
    """
    out_dir = Path(out_dir).resolve()
    ckpt = out_dir / "checkpoints" / "model.ckpt"
    marker = out_dir / "BUILD_OK"
    key = stable_hash({"vocab": _vocabulary(), "seed": TINY_COMET_SEED, "layout": 2})
    if ckpt.is_file() and marker.is_file() and marker.read_text().strip() == key:
        return ckpt
    encoder_dir = out_dir / "encoder"
    encoder_dir.mkdir(parents=True, exist_ok=True)
    _save_encoder(encoder_dir)
    _save_checkpoint(out_dir, str(encoder_dir))
    atomic_write_text(marker, key + "\n")
    return ckpt


def _snapshot(hub: Path, repo_id: str) -> Path:
    """Create `models--{org}--{name}/snapshots/<rev>` with `refs/main` pointing to it; return the snapshot dir."""
    repo_dir = hub / ("models--" + repo_id.replace("/", "--"))
    atomic_write_text(repo_dir / "refs" / "main", TINY_COMET_REVISION)
    snapshot = repo_dir / "snapshots" / TINY_COMET_REVISION
    snapshot.mkdir(parents=True, exist_ok=True)
    return snapshot


def install_tiny_comet_as_hf_cache(
    hf_home: str | os.PathLike, repo_id: str = "Unbabel/wmt22-comet-da", encoder_id: str = "xlm-roberta-large"
) -> Path:
    """Lay the tiny COMET out as a Hugging Face cache under `hf_home` so `comet.download_model(repo_id)` works offline.

    Writes `$HF_HOME/hub/models--Unbabel--wmt22-comet-da/snapshots/<rev>/{hparams.yaml,checkpoints/model.ckpt}`
    (the checkpoint names `xlm-roberta-large` as its encoder, like the real one) and
    `$HF_HOME/hub/models--xlm-roberta-large/snapshots/<rev>/` with the tiny encoder's files.
    Returns `hf_home`; use it with `HF_HOME=<hf_home> HF_HUB_OFFLINE=1`.
    """
    hf_home = Path(hf_home).resolve()
    hub = hf_home / "hub"
    encoder_snapshot = _snapshot(hub, encoder_id)
    _save_encoder(encoder_snapshot)
    # The checkpoint is built while the encoder is reachable by path, then its hparams name the hub id.
    model_snapshot = _snapshot(hub, repo_id)
    _save_checkpoint(model_snapshot, str(encoder_snapshot))
    ckpt = model_snapshot / "checkpoints" / "model.ckpt"
    _rename_encoder(ckpt, model_snapshot / "hparams.yaml", encoder_id)
    return hf_home


def _rename_encoder(ckpt: Path, hparams_file: Path, encoder_id: str) -> None:
    """Point a saved checkpoint's `pretrained_model` at a hub id (as in the real wmt22-comet-da)."""
    import torch

    blob = torch.load(ckpt, map_location="cpu", weights_only=True)
    blob["hyper_parameters"]["pretrained_model"] = encoder_id
    tmp = ckpt.with_suffix(".ckpt.tmp")
    torch.save(blob, tmp)
    os.replace(tmp, ckpt)
    atomic_write_text(hparams_file, yaml.safe_dump(blob["hyper_parameters"], sort_keys=True))

