"""Stage-2 masked examples, stage-1 packing (Sec. 4), prefix-LM and mixture-of-denoisers (App. A, objectives_appa)."""

import numpy as np
import pytest
import torch

from alma_core.recipe.denoising import mixture_of_denoisers_example, prefix_lm_example, span_corruption_mask
from alma_core.recipe.objectives import (
    IGNORE_INDEX,
    RightPadCollator,
    encode_prompt,
    pack_documents,
    parallel_example,
    parallel_examples,
)
from alma_core.recipe.prompts import translation_prompt
from alma_core.standins.tiny_backbone import train_tokenizer

TEXTS = [
    "Translate this from German to English:\nGerman: Guten Morgen.\nEnglish: Good morning.",
    "Translate this from English to Chinese:\nEnglish: Hello.\nChinese: 你好。",
    "Der Hund läuft schnell über die Wiese und bellt laut.",
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Weather today is sunny with light wind from the west.",
] * 20


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(TEXTS, vocab_size=400)


def _label_tokens(example):
    return [t for t in example["labels"] if t != IGNORE_INDEX]


def test_labels_are_exactly_target_plus_eos(tok):
    ex = parallel_example(tok, "de", "en", "Guten Morgen.", "Good morning.")
    labels = _label_tokens(ex)
    assert tok.decode(labels) == "Good morning." + tok.eos_token
    assert labels[-1] == tok.eos_token_id
    assert ex["input_ids"][0] == tok.bos_token_id and ex["labels"][0] == IGNORE_INDEX
    prompt = translation_prompt("de", "en", "Guten Morgen.")
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    # BOS and EVERY prompt token (including the final ':') are masked; the official code leaves ':' in.
    assert ex["labels"][: 1 + n_prompt] == [IGNORE_INDEX] * (1 + n_prompt)
    assert ex["labels"][1 + n_prompt] != IGNORE_INDEX
    assert tok.decode(ex["input_ids"], skip_special_tokens=True) == prompt + "Good morning."
    assert len(ex["input_ids"]) == len(ex["labels"]) == len(ex["attention_mask"])


def test_labels_zh_target(tok):
    ex = parallel_example(tok, "en", "zh", "Hello.", "你好。")
    assert tok.decode(_label_tokens(ex)) == "你好。" + tok.eos_token


def test_pad_must_differ_from_eos(tok):
    bad = train_tokenizer(TEXTS[:5], vocab_size=300)
    bad.pad_token = bad.eos_token
    with pytest.raises(ValueError, match="must exist and differ from eos_token_id"):
        parallel_example(bad, "de", "en", "a", "b")


def test_overlong_example_truncates_source_keeps_suffix_and_eos(tok):
    source = " ".join(["Der Hund läuft schnell über die Wiese."] * 60)
    with pytest.warns(UserWarning, match="truncating the source"):
        ex = parallel_example(tok, "de", "en", source, "Good morning.", max_length=64)
    assert len(ex["input_ids"]) <= 64
    text = tok.decode(ex["input_ids"], skip_special_tokens=True)
    assert "\nEnglish:Good morning." in text and text.startswith("Translate this from German to English:\nGerman: Der")
    assert tok.decode(_label_tokens(ex)) == "Good morning." + tok.eos_token


def test_overlong_target_is_cut_but_keeps_eos_and_a_label(tok):
    target = " ".join(["The quick brown fox jumps."] * 40)
    with pytest.warns(UserWarning):
        ex = parallel_example(tok, "de", "en", "Hallo", target, max_length=48)
    assert len(ex["input_ids"]) == 48 and ex["labels"][-1] == tok.eos_token_id
    assert len(_label_tokens(ex)) >= 2


def test_encode_prompt_budget_never_cuts_suffix(tok):
    source = "The quick brown fox jumps over the lazy dog. " * 50
    ids, truncated = encode_prompt(tok, "en", "de", source, max_prompt_tokens=40)
    assert truncated and len(ids) <= 40
    assert tok.decode(ids, skip_special_tokens=True).endswith("\nGerman:")
    full, cut = encode_prompt(tok, "en", "de", "Hello.")
    assert (
        not cut
        and full
        == [tok.bos_token_id] + tok(translation_prompt("en", "de", "Hello."), add_special_tokens=False)["input_ids"]
    )
    with pytest.raises(ValueError, match="template alone needs"):
        encode_prompt(tok, "en", "de", source, max_prompt_tokens=5)


def test_both_directions(tok):
    examples = parallel_examples(tok, [("Hallo.", "Hello."), ("Danke.", "Thanks.")], ("de", "en"))
    assert len(examples) == 4
    decoded = [tok.decode(_label_tokens(e), skip_special_tokens=True) for e in examples]
    assert decoded == ["Hello.", "Hallo.", "Thanks.", "Danke."]
    assert "from English to German" in tok.decode(examples[1]["input_ids"])
    only = parallel_examples(tok, [("Hello.", "Hallo.")], ("en", "de"), directions=("xx-en",))
    assert tok.decode(_label_tokens(only[0]), skip_special_tokens=True) == "Hello."
    with pytest.raises(ValueError, match="must pair English"):
        parallel_examples(tok, [("a", "b")], ("de", "cs"))


def test_empty_segment_rejected(tok):
    with pytest.raises(ValueError, match="empty source or target"):
        parallel_example(tok, "de", "en", "Hallo", "  ")


def test_pack_documents_blocks(tok):
    docs = ["The quick brown fox jumps over the lazy dog."] * 30
    blocks = pack_documents(tok, docs, block_size=32)
    assert blocks and all(len(b["input_ids"]) == 32 for b in blocks)
    assert all(b["labels"] == b["input_ids"] for b in blocks)
    stream = [t for b in blocks for t in b["input_ids"]]
    assert stream[0] == tok.bos_token_id
    assert stream.count(tok.bos_token_id) >= 10 and stream.count(tok.eos_token_id) >= 10
    per_doc = 2 + len(tok(docs[0], add_special_tokens=False)["input_ids"])
    assert len(blocks) == (30 * per_doc) // 32


def test_prefix_lm_and_collator_mask(tok):
    ex = prefix_lm_example(tok, "de", "en", "Guten Morgen.", "Good morning.")
    assert ex["labels"][ex["prefix_length"] - 1] == IGNORE_INDEX and ex["labels"][ex["prefix_length"]] != IGNORE_INDEX
    short = prefix_lm_example(tok, "de", "en", "Hallo.", "Hi.")
    batch = RightPadCollator(tok.pad_token_id)([ex, short])
    mask = batch["attention_mask"]
    assert mask.shape == (2, 1, len(ex["input_ids"]), len(ex["input_ids"]))
    p = short["prefix_length"]
    allowed = mask[1, 0] == 0
    assert allowed[0, p - 1]  # first prompt token sees the last prompt token: bidirectional prefix
    assert not allowed[p, p + 1]  # target tokens stay causal
    assert not allowed[0, len(short["input_ids"])]  # padding keys are masked
    assert batch["input_ids"][1, -1] == tok.pad_token_id and batch["labels"][1, -1] == IGNORE_INDEX


def test_right_padding_collator(tok):
    a = parallel_example(tok, "de", "en", "Guten Morgen.", "Good morning.")
    b = parallel_example(tok, "de", "en", "Ja.", "Yes.")
    batch = RightPadCollator(tok.pad_token_id, pad_to_multiple_of=8)([a, b])
    assert batch["input_ids"].shape[1] % 8 == 0
    assert batch["input_ids"][1, 0] == tok.bos_token_id  # right padding: content starts at 0
    assert batch["attention_mask"][1].tolist() == [1] * len(b["input_ids"]) + [0] * (
        batch["input_ids"].shape[1] - len(b["input_ids"])
    )


def test_span_corruption_rates():
    rng = np.random.default_rng(0)
    masks = [span_corruption_mask(200, 3.0, 0.15, rng) for _ in range(50)]
    assert abs(np.mean([m.mean() for m in masks]) - 0.15) < 0.01
    spans = [np.sum(np.diff(np.concatenate([[0], m.astype(int)])) == 1) for m in masks]
    assert abs(np.mean([m.sum() for m in masks]) / np.mean(spans) - 3.0) < 0.5
    extreme = span_corruption_mask(400, 32.0, 0.25, rng)
    assert abs(extreme.mean() - 0.25) < 0.01


def test_mixture_of_denoisers_draws_and_targets(tok):
    rng = np.random.default_rng(1)
    kinds = {"R": 0, "X": 0, "S": 0}
    for _ in range(400):
        ex = mixture_of_denoisers_example(
            tok, "de", "en", "Der Hund läuft schnell über die Wiese.", "The dog runs fast over the meadow.", rng
        )
        head = tok.decode(ex["input_ids"][:6], skip_special_tokens=True)
        kind = "R" if head.startswith("[R]") else "X" if head.startswith("[X]") else "S"
        kinds[kind] += 1
        assert ex["labels"][-1] == tok.eos_token_id and "prefix_length" in ex
        assert all(label == IGNORE_INDEX for label in ex["labels"][: ex["prefix_length"]])
        if kind != "S":
            assert "<extra_id_0>" in tok.decode(ex["input_ids"])
    assert abs(kinds["R"] / 400 - 0.25) < 0.06 and abs(kinds["X"] / 400 - 0.25) < 0.06
    assert abs(kinds["S"] / 400 - 0.5) < 0.07


def test_model_trains_on_collated_prefix_lm_batch(tok):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=2, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(cfg)
    rng = np.random.default_rng(0)
    feats = [mixture_of_denoisers_example(tok, "de", "en", "Guten Morgen.", "Good morning.", rng) for _ in range(4)]
    loss = model(**RightPadCollator(tok.pad_token_id)(feats)).loss
    assert torch.isfinite(loss)
    loss.backward()


# ---- per-architecture behaviour on the rehearsal stand-ins (local Hugging Face cache under the real ids)

FAMILIES = [
    "meta-llama/Llama-2-7b-hf",
    "mosaicml/mpt-7b",
    "facebook/opt-6.7b",
    "bigscience/bloom-7b1",
    "tiiuae/falcon-7b",
]


def _hub_tokenizer(repo_id):
    from transformers import AutoTokenizer

    from alma_core.runs.modeling import fix_pad_token

    tokenizer = AutoTokenizer.from_pretrained(repo_id)
    fix_pad_token(None, tokenizer)
    return tokenizer


@pytest.mark.parametrize("repo_id", FAMILIES)
def test_training_prompt_equals_generation_prompt(local_hub, repo_id):
    """BOS only where the tokenizer adds one (LLaMA, OPT), never where it does not (MPT, BLOOM, Falcon)."""
    from alma_core.recipe.objectives import prompt_start_ids
    from alma_core.runs.generate import build_prompts

    tok = _hub_tokenizer(repo_id)
    ex = parallel_example(tok, "de", "en", "Guten Morgen.", "Good morning.")
    n_prompt = sum(label == IGNORE_INDEX for label in ex["labels"])
    prompts, lengths = build_prompts(tok, ["Guten Morgen."], "de", "en")
    fed = tok(prompts, padding=True)["input_ids"][0]  # what translate() feeds the model
    assert ex["input_ids"][:n_prompt] == fed and lengths == [n_prompt]
    assert prompt_start_ids(tok) == ([tok.bos_token_id] if repo_id.split("/")[0] in ("meta-llama", "facebook") else [])
    block = pack_documents(tok, ["The quick brown fox jumps over the lazy dog."] * 4, block_size=16)[0]["input_ids"]
    assert (
        block[: len(prompt_start_ids(tok))] == prompt_start_ids(tok)
        and block[len(prompt_start_ids(tok))] != tok.bos_token_id
    )


def _changed(example, index):
    ids = list(example["input_ids"])
    ids[index] = 40 if ids[index] != 40 else 41
    return {**example, "input_ids": ids}


@pytest.mark.parametrize(
    "repo_id", ["meta-llama/Llama-2-7b-hf", "mosaicml/mpt-7b", "facebook/opt-6.7b", "tiiuae/falcon-7b"]
)
def test_prefix_lm_mask_per_architecture(local_hub, repo_id):
    """App. A prefix-LM: prompt tokens see each other both ways, target tokens never see later tokens, pads are
    ignored."""
    from alma_core.runs.modeling import load_backbone

    model, tok = load_backbone(repo_id)
    collate = RightPadCollator(tok.pad_token_id, model_config=model.config)
    a = prefix_lm_example(tok, "de", "en", "Guten Morgen, wie geht es dir heute?", "Good morning, how are you today?")
    b = prefix_lm_example(tok, "de", "en", "Ja.", "Yes.")

    def logits(features):
        batch = collate(features)
        batch.pop("labels")
        with torch.no_grad():
            return model(**batch).logits

    base = logits([a, b])
    p, n = a["prefix_length"], len(a["input_ids"])
    j = p + 2  # a target token
    later = logits([_changed(a, j), b])
    assert torch.allclose(later[0, :j], base[0, :j], atol=1e-5), f"{repo_id}: a later token changed earlier logits"
    assert not torch.allclose(later[0, j:n], base[0, j:n])
    assert torch.allclose(later[1], base[1], atol=1e-5)
    prompt = logits([_changed(a, p - 2), b])  # a late prompt token
    assert not torch.allclose(prompt[0, 0], base[0, 0]), f"{repo_id}: the prefix is not bidirectional"
    alone = logits([b])
    assert torch.allclose(alone[0], base[1, : len(b["input_ids"])], atol=1e-5), f"{repo_id}: padding leaks in"


def test_prefix_lm_refuses_models_that_cannot_take_a_4d_mask(tok):
    from transformers import FalconConfig

    from alma_core.recipe.objectives import prefix_lm_mask_style

    ex = prefix_lm_example(tok, "de", "en", "Hallo.", "Hi.")
    with pytest.raises(ValueError, match="'bloom'.*ALiBi.*objective 'clm'"):
        RightPadCollator(tok.pad_token_id, model_config="bloom")([ex])
    with pytest.raises(ValueError, match="'falcon'.*ALiBi"):
        prefix_lm_mask_style(FalconConfig(alibi=True))
    plain = {k: v for k, v in ex.items() if k != "prefix_length"}
    assert RightPadCollator(tok.pad_token_id, model_config="bloom")([plain])["attention_mask"].dim() == 2  # CLM is fine
