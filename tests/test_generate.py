"""Generation: batch-size invariance, resume, source-side truncation, forced plain beam search, loading."""

import copy
import json

import pytest
import torch

from alma_core.recipe.prompts import prompt_parts
from alma_core.runs.generate import (
    GenerationError,
    PromptBudgetError,
    ResumeMismatchError,
    build_prompts,
    load_translator,
    plan_batches,
    read_translations,
    translate,
)

SOURCES = [
    "Guten Morgen.",
    "Die Katze sitzt auf der Matte und schläft den ganzen Tag.",
    "Ja.",
    "Wie geht es dir heute, mein Freund?",
    "Ich habe keine Zeit.",
    "Das Wetter ist schön.",
    "Wir fahren morgen mit dem Zug nach Berlin, wenn es nicht regnet.",
]
FAST = dict(max_new_tokens=10, progress=False)


@pytest.fixture
def model(tiny_random_llama):
    return tiny_random_llama


@pytest.fixture
def tok(tiny_tokenizer):
    return tiny_tokenizer


class CountingGenerate:
    """Wraps model.generate: counts calls, records inputs/configs, optionally fails on call `fail_at`."""

    def __init__(self, model, fail_at=None):
        self.inner, self.fail_at, self.calls, self.configs, self.shapes = model.generate, fail_at, 0, [], []

    def __call__(self, **kwargs):
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise KeyboardInterrupt("simulated interruption")
        self.configs.append(kwargs["generation_config"])
        self.shapes.append(tuple(kwargs["input_ids"].shape))
        return self.inner(**kwargs)


@pytest.mark.parametrize("beams", [1, 2])
def test_batch_size_one_and_n_give_identical_outputs(model, tok, beams):
    one = translate(model, tok, SOURCES, "de", "en", num_beams=beams, batch_size=1, **FAST)
    many = translate(model, tok, SOURCES, "de", "en", num_beams=beams, batch_size=4, **FAST)
    assert one == many and len(one) == len(SOURCES)
    assert len(set(one)) > 1  # outputs depend on the source (order was restored correctly)
    reversed_run = translate(model, tok, SOURCES[::-1], "de", "en", num_beams=beams, batch_size=3, **FAST)
    assert reversed_run == one[::-1]


def test_five_beams_small_case_and_left_padding_restored(model, tok):
    tok.padding_side = "right"
    try:
        one = translate(
            model, tok, SOURCES[:3], "en", "zh", num_beams=5, batch_size=1, max_new_tokens=8, progress=False
        )
        three = translate(
            model, tok, SOURCES[:3], "en", "zh", num_beams=5, batch_size=3, max_new_tokens=8, progress=False
        )
        assert tok.padding_side == "right"
    finally:
        tok.padding_side = "left"
    assert one == three


def test_batches_are_length_sorted_and_padding_is_dynamic(model, tok, monkeypatch):
    spy = CountingGenerate(model)
    monkeypatch.setattr(model, "generate", spy)
    translate(model, tok, SOURCES, "de", "en", num_beams=1, batch_size=2, **FAST)
    _, lengths = build_prompts(tok, SOURCES, "de", "en")
    widths = [shape[1] for shape in spy.shapes]
    assert widths == sorted(widths, reverse=True)  # longest batch first, then shorter ones
    assert widths[0] == max(lengths) and widths[-1] == min(lengths)  # padded to the batch, not to 256


def test_plan_batches_by_token_budget():
    lengths = [10, 40, 20, 40, 5, 5, 5, 30]
    batches = plan_batches(lengths, num_beams=2, max_new_tokens=10, batch_size=None, token_budget=250)
    assert batches == [[1, 3], [7, 2, 0], [4, 5, 6]]  # longest first; rows = 250 // (2 x (longest + 10))
    assert sorted(k for b in batches for k in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) == 1 or 2 * len(batch) * (max(lengths[k] for k in batch) + 10) <= 250
    capped = plan_batches(lengths, num_beams=2, max_new_tokens=10, batch_size=2, token_budget=250)
    assert max(len(b) for b in capped) == 2
    # a prompt over the budget on its own still runs, alone; a count alone is the old batching
    assert plan_batches([500, 3], num_beams=5, max_new_tokens=10, batch_size=None, token_budget=100) == [[0], [1]]
    assert plan_batches(lengths, num_beams=5, max_new_tokens=10, batch_size=3) == [[1, 3, 7], [2, 0, 4], [5, 6]]
    with pytest.raises(GenerationError, match="token_budget"):
        plan_batches(lengths, num_beams=1, max_new_tokens=1, batch_size=None)


def test_token_budget_batching_gives_outputs_identical_to_one_by_one(model, tok, monkeypatch):
    sources = SOURCES * 2 + ["Nein.", "Das ist gut, danke schön."]
    one = translate(model, tok, sources, "de", "en", num_beams=5, batch_size=1, **FAST)
    spy = CountingGenerate(model)
    monkeypatch.setattr(model, "generate", spy)
    budget = 5 * 6 * (20 + FAST["max_new_tokens"])
    by_budget = translate(model, tok, sources, "de", "en", num_beams=5, batch_size=None, token_budget=budget, **FAST)
    assert by_budget == one and len(set(one)) > 1
    rows = [shape[0] for shape in spy.shapes]
    widths = [shape[1] for shape in spy.shapes]
    assert len(set(rows)) > 1 and max(rows) > 1  # batch sizes follow the prompt lengths
    assert widths == sorted(widths, reverse=True) and rows[0] <= rows[-1]  # long prompts in small batches first
    assert all(r == 1 or 5 * r * (w + FAST["max_new_tokens"]) <= budget for r, w in zip(rows, widths))
    with pytest.raises(GenerationError, match="must be >= 1"):
        translate(model, tok, sources, "de", "en", token_budget=0, **FAST)


def test_sampling_is_forced_off_even_when_generation_config_says_otherwise(model, tok, monkeypatch):
    sampled = copy.deepcopy(model)
    sampled.generation_config.do_sample = True
    sampled.generation_config.temperature = 0.9
    sampled.generation_config.top_p = 0.6
    spy = CountingGenerate(sampled)
    monkeypatch.setattr(sampled, "generate", spy)
    torch.manual_seed(1)
    first = translate(sampled, tok, SOURCES, "de", "en", num_beams=2, batch_size=4, **FAST)
    torch.manual_seed(2)
    second = translate(sampled, tok, SOURCES, "de", "en", num_beams=2, batch_size=4, **FAST)
    reference = translate(model, tok, SOURCES, "de", "en", num_beams=2, batch_size=4, **FAST)
    assert first == second == reference
    assert all(c.do_sample is False and c.num_beams == 2 and c.temperature == 1.0 for c in spy.configs)
    assert sampled.generation_config.do_sample is True  # the model's own config is left untouched


def test_long_source_is_truncated_inside_the_source_never_the_suffix(model, tok, monkeypatch):
    words = ("Das ist ein sehr langer Satz über das Wetter in Berlin und die Züge " * 80).split()[:1000]
    long_source = " ".join(words)
    before, after = prompt_parts("de", "en")
    prompts, lengths = build_prompts(tok, [long_source, "Ja."], "de", "en", max_prompt_tokens=64)
    assert prompts[0].startswith(before + "Das ist ein") and prompts[0].endswith(after)
    assert after == "\nEnglish:" and 56 <= lengths[0] <= 64
    assert len(tok(prompts[0])["input_ids"]) == lengths[0]
    assert prompts[1] == before + "Ja." + after  # short sources are untouched
    spy = CountingGenerate(model)
    monkeypatch.setattr(model, "generate", spy)
    out = translate(model, tok, [long_source], "de", "en", num_beams=1, max_prompt_tokens=64, **FAST)
    assert len(out) == 1 and spy.shapes[0][1] <= 64
    with pytest.raises(PromptBudgetError, match="raise max_prompt_tokens"):
        build_prompts(tok, [long_source], "de", "en", max_prompt_tokens=5)


def test_interrupted_run_resumes_to_the_same_file(model, tok, monkeypatch, tmp_path):
    full = tmp_path / "full.jsonl"
    expected = translate(model, tok, SOURCES, "de", "en", num_beams=2, batch_size=2, output_path=full, **FAST)
    assert [json.loads(line)["index"] for line in full.read_text().splitlines()] == list(range(len(SOURCES)))

    part = tmp_path / "part.jsonl"
    spy = CountingGenerate(model, fail_at=3)
    monkeypatch.setattr(model, "generate", spy)
    with pytest.raises(KeyboardInterrupt):
        translate(model, tok, SOURCES, "de", "en", num_beams=2, batch_size=2, output_path=part, **FAST)
    assert len(read_translations(part, SOURCES)) == 4  # two batches were flushed before the interruption
    with part.open("a", encoding="utf-8") as handle:
        handle.write('{"index": 6, "source": "Wir fah')  # a line cut mid-write
    monkeypatch.undo()
    spy = CountingGenerate(model)
    monkeypatch.setattr(model, "generate", spy)
    resumed = translate(model, tok, SOURCES, "de", "en", num_beams=2, batch_size=2, output_path=part, **FAST)
    assert spy.calls == 2  # only the 3 missing sentences: batches of 2 + 1
    assert resumed == expected and part.read_bytes() == full.read_bytes()
    # A finished file is reused without generating anything.
    assert translate(model, tok, SOURCES, "de", "en", output_path=part, **FAST) == expected and spy.calls == 2


def test_resume_refuses_a_file_from_other_sources(model, tok, tmp_path):
    path = tmp_path / "out.jsonl"
    translate(model, tok, SOURCES[:2], "de", "en", num_beams=1, output_path=path, **FAST)
    with pytest.raises(ResumeMismatchError, match=r"out.jsonl:1: .*another output_path or delete"):
        translate(model, tok, ["Etwas anderes.", "Noch was."], "de", "en", output_path=path, **FAST)
    path.write_text("not json\n" + path.read_text(), encoding="utf-8")
    with pytest.raises(GenerationError, match=r"out.jsonl:1: not an output record"):
        read_translations(path, SOURCES[:2])


def test_progress_bar_reports_sentences_per_second(model, tok, capsys):
    translate(model, tok, SOURCES[:2], "de", "en", num_beams=1, max_new_tokens=4, progress=True)
    assert "sent/s" in capsys.readouterr().err


def test_load_translator_full_weights_and_lora_adapter(model, tok, tmp_path):
    from alma_core.runs.modeling import apply_lora

    base_dir = tmp_path / "base"
    model.save_pretrained(base_dir)
    tok.save_pretrained(base_dir)
    loaded, loaded_tok = load_translator(base_dir)
    args = dict(num_beams=2, batch_size=4, **FAST)
    base_out = translate(model, tok, SOURCES, "de", "en", **args)
    assert translate(loaded, loaded_tok, SOURCES, "de", "en", **args) == base_out

    torch.manual_seed(3)
    lora = apply_lora(copy.deepcopy(model))
    with torch.no_grad():
        for name, param in lora.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.5)  # a trained-looking adapter (B starts at zero)
    lora.eval()
    lora_out = translate(lora, tok, SOURCES, "de", "en", **args)
    lora.save_pretrained(tmp_path / "adapter")
    with_adapter, adapter_tok = load_translator(base_dir, adapter=tmp_path / "adapter")
    assert translate(with_adapter, adapter_tok, SOURCES, "de", "en", **args) == lora_out
    assert lora_out != base_out
    with pytest.raises(GenerationError, match="no adapter_config.json"):
        load_translator(base_dir, adapter=tmp_path)


def test_translate_with_every_hub_family(local_hub) -> None:
    """Each backbone family of Sec. 2 decodes through the same translate() (Falcon's tokenizer adds token_type_ids)."""
    from alma_core.runs.generate import load_translator, translate

    for model_id in (
        "tiiuae/falcon-7b",
        "mosaicml/mpt-7b",
        "facebook/opt-6.7b",
        "bigscience/bloom-7b1",
        "meta-llama/Llama-2-7b-hf",
    ):
        model, tokenizer = load_translator(model_id)
        hyps = translate(
            model,
            tokenizer,
            ["Guten Morgen.", "Das Haus ist rot."],
            "de",
            "en",
            num_beams=2,
            batch_size=2,
            max_new_tokens=3,
            progress=False,
        )
        assert len(hyps) == 2 and all(isinstance(h, str) for h in hyps), model_id
