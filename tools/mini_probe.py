"""Learnability probe of the mini world (issue 14): can stage 2 learn to translate, at what model size and budget?

Not part of the test suite. A LLaMA-architecture model (alma_core.runs.modeling's tokenizer and config) is
pretrained on mostly-English text of the mini world with a small share of the other languages (LLaMA-2's
shape of knowledge), scored zero-shot, optionally given stage 1 (--stage1-steps), then trained on N xx-en
pairs (--xx, default de) in both directions (Sec. 4.2, prompt masked) and scored with BLEU on the world's
test sets at a few checkpoints. Run on a shared CPU as

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python tools/mini_probe.py --pairs 1000 --stage2-steps 600

Prints one JSON line per measurement and writes them all with --json.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alma_core.io import atomic_write_json  # noqa: E402
from alma_core.recipe.languages import declare_languages  # noqa: E402
from alma_core.recipe.metrics import bleu  # noqa: E402
from alma_core.standins.lexicon import LANGS  # noqa: E402
from alma_core.standins.mini_world import WorldConfig, document, pairs, test_meanings, train_meanings  # noqa: E402
from alma_core.standins.mini_world_data import UKRAINIAN  # noqa: E402
from alma_core.standins.tiny_backbone import adamw_steps  # noqa: E402


def pretrain_documents(cfg: WorldConfig, count: int, english: float, seed: int) -> list[str]:
    """`count` documents: `english` of them English, the rest spread evenly over the other languages."""
    rng = random.Random(seed)
    others = [lang for lang in LANGS if lang not in ("en", "uk")]
    counters = dict.fromkeys(LANGS, 0)
    docs = []
    for _ in range(count):
        lang = "en" if rng.random() < english else rng.choice(others)
        docs.append(document(cfg, lang, counters[lang]))
        counters[lang] += 1
    return docs


def _schedule(step: int, total: int, warmup: int) -> float:
    """Linear warm-up then cosine decay to 10%."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def _train(model: Any, batches: Any, steps: int, lr: float, seed: int) -> list[float]:
    """A plain AdamW loop over `batches(step, generator)` -> (input_ids, labels, attention_mask)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01, betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _schedule(s, steps, max(1, steps // 20)))
    return adamw_steps(model, lambda step: _inputs(*batches(step, gen)), steps, opt, sched)


def _inputs(input_ids: Any, labels: Any, mask: Any) -> dict[str, Any]:
    """A batch as the model's keyword arguments."""
    return {"input_ids": input_ids, "attention_mask": mask, "labels": labels}


def pretrain(model: Any, tokenizer: Any, docs: list[str], args: argparse.Namespace) -> list[float]:
    """CLM on packed blocks of the documents (BOS doc EOS ...)."""
    import torch

    from alma_core.recipe.objectives import pack_documents

    blocks = torch.tensor([b["input_ids"] for b in pack_documents(tokenizer, docs, args.block)])

    def batches(_step: int, gen: Any) -> tuple[Any, Any, Any]:
        batch = blocks[torch.randint(0, len(blocks), (args.batch,), generator=gen)]
        return batch, batch, torch.ones_like(batch)

    return _train(model, batches, args.pretrain_steps, args.lr, args.seed)


def stage2_batches(tokenizer: Any, train_pairs: dict[str, list[tuple[str, str]]]) -> Any:
    """Prompt-masked examples of both directions of every language (Sec. 4.2), sampled into right-padded batches."""
    import torch

    from alma_core.recipe.objectives import IGNORE_INDEX, parallel_examples

    examples = [e for xx, items in train_pairs.items() for e in parallel_examples(tokenizer, items, (xx, "en"))]

    def make(batch_size: int) -> Any:
        def batches(_step: int, gen: Any) -> tuple[Any, Any, Any]:
            picked = [examples[int(i)] for i in torch.randint(0, len(examples), (batch_size,), generator=gen)]
            width = max(len(e["input_ids"]) for e in picked)
            ids = torch.full((len(picked), width), tokenizer.pad_token_id)
            labels = torch.full((len(picked), width), IGNORE_INDEX)
            mask = torch.zeros((len(picked), width), dtype=torch.long)
            for row, e in enumerate(picked):
                n = len(e["input_ids"])
                ids[row, :n], labels[row, :n], mask[row, :n] = (torch.tensor(e["input_ids"]),
                                                                torch.tensor(e["labels"]), 1)
            return ids, labels, mask
        return batches

    return make


def score(model: Any, tokenizer: Any, cfg: WorldConfig, xxs: list[str], count: int, beams: int) -> dict[str, float]:
    """BLEU of xx->en and en->xx for every xx on the world's test sets (Sec. 5.1), greedy or beam search."""
    from alma_core.runs.generate import translate

    out = {}
    for src, tgt in [d for xx in xxs for d in ((xx, "en"), ("en", xx))]:
        sources, refs = zip(*pairs(test_meanings(cfg, src, tgt, count), src, tgt))
        hyps = translate(model, tokenizer, list(sources), src, tgt, num_beams=beams, batch_size=50,
                         max_new_tokens=48, progress=False)
        out[f"{src}-{tgt}"] = round(bleu(hyps, list(refs), tgt).score, 2)
    return out


def main(argv: list[str] | None = None) -> int:
    """Pretrain, score zero-shot, run stage 2 with checkpoints, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xx", default="de", help="non-English language(s), comma-separated: one stage-2 model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--world-seed", type=int, default=0)
    parser.add_argument("--held-out", type=float, default=0.15)
    parser.add_argument("--vocab", type=int, default=1000)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--pretrain-docs", type=int, default=20000)
    parser.add_argument("--english", type=float, default=0.9)
    parser.add_argument("--pretrain-steps", type=int, default=400)
    parser.add_argument("--block", type=int, default=128)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--stage1-steps", type=int, default=0, help="0: no stage 1 (the learnability probe)")
    parser.add_argument("--stage1-docs", type=int, default=10000)
    parser.add_argument("--stage1-langs", default="xx,en", help="stage-1 languages (xx: --xx), split evenly")
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--stage2-steps", type=int, default=600)
    parser.add_argument("--stage2-lr", type=float, default=1e-3)
    parser.add_argument("--eval-every", type=int, default=200)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--beams", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch
    from transformers import LlamaForCausalLM

    from alma_core.runs.modeling import count_parameters
    from alma_core.standins.tiny_backbone import tiny_llama_config, train_tokenizer

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    cfg = WorldConfig(seed=args.world_seed, held_out=args.held_out)
    xxs = args.xx.split(",")
    if not set(xxs) <= set(LANGS) - {"en"}:
        parser.error(f"--xx {args.xx}: use mini-world languages other than en, e.g. de or de,cs,is,zh,ru")
    declare_languages(UKRAINIAN)  # uk is not in the library's registry (a no-op for the others)
    records: list[dict[str, Any]] = []

    def emit(**record: Any) -> None:
        records.append(record)
        print(json.dumps(record, ensure_ascii=False), flush=True)

    start = time.perf_counter()
    docs = pretrain_documents(cfg, args.pretrain_docs, args.english, args.seed)
    tokenizer = train_tokenizer(docs, vocab_size=args.vocab)
    config = tiny_llama_config(tokenizer, hidden_size=args.hidden, intermediate_size=3 * args.hidden,
                               num_hidden_layers=args.layers, num_attention_heads=args.heads,
                               num_key_value_heads=args.heads)
    model = LlamaForCausalLM(config)
    model.generation_config.do_sample = False
    emit(event="setup", parameters=count_parameters(model), vocab=len(tokenizer), docs=len(docs),
         seconds=round(time.perf_counter() - start, 1), args={k: str(v) for k, v in vars(args).items()})
    t = time.perf_counter()
    losses = pretrain(model, tokenizer, docs, args)
    emit(event="pretrain", steps=args.pretrain_steps, loss_first=round(losses[0], 3) if losses else None,
         loss_last=round(sum(losses[-20:]) / max(1, len(losses[-20:])), 3) if losses else None,
         seconds=round(time.perf_counter() - t, 1))
    t = time.perf_counter()
    emit(event="zero-shot", bleu=score(model, tokenizer, cfg, xxs, args.test, args.beams),
         seconds=round(time.perf_counter() - t, 1))
    if args.stage1_steps > 0:  # Sec. 4.1: more monolingual text, new documents (the stream continues past pretraining)
        langs = [x for lang in args.stage1_langs.split(",") for x in (xxs if lang == "xx" else [lang])]
        docs1 = [document(cfg, langs[i % len(langs)], 1_000_000 + i // len(langs)) for i in range(args.stage1_docs)]
        t = time.perf_counter()
        stage1 = argparse.Namespace(**{**vars(args), "pretrain_steps": args.stage1_steps})
        losses = pretrain(model, tokenizer, docs1, stage1)
        emit(event="stage1", steps=args.stage1_steps, langs=langs, loss_last=round(sum(losses[-20:]) / 20, 3),
             seconds=round(time.perf_counter() - t, 1))
        emit(event="zero-shot-after-stage1", bleu=score(model, tokenizer, cfg, xxs, args.test, args.beams))
    train_pairs = {xx: pairs(train_meanings(cfg, xx, args.pairs), xx, "en") for xx in xxs}
    batches = stage2_batches(tokenizer, train_pairs)(args.batch)
    done = 0
    t_stage2 = time.perf_counter()
    gen_losses: list[float] = []

    # one AdamW run over all steps; checkpoints score the model at eval_every intervals
    gen = torch.Generator().manual_seed(args.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=args.stage2_lr, weight_decay=0.01, betas=(0.9, 0.98))
    total = args.stage2_steps
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _schedule(s, total, max(1, total // 20)))
    train_seconds = 0.0
    while done < total:
        t = time.perf_counter()
        chunk = min(args.eval_every, total - done)
        gen_losses += adamw_steps(model, lambda step, start=done: _inputs(*batches(start + step, gen)), chunk, opt,
                                  sched)
        done += chunk
        train_seconds += time.perf_counter() - t
        t = time.perf_counter()
        result = score(model, tokenizer, cfg, xxs, args.test, args.beams)
        emit(event="stage2", pairs_per_language=args.pairs, step=done, loss=round(sum(gen_losses[-20:]) / 20, 3),
             bleu=result, train_seconds=round(train_seconds, 1), eval_seconds=round(time.perf_counter() - t, 1))
    emit(event="done", seconds=round(time.perf_counter() - start, 1),
         stage2_seconds=round(time.perf_counter() - t_stage2, 1))
    if args.json is not None:
        atomic_write_json(args.json, records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
