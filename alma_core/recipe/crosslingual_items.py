"""Appendix J's benchmark items: XNLI, XStoryCloze and XWinograd read from their public formats and built in
lm-evaluation-harness's prompt style (each answer option a continuation of a context).

The readers take JSON lines / JSON arrays / TSV / CSV (the hub exports) and stop with errors that name the
file, the line and the fix; `load_sample_items` reads the tiny profile's shipped items, `load_hub_items` the
real datasets (paper profile). Scoring lives in alma_core.runs.crosslingual.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alma_core.io import json_records, read_text
from alma_core.recipe.data import sample_data_dir

__all__ = [
    "TASKS",
    "TABLE12_LANGUAGES",
    "HUB_DATASETS",
    "XNLI_LABELS",
    "XNLI_WORDS",
    "XNLIWords",
    "CrossLingualDataError",
    "MultipleChoiceItem",
    "task_name",
    "xnli_words",
    "xnli_item",
    "xstorycloze_item",
    "xwinograd_item",
    "read_records",
    "read_xnli",
    "read_xstorycloze",
    "read_xwinograd",
    "READERS",
    "read_task",
    "sample_path",
    "load_sample_items",
    "load_hub_items",
    "load_items",
    "items_digest",
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
            raise CrossLingualDataError(
                f"item {self.id!r}: label {self.label} is not an option index 0..{len(self.contexts) - 1}"
            )


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


def xstorycloze_item(
    sentences: Sequence[str], endings: Sequence[str], label: int, lang: str, id: str = ""
) -> MultipleChoiceItem:
    """XStoryCloze: the four story sentences joined by spaces, each candidate ending scored after a space (label
    0/1)."""
    context = " ".join(s.strip() for s in sentences)
    return MultipleChoiceItem(
        "XStoryCloze", lang, (context,) * len(endings), tuple(" " + e.strip() for e in endings), label, id
    )


def xwinograd_item(sentence: str, options: Sequence[str], label: int, lang: str, id: str = "") -> MultipleChoiceItem:
    """XWinograd (partial scoring): the blank "_" filled with each option is the context; the rest of the sentence is
    scored."""
    if sentence.count("_") != 1:
        raise CrossLingualDataError(f"item {id!r}: sentence must contain exactly one '_' blank, got {sentence!r}")
    before, after = sentence.split("_")
    if not after.strip():
        raise CrossLingualDataError(
            f"item {id!r}: nothing follows the blank in {sentence!r}; the harness scores the words after it"
        )
    continuation = " " + after.strip()
    return MultipleChoiceItem(
        "XWinograd", lang, tuple(before + option for option in options), (continuation,) * len(options), label, id
    )


# ---------------------------------------------------------------------------------------------
# readers of the public formats


def task_name(task: str) -> str:
    """Canonical task name (case-insensitive), or an error listing the three."""
    for name in TASKS:
        if name.lower() == str(task).lower():
            return name
    raise CrossLingualDataError(f"unknown task {task!r}; use one of {', '.join(TASKS)}")


def read_records(path: str | os.PathLike) -> list[tuple[str, dict[str, Any]]]:
    """(where, record) for every row of a JSON-lines, JSON-array, TSV or CSV file (header row names the fields)."""
    path, text = read_text(path, "file", "check the path, or export the dataset split as JSON lines",
                           CrossLingualDataError)
    if path.suffix.lower() in (".tsv", ".csv"):
        return _delimited_records(path, text, "\t" if path.suffix.lower() == ".tsv" else ",")
    records = []
    for line, item, record in json_records(path, text, CrossLingualDataError):
        where = f"{path}:{line}" if line is not None else f"{path} (item {item})"
        records.append((where, _mapping(record, where)))
    return records


def _mapping(record: Any, where: str) -> dict[str, Any]:
    """A record must be a JSON object."""
    if not isinstance(record, dict):
        raise CrossLingualDataError(
            f"{where}: expected a JSON object with named fields, got {type(record).__name__}. Fix: one object per line"
        )
    return record


def _delimited_records(path: Path, text: str, delimiter: str) -> list[tuple[str, dict[str, Any]]]:
    """Rows of a TSV/CSV file with a header; a row with the wrong number of cells names its line."""
    reader = csv.reader(
        io.StringIO(text), delimiter=delimiter, quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    )
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
    raise CrossLingualDataError(
        f"{where}: missing field {names[0]!r} ({task} format). Fix: add it; fields present: {sorted(record)}"
    )


def _text(record: Mapping[str, Any], names: Sequence[str], where: str, task: str) -> str:
    """A non-empty text field."""
    value = _field(record, names, where, task)
    if not isinstance(value, str) or not value.strip():
        raise CrossLingualDataError(
            f"{where}: field {names[0]!r} = {value!r} must be a non-empty string. Fix: write the text"
        )
    return value.strip()


def _choice(value: Any, allowed: Mapping[str, int], where: str, name: str) -> int:
    """An answer/label value -> option index, accepting ints, digit strings and label names."""
    key = str(value).strip().lower()
    if key in allowed:
        return allowed[key]
    raise CrossLingualDataError(
        f"{where}: field {name!r} = {value!r}; expected one of {sorted(set(allowed))}. Fix: correct the value"
    )


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
        sentences = [
            _text(record, (f"input_sentence_{i}", f"InputSentence{i}"), where, "XStoryCloze") for i in range(1, 5)
        ]
        endings = [
            _text(record, (f"sentence_quiz{i}", f"RandomFifthSentenceQuiz{i}"), where, "XStoryCloze") for i in (1, 2)
        ]
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
            raise CrossLingualDataError(
                f"{where}: sentence must contain exactly one '_' blank, found {sentence.count('_')}. Fix: mark the "
                f"blank with a single '_'"
            )
        options = [_text(record, (f"option{i}",), where, "XWinograd") for i in (1, 2)]
        answer = _choice(_field(record, ("answer",), where, "XWinograd"), {"1": 0, "2": 1}, where, "answer")
        items.append(xwinograd_item(sentence, options, answer, code, id=where))
    return _non_empty(items, path)


def _non_empty(items: list[MultipleChoiceItem], path: Path) -> list[MultipleChoiceItem]:
    """A benchmark file must hold at least one item."""
    if not items:
        raise CrossLingualDataError(
            f"{path}: no items (empty file, or no row of this language). Fix: check the file and the language"
        )
    return items


READERS = {"XNLI": read_xnli, "XStoryCloze": read_xstorycloze, "XWinograd": read_xwinograd}


def read_task(task: str, path: str | os.PathLike, lang: str | None = None) -> list[MultipleChoiceItem]:
    """Read one task's file with the matching reader."""
    return READERS[task_name(task)](path, lang)


def sample_path(task: str, lang: str, root: str | os.PathLike | None = None) -> Path:
    """`<root>/{xnli,xstorycloze,xwinograd}/{lang}.jsonl`; the root defaults to the shipped sample items."""
    if root is None:
        root = sample_data_dir()
    return Path(root) / task_name(task).lower() / f"{lang}.jsonl"


def load_sample_items(
    task: str, lang: str, root: str | os.PathLike | None = None, limit: int | None = None
) -> list[MultipleChoiceItem]:
    """The items of one task and language from a local root (the tiny profile's shipped sample by default).

    Used by notebooks/appJ_crosslingual.ipynb.
    """
    items = read_task(task, sample_path(task, lang, root), lang)
    return items[:limit] if limit else items


def load_hub_items(task: str, lang: str, *, split: str | None = None, limit: int | None = None,
                   hub_id: str | None = None) -> list[MultipleChoiceItem]:
    """The real benchmark from the Hugging Face hub (paper profile), validated through the same readers' checks."""
    from datasets import load_dataset

    name = task_name(task)
    default_id, default_split = HUB_DATASETS[name]
    dataset = load_dataset(hub_id or default_id, lang, split=split or default_split)
    builders = {
        "XNLI": lambda r, w: xnli_item(r["premise"], r["hypothesis"], int(r["label"]), lang, w),
        "XStoryCloze": lambda r, w: xstorycloze_item(
            [r[f"input_sentence_{i}"] for i in range(1, 5)],
            [r["sentence_quiz1"], r["sentence_quiz2"]],
            int(r["answer_right_ending"]) - 1,
            lang,
            w,
        ),
        "XWinograd": lambda r, w: xwinograd_item(
            r["sentence"], [r["option1"], r["option2"]], int(r["answer"]) - 1, lang, w
        ),
    }
    items = [
        builders[name](record, f"{hub_id or default_id}/{lang} row {i}") for i, record in enumerate(dataset, start=1)
    ]
    return items[:limit] if limit else items


def load_items(task: str, lang: str, *, source: str = "sample", data_root: str | os.PathLike | None = None,
               split: str | None = None, limit: int | None = None) -> list[MultipleChoiceItem]:
    """One task and language's items: a local root in the public formats (`source` "sample"), or the hub's ("hub")."""
    if source == "hub":
        return load_hub_items(task, lang, split=split, limit=limit)
    return load_sample_items(task, lang, data_root, limit=limit)


def items_digest(tasks: Mapping[str, Sequence[str]], root: str | os.PathLike | None = None) -> str:
    """Hash of the local item files of every (task, language) (an edited item changes it; a missing file counts)."""
    digest = hashlib.sha256()
    for task, langs in sorted(tasks.items()):
        for lang in langs:
            path = sample_path(task, lang, root)
            digest.update(path.read_bytes() if path.is_file() else b"missing:" + str(path).encode())
    return digest.hexdigest()[:16]
