"""Backbone families: what changes when the recipe moves to another decoder (Sections 2.2, 5.2 on newer backbones).

The recipe itself (Figure 2 prompt, loss on target + EOS, LoRA on the feed-forward output projection) is the
same for every family; what differs is read from the model's config and tokenizer, never hard-coded per hub id:
whether the tokenizer prepends a BOS, which token ends a sequence, which token may pad (never EOS), the name of
the feed-forward output projection LoRA wraps, the attention kernel, the context length, the saved dtype and
whether input and output embeddings are tied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Family",
    "FAMILIES",
    "LoraTargetError",
    "family_of",
    "lora_targets",
    "load_kwargs",
    "check_lora_targets",
    "conventions",
    "load_conventions",
    "example_row",
    "fix_pad_token",
]

# Tokens a family ships for padding and never trains on: GPT-NeoX/MPT, Llama-3.1, Llama-3.0 (first reserved token)
_SPARE_PADS = ("<pad>", "<|padding|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_0|>")

class LoraTargetError(ValueError):
    """LoRA target modules that the model does not have (another family names its projections differently)."""


@dataclass(frozen=True)
class Family:
    """One architecture family (config.model_type): the paper's LoRA target under its name, attention, notes."""

    model_type: str
    lora_targets: tuple[str, ...]
    attn_implementation: str | None = None  # None = the transformers default (sdpa)
    note: str = ""


FAMILIES: dict[str, Family] = {f.model_type: f for f in (
    Family("llama", ("down_proj",), note="LLaMA-1/2 and ALMA: SentencePiece, <s> prepended, no pad (pad <unk>); "
           "Llama-3.x: tiktoken-style BPE, <|begin_of_text|> prepended, EOS <|end_of_text|>, pad "
           "<|finetune_right_pad_id|>"),
    Family("mistral", ("down_proj",), note="LLaMA-2's tokenizer conventions; sliding-window attention (4096)"),
    Family("qwen2", ("down_proj",), note="no BOS; pad == EOS (<|endoftext|>) as shipped, so a <pad> is added inside "
           "the padded embedding matrix (no resize)"),
    Family("gemma2", ("down_proj",), attn_implementation="eager",
           note="<bos> must be prepended; logit soft-capping (attention 50, final 30), which only eager attention "
                "applies; tied embeddings"),
    Family("mpt", ("down_proj",), note="GPT-NeoX tokenizer, no BOS, EOS <|endoftext|>"),
    Family("opt", ("fc2",), note="</s> prepended as BOS"),
    Family("bloom", ("dense_4h_to_h",), note="no BOS, pad <pad>"),
    Family("falcon", ("dense_4h_to_h",), note="no BOS, no pad"),
)}


def family_of(config: Any) -> Family:
    """The family of a model config (by `model_type`); an unknown type gets LLaMA's projection name and defaults."""
    model_type = str(getattr(config, "model_type", "") or "")
    return FAMILIES.get(model_type, Family(model_type or "unknown", ("down_proj",)))


def lora_targets(config: Any) -> list[str]:
    """The module names of the feed-forward output projection, LoRA's only target in the paper (Section 5.2)."""
    return list(family_of(config).lora_targets)


def load_kwargs(config: Any) -> dict[str, Any]:
    """Extra `from_pretrained` arguments a family needs: eager attention for Gemma-2 (its soft-capping)."""
    attn = family_of(config).attn_implementation
    return {"attn_implementation": attn} if attn else {}


def check_lora_targets(model: Any, targets: Sequence[str]) -> None:
    """Fail before wrapping unless every LoRA target names a linear module of `model` (suffix match, as PEFT does)."""
    names = [name for name, _ in model.named_modules()]
    missing = [t for t in targets if not any(name == t or name.endswith("." + t) for name in names)]
    if missing:
        config = getattr(model, "config", None)
        family = family_of(config)
        raise LoraTargetError(
            f"lora_target_modules {list(targets)}: {missing} not found in this {family.model_type} model. "
            f"Fix: set lora_target_modules: {list(family.lora_targets)} (the {family.model_type} name of the "
            "feed-forward output projection the paper's LoRA wraps)"
        )


def _token(tokenizer: Any, which: str) -> str:
    """`<tok> (id)` of a special token, or `none`."""
    token, token_id = getattr(tokenizer, f"{which}_token", None), getattr(tokenizer, f"{which}_token_id", None)
    return "none" if token is None else f"{token} ({token_id})"


def _prepends(tokenizer: Any) -> list[str]:
    """The special tokens the tokenizer itself puts before a text."""
    plain = list(tokenizer("a", add_special_tokens=False)["input_ids"])
    full = list(tokenizer("a")["input_ids"])
    start = next((i for i in range(len(full) - len(plain) + 1) if full[i: i + len(plain)] == plain), 0)
    return tokenizer.convert_ids_to_tokens(full[:start])


def conventions(config: Any, tokenizer: Any) -> dict[str, Any]:
    """One row of what differs between families, read from a checkpoint's config and tokenizer alone (Sec. 5.2).

    No weights are loaded (a paper-scale backbone is 8-9B parameters); `tokenizer` after `fix_pad_token(None, ...)`
    shows the pad the runs use.
    """
    family = family_of(config)
    keys = ("sliding_window", "use_sliding_window", "attn_logit_softcapping", "final_logit_softcapping",
            "tie_word_embeddings", "max_position_embeddings", "max_seq_len", "n_positions", "vocab_size", "dtype")
    get = {key: getattr(config, key, None) for key in keys}.get
    window = get("sliding_window") if get("use_sliding_window") is not False else None
    capping = [v for v in (get("attn_logit_softcapping"), get("final_logit_softcapping")) if v]
    return {
        "architecture": (getattr(config, "architectures", None) or [type(config).__name__])[0],
        "prepends": " ".join(_prepends(tokenizer)) or "nothing",
        "BOS": _token(tokenizer, "bos"),
        "EOS": _token(tokenizer, "eos"),
        "pad": _token(tokenizer, "pad"),
        "pad != EOS": tokenizer.pad_token_id is not None and tokenizer.pad_token_id != tokenizer.eos_token_id,
        "tokenizer": type(tokenizer).__name__,
        "vocab (tokenizer / embedding rows)": f"{len(tokenizer)} / {get('vocab_size')}",
        "tied embeddings": bool(get("tie_word_embeddings")),
        "context": get("max_position_embeddings") or get("max_seq_len") or get("n_positions"),
        "sliding window": window,
        "soft-capping": " / ".join(str(v) for v in capping) or None,
        "attention": load_kwargs(config).get("attn_implementation", "sdpa (default)"),
        "saved dtype": str(get("dtype")).replace("torch.", "") if get("dtype") is not None else None,
        "LoRA targets": ", ".join(family.lora_targets),
    }


def load_conventions(name_or_path: str, *, local_files_only: bool = False) -> tuple[dict[str, Any], Any, Any]:
    """(conventions row with the shipped pad beside the one used, config, tokenizer with pad != EOS) of a backbone.

    Used by notebooks/porting_backbones.ipynb."""
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(name_or_path, local_files_only=local_files_only)
    tokenizer = AutoTokenizer.from_pretrained(name_or_path, local_files_only=local_files_only)
    shipped = _token(tokenizer, "pad")
    fix_pad_token(None, tokenizer)
    row = conventions(config, tokenizer)
    return {**row, "pad": f"{row['pad']} (shipped: {shipped})" if shipped != row["pad"] else row["pad"]}, config, \
        tokenizer


def example_row(tokenizer: Any, example: dict[str, list[int]]) -> dict[str, Any]:
    """How one stage-2 example starts and ends, and what its loss covers (Sec. 4.2: target + EOS only)."""
    ids, labels = example["input_ids"], example["labels"]
    kept = [label for label in labels if label != -100]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    return {"first tokens": " ".join(tokens[:3]), "last tokens": " ".join(tokens[-3:]),
            "prompt tokens (masked)": len(ids) - len(kept), "loss tokens (target + EOS)": len(kept),
            "last loss token": tokenizer.convert_ids_to_tokens(kept[-1]),
            "BOS count": ids.count(tokenizer.bos_token_id) if tokenizer.bos_token_id is not None else 0}


def fix_pad_token(model: Any, tokenizer: Any) -> int:
    """Make pad != EOS (official handling; Sec. 5.2): pad -> <unk> (LLaMA id 0), else a pad token the family ships
    unused, else a new <pad>; returns the pad id.

    With pad == EOS the EOS label is masked with the padding and the model never learns to stop.
    """
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        vocab = tokenizer.get_vocab()
        spare = next((t for t in _SPARE_PADS if t in vocab and vocab[t] != tokenizer.eos_token_id), None)
        if tokenizer.unk_token is not None and tokenizer.unk_token_id != tokenizer.eos_token_id:
            tokenizer.pad_token = tokenizer.unk_token
        elif spare is not None:  # MPT's <|padding|>, Llama-3.1's <|finetune_right_pad_id|>: shipped, unused
            tokenizer.pad_token = spare
        else:  # Qwen2.5 (pad == EOS): a new <pad> lands in the padded embedding rows, no resize
            tokenizer.add_special_tokens({"pad_token": "<pad>"})
            if model is not None and model.get_input_embeddings().num_embeddings < len(tokenizer):
                model.resize_token_embeddings(len(tokenizer))
    pad = int(tokenizer.pad_token_id)
    if model is not None:
        for config in (model.config, getattr(model, "generation_config", None)):
            if config is not None:
                config.pad_token_id = pad
                if tokenizer.bos_token_id is not None:
                    config.bos_token_id = tokenizer.bos_token_id
                config.eos_token_id = tokenizer.eos_token_id
    return pad

