"""Zero-shot cross-lingual evaluation by log-likelihood scoring of answer options (Appendix J, Table 12).

The paper evaluates the backbone before and after stage 1 on XNLI, XStoryCloze and XWinograd with
lm-evaluation-harness. That harness does not generate: each answer option is written out as a
continuation of a context, the model scores the sum of the log-probabilities of the option's tokens,
and the highest-scoring option is the prediction. This module does the same with one batched forward
pass per batch (right padding), and runs as a job (one process per system; `alma_core.jobs.crosslingual` declares
and starts it). The items (formats, readers, prompt style) live in alma_core.recipe.crosslingual_items.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alma_core.io import atomic_write_json, read_json, read_yaml_mapping, stable_hash
from alma_core.provenance import determinism, git_revision, hardware, package_versions
from alma_core.recipe.crosslingual_items import CrossLingualDataError, MultipleChoiceItem, load_items, task_name
from alma_core.runs.job_setup import load_job_model, quiet_progress

__all__ = [
    "MultipleChoiceResult",
    "encode_pair",
    "pair_loglikelihoods",
    "option_loglikelihoods",
    "score_multiple_choice",
    "evaluate_task",
    "METRICS",
    "run_job",
    "main",
]


@dataclass
class MultipleChoiceResult:
    """Accuracy (fraction) and per-item predictions/scores of a multiple-choice run."""

    accuracy: float
    acc_norm: float
    n: int
    predictions: list[int] = field(default_factory=list)
    predictions_norm: list[int] = field(default_factory=list)
    scores: list[list[float]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# log-likelihood scoring


def _prefix_ids(tokenizer: Any) -> list[int]:
    """The token every sequence starts with: BOS (LLaMA), else EOS (as the harness does for an empty context)."""
    start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    if start is None:
        raise ValueError("tokenizer has neither a BOS nor an EOS token; set tokenizer.bos_token before scoring")
    return [int(start)]


def encode_pair(tokenizer: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context ids with BOS, continuation ids), split as the harness does: encode the whole, cut at the context's
    length."""
    if context and context[-1].isspace():  # a trailing space belongs to the continuation's first token
        stripped = context.rstrip()
        continuation = context[len(stripped):] + continuation
        context = stripped
    prefix = _prefix_ids(tokenizer)
    context_ids = prefix + list(tokenizer.encode(context, add_special_tokens=False)) if context else prefix
    whole_ids = prefix + list(tokenizer.encode(context + continuation, add_special_tokens=False))
    continuation_ids = whole_ids[len(context_ids):]
    if not continuation_ids:
        raise ValueError(
            f"option {continuation!r} has no tokens after context {context[-40:]!r}; options must be non-empty"
        )
    return context_ids, continuation_ids


def _max_length(model: Any, tokenizer: Any) -> int:
    """The longest sequence the model takes (position embeddings), else the tokenizer's limit, else 2048."""
    for value in (getattr(model.config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)):
        if isinstance(value, int) and 0 < value < 1_000_000:
            return value
    return 2048


def _batch_loglikelihoods(model: Any, batch: Sequence[tuple[list[int], list[int]]], pad_id: int) -> list[float]:
    """Sum of log p(continuation tokens | preceding tokens) for a right-padded batch, one forward pass."""
    import torch

    inputs = [(ctx + cont)[:-1] for ctx, cont in batch]
    width = max(len(ids) for ids in inputs)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, seq in enumerate(inputs):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
    logprobs = torch.log_softmax(logits, dim=-1)
    totals = []
    for row, (ctx, cont) in enumerate(batch):
        start = len(ctx) - 1  # logits at position t predict token t+1
        positions = torch.arange(start, start + len(cont), device=logprobs.device)
        targets = torch.tensor(cont, dtype=torch.long, device=logprobs.device)
        totals.append(float(logprobs[row, positions, targets].sum()))
    return totals


def pair_loglikelihoods(model: Any, tokenizer: Any, pairs: Sequence[tuple[str, str]], *, batch_size: int = 16,
                        normalize: bool = False, max_length: int | None = None, progress: str = "") -> list[float]:
    """log p(continuation | context) for each (context, continuation) pair, batched (Appendix J, lm-eval-harness
    loglikelihood).

    With `normalize=True` each sum is divided by the continuation's length in characters (the harness's acc_norm).
    Sequences longer than the model's context are cut from the left, keeping every continuation token.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}; use a positive batch size")
    limit = max_length or _max_length(model, tokenizer)
    encoded = []
    for context, continuation in pairs:
        ctx, cont = encode_pair(tokenizer, context, continuation)
        if len(cont) >= limit:
            raise ValueError(f"option {continuation[:40]!r}... has {len(cont)} tokens, more than the model's {limit}")
        overflow = len(ctx) + len(cont) - 1 - limit
        encoded.append((ctx[overflow:] if overflow > 0 else ctx, cont))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    order = sorted(range(len(encoded)), key=lambda i: -(len(encoded[i][0]) + len(encoded[i][1])))
    scores = [0.0] * len(encoded)
    from tqdm.auto import tqdm

    with tqdm(total=len(order), desc=progress, unit="option", disable=not progress) as bar:  # options/s, ETA
        for begin in range(0, len(order), batch_size):
            chunk = order[begin:begin + batch_size]
            for index, value in zip(chunk, _batch_loglikelihoods(model, [encoded[i] for i in chunk], int(pad_id))):
                scores[index] = value
            bar.update(len(chunk))
    if normalize:
        scores = [s / max(len(cont), 1) for s, (_, cont) in zip(scores, pairs)]
    return scores


def option_loglikelihoods(model: Any, tokenizer: Any, context: str, options: Sequence[str], *,
                          normalize: bool = False, batch_size: int = 16) -> list[float]:
    """Sum of the log-probabilities of each option's tokens after one shared context (Appendix J)."""
    return pair_loglikelihoods(model, tokenizer, [(context, option) for option in options],
                               batch_size=batch_size, normalize=normalize)


def _argmax(values: Sequence[float]) -> int:
    """Index of the largest value (the first one on ties, as numpy.argmax)."""
    return max(range(len(values)), key=lambda i: (values[i], -i))


def score_multiple_choice(model: Any, tokenizer: Any, items: Sequence[MultipleChoiceItem], *,
                          batch_size: int = 16, progress: str = "") -> MultipleChoiceResult:
    """Predict the option with the highest log-likelihood for every item; accuracy (acc) and length-normalized
    acc_norm."""
    if not items:
        raise ValueError("no items to score; check the data files / languages asked for")
    pairs = [(ctx, cont) for item in items for ctx, cont in zip(item.contexts, item.continuations)]
    flat = pair_loglikelihoods(model, tokenizer, pairs, batch_size=batch_size, progress=progress)
    scores, predictions, predictions_norm, offset = [], [], [], 0
    for item in items:
        k = len(item.contexts)
        mine = flat[offset:offset + k]
        offset += k
        scores.append(mine)
        predictions.append(_argmax(mine))
        predictions_norm.append(_argmax([s / max(len(c), 1) for s, c in zip(mine, item.continuations)]))
    correct = sum(p == item.label for p, item in zip(predictions, items))
    correct_norm = sum(p == item.label for p, item in zip(predictions_norm, items))
    return MultipleChoiceResult(
        correct / len(items), correct_norm / len(items), len(items), predictions, predictions_norm, scores
    )


def evaluate_task(model: Any, tokenizer: Any, task: str, items: Iterable[MultipleChoiceItem], *,
                  batch_size: int = 16, progress: str = "") -> dict[str, Any]:
    """Accuracy (percent, as Table 12), acc_norm and n of one task on its items (Appendix J); `progress` names a
    progress bar."""
    items = list(items)
    result = score_multiple_choice(model, tokenizer, items, batch_size=batch_size, progress=progress)
    langs = sorted({item.lang for item in items})
    return {
        "task": task_name(task),
        "lang": langs[0] if len(langs) == 1 else ",".join(langs),
        "accuracy": round(100 * result.accuracy, 2),
        "acc_norm": round(100 * result.acc_norm, 2),
        "n": result.n,
        "chance": round(100 * sum(1 / len(item.contexts) for item in items) / len(items), 2),
        "right_loglik_per_char": sum(s[item.label] / max(len(item.continuations[item.label]), 1)
                                     for s, item in zip(result.scores, items)) / len(items),
        "predictions": result.predictions,
    }


# ---------------------------------------------------------------------------------------------
# the evaluation job (the process alma_core.jobs.crosslingual starts for each system)

METRICS: tuple[str, ...] = ("accuracy", "acc_norm", "right_loglik_per_char")


def _job_model(job: Mapping[str, Any]) -> tuple[Any, Any]:
    """The job's model (a finished run or a backbone/adapter, as the translation jobs load it), on the GPU if any."""
    import torch

    model, tokenizer = load_job_model(job, "cuda" if torch.cuda.is_available() else "cpu", job.get("dtype"))
    return model.eval(), tokenizer


def _single_thread_if_tiny(model: Any, limit: int = 20_000_000) -> int:
    """A tiny model on a CPU scores fastest on one thread (more threads only contend on a shared machine); returns
    the old count."""
    import torch

    threads = torch.get_num_threads()
    if next(model.parameters()).device.type == "cpu" and sum(p.numel() for p in model.parameters()) < limit:
        torch.set_num_threads(1)
    return threads


def _restore_threads(threads: int) -> None:
    """Give back the thread count (the job may run in the notebook's own process)."""
    import torch

    torch.set_num_threads(threads)


def _score_job(
    job: Mapping[str, Any], model: Any, tokenizer: Any, out: Path
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every (task, language) of a job: tidy score rows, predictions files, and item counts."""
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    key = stable_hash({k: v for k, v in job.items() if k != "output_dir"}, length=16)  # the job's store key
    for task, langs in job["tasks"].items():
        for lang in langs:
            items = load_items(task, lang, source=job.get("source", "sample"), data_root=job.get("data_root"),
                               split=(job.get("splits") or {}).get(task), limit=job.get("max_items"))
            part = out / "parts" / f"{task}.{lang}.json"  # a finished (task, language): a killed job keeps it
            stored = read_json(part) if part.is_file() else None
            if isinstance(stored, dict) and stored.get("key") == key and stored.get("n") == len(items):
                result = stored["result"]
                print(f"[crosslingual] {task} {lang}: reused from {part}", flush=True)
            else:
                result = evaluate_task(model, tokenizer, task, items, batch_size=int(job.get("batch_size", 16)),
                                       progress=f"{task} {lang}")
                atomic_write_json(part, {"key": key, "n": len(items), "result": result})
            atomic_write_json(
                out / f"predictions.{task}.{lang}.json",
                [{"id": it.id, "label": it.label, "prediction": p} for it, p in zip(items, result["predictions"])],
            )
            counts[f"{task} {lang}"] = result["n"]
            rows += [{"system": job["system"], "task": task, "lang": lang, "metric": metric, "value": result[metric],
                      "n": result["n"], "chance": result["chance"]} for metric in METRICS]
    return rows, counts


def run_job(config_path: str | os.PathLike) -> Path:
    """One system's Appendix J job: every (task, language) scored; writes scores.json, predictions and run.json."""
    job = read_yaml_mapping(config_path, "App. J job config", CrossLingualDataError)
    out = Path(job["output_dir"])
    started = time.time()
    model, tokenizer = _job_model(job)
    threads = _single_thread_if_tiny(model)
    try:
        rows, counts = _score_job(job, model, tokenizer, out)
    finally:
        _restore_threads(threads)
    atomic_write_json(
        out / "run.json",
        {
            "system": job["system"],
            "job": job,
            "items": counts,
            "seconds": round(time.time() - started, 2),
            "model": job.get("trained") or job.get("model"),
            "scoring": "lm-eval-harness-style option log-likelihood (acc, acc_norm)",
            "device": str(next(model.parameters()).device),
            "versions": package_versions(),
        "git_revision": git_revision(), "hardware": hardware(), "determinism": determinism(),
        },
    )
    atomic_write_json(out / "scores.json", rows)  # last: its presence marks the job finished
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: `python -m alma_core.runs.crosslingual --config JOB.yaml` (the job the Appendix J notebook launches)."""
    parser = argparse.ArgumentParser(prog="python -m alma_core.runs.crosslingual", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="job YAML written by jobs.crosslingual.ensure_evaluated")
    args = parser.parse_args(argv)
    quiet_progress()
    try:
        print(f"[crosslingual] wrote {run_job(args.config)}", flush=True)
    except (ValueError, FileNotFoundError) as err:  # user errors (data, config, model): one line, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
