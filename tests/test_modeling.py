"""Tests of alma_core.runs.modeling: tokenizer specials, pad != EOS, the tiny backbone, LoRA on down_proj."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

from alma_core.runs.modeling import (
    ModelLoadError,
    apply_lora,
    backbone_info,
    count_parameters,
    count_trainable,
    load_backbone,
    trainable_names,
)
from alma_core.standins.hub import HUB_MODELS
from alma_core.standins.tiny_backbone import TinyBackboneConfig, build_tiny_backbone, tiny_llama_config


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    (root / "monolingual").mkdir()
    rng = random.Random(0)
    en = "the cat sat on a mat and the dog ran far away from the house".split()
    de = "die Katze sass auf der Matte und der Hund lief weit weg vom Haus".split()
    for lang, words, n in (("en", en, 300), ("de", de, 60)):
        lines = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 20))) for _ in range(n)]
        (root / "monolingual" / f"{lang}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_tokenizer_has_llama_specials(tiny_tokenizer):
    tok = tiny_tokenizer
    assert (tok.unk_token_id, tok.bos_token_id, tok.eos_token_id) == (0, 1, 2)
    assert tok.pad_token_id == 0 != tok.eos_token_id
    ids = tok("Die Katze sitzt.")["input_ids"]
    assert ids[0] == 1 and 2 not in ids  # BOS prepended, no EOS, like LLaMA
    assert tok("x", add_special_tokens=False)["input_ids"][0] != 1
    for text in ("Kötturinn situr á mottunni.", "猫坐在垫子上。", "German:Hallo\nEnglish:"):
        assert tok.decode(tok(text)["input_ids"], skip_special_tokens=True) == text


def test_tiny_llama_config_uses_tokenizer_ids(tiny_tokenizer):
    cfg = tiny_llama_config(tiny_tokenizer, num_hidden_layers=3)
    assert cfg.vocab_size == len(tiny_tokenizer) and cfg.num_hidden_layers == 3
    assert (cfg.pad_token_id, cfg.bos_token_id, cfg.eos_token_id) == (0, 1, 2)


def test_tiny_backbone_is_cached_and_deterministic(small_corpus, tmp_path):
    cfg = TinyBackboneConfig(corpus_dir=str(small_corpus), pretrain_steps=5, vocab_size=400)
    a = build_tiny_backbone(tmp_path / "a", cfg)
    b = build_tiny_backbone(tmp_path / "b", cfg)
    assert a.name == b.name  # key = hash of config + corpus
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    stamp = (a / "model.safetensors").stat().st_mtime_ns
    assert build_tiny_backbone(tmp_path / "a", cfg) == a and (a / "model.safetensors").stat().st_mtime_ns == stamp
    other = build_tiny_backbone(tmp_path / "a", cfg.model_copy(update={"seed": 1}))
    assert other != a and (other / "model.safetensors").read_bytes() != (a / "model.safetensors").read_bytes()
    info = backbone_info(a)
    assert len(info["pretrain_losses"]) == 5 and info["pretrain_losses"][-1] < info["pretrain_losses"][0]


def test_tiny_backbone_is_english_strong(tiny_backbone):
    """Stands in for LLaMA-2: pretrained mostly on English, so English text is far likelier than other text."""
    from alma_core.recipe.data import sample_data_dir

    model, tok = tiny_backbone
    mono = Path(sample_data_dir()) / "monolingual"

    def loss(lang: str) -> float:
        lines = [line for line in (mono / f"{lang}.txt").read_text(encoding="utf-8").splitlines() if line.strip()][:16]
        batch = tok(lines, return_tensors="pt", padding=True, truncation=True, max_length=64)
        labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
        with torch.no_grad():
            return float(model(**batch, labels=labels).loss)

    others = [p.stem for p in mono.glob("*.txt") if p.stem != "en"]
    assert others, "the sample corpus should hold non-English text"
    assert all(loss("en") < loss(lang) for lang in others)
    assert model.config.pad_token_id == tok.pad_token_id == 0 and tok.eos_token_id == 2


def test_load_backbone_sets_pad_not_eos(tiny_random_llama, tiny_tokenizer, tmp_path):
    tiny_random_llama.save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    cfg = tmp_path / "tokenizer_config.json"
    data = json.loads(cfg.read_text())
    data["pad_token"] = "</s>"  # HEAD-style pad = eos: must be undone
    cfg.write_text(json.dumps(data))
    (tmp_path / "special_tokens_map.json").unlink(missing_ok=True)
    model, tokenizer = load_backbone(tmp_path, local_files_only=True, dtype="bf16")
    assert tokenizer.pad_token_id == 0 != tokenizer.eos_token_id
    assert model.config.pad_token_id == model.generation_config.pad_token_id == 0
    assert model.dtype == torch.bfloat16


def test_load_backbone_missing_path_names_it(tmp_path):
    with pytest.raises(ModelLoadError, match="nope"):
        load_backbone(tmp_path / "nope")


def test_lora_trains_only_down_proj_adapters(tiny_tokenizer):
    from transformers import LlamaForCausalLM

    model = apply_lora(LlamaForCausalLM(tiny_llama_config(tiny_tokenizer)))
    names = trainable_names(model)
    assert len(names) == 2 * 2  # lora_A and lora_B in each of 2 layers
    assert all(".mlp.down_proj.lora_" in n for n in names)
    # down_proj: 256 -> 64; A is 16x256, B is 64x16, per layer
    assert count_trainable(model) == 2 * (16 * 256 + 64 * 16)
    assert count_trainable(model) < 0.1 * count_parameters(model)


# ---- hub ids resolve through the Hugging Face cache (rehearsal: tiny stand-ins under the real ids)

_FAMILY = {  # model class, tokenizer class, (bos, eos, pad after load_backbone), does the tokenizer prepend BOS
    "llama": ("LlamaForCausalLM", "LlamaTokenizerFast", (1, 2, 0), True),
    "mpt": ("MptForCausalLM", "GPTNeoXTokenizerFast", (0, 0, 1), False),
    "opt": ("OPTForCausalLM", "GPT2TokenizerFast", (2, 2, 1), True),
    "bloom": ("BloomForCausalLM", "BloomTokenizerFast", (1, 2, 3), False),
    "falcon": ("FalconForCausalLM", "PreTrainedTokenizerFast", (None, 11, None), False),
    # today's backbones: specials after the 768 BPE tokens (Llama-3.1, Qwen2.5), as in their real vocabularies
    "llama3": ("LlamaForCausalLM", "PreTrainedTokenizerFast", (768, 769, 772), True),
    "qwen2": ("Qwen2ForCausalLM", "Qwen2TokenizerFast", (None, 768, 777), False),
    "gemma2": ("Gemma2ForCausalLM", "GemmaTokenizerFast", (2, 1, 0), True),
    "mistral": ("MistralForCausalLM", "LlamaTokenizerFast", (1, 2, 0), True),
}


@pytest.mark.parametrize("spec", HUB_MODELS, ids=lambda s: s.repo_id)
def test_load_backbone_takes_hub_ids(local_hub, spec):
    model_class, tokenizer_class, (bos, eos, pad), adds_bos = _FAMILY[spec.family]
    model, tok = load_backbone(spec.repo_id)
    assert type(model).__name__ == model_class and type(tok).__name__ == tokenizer_class
    assert (tok.bos_token_id, tok.eos_token_id) == (bos, eos)
    assert tok.pad_token_id is not None and tok.pad_token_id != tok.eos_token_id
    assert pad is None or tok.pad_token_id == pad
    assert model.config.pad_token_id == model.generation_config.pad_token_id == tok.pad_token_id
    assert model.get_input_embeddings().num_embeddings >= len(tok)
    assert (tok("Hallo")["input_ids"][0] == tok.bos_token_id) is adds_bos
    assert model.dtype == torch.float32  # saved in fp16/bf16 like the real checkpoints; loaded as asked (default fp32)


def test_load_backbone_hub_id_in_requested_dtype(local_hub):
    model, _ = load_backbone("haoranxu/ALMA-7B", dtype="bf16")
    assert model.dtype == torch.bfloat16


def test_lora_adapter_id_loads_on_its_base(local_hub):
    from peft import PeftModel

    from alma_core.runs.generate import load_translator

    base, tok = load_backbone("haoranxu/ALMA-7B-Pretrain")
    model, _ = load_translator("haoranxu/ALMA-7B-Pretrain", adapter="haoranxu/ALMA-7B-Pretrain-LoRA", merge=False)
    assert isinstance(model, PeftModel)
    config = model.peft_config["default"]
    assert (config.r, config.lora_alpha, config.lora_dropout, sorted(config.target_modules)) == (
        16,
        32,
        0.05,
        ["down_proj"],
    )
    assert config.base_model_name_or_path == "haoranxu/ALMA-7B-Pretrain"
    ids = tok("Translate this from German to English:\nGerman: Hallo\nEnglish:", return_tensors="pt")
    with torch.no_grad():
        assert not torch.allclose(model(**ids).logits, base(**ids).logits)  # the adapter is not a no-op


def test_unknown_hub_id_offline_names_id_and_fix(local_hub):
    with pytest.raises(ModelLoadError, match=r"'haoranxu/ALMA-7B-R'.*HF_HUB_OFFLINE=1.*HF_HOME"):
        load_backbone("haoranxu/ALMA-7B-R")
    with pytest.raises(ModelLoadError, match=r"\./runs/nothing-here"):  # a relative path that does not exist
        load_backbone("runs/nothing-here")


def test_is_local_model_path(tmp_path, monkeypatch):
    from alma_core.runs.modeling import is_local_model_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "paper").mkdir(parents=True)
    assert is_local_model_path("runs/paper") and is_local_model_path("./x") and is_local_model_path("../x")
    assert is_local_model_path("/abs/x") and is_local_model_path("~/x") and is_local_model_path(tmp_path / "nope")
    assert not is_local_model_path("haoranxu/ALMA-7B") and not is_local_model_path("gpt2")
