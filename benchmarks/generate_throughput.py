"""Sentences/s of alma_core.runs.generate vs the official evaluation's batching, same tiny model, same beams.

Official approach (fe1ixxu/ALMA, official-implementation.md section 5): every prompt left-padded to a
fixed 256 tokens, batches of 2 in file order. This project (`alma_core.runs.generate.translate`): prompts
sorted by length, batched by a token budget (rows x beams x (longest prompt + max_new_tokens) <=
TOKEN_BUDGET, `plan_batches`), padded to the longest prompt of each batch. Both decode with plain 5-beam
search and the same generation config; the outputs are asserted identical. One run each, on the
shipped sample test sets (the paper's 10 directions, 400 sentences).
Run: `.venv/bin/python benchmarks/generate_throughput.py` (no arguments, about 30 s on one CPU thread).
The last line is `speedup: <ours / official>`. The GPU counterpart, at the 1.1B shape: benchmarks/gpu_throughput.py.

What else transformers 4.57.6 offers for beam search, read in its generation/utils.py and tried on the tiny model:
* batch size is the lever (stack-notes: a decoding step costs about the same for 10 or 80 sequences), hence the
  token budget: rows x 5 beams x (longest prompt + max_new_tokens) tokens of KV cache per batch.
* `cache_implementation="static"` runs with beam search and gives the same outputs, but `_beam_search` calls the
  plain forward: the automatic torch.compile of a static cache (`get_compiled_call`) exists only in `_sample` and
  assisted decoding, and beam reordering (`reorder_cache`, index_select) replaces the cache tensors, so CUDA graphs
  cannot hold them. Without compilation it was slower here (0.26 s vs 0.22 s for 16 sentences). Not used.
* `prefill_chunk_size` is read only by `_sample`; `low_memory=True` (sequential beams) raises since the beam
  search refactor; assisted/speculative decoding needs num_beams=1; "offloaded" caches save memory, not time.
* `early_stopping` would stop beams sooner but changes outputs; kept at the model's default, like the official code.
"""

from __future__ import annotations

import time

import torch

from alma_core.recipe.data import sample_data_dir
from alma_core.recipe.languages import paper_directions
from alma_core.recipe.prompts import clean_output
from alma_core.recipe.testsets import read_test_set
from alma_core.runs.generate import beam_search_config, build_prompts, plan_batches, translate
from alma_core.standins.tiny_backbone import tiny_llama_config, train_tokenizer

NUM_BEAMS = 5
MAX_NEW_TOKENS = 16
OFFICIAL_PROMPT_LENGTH = 256
OFFICIAL_BATCH = 2
TOKEN_BUDGET = 32768  # a whole sample direction (40 prompts of <= 80 tokens, 5 beams) fits one batch


def official_translate(model, tokenizer, sources, src, tgt, *, num_beams: int = NUM_BEAMS,
                       max_new_tokens: int = MAX_NEW_TOKENS) -> list[str]:
    """The official batching: fixed 256-token left padding, right truncation, batches of 2, unsorted."""
    prompts, _ = build_prompts(tokenizer, sources, src, tgt, max_prompt_tokens=OFFICIAL_PROMPT_LENGTH)
    config = beam_search_config(model, tokenizer, num_beams=num_beams, max_new_tokens=max_new_tokens)
    padding_side, tokenizer.padding_side = tokenizer.padding_side, "left"
    device = next(model.parameters()).device
    outputs = []
    try:
        for start in range(0, len(prompts), OFFICIAL_BATCH):
            encoded = tokenizer(
                prompts[start : start + OFFICIAL_BATCH], return_tensors="pt", padding="max_length",
                max_length=OFFICIAL_PROMPT_LENGTH, truncation=True,
            ).to(device)
            encoded.pop("token_type_ids", None)
            with torch.inference_mode():
                generated = model.generate(**encoded, generation_config=config, use_model_defaults=False)
            texts = tokenizer.batch_decode(generated[:, OFFICIAL_PROMPT_LENGTH:], skip_special_tokens=True)
            outputs.extend(clean_output(t, tgt) for t in texts)
    finally:
        tokenizer.padding_side = padding_side
    return outputs


def main() -> None:
    """Time both approaches over the same sentences and print sentences/s and the speedup."""
    torch.manual_seed(0)
    torch.set_num_threads(1)  # a model this small runs fastest on one thread; also fairer on a shared machine
    root = sample_data_dir()
    jobs = []
    for src, tgt in paper_directions():
        sources, _ = read_test_set(root, src, tgt, fmt="json")
        jobs.append((src, tgt, sources))
    corpus = [line for _, _, sources in jobs for line in sources] + [
        line
        for f in sorted((root / "monolingual").glob("*.txt"))
        for line in f.read_text(encoding="utf-8").splitlines()
    ]
    tokenizer = train_tokenizer(corpus, vocab_size=1024)
    model = __import__("transformers").LlamaForCausalLM(tiny_llama_config(tokenizer)).eval()
    n = sum(len(s) for _, _, s in jobs)
    print(f"model: random tiny Llama ({sum(p.numel() for p in model.parameters()):,} params), {n} sentences, "
          f"{NUM_BEAMS} beams, max_new_tokens {MAX_NEW_TOKENS}, torch threads {torch.get_num_threads()}")

    batches = [len(plan_batches(build_prompts(tokenizer, s, src, tgt)[1], num_beams=NUM_BEAMS,
                                max_new_tokens=MAX_NEW_TOKENS, batch_size=None, token_budget=TOKEN_BUDGET))
               for src, tgt, s in jobs]
    ours_s = official_s = ours_cpu = official_cpu = 0.0
    ours, official = [], []
    for src, tgt, s in jobs:  # interleaved direction by direction: load from other processes hits both sides alike
        wall, cpu = time.perf_counter(), time.process_time()
        ours.append(translate(model, tokenizer, s, src, tgt, num_beams=NUM_BEAMS, batch_size=None,
                              token_budget=TOKEN_BUDGET, max_new_tokens=MAX_NEW_TOKENS, progress=False))
        ours_s, ours_cpu = ours_s + time.perf_counter() - wall, ours_cpu + time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        official.append(official_translate(model, tokenizer, s, src, tgt))
        official_s, official_cpu = official_s + time.perf_counter() - wall, official_cpu + time.process_time() - cpu
    print(f"this project (sorted, dynamic padding, token budget {TOKEN_BUDGET}: {sum(batches)} batches, "
          f"{n / sum(batches):.0f} sentences each): {ours_s:.1f} s, {n / ours_s:.2f} sentences/s")
    print(f"official (padded to {OFFICIAL_PROMPT_LENGTH}, batch {OFFICIAL_BATCH}, unsorted): "
          f"{official_s:.1f} s, {n / official_s:.2f} sentences/s")
    print(f"CPU time: this project {ours_cpu:.1f} s, official {official_cpu:.1f} s "
          f"(ratio {official_cpu / ours_cpu:.2f}; the wall-clock ratio below is the one reported)")
    assert ours == official, "outputs differ between the two batchings"
    print(f"outputs identical: {n} sentences")
    print(f"speedup: {official_s / ours_s:.2f}")


if __name__ == "__main__":
    main()
