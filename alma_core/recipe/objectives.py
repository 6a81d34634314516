"""Training examples for the recipe's objectives (Section 4, Appendix A).

- Stage 2, CLM with the prompt masked (Section 4.2, Figure 2): `parallel_example`, `parallel_examples`.
- Stage 1, packed monolingual blocks with loss on every token (Section 4.1): `pack_documents`.
- Appendix A's 4D prefix-LM attention mask (`prefix_lm_attention_mask`), which the collator builds; the
  App. A examples (prefix-LM, span corruption, mixture-of-denoisers) are alma_core.recipe.denoising.
- Right-padding collation for training (`RightPadCollator`); left padding is for generation only.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from alma_core.recipe.languages import get_language
from alma_core.recipe.prompts import PromptStyle, prompt_parts

if TYPE_CHECKING:  # torch is imported where tensors are built, so building examples needs no torch import
    import torch

__all__ = [
    "IGNORE_INDEX",
    "check_special_tokens",
    "text_ids",
    "encode_prompt",
    "prompt_start_ids",
    "prefix_lm_mask_style",
    "prefix_lm_attention_mask",
    "parallel_example",
    "parallel_examples",
    "pack_documents",
    "RightPadCollator",
]

IGNORE_INDEX = -100
Direction = Literal["xx-en", "en-xx"]

def check_special_tokens(tokenizer: Any) -> None:
    """Fail fast unless EOS exists and pad != EOS (a pad equal to EOS masks EOS, so it is never learned)."""
    if tokenizer.eos_token_id is None:
        raise ValueError("tokenizer has no EOS token; set tokenizer.eos_token before building examples")
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        raise ValueError(
            f"tokenizer pad_token_id ({tokenizer.pad_token_id}) must exist and differ from eos_token_id "
            f"({tokenizer.eos_token_id}); use <unk> (id 0 for LLaMA) as pad (runs.modeling.load_backbone does)"
        )


def text_ids(tokenizer: Any, text: str) -> list[int]:
    """Token ids of `text` without special tokens (Sec. 4)."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def prompt_start_ids(tokenizer: Any) -> list[int]:
    """The special ids the tokenizer itself puts before a text: [BOS] for LLaMA and OPT, [] for MPT, BLOOM, Falcon.

    Training sequences start with exactly these, so a training prompt is token for token the prompt generation
    feeds the model (generation tokenizes with the tokenizer's own special tokens) (Sec. 4.2).
    """
    plain = text_ids(tokenizer, "a")
    full = list(tokenizer("a")["input_ids"])
    for start in range(len(full) - len(plain) + 1):
        if full[start : start + len(plain)] == plain:
            return full[:start]
    return []


def _bos(tokenizer: Any) -> list[int]:
    """The ids a sequence starts with: [BOS] only where the tokenizer itself prepends it (`prompt_start_ids`)."""
    return prompt_start_ids(tokenizer)


def encode_prompt(
    tokenizer: Any,
    src: str,
    tgt: str,
    source: str,
    *,
    max_prompt_tokens: int | None = None,
    style: PromptStyle = "english",
    shots: Sequence[tuple[str, str]] = (),
) -> tuple[list[int], bool]:
    """BOS + prompt token ids, truncating inside the source so the `\\n{Tgt}:` suffix always survives (Sec. 4.2).

    Returns (ids, truncated). The prompt is tokenized as one string, exactly as generation sees it.
    """
    before, after = prompt_parts(src, tgt, style=style, shots=shots)
    ids = _bos(tokenizer) + text_ids(tokenizer, before + source + after)
    if max_prompt_tokens is None or len(ids) <= max_prompt_tokens:
        return ids, False
    fixed = len(_bos(tokenizer)) + len(text_ids(tokenizer, before + after))
    if fixed >= max_prompt_tokens:
        raise ValueError(
            f"the prompt template alone needs {fixed} tokens, more than max_prompt_tokens={max_prompt_tokens}; "
            "raise the budget (max_source_length) or use fewer shots"
        )
    source_ids = text_ids(tokenizer, source)
    keep = max(0, max_prompt_tokens - fixed)
    while True:
        cut = tokenizer.decode(source_ids[:keep], skip_special_tokens=True)
        ids = _bos(tokenizer) + text_ids(tokenizer, before + cut + after)
        if len(ids) <= max_prompt_tokens or keep == 0:
            return ids, True
        keep -= 1


def parallel_example(
    tokenizer: Any,
    src: str,
    tgt: str,
    source: str,
    target: str,
    max_length: int = 512,
    *,
    style: PromptStyle = "english",
    shots: Sequence[tuple[str, str]] = (),
) -> dict[str, list[int]]:
    """One stage-2 example: BOS + prompt + target + EOS, loss only on target + EOS (Section 4.2, Figure 2).

    Unlike the official code, the prompt's last token is masked too. Over-long examples are cut
    inside the source first (the suffix and EOS are never lost), then at the end of the target.
    """
    check_special_tokens(tokenizer)
    if not source.strip() or not target.strip():
        raise ValueError(f"empty source or target in {src}->{tgt} example: {source!r} -> {target!r}")
    prompt, _ = encode_prompt(tokenizer, src, tgt, source, style=style, shots=shots)
    target_ids = _target_ids(tokenizer, src, tgt, source, target, style=style, shots=shots)
    if len(prompt) + len(target_ids) + 1 > max_length:
        warnings.warn(
            f"{src}->{tgt} example of {len(prompt) + len(target_ids) + 1} tokens exceeds max_length={max_length}; "
            "truncating the source (prompt suffix and EOS kept)",
            stacklevel=2,
        )
        budget = max(max_length - len(target_ids) - 1, 1)
        try:
            prompt, _ = encode_prompt(tokenizer, src, tgt, source, max_prompt_tokens=budget, style=style, shots=shots)
        except ValueError:
            prompt, _ = encode_prompt(tokenizer, src, tgt, "", style=style, shots=shots)
        target_ids = target_ids[: max(max_length - len(prompt) - 1, 0)]
        if not target_ids:
            raise ValueError(
                f"max_length={max_length} leaves no room for any target token after the {len(prompt)}-token "
                "prompt template; raise max_length"
            )
    input_ids = prompt + target_ids + [tokenizer.eos_token_id]
    labels = [IGNORE_INDEX] * len(prompt) + target_ids + [tokenizer.eos_token_id]
    return {"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "labels": labels}


def _target_ids(
    tokenizer: Any,
    src: str,
    tgt: str,
    source: str,
    target: str,
    *,
    style: PromptStyle,
    shots: Sequence[tuple[str, str]],
) -> list[int]:
    """Target tokens as they fall after the prompt when `prompt + target` is tokenized as one string."""
    before, after = prompt_parts(src, tgt, style=style, shots=shots)
    prompt_ids = text_ids(tokenizer, before + source + after)
    joint = text_ids(tokenizer, before + source + after + target)
    if joint[: len(prompt_ids)] == prompt_ids and len(joint) > len(prompt_ids):
        return joint[len(prompt_ids):]
    return text_ids(tokenizer, target)


def parallel_examples(
    tokenizer: Any,
    pairs: Iterable[tuple[str, str]],
    pair: tuple[str, str],
    directions: Sequence[Direction] = ("xx-en", "en-xx"),
    max_length: int = 512,
    *,
    style: PromptStyle = "english",
) -> list[dict[str, list[int]]]:
    """Stage-2 examples for a language pair, one per pair per requested direction (Section 4.2).

    `pair` names the languages of each (first, second) tuple, e.g. ("de", "en"); one must be English.
    """
    first, second = pair
    for code in pair:
        get_language(code)
    if "en" not in pair or first == second:
        raise ValueError(f"language pair {pair} must pair English with another language, e.g. ('de', 'en')")
    xx = second if first == "en" else first
    unknown = set(directions) - {"xx-en", "en-xx"}
    if unknown:
        raise ValueError(f"unknown direction(s) {sorted(unknown)}; use 'xx-en' and/or 'en-xx'")
    examples = []
    for a, b in pairs:
        text = {first: a, second: b}
        for direction in directions:
            src, tgt = (xx, "en") if direction == "xx-en" else ("en", xx)
            examples.append(parallel_example(tokenizer, src, tgt, text[src], text[tgt], max_length, style=style))
    return examples


def pack_documents(tokenizer: Any, documents: Iterable[str], block_size: int = 512) -> list[dict[str, list[int]]]:
    """Stage-1 blocks: each document as BOS (where the tokenizer adds one) + text + EOS, cut into `block_size` blocks
    (Sec. 4.1).

    Every token is in the loss; the last incomplete block is dropped, as in the official code.
    """
    check_special_tokens(tokenizer)
    if block_size < 2:
        raise ValueError(f"block_size must be at least 2, got {block_size}")
    stream: list[int] = []
    for document in documents:
        if document.strip():
            stream += _bos(tokenizer) + text_ids(tokenizer, document) + [tokenizer.eos_token_id]
    blocks = []
    for start in range(0, len(stream) - block_size + 1, block_size):
        ids = stream[start : start + block_size]
        blocks.append({"input_ids": ids, "attention_mask": [1] * block_size, "labels": list(ids)})
    return blocks


MaskStyle = Literal["additive", "binary"]

# How each model class reads a 4D attention mask in transformers 4.57 (stack-notes: test causality per architecture):
# LLaMA/Mistral (SDPA, eager), OPT and Falcon (no ALiBi) add it to the scores (0 = attend, min = blocked);
# the native MPT model takes 1 = attend and inverts it. BLOOM (and ALiBi Falcon) build ALiBi from a 2D mask.
_MASK_STYLES: dict[str, MaskStyle] = {
    "llama": "additive",
    "mistral": "additive",
    "opt": "additive",
    "falcon": "additive",
    "mpt": "binary",
}
_NEEDS_POSITION_IDS = frozenset({"opt"})  # derive positions from a 2D mask, so they are given explicitly


def _model_type(model_config: Any) -> str | None:
    return model_config if isinstance(model_config, str) else getattr(model_config, "model_type", None)


def prefix_lm_mask_style(model_config: Any) -> MaskStyle:
    """How the model reads a 4D prefix-LM mask (App. A): 'additive' (0 = attend, min = blocked) or 'binary' (1 =
    attend).

    `model_config` is a transformers config (or its model_type). Model types that cannot take a 4D mask are refused.
    """
    model_type = _model_type(model_config)
    alibi_falcon = model_type == "falcon" and bool(getattr(model_config, "alibi", False))
    if model_type not in _MASK_STYLES or alibi_falcon:
        why = "its ALiBi bias is built from a 2D mask" if model_type == "bloom" or alibi_falcon else "it is not checked"
        raise ValueError(
            f"prefix-LM / mixture-of-denoisers (Appendix A) need a 4D attention mask, and model type {model_type!r} "
            f"cannot take one here ({why}); supported: {sorted(_MASK_STYLES)}. Fix: use objective 'clm' with this "
            f"model "
            "or pick a supported backbone"
        )
    return _MASK_STYLES[model_type]


class RightPadCollator:
    """Pad a training batch on the RIGHT (left-padded bf16 batches went NaN; stack-notes) (Section 4, App. A).

    Features carrying `prefix_length` get a 4D attention mask: bidirectional inside the prefix, causal after it,
    padding keys masked (prefix-LM and MoD of Appendix A), written the way `model_config`'s architecture reads it
    (None: the LLaMA convention).
    """

    def __init__(
        self, pad_token_id: int, label_pad: int = IGNORE_INDEX, pad_to_multiple_of: int | None = None,
        model_config: Any = None,
    ):
        self.pad_token_id = pad_token_id
        self.label_pad = label_pad
        self.pad_to_multiple_of = pad_to_multiple_of
        self.model_config = model_config

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        import torch  # here, not at module level: building examples and params validation need no torch

        width = max(len(f["input_ids"]) for f in features)
        if self.pad_to_multiple_of:
            width = -(-width // self.pad_to_multiple_of) * self.pad_to_multiple_of

        def pad(key: str, value: int) -> torch.Tensor:
            return torch.tensor([list(f[key]) + [value] * (width - len(f[key])) for f in features], dtype=torch.long)

        batch = {
            "input_ids": pad("input_ids", self.pad_token_id),
            "attention_mask": pad("attention_mask", 0),
            "labels": pad("labels", self.label_pad),
        }
        if any("prefix_length" in f for f in features):
            config = self.model_config if self.model_config is not None else "llama"
            prefix = torch.tensor([int(f.get("prefix_length", 0)) for f in features])
            batch["attention_mask"] = prefix_lm_attention_mask(
                batch["attention_mask"], prefix, prefix_lm_mask_style(config)
            )
            if _model_type(config) in _NEEDS_POSITION_IDS:
                batch["position_ids"] = torch.arange(width).expand(len(features), width).clone()
        return batch


def prefix_lm_attention_mask(
    padding_mask: torch.Tensor, prefix_length: torch.Tensor, style: MaskStyle = "additive"
) -> torch.Tensor:
    """[B,1,T,T] mask: causal, plus full attention among the first `prefix_length` tokens, padding keys blocked (App.
    A).

    style 'additive': 0 = attend, float32 min = blocked (LLaMA, OPT, Falcon); 'binary': 1 = attend, 0 = blocked (MPT).
    """
    import torch

    batch, width = padding_mask.shape
    pos = torch.arange(width)
    causal = pos[None, :] <= pos[:, None]
    in_prefix = pos[None, :, None].lt(prefix_length[:, None, None]) & pos[None, None, :].lt(
        prefix_length[:, None, None]
    )
    allowed = (causal[None] | in_prefix) & padding_mask.bool()[:, None, :]
    if style == "binary":
        return allowed[:, None].long()
    if style != "additive":
        raise ValueError(f"unknown mask style {style!r}; use 'additive' or 'binary'")
    mask = torch.zeros(batch, 1, width, width)
    return mask.masked_fill(~allowed[:, None], torch.finfo(torch.float32).min)
