"""Batched beam-search translation (Section 5.1 decoding; official eval fixed, official-implementation.md section 5).

Differences from the official evaluation, each on purpose:
* `do_sample=False` is set explicitly: the released checkpoints' generation configs switch sampling on.
* Prompts are padded on the left only to the longest prompt of a batch, and batches hold prompts of
  similar length (sorted), instead of padding every prompt to 256 tokens in batches of 2. With a
  `token_budget` a batch holds as many prompts as fit the budget (short prompts, big batches).
* A source too long for `max_prompt_tokens` is cut inside the source, so the `\\n{Tgt}:` suffix that
  tells the model what to do is never lost (the official right-truncation drops it).
* Outputs go to a JSONL file batch by batch, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alma_core.io import atomic_write_text
from alma_core.recipe.prompts import PromptStyle, clean_output, prompt_parts
from alma_core.runs.modeling import is_local_model_path, load_backbone

__all__ = [
    "GenerationError",
    "PromptBudgetError",
    "ResumeMismatchError",
    "build_prompts",
    "count_truncated",
    "beam_search_config",
    "plan_batches",
    "translate",
    "read_translations",
    "load_translator",
]


class GenerationError(ValueError):
    """A translation request that cannot run as given."""


class PromptBudgetError(GenerationError):
    """The prompt without any source text already exceeds `max_prompt_tokens`."""


class ResumeMismatchError(GenerationError):
    """An existing output file belongs to different sources than the ones given now."""


def _token_counts(tokenizer: Any, texts: Sequence[str]) -> list[int]:
    """Token count of each text as the model will see it (special tokens included)."""
    if not texts:
        return []
    return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=True)["input_ids"]]


def _source_cuts(tokenizer: Any, source: str) -> list[int]:
    """Character positions where the source can be cut after its k-th token (k = 1..n)."""
    if getattr(tokenizer, "is_fast", False):
        offsets = tokenizer(source, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        return [end for _, end in offsets]
    ids = tokenizer(source, add_special_tokens=False)["input_ids"]
    return [len(tokenizer.decode(ids[: k + 1], skip_special_tokens=True)) for k in range(len(ids))]


def _fit_prompt(tokenizer: Any, before: str, source: str, after: str, max_prompt_tokens: int) -> str:
    """The prompt with the source shortened (at a token boundary) until the whole prompt fits the budget."""
    overhead = _token_counts(tokenizer, [before + after])[0]
    if overhead > max_prompt_tokens:
        raise PromptBudgetError(
            f"the prompt without a source is already {overhead} tokens > max_prompt_tokens={max_prompt_tokens}; "
            "raise max_prompt_tokens or use fewer/shorter shots"
        )
    cuts = _source_cuts(tokenizer, source)
    keep = min(len(cuts), max_prompt_tokens - overhead + 1)
    while keep > 0:
        prompt = before + source[: cuts[keep - 1]].rstrip() + after
        if _token_counts(tokenizer, [prompt])[0] <= max_prompt_tokens:
            return prompt
        keep -= 1
    return before + after


def build_prompts(
    tokenizer: Any,
    sources: Sequence[str],
    src: str,
    tgt: str,
    *,
    max_prompt_tokens: int = 256,
    style: PromptStyle = "english",
    shots: Sequence[tuple[str, str]] = (),
) -> tuple[list[str], list[int]]:
    """Figure 2 prompts (or App. E/I variants) within `max_prompt_tokens`, truncating inside the source; + lengths."""
    before, after = prompt_parts(src, tgt, style=style, shots=shots)
    prompts = [before + s + after for s in sources]
    lengths = _token_counts(tokenizer, prompts)
    for i, n in enumerate(lengths):
        if n > max_prompt_tokens:
            prompts[i] = _fit_prompt(tokenizer, before, sources[i], after, max_prompt_tokens)
            lengths[i] = _token_counts(tokenizer, [prompts[i]])[0]
    return prompts, lengths


def count_truncated(
    tokenizer: Any,
    sources: Sequence[str],
    src: str,
    tgt: str,
    max_prompt_tokens: int = 256,
    *,
    style: PromptStyle = "english",
    shots: Sequence[tuple[str, str]] = (),
) -> int:
    """How many sources do not fit `max_prompt_tokens` and are cut by `build_prompts` (reported, never silent; Section
    5.1)."""
    before, after = prompt_parts(src, tgt, style=style, shots=shots)
    return sum(n > max_prompt_tokens for n in _token_counts(tokenizer, [before + s + after for s in sources]))


def beam_search_config(model: Any, tokenizer: Any, *, num_beams: int = 5, max_new_tokens: int = 256) -> Any:
    """The model's generation config turned into plain beam search: sampling off and its knobs reset (pitfall 5)."""
    from transformers import GenerationConfig

    base = getattr(model, "generation_config", None)
    config = copy.deepcopy(base) if base is not None else GenerationConfig()
    eos = config.eos_token_id if config.eos_token_id is not None else tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    config.update(
        do_sample=False,
        num_beams=num_beams,
        num_return_sequences=1,
        max_new_tokens=max_new_tokens,
        temperature=1.0,
        top_p=1.0,
        top_k=50,
        typical_p=1.0,
        eos_token_id=eos,
        pad_token_id=pad,
    )
    return config


def plan_batches(
    lengths: Sequence[int],
    *,
    num_beams: int,
    max_new_tokens: int,
    batch_size: int | None = 16,
    token_budget: int | None = None,
) -> list[list[int]]:
    """Prompt indices in batches, longest prompts first, each within `batch_size` and `token_budget` (Section 5.1).

    A batch's cost is rows x beams x (its longest prompt + max_new_tokens): the tokens its KV cache holds at the
    last step. A prompt over the budget on its own still runs, alone.
    """
    if batch_size is None and token_budget is None:
        raise GenerationError("give batch_size, token_budget or both (got neither); e.g. token_budget=65536")
    order = sorted(range(len(lengths)), key=lambda k: (-lengths[k], k))  # longest first: memory errors show early
    batches: list[list[int]] = []
    start = 0
    while start < len(order):
        rows = batch_size if batch_size is not None else len(order)
        if token_budget is not None:  # the first prompt of a batch is its longest
            rows = min(rows, max(1, token_budget // (num_beams * (lengths[order[start]] + max_new_tokens))))
        batches.append(order[start : start + rows])
        start += rows
    return batches


def read_translations(path: str | os.PathLike, sources: Sequence[str] | None = None) -> dict[int, str]:
    """Finished translations {index: hypothesis} from a JSONL output file; checks they belong to `sources`."""
    path = Path(path)
    done: dict[int, str] = {}
    if not path.is_file():
        return done
    try:
        lines = path.read_text(encoding="utf-8-sig").split("\n")  # a BOM (a file saved by an editor) is no record
    except UnicodeDecodeError as err:
        raise GenerationError(f"{path}: not valid UTF-8 at byte {err.start}. Fix: delete the file (it was not written "
                              "by translate()) or re-encode it as UTF-8") from None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            index, source, hypothesis = int(record["index"]), record["source"], record["hypothesis"]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            if lineno == len(lines) or all(not rest.strip() for rest in lines[lineno:]):
                break  # a line cut by an interruption: that sentence is simply redone
            raise GenerationError(
                f"{path}:{lineno}: not an output record ({line[:80]!r}); delete the file to start over"
            ) from None
        if sources is not None and (index >= len(sources) or sources[index] != source):
            given = repr(sources[index][:60]) if index < len(sources) else f"nothing (only {len(sources)} sources)"
            raise ResumeMismatchError(
                f"{path}:{lineno}: holds sentence {index} {source[:60]!r} but the sources given now have {given} "
                f"there; "
                "this file belongs to another test set or direction. Fix: pass another output_path or delete the file"
            )
        done[index] = hypothesis
    return done


def _write_final(path: Path, sources: Sequence[str], hypotheses: Sequence[str]) -> None:
    """Rewrite the output file atomically in index order (the same file whether or not the run was interrupted)."""
    lines = [
        json.dumps({"index": i, "source": s, "hypothesis": h}, ensure_ascii=False)
        for i, (s, h) in enumerate(zip(sources, hypotheses))
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")


def _progress(total: int, initial: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar counting sentences (its rate reads sentences/s)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="sent", desc=desc, disable=not enabled, smoothing=0.1)


def translate(
    model: Any,
    tokenizer: Any,
    sources: Sequence[str],
    src: str,
    tgt: str,
    *,
    num_beams: int = 5,
    batch_size: int | None = 16,
    token_budget: int | None = None,
    max_new_tokens: int = 256,
    max_prompt_tokens: int = 256,
    style: PromptStyle = "english",
    shots: Sequence[tuple[str, str]] = (),
    output_path: str | os.PathLike | None = None,
    progress: bool = True,
) -> list[str]:
    """Translate `sources` src->tgt with plain beam search in length-sorted, left-padded batches (Section 5.1).

    Batches hold at most `batch_size` prompts and, with `token_budget`, at most that many tokens of
    rows x beams x (longest prompt + max_new_tokens) (`plan_batches`); outputs do not depend on the batching.
    With `output_path`, each finished batch is appended to a JSONL file (index, source, hypothesis)
    and a rerun skips the sentences already there; at the end the file is rewritten in index order.
    """
    _check_arguments(sources, batch_size, token_budget, num_beams, max_new_tokens)
    sources = list(sources)
    path = Path(output_path) if output_path is not None else None
    done = read_translations(path, sources) if path is not None else {}
    todo = [i for i in range(len(sources)) if i not in done]
    prompts, lengths = build_prompts(
        tokenizer, [sources[i] for i in todo], src, tgt, max_prompt_tokens=max_prompt_tokens, style=style, shots=shots
    )
    batches = plan_batches(
        lengths, num_beams=num_beams, max_new_tokens=max_new_tokens, batch_size=batch_size, token_budget=token_budget
    )
    config = beam_search_config(model, tokenizer, num_beams=num_beams, max_new_tokens=max_new_tokens)
    hypotheses = dict(done)
    handle = _open_for_append(path, sources, done) if path is not None and todo else None
    padding_side, tokenizer.padding_side = tokenizer.padding_side, "left"
    bar = _progress(len(sources), len(done), f"{src}-{tgt}", progress)
    try:
        for batch in batches:
            records = []
            for k, text in zip(batch, _generate(model, tokenizer, [prompts[k] for k in batch], config)):
                index = todo[k]
                hypotheses[index] = clean_output(text, tgt, style=style)  # continuation only: its first line
                records.append({"index": index, "source": sources[index], "hypothesis": hypotheses[index]})
            if handle is not None:
                _append_records(handle, records)
            bar.update(len(batch))
    finally:
        tokenizer.padding_side = padding_side
        bar.close()
        if handle is not None:
            handle.close()
    result = [hypotheses[i] for i in range(len(sources))]
    if path is not None:
        _write_final(path, sources, result)
    return result


def _check_arguments(sources: Sequence[str], *sizes: int | None) -> None:
    """Sources as a list and positive batch_size, token_budget, num_beams, max_new_tokens (None turns one off)."""
    if isinstance(sources, str):
        raise GenerationError("pass a list of source sentences, not a single string")
    if any(v is not None and v < 1 for v in sizes):
        batch_size, token_budget, num_beams, max_new_tokens = sizes
        raise GenerationError(
            f"batch_size, token_budget, num_beams and max_new_tokens must be >= 1 (got {batch_size}, {token_budget}, "
            f"{num_beams}, {max_new_tokens}); pass positive values (None turns batch_size or token_budget off)"
        )


def _generate(model: Any, tokenizer: Any, prompts: list[str], config: Any) -> list[str]:
    """One left-padded batch through plain beam search (Sec. 5.1); the decoded continuations."""
    import torch

    encoded = tokenizer(prompts, return_tensors="pt", padding=True).to(next(model.parameters()).device)
    encoded.pop("token_type_ids", None)  # Falcon's tokenizer returns them; generate() refuses them
    with torch.inference_mode():
        # use_model_defaults=False: otherwise transformers>=4.50 puts back every value of the model's
        # generation config that ours leaves at the library default - do_sample=True among them.
        output = model.generate(**encoded, generation_config=config, use_model_defaults=False)
    return tokenizer.batch_decode(output[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True)


def _open_for_append(path: Path, sources: Sequence[str], done: dict[int, str]) -> Any:
    """The resumable output file opened for appending, a line cut by an interruption dropped first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if done:
        _write_final_partial(path, sources, done)
    return open(path, "a", encoding="utf-8")


def _append_records(handle: Any, records: list[dict[str, Any]]) -> None:
    """One finished batch appended and synced to disk: a killed run keeps it."""
    handle.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    handle.flush()
    os.fsync(handle.fileno())


def _write_final_partial(path: Path, sources: Sequence[str], done: dict[int, str]) -> None:
    """Rewrite a resumed file with only its complete records (removes a half-written last line)."""
    lines = [
        json.dumps({"index": i, "source": sources[i], "hypothesis": done[i]}, ensure_ascii=False) for i in sorted(done)
    ]
    atomic_write_text(path, "\n".join(lines) + "\n")


def _adapter_base(adapter: Path) -> str | None:
    """The base model a LoRA adapter records in its adapter_config.json (None when it records none)."""
    config = adapter / "adapter_config.json"
    return json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path") if config.is_file() else None


def _note_other_base(adapter: str | os.PathLike, model: str | os.PathLike) -> None:
    """Warn when a LoRA adapter records a base hub id other than the hub id it is loaded on (same shapes, other
    weights: silently different outputs)."""
    from peft import PeftConfig

    recorded = PeftConfig.from_pretrained(str(adapter)).base_model_name_or_path
    if recorded and str(model) != recorded and not is_local_model_path(recorded) and not is_local_model_path(model):
        print(f"[generate] note: LoRA adapter {adapter} was trained on {recorded!r} (adapter_config.json) but is "
              f"loaded on {str(model)!r}; if that is not intended, set the system's model to {recorded!r}",
              file=sys.stderr, flush=True)


def load_translator(
    path_or_id: str | os.PathLike,
    *,
    adapter: str | os.PathLike | None = None,
    local_files_only: bool = False,
    dtype: Any = None,
    device: str | None = None,
    merge: bool = True,
    trust_remote_code: bool = False,
) -> tuple[Any, Any]:
    """(model, tokenizer) for translation: full weights, or a base model plus a LoRA adapter (Section 5.2).

    The adapter is merged into the base weights by default (same outputs, faster decoding).
    """
    model, tokenizer = load_backbone(path_or_id, local_files_only=local_files_only, dtype=dtype,
                                     trust_remote_code=trust_remote_code)
    if adapter is not None:
        from peft import PeftModel

        adapter_path = Path(adapter)
        if not (adapter_path / "adapter_config.json").is_file() and adapter_path.exists():
            raise GenerationError(f"{adapter_path}: no adapter_config.json; pass the folder saved by a LoRA run")
        _note_other_base(adapter, path_or_id)
        try:
            model = PeftModel.from_pretrained(model, str(adapter), is_trainable=False)
        except RuntimeError as err:  # shape mismatches: the adapter was trained on another base model
            if "size mismatch" not in str(err):
                raise
            base = _adapter_base(adapter_path) or "another base model (none recorded)"
            raise GenerationError(
                f"LoRA adapter {adapter} does not fit the model {str(path_or_id)!r}: it was trained on {base} "
                "(adapter_config.json base_model_name_or_path) and its weight shapes differ. Fix: load the adapter "
                "on the base model it was trained on (the system's `model`)") from None
        if merge:
            model = model.merge_and_unload()
    if device is not None:
        model = model.to(device)
    return model.eval(), tokenizer
