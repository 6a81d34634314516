"""The rehearsal stand-ins' tokenizers and configs, one per backbone family (DESIGN.md, 'Proving the paper-scale
paths'; notebooks/porting_backbones.ipynb).

Each family keeps its real conventions at a tiny size: the tokenizer class, the special tokens and their ids,
whether a BOS is prepended, pad or none; the architecture class with its attention layout (GQA, sliding window,
soft-capping), RoPE settings, context length and tied or untied embeddings. Tokenizers are byte-level BPEs
trained on the given texts, so every script tokenizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

__all__ = ["Family", "family_tokenizer", "family_config"]

Family = Literal["llama", "mpt", "opt", "bloom", "falcon", "llama3", "qwen2", "gemma2", "mistral"]

_VOCAB = 768


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


def _with_specials_last(texts: Sequence[str], specials: Sequence[str]) -> Any:
    """A byte-level BPE whose special tokens come after the merges, as in tiktoken-style vocabularies."""
    tok = _bpe(texts, [])
    tok.add_special_tokens(list(specials))
    return tok


_LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                    "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
                    "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]


def _llama3_tokenizer(texts: Sequence[str]) -> Any:
    """Llama-3.x: PreTrainedTokenizerFast over a BPE, specials last, <|begin_of_text|> prepended by the
    post-processor, EOS <|end_of_text|>, no pad, no unk."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    backend = _with_specials_last(texts, _LLAMA3_SPECIALS)
    bos = _LLAMA3_SPECIALS[0]
    backend.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, backend.token_to_id(bos))]
    )
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token=bos, eos_token="<|end_of_text|>",
                                   model_input_names=["input_ids", "attention_mask"])


_QWEN2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_middle|>",
                   "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"]


def _qwen2_tokenizer(texts: Sequence[str]) -> Any:
    """Qwen2.5 (base): Qwen2TokenizerFast, specials last, no BOS, EOS and pad both <|endoftext|>, no unk."""
    from transformers import Qwen2TokenizerFast

    return Qwen2TokenizerFast(tokenizer_object=_with_specials_last(texts, _QWEN2_SPECIALS), unk_token=None,
                              bos_token=None, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                              additional_special_tokens=_QWEN2_SPECIALS[1:])


def _gemma2_tokenizer(texts: Sequence[str]) -> Any:
    """Gemma-2: GemmaTokenizerFast, <pad>=0 <eos>=1 <bos>=2 <unk>=3, <bos> prepended (required), pad <pad>."""
    from transformers import GemmaTokenizerFast

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"]
    return GemmaTokenizerFast(tokenizer_object=_bpe(texts, specials), pad_token="<pad>", eos_token="<eos>",
                              bos_token="<bos>", unk_token="<unk>", add_bos_token=True, add_eos_token=False,
                              additional_special_tokens=specials[4:])


def family_tokenizer(family: Family, texts: Sequence[str], pad_unk: bool = False) -> Any:
    """The family's tokenizer stand-in (Mistral-7B-v0.1 ships LLaMA-2's conventions: no pad)."""
    if family in ("llama", "mistral"):
        return _llama_tokenizer(texts, pad_unk)
    return {"mpt": _mpt_tokenizer, "opt": _opt_tokenizer, "bloom": _bloom_tokenizer, "falcon": _falcon_tokenizer,
            "llama3": _llama3_tokenizer, "qwen2": _qwen2_tokenizer, "gemma2": _gemma2_tokenizer}[family](texts)


def family_config(family: Family, hidden: int, max_positions: int, tokenizer: Any) -> Any:
    """A 2-layer config of the family's real class with the tokenizer's special ids (vocab padded to 64 like
    MPT/OPT)."""
    from transformers import BloomConfig, FalconConfig, LlamaConfig, MptConfig, OPTConfig

    h, vocab = hidden, len(tokenizer)
    if family in ("llama3", "qwen2", "gemma2", "mistral"):
        return _modern_config(family, hidden, max_positions, tokenizer)
    if family == "llama":
        return LlamaConfig(vocab_size=vocab, hidden_size=h, intermediate_size=3 * h, num_hidden_layers=2,
                           num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=max_positions,
                           rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False)
    padded = -(-vocab // 64) * 64
    if family == "mpt":
        return MptConfig(d_model=h, n_heads=4, n_layers=2, expansion_ratio=4, max_seq_len=max_positions,
                         vocab_size=padded, no_bias=True)
    if family == "opt":
        return OPTConfig(vocab_size=padded, hidden_size=h, ffn_dim=4 * h, num_hidden_layers=2, num_attention_heads=4,
                         max_position_embeddings=max_positions, word_embed_proj_dim=h, pad_token_id=1,
                         bos_token_id=2, eos_token_id=2)
    if family == "bloom":
        return BloomConfig(vocab_size=vocab, hidden_size=h, n_layer=2, n_head=4, bos_token_id=1, eos_token_id=2,
                           pad_token_id=3)
    return FalconConfig(vocab_size=vocab, hidden_size=h, num_hidden_layers=2, num_attention_heads=4,
                        new_decoder_architecture=False, multi_query=True, parallel_attn=True, alibi=False, bias=False,
                        bos_token_id=11, eos_token_id=11)


def _modern_config(family: Family, hidden: int, max_positions: int, tokenizer: Any) -> Any:
    """Llama-3.1 / Qwen2.5 / Gemma-2 / Mistral at 2 layers, with their GQA, RoPE, windows, soft-capping and ties."""
    from transformers import Gemma2Config, LlamaConfig, MistralConfig, Qwen2Config

    h, vocab, eos = hidden, len(tokenizer), tokenizer.eos_token_id
    common = dict(hidden_size=h, intermediate_size=3 * h, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=max_positions)
    if family == "llama3":
        return LlamaConfig(vocab_size=vocab, rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
                           rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                         "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
                           bos_token_id=tokenizer.bos_token_id, eos_token_id=eos, **common)
    if family == "qwen2":  # embedding rows padded past the tokenizer (152064 vs 151665 in the real one)
        return Qwen2Config(vocab_size=-(-(vocab + 1) // 128) * 128, rope_theta=1000000.0, rms_norm_eps=1e-6,
                           sliding_window=max_positions, use_sliding_window=False, max_window_layers=2,
                           tie_word_embeddings=False, bos_token_id=eos, eos_token_id=eos, **common)
    if family == "gemma2":
        return Gemma2Config(vocab_size=vocab, head_dim=h // 4, query_pre_attn_scalar=h // 4, sliding_window=4096,
                            attn_logit_softcapping=50.0, final_logit_softcapping=30.0, tie_word_embeddings=True,
                            hidden_activation="gelu_pytorch_tanh", pad_token_id=tokenizer.pad_token_id,
                            bos_token_id=tokenizer.bos_token_id, eos_token_id=eos, **common)
    return MistralConfig(vocab_size=vocab, sliding_window=4096, rope_theta=10000.0, rms_norm_eps=1e-5,
                         tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, **common)
