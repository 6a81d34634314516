"""Today's backbones (Llama-3.1, Qwen2.5, Gemma-2, Mistral): the recipe's prompt, mask, padding, LoRA and stopping on
each family's real classes and tokenizer conventions, through the rehearsal's local hub (alma_core.runs.backbones)."""

from __future__ import annotations

import pytest
import torch

from alma_core.recipe.objectives import IGNORE_INDEX, RightPadCollator, parallel_example, prompt_start_ids
from alma_core.recipe.prompts import translation_prompt
from alma_core.runs.backbones import LoraTargetError, check_lora_targets, conventions, load_conventions, lora_targets
from alma_core.runs.generate import beam_search_config, translate
from alma_core.runs.modeling import apply_lora, load_backbone, trainable_names

# hub id: (architecture, BOS the tokenizer prepends or None, EOS, pad as shipped or None, pad after load_backbone,
#          context length, tied embeddings)
MODERN = {
    "meta-llama/Llama-3.1-8B": ("LlamaForCausalLM", "<|begin_of_text|>", "<|end_of_text|>", None,
                                "<|finetune_right_pad_id|>", 131072, False),
    "Qwen/Qwen2.5-7B": ("Qwen2ForCausalLM", None, "<|endoftext|>", "<|endoftext|>", "<pad>", 131072, False),
    "google/gemma-2-9b": ("Gemma2ForCausalLM", "<bos>", "<eos>", "<pad>", "<pad>", 8192, True),
    "mistralai/Mistral-7B-v0.1": ("MistralForCausalLM", "<s>", "</s>", None, "<unk>", 32768, False),
}
SOURCE, TARGET = "Die Katze sitzt auf der Matte.", "The cat sits on the mat."


@pytest.fixture
def family(local_hub, request):
    """(hub id, model, tokenizer) of one family, loaded as every job loads a backbone."""
    model, tok = load_backbone(request.param)
    return request.param, model, tok


pytestmark = pytest.mark.parametrize("family", list(MODERN), indirect=True, ids=lambda r: r.split("/")[1])


def test_shipped_tokenizer_conventions(family):
    from transformers import AutoTokenizer

    repo_id, model, _ = family
    shipped = AutoTokenizer.from_pretrained(repo_id)  # as on the hub, before load_backbone fixes the pad
    architecture, bos, eos, pad, _, context, tied = MODERN[repo_id]
    assert type(model).__name__ == architecture
    assert shipped.eos_token == eos and shipped.pad_token == pad
    assert shipped.convert_ids_to_tokens(prompt_start_ids(shipped)) == ([bos] if bos else [])
    assert (model.config.max_position_embeddings, bool(model.config.tie_word_embeddings)) == (context, tied)


def test_pad_is_never_eos_and_needs_no_new_embedding(family):
    from transformers import AutoConfig

    repo_id, model, tok = family
    assert tok.pad_token == MODERN[repo_id][4] and tok.pad_token_id != tok.eos_token_id
    assert model.config.pad_token_id == model.generation_config.pad_token_id == tok.pad_token_id
    rows = model.get_input_embeddings().num_embeddings
    assert tok.pad_token_id < rows == AutoConfig.from_pretrained(repo_id).vocab_size  # no resize, no new weights


def test_prompt_masked_labels_cover_exactly_target_and_the_familys_eos(family):
    repo_id, _, tok = family
    example = parallel_example(tok, "de", "en", SOURCE, TARGET)
    ids, labels = example["input_ids"], example["labels"]
    target_ids = tok(TARGET, add_special_tokens=False)["input_ids"]
    kept = [label for label in labels if label != IGNORE_INDEX]
    assert kept[-1] == tok.eos_token_id == tok.convert_tokens_to_ids(MODERN[repo_id][2])
    assert tok.decode(kept[:-1]).strip() == TARGET and len(kept) - 1 in (len(target_ids), len(target_ids) + 1)
    first = labels.index(kept[0])
    assert all(label == IGNORE_INDEX for label in labels[:first]) and labels[first:] == ids[first:]
    # the prompt part is token for token what generation feeds the model: the family's own BOS once, no EOS
    prompt = tok(translation_prompt("de", "en", SOURCE))["input_ids"]
    assert ids[: len(prompt)] == prompt and len(prompt) == first
    bos = MODERN[repo_id][1]
    assert ids.count(tok.bos_token_id) == 1 and ids[0] == tok.bos_token_id if bos else tok.bos_token_id is None
    assert tok.eos_token_id not in ids[:-1] and tok.pad_token_id not in ids


def test_collated_batch_pads_with_pad_and_trains(family):
    _, model, tok = family
    examples = [parallel_example(tok, "de", "en", SOURCE, TARGET), parallel_example(tok, "en", "de", "Hi.", "Hallo.")]
    batch = RightPadCollator(tok.pad_token_id, model_config=model.config)(examples)
    short = len(examples[1]["input_ids"])
    assert (batch["input_ids"][1, short:] == tok.pad_token_id).all()
    assert (batch["labels"][1, short:] == IGNORE_INDEX).all() and batch["labels"][1, short - 1] == tok.eos_token_id
    loss = model(**batch).loss
    loss.backward()
    assert torch.isfinite(loss)


def test_lora_wraps_the_familys_down_proj_only(family):
    _, model, _ = family
    assert lora_targets(model.config) == ["down_proj"]
    peft_model = apply_lora(model, target_modules=lora_targets(model.config))
    names = trainable_names(peft_model)
    assert names and all("lora_" in n and "down_proj" in n for n in names)
    assert len(names) == 2 * model.config.num_hidden_layers
    with pytest.raises(LoraTargetError, match="down_proj"):
        check_lora_targets(model, ["fc2"])


def _force(model, token_id):
    """Make `token_id` the argmax of every step (a hook on the output projection)."""
    def hook(_module, _inputs, output):
        output[..., token_id] += 100.0
        return output

    return model.get_output_embeddings().register_forward_hook(hook)


def test_generation_stops_at_the_familys_eos(family):
    repo_id, model, tok = family
    config = beam_search_config(model, tok, num_beams=2, max_new_tokens=6)
    assert config.eos_token_id == tok.eos_token_id and config.pad_token_id == tok.pad_token_id
    handle = _force(model, tok.eos_token_id)
    try:
        prompt = tok([translation_prompt("de", "en", SOURCE)], return_tensors="pt")
        out = model.generate(**prompt, generation_config=config)
        assert out.shape[1] == prompt["input_ids"].shape[1] + 1 and out[0, -1] == tok.eos_token_id
        assert translate(model, tok, [SOURCE], "de", "en", num_beams=2, max_new_tokens=6) == [""]
    finally:
        handle.remove()
    if repo_id == "meta-llama/Llama-3.1-8B":  # the chat model's <|eot_id|> is no stop token of the base model
        handle = _force(model, tok.convert_tokens_to_ids("<|eot_id|>"))
        try:
            out = model.generate(**prompt, generation_config=config)
            assert out.shape[1] == prompt["input_ids"].shape[1] + 6
        finally:
            handle.remove()


def test_conventions_row_reads_what_differs(family):
    from transformers import AutoConfig

    repo_id, model, tok = family
    row = conventions(AutoConfig.from_pretrained(repo_id), tok)
    assert load_conventions(repo_id)[0]["pad"].startswith(f"{tok.pad_token} (")
    architecture, bos, eos, _, pad, context, tied = MODERN[repo_id]
    assert row["architecture"] == architecture and row["context"] == context and row["tied embeddings"] is tied
    assert row["vocab (tokenizer / embedding rows)"] == f"{len(tok)} / {model.get_input_embeddings().num_embeddings}"
    assert row["prepends"] == (bos or "nothing") and row["EOS"].startswith(eos) and row["pad"].startswith(pad)
    assert row["pad != EOS"] is True and row["LoRA targets"] == "down_proj"
    gemma = repo_id == "google/gemma-2-9b"
    assert (row["attention"] == "eager") is gemma and (row["soft-capping"] == "50.0 / 30.0") is gemma
    assert row["saved dtype"] == ("float32" if gemma else "bfloat16")
