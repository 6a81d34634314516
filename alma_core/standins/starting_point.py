"""Where a mini backbone starts (issue 20): the paper's starting facts about LLaMA-2, measured on a mini backbone.

Sec. 2 and the zero-shot rows of Tables 1-3 describe the backbone before any training: it translates zero-shot
(BLEU above 0), better into English than out of it, with off-target output in en->xx, and it is a weaker language
model outside English. `starting_point` measures these on the world's test sets and held-out monolingual documents,
for the probe of initial conditions (tools/mini_probe_v2.py) and the mini world chapter (main world and control).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from alma_core.recipe.metrics import bleu, detect_languages
from alma_core.standins import mini_world
from alma_core.standins.mini_world import WorldConfig, pairs, test_meanings

__all__ = ["HELD_OUT_DOCUMENTS", "perplexity", "starting_point"]

HELD_OUT_DOCUMENTS = 10**7  # index of the first held-out monolingual document (no written corpus reaches it)
_LID = ("en", "de", "cs", "is", "zh", "ru")  # the identifier's candidates (py3langid has no reliable uk/ru split here)


def perplexity(model: Any, tokenizer: Any, texts: Sequence[str]) -> float:
    """exp of the mean next-token loss over the texts (each as BOS text EOS), Sec. 2's "weaker LM" in a number."""
    import torch

    total, count = 0.0, 0
    with torch.no_grad():
        for text in texts:
            ids = torch.tensor([[tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False)["input_ids"],
                                 tokenizer.eos_token_id]])
            total += float(model(input_ids=ids, labels=ids).loss) * (ids.shape[1] - 1)
            count += ids.shape[1] - 1
    return math.exp(total / count)


def starting_point(backbone_dir: str, cfg: WorldConfig, languages: Sequence[str], *, test: int = 100,
                   documents: int = 100, num_beams: int = 5) -> dict[str, Any]:
    """Zero-shot BLEU per direction (the paper's prompt) with its unrelated-reference floor, en->xx off-target shares
    and per-language perplexity."""
    from alma_core.runs.generate import translate
    from alma_core.runs.modeling import load_backbone

    model, tokenizer = load_backbone(backbone_dir)
    model.eval()
    result: dict[str, Any] = {"bleu": {}, "unrelated_bleu": {}, "off_target": {}, "perplexity": {}, "examples": {}}
    for lang in ("en", *languages):
        texts = [mini_world.document(cfg, lang, HELD_OUT_DOCUMENTS + i) for i in range(documents)]
        result["perplexity"][lang] = round(perplexity(model, tokenizer, texts), 2)
    for xx in languages:
        for src, tgt in ((xx, "en"), ("en", xx)):
            sources, refs = zip(*pairs(test_meanings(cfg, src, tgt, test), src, tgt))
            hyps = translate(model, tokenizer, list(sources), src, tgt, num_beams=num_beams, batch_size=50,
                             max_new_tokens=48, max_prompt_tokens=128, progress=False)
            result["bleu"][f"{src}-{tgt}"] = round(bleu(hyps, list(refs), tgt).score, 2)
            # the floor: the same outputs scored against the next sentence's reference (what fluent but unrelated
            # output earns from the world's shared phrases); translation shows only as BLEU above it
            result["unrelated_bleu"][f"{src}-{tgt}"] = round(bleu(hyps, list(refs[1:] + refs[:1]), tgt).score, 2)
            result["examples"][f"{src}-{tgt}"] = [list(row) for row in zip(sources[:3], hyps[:3], refs[:3])]
            if tgt != "en" and tgt in _LID:
                ids = detect_languages(hyps, _LID)
                result["off_target"][f"{src}-{tgt}"] = round(sum(i != tgt for i in ids) / len(ids), 3)
    return result
