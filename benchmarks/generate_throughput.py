"""Sentences/s of alma_core.generate vs the official evaluation's batching, same tiny model, same beams.

Official approach (fe1ixxu/ALMA, official-implementation.md section 5): every prompt left-padded to a
fixed 256 tokens, batches of 2 in file order. This project: batches of 16 sorted by prompt length,
padded to the longest prompt of each batch. Both decode with plain 5-beam search and the same
generation config; the outputs are asserted identical. One run each, on the shipped sample test sets.
Run: `.venv/bin/python benchmarks/generate_throughput.py` (no arguments, a few minutes on 2 CPU cores).
The last line is `speedup: <ours / official>`.
"""

from __future__ import annotations

import time

import torch

from alma_core.data import sample_data_dir
from alma_core.generate import beam_search_config, build_prompts, translate
from alma_core.modeling import tiny_llama_config, train_tokenizer
from alma_core.prompts import clean_output
from alma_core.testsets import read_test_set

DIRECTIONS = [("de", "en"), ("en", "zh")]
SENTENCES_PER_DIRECTION = 16
NUM_BEAMS = 5
MAX_NEW_TOKENS = 16
OFFICIAL_PROMPT_LENGTH = 256
OFFICIAL_BATCH = 2
OUR_BATCH = 16


def official_translate(model, tokenizer, sources, src, tgt) -> list[str]:
    """The official batching: fixed 256-token left padding, right truncation, batches of 2, unsorted."""
    prompts, _ = build_prompts(tokenizer, sources, src, tgt, max_prompt_tokens=OFFICIAL_PROMPT_LENGTH)
    config = beam_search_config(model, tokenizer, num_beams=NUM_BEAMS, max_new_tokens=MAX_NEW_TOKENS)
    tokenizer.padding_side = "left"
    outputs = []
    for start in range(0, len(prompts), OFFICIAL_BATCH):
        encoded = tokenizer(
            prompts[start : start + OFFICIAL_BATCH], return_tensors="pt", padding="max_length",
            max_length=OFFICIAL_PROMPT_LENGTH, truncation=True,
        )
        with torch.inference_mode():
            generated = model.generate(**encoded, generation_config=config, use_model_defaults=False)
        texts = tokenizer.batch_decode(generated[:, OFFICIAL_PROMPT_LENGTH:], skip_special_tokens=True)
        outputs.extend(clean_output(t, tgt) for t in texts)
    return outputs


def main() -> None:
    """Time both approaches over the same sentences and print sentences/s and the speedup."""
    torch.manual_seed(0)
    torch.set_num_threads(1)  # a model this small runs fastest on one thread; also fairer on a shared machine
    root = sample_data_dir()
    jobs = []
    for src, tgt in DIRECTIONS:
        sources, _ = read_test_set(root, src, tgt, fmt="json")
        jobs.append((src, tgt, sources[:SENTENCES_PER_DIRECTION]))
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

    start = time.perf_counter()
    ours = [translate(model, tokenizer, s, src, tgt, num_beams=NUM_BEAMS, batch_size=OUR_BATCH,
                      max_new_tokens=MAX_NEW_TOKENS, progress=False) for src, tgt, s in jobs]
    ours_s = time.perf_counter() - start
    print(f"this project (sorted, dynamic padding, batch {OUR_BATCH}): {ours_s:.1f} s, {n / ours_s:.2f} sentences/s")

    start = time.perf_counter()
    official = [official_translate(model, tokenizer, s, src, tgt) for src, tgt, s in jobs]
    official_s = time.perf_counter() - start
    print(f"official (padded to {OFFICIAL_PROMPT_LENGTH}, batch {OFFICIAL_BATCH}, unsorted): "
          f"{official_s:.1f} s, {n / official_s:.2f} sentences/s")

    assert ours == official, "outputs differ between the two batchings"
    print(f"outputs identical: {n} sentences")
    print(f"speedup: {official_s / ours_s:.2f}")


if __name__ == "__main__":
    main()
