"""Training and decoding throughput, TinyLlama-1.1B shape, one GPU: the paper's/official settings vs the project's.

Three pairs, each measured in this one process and followed by a `speedup: <project / paper>` line (issue 12):
1. stage 1, packed 512-token blocks: the paper's settings (fp16, micro-batch 4, AdamW, DeepSpeed ZeRO-2), then the
   project's (`alma_core.runs.train.training_arguments`: bf16, micro-batch 16, fused AdamW, same ZeRO-2 JSON);
   tokens/s and MFU.
2. stage 2, examples of 40-200 tokens (stack-notes): the official batching (every example left-padded to 512, fp16,
   micro-batch 4), then the project's padding-free packing (`alma_core.runs.stage2.stage2_collators`, bf16, micro-batch
   64 examples, fused AdamW); REAL (non-pad) tokens/s, as counted by `alma_core.runs.trainer.trainer_class`, and MFU.
3. beam-5 decoding, 64 new tokens (stack-notes): the official batching (every prompt left-padded to 256, batches of
   2, unsorted; benchmarks/generate_throughput.official_translate) on the first sentences, then
   `alma_core.runs.generate.translate` batched by a token budget on all of them; sentences/s, and how many of the
   official's outputs the project's equal.
Both sides of a pair run the same model shape, data, attention implementation, global batch (256 sequences per
optimizer step, App. C, on one GPU: accumulation = 256 / micro-batch) and HF Trainer; DeepSpeed ZeRO-2
(params/launch/ds_zero2.json, in-process single rank) on a GPU when it imports, else the plain Trainer.

The model is a random-init LlamaForCausalLM of TinyLlama-1.1B's shape built locally (no hub). MFU = 6 x N x tokens/s
/ peak, N = parameters without the input embedding (a lookup); peak = the GPU's dense bf16/fp16 datasheet figure
(H100 SXM / H200: 989 TFLOP/s; `--peak-tflops` for another GPU). Attention: flash_attention_2 when flash-attn
imports, else sdpa; the first lines say which.

GPU (one H100/H200, about 3-4 minutes): `python benchmarks/gpu_throughput.py`; on the lent machine with the project's
pinned wheels: `bash tools/gpu_bench.sh` (device tool, carry [".whl"]). CPU smoke run in seconds (tiny model, fp32,
no DeepSpeed, few steps): `python benchmarks/gpu_throughput.py --tiny` (tests/test_benchmarks.py runs it).
`--json PATH` also writes every figure as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

import torch

from alma_core.recipe.data import sample_data_dir
from alma_core.recipe.languages import paper_directions
from alma_core.recipe.objectives import RightPadCollator
from alma_core.recipe.testsets import read_test_set
from alma_core.runs.config import batch_plan, make_config
from alma_core.runs.generate import translate
from alma_core.runs.stage2 import stage2_collators
from alma_core.runs.train import training_arguments
from alma_core.runs.trainer import single_rank_env, trainer_class
from alma_core.standins.tiny_backbone import train_tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate_throughput import official_translate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DS_CONFIG = ROOT / "params" / "launch" / "ds_zero2.json"
SHAPES = {  # TinyLlama-1.1B (hidden 2048, 22 layers, 32 heads, 4 KV heads) and a CPU-sized stand-in
    "tinyllama-1.1b": dict(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                           num_attention_heads=32, num_key_value_heads=4),
    "tiny": dict(vocab_size=1024, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2),
}
PEAK_TFLOPS = [("H200", 989.0), ("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.0), ("H800", 989.0),
               ("A100", 312.0)]
PAD, BOS, EOS = 0, 1, 2  # the ids of alma_core.standins.tiny_backbone.train_tokenizer's specials


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiny", action="store_true", help="tiny model, fp32, CPU-sized steps (a smoke run)")
    ap.add_argument("--steps", type=int, help="timed optimizer steps per training run (default 2; tiny 2)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed optimizer steps first (allocation, kernels)")
    ap.add_argument("--global-batch", type=int, help="sequences per optimizer step (default 256, App. C; tiny 8)")
    ap.add_argument("--token-budget", type=int, help="decoding token budget (default 262144; tiny 4096)")
    ap.add_argument("--official-sentences", type=int, help="sentences the official decoding runs (default 24)")
    ap.add_argument("--deepspeed", choices=["auto", "on", "off"], default="auto", help="auto: on a GPU if it imports")
    ap.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak (default: from the GPU's name)")
    ap.add_argument("--sections", default="stage1,stage2,decode", help="comma-separated subset to run")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    tiny = args.tiny
    args.steps = args.steps or 2
    args.global_batch = args.global_batch or (8 if tiny else 256)
    args.token_budget = args.token_budget or (4096 if tiny else 262144)
    args.official_sentences = args.official_sentences or (6 if tiny else 24)
    return args


def attention_implementation(device: str) -> tuple[str, str]:
    """flash_attention_2 where flash-attn imports on a GPU, else sdpa; and why."""
    if device != "cuda":
        return "sdpa", "CPU"
    try:
        import flash_attn  # noqa: F401
        from transformers.utils import is_flash_attn_2_available

        if is_flash_attn_2_available():
            return "flash_attention_2", f"flash-attn {flash_attn.__version__}"
        return "sdpa", "flash-attn installed but not usable by transformers"
    except Exception as err:  # not installed, or built for another torch (ImportError, OSError, undefined symbol)
        return "sdpa", f"flash-attn not usable ({type(err).__name__})"


def peak_flops(args: argparse.Namespace, device: str) -> tuple[float | None, str]:
    """Dense bf16/fp16 peak FLOP/s of the GPU (datasheet), or None on a CPU without --peak-tflops."""
    if args.peak_tflops:
        return args.peak_tflops * 1e12, f"{args.peak_tflops:g} TFLOP/s (--peak-tflops)"
    if device == "cuda":
        name = torch.cuda.get_device_name(0)
        for key, tflops in PEAK_TFLOPS:
            if key in name:
                return tflops * 1e12, f"{tflops:g} TFLOP/s ({key} dense bf16/fp16, datasheet)"
    return None, "unknown (pass --peak-tflops for MFU)"


def build_model(shape: str, attn: str, dtype: torch.dtype, device: str) -> torch.nn.Module:
    """A random-init LlamaForCausalLM of the shape, made on the device (no hub)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**SHAPES[shape], max_position_embeddings=2048, rms_norm_eps=1e-5, tie_word_embeddings=False,
                         bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD, use_cache=False)
    torch.manual_seed(0)
    with torch.device(device):
        return LlamaForCausalLM._from_config(config, attn_implementation=attn, dtype=dtype)


def flop_params(model: torch.nn.Module) -> int:
    """N of 6 x N x tokens: every parameter but the input embedding (the LM head is a matmul, it counts)."""
    return sum(p.numel() for p in model.parameters()) - model.get_input_embeddings().weight.numel()


def stage1_blocks(n: int, vocab: int, length: int = 512) -> list[dict]:
    """Packed stage-1 blocks of random token ids, loss on every token (Sec. 4.1)."""
    rng = random.Random(1)
    blocks = []
    for _ in range(n):
        ids = [BOS] + [rng.randrange(3, vocab) for _ in range(length - 1)]
        blocks.append({"input_ids": ids, "attention_mask": [1] * length, "labels": list(ids)})
    return blocks


def stage2_examples(n: int, vocab: int, lo: int = 40, hi: int = 200) -> list[dict]:
    """Stage-2 examples of lo-hi tokens (stack-notes), the first half a prompt without loss (Sec. 4.2)."""
    rng = random.Random(2)
    examples = []
    for _ in range(n):
        length = rng.randint(lo, hi)
        ids = [BOS] + [rng.randrange(3, vocab) for _ in range(length - 2)] + [EOS]
        examples.append({"input_ids": ids, "attention_mask": [1] * length,
                         "labels": [-100] * (length // 2) + ids[length // 2:]})
    return examples


class LeftPad512:
    """The official stage-2 batching: every example left-padded to 512 (tokenize_function_train_eval_left_pad)."""

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        def left(key: str, value: int) -> torch.Tensor:
            return torch.tensor([[value] * (512 - len(f[key])) + list(f[key]) for f in features])

        return {"input_ids": left("input_ids", PAD), "attention_mask": left("attention_mask", 0),
                "labels": left("labels", -100)}


def train_run(run: dict, ctx: dict, args: argparse.Namespace) -> dict:
    """One short training through the HF Trainer; real tokens/s over the timed optimizer steps, MFU, peak memory."""
    from transformers import TrainerCallback, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    device, use_ds = ctx["device"], ctx["deepspeed"]
    precision = run["precision"] if device == "cuda" else "fp32"  # fp16 is refused on a CPU, bf16 is slow there
    steps = args.warmup + args.steps
    marks: list[tuple[int, float, int]] = []

    class Clock(TrainerCallback):
        def on_step_end(self, _args, state, control, **kwargs):  # noqa: ANN001, ANN202
            if device == "cuda":
                torch.cuda.synchronize()
            marks.append((state.global_step, time.perf_counter(), state.num_input_tokens_seen))

    with tempfile.TemporaryDirectory() as out, single_rank_env(use_ds):
        cfg = make_config(dict(run["config"], base_model="random-init", output_dir=out, max_steps=steps,
                               micro_batch_size=run["micro_batch"], global_batch_size=args.global_batch,
                               precision=precision, deepspeed=str(DS_CONFIG) if use_ds else None,
                               monolingual_langs=["en"], language_pairs=["de-en"]))
        plan = batch_plan(cfg, world_size=1)
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision) if use_ds else None
        model = build_model(ctx["shape"], ctx["attn"], dtype or torch.float32, device)
        collator, note = run["collator"](cfg, model)
        if run["official"]:  # the official script's TrainingArguments: HF AdamW (unfused), no length grouping
            targs = TrainingArguments(
                output_dir=out, per_device_train_batch_size=cfg.micro_batch_size, max_steps=steps,
                gradient_accumulation_steps=plan["gradient_accumulation_steps"], learning_rate=2e-5,
                lr_scheduler_type="inverse_sqrt", warmup_ratio=0.01, weight_decay=0.01, max_grad_norm=1.0,
                fp16=precision == "fp16", bf16=precision == "bf16", optim="adamw_torch", use_cpu=device != "cuda",
                deepspeed=cfg.deepspeed, remove_unused_columns=False, report_to="none", disable_tqdm=True,
                save_strategy="no", logging_steps=10_000, seed=42, dataloader_num_workers=0)
        else:  # the project's own arguments, as alma_core.runs.train builds them; no evaluation or checkpoints here
            targs = training_arguments(cfg, plan, steps)
            targs.eval_strategy, targs.save_strategy, targs.load_best_model_at_end = "no", "no", False
            targs.logging_steps = 10_000
        data = run["data"](steps * args.global_batch, model.config.vocab_size)
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        trainer = trainer_class()(model=model, args=targs, train_dataset=data, data_collator=collator,
                                  processing_class=ctx["tokenizer"], callbacks=[Clock()])
        trainer.remove_callback(PrinterCallback)  # no raw metric dicts between the result lines
        trainer.train()
        engine = type(trainer.model_wrapped).__name__
        inner = trainer.optimizer
        while hasattr(inner, "optimizer"):  # accelerate's wrapper, DeepSpeed's ZeRO optimizer, then torch's AdamW
            inner = inner.optimizer
        optimizer, fused = type(inner).__name__, bool(any(g.get("fused") for g in inner.param_groups))
        n = flop_params(model)
        peak_mem = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None
        del trainer, model
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()
    (_, t0, tok0), (_, t1, tok1) = marks[args.warmup - 1], marks[-1]
    tokens_s = (tok1 - tok0) / (t1 - t0)
    mfu = 6 * n * tokens_s / ctx["peak"] if ctx["peak"] else None
    return {"tokens_per_s": tokens_s, "mfu": mfu, "precision": precision, "micro_batch": plan["micro_batch_size"],
            "accumulation": plan["gradient_accumulation_steps"], "engine": engine, "optimizer": optimizer,
            "fused_adamw": fused, "timed_steps": len(marks) - args.warmup, "timed_s": t1 - t0, "batching": note,
            "peak_mem_gib": peak_mem}


def _stage1_collator(cfg, model):  # noqa: ANN001, ANN202
    return RightPadCollator(PAD, model_config=model.config), "packed 512-token blocks (no padding)"


def _stage2_packed(cfg, model):  # noqa: ANN001, ANN202
    collator, _, note = stage2_collators(cfg, PAD, model.config)
    return collator, note


def training_runs(tiny: bool) -> dict[str, dict]:
    """The four training runs: (paper, project) of stage 1, (official, project) of stage 2."""
    mb1, mb2 = (4, 8) if tiny else (16, 64)
    return {
        "stage1 paper": dict(official=True, precision="fp16", micro_batch=2 if tiny else 4, data=stage1_blocks,
                             collator=_stage1_collator, config=dict(stage=1)),
        "stage1 project": dict(official=False, precision="bf16", micro_batch=mb1, data=stage1_blocks,
                               collator=_stage1_collator, config=dict(stage=1)),
        "stage2 official": dict(official=True, precision="fp16", micro_batch=2 if tiny else 4, data=stage2_examples,
                                collator=lambda cfg, model: (LeftPad512(), "every example left-padded to 512"),
                                config=dict(stage=2, packing=False)),
        "stage2 project": dict(official=False, precision="bf16", micro_batch=mb2, data=stage2_examples,
                               collator=_stage2_packed, config=dict(stage=2, packing=True)),
    }


def decode_runs(ctx: dict, args: argparse.Namespace) -> tuple[dict, dict]:
    """Beam-5 decoding: the official batching on the first sentences, the project's on all; sentences/s each."""
    tokenizer, device = ctx["tokenizer"], ctx["device"]
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = build_model(ctx["shape"], ctx["attn"], dtype, device).eval()
    model.config.use_cache = True
    model.generation_config.pad_token_id = PAD
    sources = ctx["sentences"]
    new_tokens = 8 if args.tiny else 64
    kwargs = dict(num_beams=5, max_new_tokens=new_tokens)
    official_translate(model, tokenizer, sources[:2], "de", "en", **kwargs)  # warm-up: kernels, allocator
    translate(model, tokenizer, sources[:2], "de", "en", batch_size=2, progress=False, **kwargs)
    timed = {}
    for name, subset in [("official", sources[: args.official_sentences]), ("project", sources)]:
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        if name == "official":
            outputs = official_translate(model, tokenizer, subset, "de", "en", **kwargs)
        else:
            outputs = translate(model, tokenizer, subset, "de", "en", batch_size=None, token_budget=args.token_budget,
                                progress=False, **kwargs)
        if device == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        timed[name] = {"sentences": len(subset), "seconds": seconds, "sentences_per_s": len(subset) / seconds,
                       "outputs": outputs}
    same = sum(a == b for a, b in zip(timed["official"]["outputs"], timed["project"]["outputs"]))
    timed["project"]["identical"] = same
    del model
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    return timed["official"], timed["project"]


def _rate(result: dict) -> str:
    mfu = f"MFU {100 * result['mfu']:.1f}%" if result["mfu"] is not None else "MFU n/a (no peak for this device)"
    mem = f", peak memory {result['peak_mem_gib']:.1f} GiB" if result["peak_mem_gib"] is not None else ""
    return (f"{result['tokens_per_s']:,.0f} tokens/s, {mfu} ({result['precision']}, micro-batch "
            f"{result['micro_batch']} x accumulation {result['accumulation']}, {result['optimizer']}"
            f"{' fused' if result['fused_adamw'] else ''}, {result['engine']}; {result['batching']}; "
            f"{result['timed_steps']} steps in {result['timed_s']:.1f} s{mem})")


def main(argv: list[str] | None = None) -> dict:
    """Run the selected sections and print each pair with its same-run speedup."""
    import transformers

    args = parse_args(argv)
    started = time.perf_counter()
    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    if device == "cpu":
        torch.set_num_threads(1)  # a tiny model runs fastest on one thread; fairer on a shared machine
    sections = {s.strip() for s in args.sections.split(",") if s.strip()}
    attn, why = attention_implementation(device)
    peak, peak_note = peak_flops(args, device)
    try:
        import deepspeed

        ds_version, ds_ok = deepspeed.__version__, True
    except Exception as err:  # any import failure (missing, built for another torch) means: run without it
        ds_version, ds_ok = f"not importable ({type(err).__name__})", False
    use_ds = args.deepspeed == "on" or (args.deepspeed == "auto" and device == "cuda" and ds_ok)
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else "none (CPU)"
    print(f"device: {device}, GPU {gpu}; peak {peak_note}")
    print(f"attention: {attn} ({why}); DeepSpeed ZeRO-2: {'on' if use_ds else 'off'} (deepspeed {ds_version})")
    print(f"versions: torch {torch.__version__}, transformers {transformers.__version__}, python "
          f"{sys.version.split()[0]}")
    root = sample_data_dir()
    sentences = [s for src, tgt in paper_directions() for s in read_test_set(root, src, tgt, fmt="json")[0]]
    tokenizer = train_tokenizer(sentences, vocab_size=1024 if args.tiny else 8000)
    shape = "tiny" if args.tiny else "tinyllama-1.1b"
    ctx = dict(device=device, attn=attn, peak=peak, deepspeed=use_ds, shape=shape, tokenizer=tokenizer,
               sentences=sentences[:48] if args.tiny else sentences)
    n = flop_params(build_model(shape, "sdpa", torch.float32, "meta"))
    print(f"model: {shape} shape, random init, {n:,} parameters in 6N (without the input embedding); global batch "
          f"{args.global_batch} sequences per optimizer step, {args.warmup} warm-up + {args.steps} timed steps")
    results: dict = {"device": gpu, "attention": attn, "deepspeed": use_ds, "peak_flops": peak, "n_flop": n}
    runs = training_runs(args.tiny)
    for stage, (base, ours) in {"stage1": ("stage1 paper", "stage1 project"),
                                "stage2": ("stage2 official", "stage2 project")}.items():
        if stage not in sections:
            continue
        for name in (base, ours):
            try:
                results[name] = train_run(runs[name], ctx, args)
                print(f"{name}: {_rate(results[name])}", flush=True)
            except Exception as err:  # one failed run (out of memory, DeepSpeed) must not lose the other figures
                results[name] = _failed(name, err, device)
        if "error" in results[base] or "error" in results[ours]:
            print("speedup: n/a (a run failed)", flush=True)
        else:
            print(f"speedup: {results[ours]['tokens_per_s'] / results[base]['tokens_per_s']:.2f}", flush=True)
    if "decode" in sections:
        try:
            results["decode official"], results["decode project"] = decode_runs(ctx, args)
            _print_decoding(results["decode official"], results["decode project"], args.token_budget)
        except Exception as err:  # as above: the training figures are kept
            results["decode"] = _failed("decode", err, device)
            print("speedup: n/a (decoding failed)", flush=True)
    results["wall_s"] = time.perf_counter() - started
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    print(f"wall time: {results['wall_s']:.0f} s", file=sys.stderr)
    if any(isinstance(r, dict) and "error" in r for r in results.values()):
        sys.exit(1)
    return results


def _print_decoding(official: dict, project: dict, budget: int) -> None:
    print(f"decode official (left-padded to 256, batch 2, unsorted, 5 beams): {official['sentences_per_s']:.2f} "
          f"sentences/s ({official['sentences']} sentences in {official['seconds']:.1f} s)")
    print(f"decode project (sorted, token budget {budget}, 5 beams): {project['sentences_per_s']:.2f} sentences/s "
          f"({project['sentences']} sentences in {project['seconds']:.1f} s); identical outputs: "
          f"{project['identical']}/{official['sentences']}")
    print(f"speedup: {project['sentences_per_s'] / official['sentences_per_s']:.2f}", flush=True)


def _failed(name: str, err: Exception, device: str) -> dict:
    """Print a run's failure (the traceback to stderr), free what it held, and record it."""
    traceback.print_exc()
    print(f"{name}: FAILED ({type(err).__name__}: {str(err)[:300]})", flush=True)
    gc.collect()
    if device == "cuda":
        torch.cuda.empty_cache()
    return {"error": f"{type(err).__name__}: {err}"}


if __name__ == "__main__":
    main()
