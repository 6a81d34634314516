"""Zero-shot cross-lingual evaluation by log-likelihood scoring of answer options (Appendix J, Table 12).

The paper evaluates the backbone before and after stage 1 on XNLI, XStoryCloze and XWinograd with
lm-evaluation-harness. That harness does not generate: each answer option is written out as a
continuation of a context, the model scores the sum of the log-probabilities of the option's tokens,
and the highest-scoring option is the prediction. This module does the same with one batched forward
pass per batch (right padding), builds the items in the harness's prompt style, and reads the public
datasets' formats (JSON lines / TSV / CSV) with errors that name the file and the line.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "TASKS",
    "TABLE12_LANGUAGES",
    "HUB_DATASETS",
    "XNLI_WORDS",
    "XNLIWords",
    "CrossLingualDataError",
    "MultipleChoiceItem",
    "MultipleChoiceResult",
    "encode_pair",
    "pair_loglikelihoods",
    "option_loglikelihoods",
    "score_multiple_choice",
    "xnli_item",
    "xstorycloze_item",
    "xwinograd_item",
    "read_records",
    "read_xnli",
    "read_xstorycloze",
    "read_xwinograd",
    "read_task",
    "sample_path",
    "load_sample_items",
    "load_hub_items",
    "evaluate_task",
    "JOB_MODULE",
    "run_job",
    "job_config",
    "render_job",
    "start_job",
    "ensure_evaluated",
    "render_jobs",
    "scored_examples",
    "main",
]

TASKS: tuple[str, ...] = ("XNLI", "XStoryCloze", "XWinograd")
# The languages of Table 12 that overlap the paper's languages (Appendix J): no Icelandic/Czech anywhere,
# and German only in XNLI.
TABLE12_LANGUAGES: dict[str, tuple[str, ...]] = {
    "XNLI": ("de", "en", "ru", "zh"),
    "XStoryCloze": ("en", "ru", "zh"),
    "XWinograd": ("en", "ru", "zh"),
}
# Where the paper-profile data comes from: (hub dataset id, split); the config name is the language code.
HUB_DATASETS: dict[str, tuple[str, str]] = {
    "XNLI": ("xnli", "test"),
    "XStoryCloze": ("juletxara/xstory_cloze", "eval"),
    "XWinograd": ("Muennighoff/xwinograd", "test"),
}
XNLI_LABELS: tuple[str, ...] = ("entailment", "neutral", "contradiction")


class CrossLingualDataError(ValueError):
    """A malformed benchmark file or item; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class XNLIWords:
    """The words of the XNLI prompt in one language: "{premise}, {right}? {Yes|Also|No}, {hypothesis}"."""

    right: str
    entailment: str
    neutral: str
    contradiction: str


# The per-language words of lm-evaluation-harness's XNLI task (the XGLM prompt translated word by word).
XNLI_WORDS: dict[str, XNLIWords] = {
    "en": XNLIWords("right", "Yes", "Also", "No"),
    "de": XNLIWords("richtig", "Ja", "Auch", "Nein"),
    "ru": XNLIWords("правильно", "Да", "Так", "Нет"),
    "zh": XNLIWords("正确", "是的", "所以", "不是的"),
}


@dataclass(frozen=True)
class MultipleChoiceItem:
    """One item: option i is the text `continuations[i]` scored after `contexts[i]`; `label` is the right option."""

    task: str
    lang: str
    contexts: tuple[str, ...]
    continuations: tuple[str, ...]
    label: int
    id: str = ""

    def __post_init__(self) -> None:
        if len(self.contexts) != len(self.continuations) or len(self.contexts) < 2:
            raise CrossLingualDataError(f"item {self.id!r}: needs >= 2 options and one context per option")
        if not 0 <= self.label < len(self.contexts):
            raise CrossLingualDataError(f"item {self.id!r}: label {self.label} is not an option index 0..{len(self.contexts) - 1}")


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
    """(context ids with BOS, continuation ids), split as the harness does: encode the whole, cut at the context's length."""
    if context and context[-1].isspace():  # a trailing space belongs to the continuation's first token
        stripped = context.rstrip()
        continuation = context[len(stripped):] + continuation
        context = stripped
    prefix = _prefix_ids(tokenizer)
    context_ids = prefix + list(tokenizer.encode(context, add_special_tokens=False)) if context else prefix
    whole_ids = prefix + list(tokenizer.encode(context + continuation, add_special_tokens=False))
    continuation_ids = whole_ids[len(context_ids):]
    if not continuation_ids:
        raise ValueError(f"option {continuation!r} has no tokens after context {context[-40:]!r}; options must be non-empty")
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
                        normalize: bool = False, max_length: int | None = None) -> list[float]:
    """log p(continuation | context) for each (context, continuation) pair, batched (Appendix J, lm-eval-harness loglikelihood).

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
    for begin in range(0, len(order), batch_size):
        chunk = order[begin:begin + batch_size]
        for index, value in zip(chunk, _batch_loglikelihoods(model, [encoded[i] for i in chunk], int(pad_id))):
            scores[index] = value
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
                          batch_size: int = 16) -> MultipleChoiceResult:
    """Predict the option with the highest log-likelihood for every item; accuracy (acc) and length-normalized acc_norm."""
    if not items:
        raise ValueError("no items to score; check the data files / languages asked for")
    pairs = [(ctx, cont) for item in items for ctx, cont in zip(item.contexts, item.continuations)]
    flat = pair_loglikelihoods(model, tokenizer, pairs, batch_size=batch_size)
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
    return MultipleChoiceResult(correct / len(items), correct_norm / len(items), len(items), predictions, predictions_norm, scores)


# ---------------------------------------------------------------------------------------------
# items in lm-evaluation-harness's prompt style


def xnli_words(lang: str) -> XNLIWords:
    """The XNLI prompt words of a language; an unknown language names how to add its entry."""
    try:
        return XNLI_WORDS[lang]
    except KeyError:
        raise CrossLingualDataError(
            f"no XNLI prompt words for language {lang!r}; known: {sorted(XNLI_WORDS)}. "
            f"Fix: add XNLI_WORDS[{lang!r}] = XNLIWords(right=..., entailment=..., neutral=..., contradiction=...)"
        ) from None


def xnli_item(premise: str, hypothesis: str, label: int, lang: str, id: str = "") -> MultipleChoiceItem:
    """XNLI as the harness scores it: the whole "premise, right? Yes|Also|No, hypothesis" string (label 0/1/2)."""
    words = xnli_words(lang)
    options = tuple(f"{premise}, {words.right}? {answer}, {hypothesis}"
                    for answer in (words.entailment, words.neutral, words.contradiction))
    return MultipleChoiceItem("XNLI", lang, ("",) * 3, options, label, id)


def xstorycloze_item(sentences: Sequence[str], endings: Sequence[str], label: int, lang: str, id: str = "") -> MultipleChoiceItem:
    """XStoryCloze: the four story sentences joined by spaces, each candidate ending scored after a space (label 0/1)."""
    context = " ".join(s.strip() for s in sentences)
    return MultipleChoiceItem("XStoryCloze", lang, (context,) * len(endings), tuple(" " + e.strip() for e in endings), label, id)


def xwinograd_item(sentence: str, options: Sequence[str], label: int, lang: str, id: str = "") -> MultipleChoiceItem:
    """XWinograd (partial scoring): the blank "_" filled with each option is the context; the rest of the sentence is scored."""
    if sentence.count("_") != 1:
        raise CrossLingualDataError(f"item {id!r}: sentence must contain exactly one '_' blank, got {sentence!r}")
    before, after = sentence.split("_")
    if not after.strip():
        raise CrossLingualDataError(f"item {id!r}: nothing follows the blank in {sentence!r}; the harness scores the words after it")
    continuation = " " + after.strip()
    return MultipleChoiceItem("XWinograd", lang, tuple(before + option for option in options), (continuation,) * len(options), label, id)


# ---------------------------------------------------------------------------------------------
# readers of the public formats


def _task_name(task: str) -> str:
    """Canonical task name (case-insensitive), or an error listing the three."""
    for name in TASKS:
        if name.lower() == str(task).lower():
            return name
    raise CrossLingualDataError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")


def read_records(path: str | os.PathLike) -> list[tuple[str, dict[str, Any]]]:
    """(where, record) for every row of a JSON-lines, JSON-array, TSV or CSV file (header row names the fields)."""
    path = Path(path)
    if not path.is_file():
        raise CrossLingualDataError(f"{path}: file not found. Fix: check the path, or export the dataset split as JSON lines")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise CrossLingualDataError(f"{path}: not valid UTF-8 at byte {err.start}. Fix: re-encode the file as UTF-8") from None
    if path.suffix.lower() in (".tsv", ".csv"):
        return _delimited_records(path, text, "\t" if path.suffix.lower() == ".tsv" else ",")
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise CrossLingualDataError(f"{path}:{err.lineno}: bad JSON array ({err.msg}). Fix: repair the syntax there") from None
        return [(f"{path} (item {i})", _mapping(rec, f"{path} (item {i})")) for i, rec in enumerate(data, start=1)]
    records = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if raw.strip():
            try:
                records.append((f"{path}:{number}", _mapping(json.loads(raw), f"{path}:{number}")))
            except json.JSONDecodeError as err:
                raise CrossLingualDataError(
                    f"{path}:{number}: bad JSON line ({err.msg}, column {err.colno}). Fix: one JSON object per line"
                ) from None
    return records


def _mapping(record: Any, where: str) -> dict[str, Any]:
    """A record must be a JSON object."""
    if not isinstance(record, dict):
        raise CrossLingualDataError(f"{where}: expected a JSON object with named fields, got {type(record).__name__}. Fix: one object per line")
    return record


def _delimited_records(path: Path, text: str, delimiter: str) -> list[tuple[str, dict[str, Any]]]:
    """Rows of a TSV/CSV file with a header; a row with the wrong number of cells names its line."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL)
    rows = list(reader)
    if not rows:
        raise CrossLingualDataError(f"{path}: empty file. Fix: the first line must be a header naming the fields")
    header = [h.strip() for h in rows[0]]
    records = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise CrossLingualDataError(
                f"{path}:{number}: {len(row)} cells but the header has {len(header)} ({', '.join(header)}). "
                "Fix: one cell per header field (a stray tab or comma in a text?)"
            )
        records.append((f"{path}:{number}", dict(zip(header, row))))
    return records


def _field(record: Mapping[str, Any], names: Sequence[str], where: str, task: str) -> Any:
    """The first present of `names` (public field name first, then the original release's alias)."""
    for name in names:
        if name in record and record[name] is not None:
            return record[name]
    raise CrossLingualDataError(f"{where}: missing field {names[0]!r} ({task} format). Fix: add it; fields present: {sorted(record)}")


def _text(record: Mapping[str, Any], names: Sequence[str], where: str, task: str) -> str:
    """A non-empty text field."""
    value = _field(record, names, where, task)
    if not isinstance(value, str) or not value.strip():
        raise CrossLingualDataError(f"{where}: field {names[0]!r} = {value!r} must be a non-empty string. Fix: write the text")
    return value.strip()


def _choice(value: Any, allowed: Mapping[str, int], where: str, name: str) -> int:
    """An answer/label value -> option index, accepting ints, digit strings and label names."""
    key = str(value).strip().lower()
    if key in allowed:
        return allowed[key]
    raise CrossLingualDataError(f"{where}: field {name!r} = {value!r}; expected one of {sorted(set(allowed))}. Fix: correct the value")


def _lang_for(path: Path, lang: str | None) -> str:
    """The language of a file: given, or the file's stem (e.g. `ru.jsonl`)."""
    code = lang or path.stem.split(".")[0]
    if not code or len(code) > 3:
        raise CrossLingualDataError(f"{path}: cannot tell the language from the file name; pass lang='xx'")
    return code


def read_xnli(path: str | os.PathLike, lang: str | None = None) -> list[MultipleChoiceItem]:
    """XNLI items from the HF `xnli` fields premise/hypothesis/label (0 entailment, 1 neutral, 2 contradiction).

    Also reads the original XNLI 1.0 TSV (sentence1/sentence2/gold_label, with a `language` column filtered to `lang`).
    """
    path = Path(path)
    code = _lang_for(path, lang)
    xnli_words(code)
    labels = {"0": 0, "1": 1, "2": 2, **{name: i for i, name in enumerate(XNLI_LABELS)}}
    items = []
    for where, record in read_records(path):
        if "language" in record and str(record["language"]).strip() != code:
            continue
        premise = _text(record, ("premise", "sentence1"), where, "XNLI")
        hypothesis = _text(record, ("hypothesis", "sentence2"), where, "XNLI")
        label = _choice(_field(record, ("label", "gold_label"), where, "XNLI"), labels, where, "label")
        items.append(xnli_item(premise, hypothesis, label, code, id=where))
    return _non_empty(items, path)


def read_xstorycloze(path: str | os.PathLike, lang: str | None = None) -> list[MultipleChoiceItem]:
    """XStoryCloze items from input_sentence_1..4, sentence_quiz1/2 and answer_right_ending (1 or 2).

    The original release's CSV/TSV names (InputSentence1..4, RandomFifthSentenceQuiz1/2, AnswerRightEnding) work too.
    """
    path = Path(path)
    code = _lang_for(path, lang)
    items = []
    for where, record in read_records(path):
        sentences = [_text(record, (f"input_sentence_{i}", f"InputSentence{i}"), where, "XStoryCloze") for i in range(1, 5)]
        endings = [_text(record, (f"sentence_quiz{i}", f"RandomFifthSentenceQuiz{i}"), where, "XStoryCloze") for i in (1, 2)]
        answer = _choice(_field(record, ("answer_right_ending", "AnswerRightEnding"), where, "XStoryCloze"),
                         {"1": 0, "2": 1}, where, "answer_right_ending")
        items.append(xstorycloze_item(sentences, endings, answer, code, id=where))
    return _non_empty(items, path)


def read_xwinograd(path: str | os.PathLike, lang: str | None = None) -> list[MultipleChoiceItem]:
    """XWinograd items from sentence (one "_" blank), option1, option2 and answer ("1" or "2")."""
    path = Path(path)
    code = _lang_for(path, lang)
    items = []
    for where, record in read_records(path):
        sentence = _text(record, ("sentence",), where, "XWinograd")
        if sentence.count("_") != 1:
            raise CrossLingualDataError(f"{where}: sentence must contain exactly one '_' blank, found {sentence.count('_')}. Fix: mark the blank with a single '_'")
        options = [_text(record, (f"option{i}",), where, "XWinograd") for i in (1, 2)]
        answer = _choice(_field(record, ("answer",), where, "XWinograd"), {"1": 0, "2": 1}, where, "answer")
        items.append(xwinograd_item(sentence, options, answer, code, id=where))
    return _non_empty(items, path)


def _non_empty(items: list[MultipleChoiceItem], path: Path) -> list[MultipleChoiceItem]:
    """A benchmark file must hold at least one item."""
    if not items:
        raise CrossLingualDataError(f"{path}: no items (empty file, or no row of this language). Fix: check the file and the language")
    return items


READERS = {"XNLI": read_xnli, "XStoryCloze": read_xstorycloze, "XWinograd": read_xwinograd}


def read_task(task: str, path: str | os.PathLike, lang: str | None = None) -> list[MultipleChoiceItem]:
    """Read one task's file with the matching reader."""
    return READERS[_task_name(task)](path, lang)


def sample_path(task: str, lang: str, root: str | os.PathLike | None = None) -> Path:
    """`<root>/{xnli,xstorycloze,xwinograd}/{lang}.jsonl`; the root defaults to the shipped sample items."""
    if root is None:
        from alma_core.data import sample_data_dir

        root = sample_data_dir()
    return Path(root) / _task_name(task).lower() / f"{lang}.jsonl"


def load_sample_items(task: str, lang: str, root: str | os.PathLike | None = None, limit: int | None = None) -> list[MultipleChoiceItem]:
    """The items of one task and language from a local root (the tiny profile's shipped sample by default)."""
    items = read_task(task, sample_path(task, lang, root), lang)
    return items[:limit] if limit else items


def load_hub_items(task: str, lang: str, *, split: str | None = None, limit: int | None = None,
                   hub_id: str | None = None) -> list[MultipleChoiceItem]:
    """The real benchmark from the Hugging Face hub (paper profile), validated through the same readers' checks."""
    from datasets import load_dataset

    name = _task_name(task)
    default_id, default_split = HUB_DATASETS[name]
    dataset = load_dataset(hub_id or default_id, lang, split=split or default_split)
    builders = {
        "XNLI": lambda r, w: xnli_item(r["premise"], r["hypothesis"], int(r["label"]), lang, w),
        "XStoryCloze": lambda r, w: xstorycloze_item([r[f"input_sentence_{i}"] for i in range(1, 5)],
                                                     [r["sentence_quiz1"], r["sentence_quiz2"]],
                                                     int(r["answer_right_ending"]) - 1, lang, w),
        "XWinograd": lambda r, w: xwinograd_item(r["sentence"], [r["option1"], r["option2"]], int(r["answer"]) - 1, lang, w),
    }
    items = [builders[name](record, f"{hub_id or default_id}/{lang} row {i}") for i, record in enumerate(dataset, start=1)]
    return items[:limit] if limit else items


def evaluate_task(model: Any, tokenizer: Any, task: str, items: Iterable[MultipleChoiceItem], *,
                  batch_size: int = 16) -> dict[str, Any]:
    """Accuracy (percent, as Table 12), acc_norm and n of one task on its items (Appendix J)."""
    items = list(items)
    result = score_multiple_choice(model, tokenizer, items, batch_size=batch_size)
    langs = sorted({item.lang for item in items})
    return {
        "task": _task_name(task),
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
# the evaluation job (started by the Appendix J notebook through alma_core.launch)

JOB_MODULE = "alma_core.crosslingual"
METRICS: tuple[str, ...] = ("accuracy", "acc_norm", "right_loglik_per_char")


def _job_items(job: Mapping[str, Any], task: str, lang: str) -> list[MultipleChoiceItem]:
    """A job's items: the shipped sample / a local root in the public formats, or the real dataset from the hub."""
    if job.get("source", "sample") == "hub":
        return load_hub_items(task, lang, split=(job.get("splits") or {}).get(task), limit=job.get("max_items"))
    return load_sample_items(task, lang, job.get("data_root"), limit=job.get("max_items"))


def _job_model(job: Mapping[str, Any]) -> tuple[Any, Any]:
    """The job's model: a finished training run, or a backbone (hub id/path, optional LoRA adapter); on the GPU if any."""
    import torch

    device = "cuda" if torch.cuda.is_available() else None
    if job.get("trained"):
        from alma_core.train import load_trained

        model, tokenizer = load_trained(job["trained"], dtype=job.get("dtype"), merge=True)
        return (model.to(device) if device else model).eval(), tokenizer
    from alma_core.generate import load_translator

    model, tokenizer = load_translator(job["model"], adapter=job.get("adapter"), local_files_only=job.get("local_files_only", False),
                                       dtype=job.get("dtype"), device=device)
    return model.eval(), tokenizer


def _single_thread_if_tiny(model: Any, limit: int = 20_000_000) -> int:
    """A tiny model on a CPU scores fastest on one thread (more threads only contend on a shared machine); returns the old count."""
    import torch

    threads = torch.get_num_threads()
    if next(model.parameters()).device.type == "cpu" and sum(p.numel() for p in model.parameters()) < limit:
        torch.set_num_threads(1)
    return threads


def _restore_threads(threads: int) -> None:
    """Give back the thread count (the job may run in the notebook's own process)."""
    import torch

    torch.set_num_threads(threads)


def _score_job(job: Mapping[str, Any], model: Any, tokenizer: Any, out: Path) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every (task, language) of a job: tidy score rows, predictions files, and item counts."""
    from alma_core.io import atomic_write_json

    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for task, langs in job["tasks"].items():
        for lang in langs:
            items = _job_items(job, task, lang)
            result = evaluate_task(model, tokenizer, task, items, batch_size=int(job.get("batch_size", 16)))
            atomic_write_json(out / f"predictions.{task}.{lang}.json",
                              [{"id": it.id, "label": it.label, "prediction": p} for it, p in zip(items, result["predictions"])])
            counts[f"{task} {lang}"] = result["n"]
            rows += [{"system": job["system"], "task": task, "lang": lang, "metric": metric, "value": result[metric],
                      "n": result["n"], "chance": result["chance"]} for metric in METRICS]
    return rows, counts


def run_job(config_path: str | os.PathLike) -> Path:
    """One system's Appendix J job: every (task, language) scored; writes scores.json, predictions and run.json."""
    import time

    import yaml

    from alma_core.io import atomic_write_json
    from alma_core.provenance import package_versions

    job = yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))
    out = Path(job["output_dir"])
    started = time.time()
    model, tokenizer = _job_model(job)
    threads = _single_thread_if_tiny(model)
    try:
        rows, counts = _score_job(job, model, tokenizer, out)
    finally:
        _restore_threads(threads)
    atomic_write_json(out / "run.json", {
        "system": job["system"], "job": job, "items": counts, "seconds": round(time.time() - started, 2),
        "model": job.get("trained") or job.get("model"), "scoring": "lm-eval-harness-style option log-likelihood (acc, acc_norm)",
        "device": str(next(model.parameters()).device), "versions": package_versions()})
    atomic_write_json(out / "scores.json", rows)  # last: its presence marks the job finished
    return out


def _slug(name: str) -> str:
    """A folder-safe name for a system (the job layer's)."""
    from alma_core.jobs import slug

    return slug(name)


def _items_digest(job: Mapping[str, Any]) -> str | None:
    """Hash of the local item files a job reads (an edited item invalidates the stored result); None for the hub."""
    import hashlib

    if job.get("source", "sample") == "hub":
        return None
    digest = hashlib.sha256()
    for task, langs in sorted(job["tasks"].items()):
        for lang in langs:
            path = sample_path(task, lang, job.get("data_root"))
            digest.update(path.read_bytes() if path.is_file() else b"missing:" + str(path).encode())
    return digest.hexdigest()[:16]


def job_config(params: Any, system: Any, trained: Mapping[str, Path]) -> tuple[dict[str, Any], str, Path]:
    """The Appendix J job of one system of a notebook's params: resolved model and data; its store key and folder."""
    from alma_core.store import backbone_path, resolve, run_key

    ev = params.evaluation
    if system.train is not None:
        if system.train not in trained:
            from alma_core.jobs import JobError

            raise JobError(f"system {system.name!r} names train run {system.train!r}, which is not in `train`; add it")
        model: dict[str, Any] = {"trained": str(trained[system.train])}
        identity: Any = {"trained": Path(trained[system.train]).name}
    else:
        path = backbone_path(system.model, getattr(params, "tiny_backbone", {}), params.store_dir)
        model = {"model": path, "adapter": system.adapter, "local_files_only": system.local_files_only}
        identity = {"model": Path(path).name if system.model == "tiny" else path, "adapter": system.adapter}
    data_root = str(resolve(ev.data_root)) if ev.data_root else None
    job = {"system": system.name, **model, "tasks": {t: list(langs) for t, langs in ev.tasks.items()}, "source": ev.source,
           "data_root": data_root, "splits": dict(ev.splits), "max_items": ev.max_items, "batch_size": ev.batch_size,
           "dtype": ev.dtype}
    key = run_key({"crosslingual": {k: v for k, v in job.items() if k not in ("trained", "model")}, "identity": identity,
                   "items": _items_digest(job)})
    out = resolve(params.store_dir) / "crosslingual" / f"{_slug(system.name)}-{key}"
    return {**job, "output_dir": str(out)}, key, out


def render_job(params: Any, config_path: Path) -> str:
    """The command (or sbatch script) that runs one Appendix J job, as alma_core.jobs starts it."""
    from alma_core import jobs

    return jobs.start(params, config_path, JOB_MODULE, dry_run=True)


def start_job(params: Any, config_path: Path) -> str:
    """Run one job through the job layer (one process; at paper scale an sbatch script, submitted if asked)."""
    from alma_core import jobs

    return jobs.start(params, config_path, JOB_MODULE)


def ensure_evaluated(params: Any, trained: Mapping[str, Path]) -> tuple[Any, dict[str, Path]]:
    """Score every system unless done for the same inputs (store key); (tidy frame, {system: run.json})."""
    import pandas as pd

    from alma_core import jobs
    from alma_core.io import read_json

    frames, runs = [], {}
    for system in params.systems:
        job, key, out = job_config(params, system, trained)
        jobs.ensure(params, job, key, out, JOB_MODULE, finished=lambda o: (o / "scores.json").is_file(),
                    info={"system": system.name})
        frames.append(pd.DataFrame(read_json(out / "scores.json")))
        runs[system.name] = out / "run.json"
    return pd.concat(frames, ignore_index=True), runs


def render_jobs(params: Any, out: Path, trained: Mapping[str, Path] | None = None) -> list[Path]:
    """Every Appendix J evaluation job of `params` written as config + command/script, without running it (dry run).

    `trained` maps the notebook's train runs to their output folders (alma_core.book.train_config); by default
    `<store_dir>/train/<run>`.
    """
    import yaml

    from alma_core.io import atomic_write_text

    if trained is None:
        trained = {name: Path(params.store_dir) / "train" / _slug(name) for name in getattr(params, "train", {})}
    written = []
    for system in params.systems:
        job, _key, _dir = job_config(params, system, trained)
        config_path = out / f"{_slug(system.name)}.crosslingual.yaml"
        atomic_write_text(config_path, yaml.safe_dump(job, sort_keys=True, allow_unicode=True))
        script = config_path.with_suffix(".sbatch" if params.launch.launcher == "slurm" else ".sh")
        atomic_write_text(script, render_job(params, config_path))
        written += [config_path, script]
    return written


def scored_examples(items_by_task: Mapping[str, MultipleChoiceItem]) -> Any:
    """What the model scores for one item of each task: the context, each option's continuation, and the right one."""
    import pandas as pd

    rows = []
    for task, item in items_by_task.items():
        for k, (context, continuation) in enumerate(zip(item.contexts, item.continuations)):
            rows.append({"task": f"{task} ({item.lang})", "option": k, "context (not scored)": context or "(BOS only)",
                         "continuation (scored)": continuation, "right": "yes" if k == item.label else ""})
    return pd.DataFrame(rows).set_index(["task", "option"])


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: `python -m alma_core.crosslingual --config JOB.yaml` (the job the Appendix J notebook launches)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m alma_core.crosslingual", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="job YAML written by alma_core.crosslingual.ensure_evaluated")
    args = parser.parse_args(argv)
    try:
        print(f"[crosslingual] wrote {run_job(args.config)}", flush=True)
    except (CrossLingualDataError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
