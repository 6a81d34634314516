"""Small data in the REAL formats for the offline rehearsal of the paper/released profiles (see DESIGN.md).

`write_rehearsal_data(root)` writes, under `root/data/`, every data root the paper and released params
name: `human_written_data/` (official layout, 5-shot files, monolingual text), WMT test sets as
`sacrebleu --echo` text (`wmt/`, the one test-set root of every chapter), the Section 3 / App. A ru-en root,
the Section 6.2 Random/Filtered roots, OSCAR-2301 shards (JSON lines + zstandard) and App. J items in the files layout.
`write_hub_datasets(hf_home)` puts XNLI / XStoryCloze / XWinograd where an offline
`datasets.load_dataset(id, lang, split=...)` finds them.

Sentences come from THE hand-written lexicon (standins.lexicon) in the mini world's word order (standins.sentences):
subject + verb and object + a time or place, with real words in each language's own script, so aligned pairs share
their slots and py3langid recognises every language. Everything is deterministic per seed and written atomically.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from alma_core.io import atomic_write_bytes, atomic_write_text, read_yaml_mapping, seeded_rng
from alma_core.jobs.store import repo_root
from alma_core.recipe.crosslingual_items import HUB_DATASETS, TABLE12_LANGUAGES
from alma_core.recipe.data import parallel_path, shots_path
from alma_core.recipe.languages import PAPER_LANGUAGES, declare_languages, paper_directions, wmt_test_set
from alma_core.recipe.sampling import degrade_pairs
from alma_core.standins.sentences import COMBOS, Combo, item_records, sentence, word_space

__all__ = [
    "REHEARSAL_LANGUAGES",
    "OSCAR_LANGUAGES",
    "HUB_TASK_LANGUAGES",
    "write_rehearsal_data",
    "oscar_data_files",
    "write_hub_datasets",
]

# Languages of human_written_data/: the paper's five plus uk (the "adding a language pair" chapter).
REHEARSAL_LANGUAGES: tuple[str, ...] = (*PAPER_LANGUAGES, "uk")
OSCAR_LANGUAGES: tuple[str, ...] = ("en", *REHEARSAL_LANGUAGES)
# Which languages the App. J hub datasets hold here (the languages of Table 12).
HUB_TASK_LANGUAGES: dict[str, tuple[str, ...]] = TABLE12_LANGUAGES
# OSCAR-2301 sizes differ a lot by language; the shard sizes keep that order (App. D.1).
_DOC_SHARE: dict[str, float] = {"en": 1.0, "ru": 0.9, "de": 0.9, "zh": 0.8, "cs": 0.7, "uk": 0.5, "is": 0.35}
_ISO3: dict[str, str] = {"en": "eng", "de": "deu", "cs": "ces", "is": "isl", "zh": "zho", "ru": "rus", "uk": "ukr"}
_TLD: dict[str, str] = {"en": "com", "de": "de", "cs": "cz", "is": "is", "zh": "cn", "ru": "ru", "uk": "ua"}



def _json_lines(records: Iterable[Any]) -> str:
    """JSON lines, UTF-8 kept readable."""
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def _json_array(records: Sequence[Any]) -> str:
    """A JSON array, indented like the official valid/test files."""
    return json.dumps(list(records), ensure_ascii=False, indent=2) + "\n"


def _translation(combos: Sequence[Combo], src: str, tgt: str) -> list[dict[str, dict[str, str]]]:
    """`{"translation": {src: ..., tgt: ...}}` records of the combos."""
    return [{"translation": {src: sentence(c, src), tgt: sentence(c, tgt)}} for c in combos]


# ---------------------------------------------------------------------------------------------
# parallel data


class _Split:
    """A language's combos cut into disjoint parts: tests (xx->en, en->xx), valid, then a training pool."""

    def __init__(self, seed: int, lang: str, tests: int, valid: int) -> None:
        combos = list(COMBOS)
        seeded_rng(seed, "combos", lang).shuffle(combos)
        self.test_from_en, self.test_to_en = combos[:tests], combos[tests:2 * tests]
        self.valid = combos[2 * tests:2 * tests + valid]
        self.pool = combos[2 * tests + valid:]

    def test(self, src: str) -> list[Combo]:
        """The test combos of a direction (WMT's xx->en and en->xx sets are different documents)."""
        return self.test_from_en if src == "en" else self.test_to_en

    def train(self, part: int, size: int) -> list[Combo]:
        """The `part`-th block of `size` training combos (0: human-written, 1: Filtered, 2: Random)."""
        return self.pool[part * size:(part + 1) * size]


def _write_layout(root: Path, xx: str, train: Sequence[Combo], split: _Split, *, valid: bool, test: bool) -> None:
    """One language pair in the official layout: train (JSON lines), valid and tests (JSON arrays)."""
    atomic_write_text(parallel_path(root, xx, "en", "train"), _json_lines(_translation(train, xx, "en")))
    if valid:
        atomic_write_text(parallel_path(root, xx, "en", "valid"), _json_array(_translation(split.valid, xx, "en")))
    if test:
        for src, tgt in ((xx, "en"), ("en", xx)):
            atomic_write_text(
                parallel_path(root, src, tgt, "test"), _json_array(_translation(split.test(src), src, tgt))
            )


def _write_random_root(root: Path, xx: str, combos: Sequence[Combo], split: _Split, seed: int) -> None:
    """Sec. 6.2's Random data: same layout, the pairs degraded by THE noise model of graded data
    (`recipe.sampling.degrade_pairs`: half the targets misaligned, a fifth more truncated)."""
    pairs = degrade_pairs([(sentence(c, xx), sentence(c, "en")) for c in combos], "Random", seed)
    records = [{"translation": {xx: source, "en": target}} for source, target in pairs]
    atomic_write_text(parallel_path(root, xx, "en", "train"), _json_lines(records))
    if xx != "is":
        atomic_write_text(parallel_path(root, xx, "en", "valid"), _json_array(_translation(split.valid, xx, "en")))


def _write_shots(root: Path, xx: str, kind: str, combos: Sequence[Combo]) -> None:
    """`{kind}-5-shot/shots.{src}-{tgt}.json` for both directions: 5 {"source", "target"} objects."""
    for src, tgt in ((xx, "en"), ("en", xx)):
        shots = [{"source": sentence(c, src), "target": sentence(c, tgt)} for c in combos[:5]]
        atomic_write_text(shots_path(root, src, tgt, kind), _json_array(shots))


def _write_test_sets(root: Path, splits: dict[str, _Split], directions: Sequence[tuple[str, str]]) -> None:
    """WMT test sets as `sacrebleu -t {testset} -l {src}-{tgt} --echo src|ref` writes them."""
    for src, tgt in directions:
        xx = tgt if src == "en" else src
        combos = splits[xx].test(src)
        stem = root / f"{wmt_test_set(src, tgt)}.{src}-{tgt}"
        atomic_write_text(Path(f"{stem}.src"), "".join(sentence(c, src) + "\n" for c in combos))
        atomic_write_text(Path(f"{stem}.ref"), "".join(sentence(c, tgt) + "\n" for c in combos))


# ---------------------------------------------------------------------------------------------
# monolingual data: OSCAR-2301 shards and monolingual/{lang}.txt


def _documents(seed: int, lang: str, count: int) -> list[list[str]]:
    """`count` documents of 3-6 sentences each (a document is a list of lines, as in OSCAR)."""
    rng = seeded_rng(seed, "documents", lang)
    return [[sentence(rng.choice(COMBOS), lang) for _ in range(rng.randint(3, 6))] for _ in range(count)]


def _uuid(rng: random.Random) -> str:
    """A random UUID string from a seeded generator."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def _oscar_record(lines: Sequence[str], lang: str, rng: random.Random, number: int) -> dict[str, Any]:
    """One document in the OSCAR-2301 schema: `text` (lines joined by newlines) and `meta`."""
    text = "\n".join(lines)
    digest = hashlib.sha1(text.encode("utf-8")).digest()
    return {
        "text": text,
        "meta": {
            "warc_headers": {
                "warc-record-id": f"<urn:uuid:{_uuid(rng)}>",
                "warc-date": f"2022-11-{26 + number % 4:02d}T{number % 24:02d}:"
                f"{rng.randrange(60):02d}:{rng.randrange(60):02d}Z",
                "content-type": "text/plain",
                "content-length": str(len(text.encode("utf-8"))),
                "warc-type": "conversion",
                "warc-identified-content-language": _ISO3[lang] if number % 5 else f"{_ISO3[lang]},eng",
                "warc-refers-to": f"<urn:uuid:{_uuid(rng)}>",
                "warc-target-uri": f"https://www.example.{_TLD[lang]}/{lang}/article-{number}",
                "warc-block-digest": "sha1:" + base64.b32encode(digest).decode("ascii"),
            },
            "identification": {"label": lang, "prob": round(rng.uniform(0.80, 0.99), 6)},
            "harmful_pp": round(rng.uniform(100.0, 5000.0), 4),
            "tlsh": "tlsh:T1" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:70].upper(),
            "quality_warnings": ["short_sentences"] if len(lines) <= 3 else None,
            "categories": None,
            "sentence_identifications": [{"label": lang, "prob": round(rng.uniform(0.7, 1.0), 6)} for _ in lines],
        },
    }


def oscar_data_files(root: str | os.PathLike, lang: str) -> list[str]:
    """The OSCAR-2301 shards of a language under a rehearsal root (pass as `stream_oscar(lang, data_files=...)`)."""
    folder = Path(root) / "data" / "oscar" / f"{lang}_meta"
    return [str(path) for path in sorted(folder.glob(f"{lang}_meta_part_*.jsonl.zst"))]


def _write_oscar(folder: Path, lang: str, documents: Sequence[Sequence[str]], seed: int) -> Path:
    """`{lang}_meta/{lang}_meta_part_1.jsonl.zst`: JSON lines compressed with zstandard, as OSCAR-2301 ships them."""
    import zstandard

    rng = seeded_rng(seed, "oscar-meta", lang)
    text = _json_lines(_oscar_record(lines, lang, rng, number) for number, lines in enumerate(documents, start=1))
    data = zstandard.ZstdCompressor(level=10).compress(text.encode("utf-8"))
    return atomic_write_bytes(folder / f"{lang}_meta" / f"{lang}_meta_part_1.jsonl.zst", data)


# ---------------------------------------------------------------------------------------------
# App. J items

def _write_item_files(root: Path, seed: int, count: int) -> None:
    """App. J items in the local files layout crosslingual reads: `{xnli,xstorycloze,xwinograd}/{lang}.jsonl`."""
    for task, langs in HUB_TASK_LANGUAGES.items():
        for lang in langs:
            atomic_write_text(root / task.lower() / f"{lang}.jsonl", _json_lines(item_records(task, lang, seed, count)))


# ---------------------------------------------------------------------------------------------
# the whole tree


def _chapter_declarations() -> dict[str, Any]:
    """The languages the add-a-language chapter's paper params declare (uk): the rehearsal writes their data too."""
    path = repo_root() / "params" / "paper" / "add_language_pair.yaml"
    return dict(read_yaml_mapping(path, "params file").get("declared_languages") or {})


def write_rehearsal_data(
    root: str | os.PathLike,
    *,
    seed: int = 0,
    pairs_per_direction: int = 64,
    test_sentences: int = 16,
    valid_sentences: int = 16,
    oscar_documents: int = 36,
    items_per_language: int = 12,
) -> dict[str, Path]:
    """Write every data root the paper/released params name under `root/data/`; returns {folder name: path}.

    Idempotent (same seed, same bytes) and atomic per file; `oscar_documents` is the English shard's
    document count (the other languages get fewer, in OSCAR's order of sizes).
    """
    for name, value in (("pairs_per_direction", pairs_per_direction), ("test_sentences", test_sentences),
                        ("valid_sentences", valid_sentences), ("oscar_documents", oscar_documents),
                        ("items_per_language", items_per_language)):
        if value < 1:
            raise ValueError(f"{name}={value}; use a positive count")
    if pairs_per_direction < 5:
        raise ValueError(f"pairs_per_direction={pairs_per_direction}; the 5-shot files need at least 5 pairs")
    # uk is not a library language: the add-a-language chapter declares it in its params, read from the same file
    declare_languages(_chapter_declarations(), "params/paper/add_language_pair.yaml")
    room = len(COMBOS) - 2 * test_sentences - valid_sentences  # per language, after the tests and valid
    if 3 * pairs_per_direction > room:
        raise ValueError(
            f"pairs_per_direction={pairs_per_direction}: the lexicon makes {len(COMBOS)} sentences per "
            f"language, {room} left after tests and valid, and HW/Filtered/Random need 3 disjoint blocks. "
            f"Fix: ask for at most {room // 3} pairs_per_direction, or extend standins/lexicon.py"
        )
    data = Path(root) / "data"
    roots = {name: data / name for name in ("human_written_data", "wmt", "wmt-en-ru-filtered",
                                            "wmt_filtered", "wmt_random", "oscar", "crosslingual")}
    splits = {xx: _Split(seed, xx, test_sentences, valid_sentences) for xx in REHEARSAL_LANGUAGES}
    hw = roots["human_written_data"]
    for xx, split in splits.items():
        human, filtered = split.train(0, pairs_per_direction), split.train(1, pairs_per_direction)
        _write_layout(hw, xx, human, split, valid=xx != "is", test=True)
        _write_shots(hw, xx, "HW", human)
        _write_shots(hw, xx, "Filtered", filtered)
        if xx in PAPER_LANGUAGES:
            _write_layout(roots["wmt_filtered"], xx, filtered, split, valid=xx != "is", test=False)
            _write_random_root(roots["wmt_random"], xx, split.train(2, pairs_per_direction), split, seed)
    ru = splits["ru"]
    _write_layout(roots["wmt-en-ru-filtered"], "ru", ru.train(0, 2 * pairs_per_direction), ru, valid=True, test=False)
    _write_test_sets(roots["wmt"], splits, paper_directions())  # THE test-set root of every chapter (book/reproduce.md)
    for lang in OSCAR_LANGUAGES:
        documents = _documents(seed, lang, max(4, round(oscar_documents * _DOC_SHARE[lang])))
        _write_oscar(roots["oscar"], lang, documents, seed)
        joiner = word_space(lang)  # monolingual/{lang}.txt: one document per line
        atomic_write_text(hw / "monolingual" / f"{lang}.txt", "".join(joiner.join(d) + "\n" for d in documents))
    _write_item_files(roots["crosslingual"], seed, items_per_language)
    return roots


# ---------------------------------------------------------------------------------------------
# App. J datasets for an offline `datasets.load_dataset(hub_id, lang, split=...)`

def _features(task: str) -> Any:
    """The public datasets' column types (xnli's label is a ClassLabel, xstory_cloze's answer an int32)."""
    from datasets import ClassLabel, Features, Value

    text = Value("string")
    if task == "XNLI":
        return Features({"premise": text, "hypothesis": text,
                         "label": ClassLabel(names=["entailment", "neutral", "contradiction"])})
    if task == "XStoryCloze":
        return Features({"story_id": text, **{f"input_sentence_{i}": text for i in range(1, 5)},
                         "sentence_quiz1": text, "sentence_quiz2": text, "answer_right_ending": Value("int32")})
    return Features({"sentence": text, "option1": text, "option2": text, "answer": text})


def _write_snapshot(hf_home: Path, hub_id: str, split: str, tables: dict[str, Any], revision: str) -> Path:
    """A dataset repo as `huggingface-cli download --repo-type dataset` leaves it: snapshot + refs/main."""
    repo = hf_home / "hub" / ("datasets--" + hub_id.replace("/", "--"))
    snapshot = repo / "snapshots" / revision
    configs = []
    for lang, table in tables.items():
        target = snapshot / lang / f"{split}-00000-of-00001.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.tmp")
        table.to_parquet(str(staged))
        os.replace(staged, target)
        configs.append(
            f"- config_name: {lang}\n  data_files:\n  - split: {split}\n    path: {lang}/{split}-*.parquet\n"
        )
    atomic_write_text(
        snapshot / "README.md",
        "---\nconfigs:\n"
        + "".join(configs)
        + f"---\n# {hub_id} (ALMA rehearsal stand-in)\n\nSmall generated items with the public columns.\n",
    )
    atomic_write_text(repo / "refs" / "main", revision)
    return snapshot


def _prepare_cache(cache: Path, snapshot: Path, hub_id: str, langs: Iterable[str], revision: str) -> None:
    """Build the `datasets` cache entry an online first load of `hub_id` leaves: `{ns}___{name}/{lang}/0.0.0/{rev}/`."""
    import datasets

    name = hub_id.split("/")[-1]
    folder = "___".join([*hub_id.split("/")[:-1], datasets.naming.camelcase_to_snakecase(name)])
    with tempfile.TemporaryDirectory(prefix="alma-hub-") as tmp:
        source = Path(tmp) / name  # the builder names its arrow files after this folder: {name}-{split}.arrow
        shutil.copytree(snapshot, source)
        for lang in langs:
            builder = datasets.load_dataset_builder(str(source), lang, cache_dir=str(Path(tmp) / "cache"))
            builder.download_and_prepare()
            config_dir = cache / folder / lang / "0.0.0"
            staged = config_dir / f".{revision}.tmp"
            shutil.rmtree(staged, ignore_errors=True)
            shutil.copytree(builder.cache_dir, staged)
            for old in config_dir.iterdir():
                if old.name != staged.name and old.is_dir():
                    shutil.rmtree(old)
            staged.rename(config_dir / revision)


def write_hub_datasets(hf_home: str | os.PathLike, *, datasets_cache: str | os.PathLike | None = None, seed: int = 0,
                       items_per_language: int = 12) -> dict[str, Path]:
    """XNLI, XStoryCloze and XWinograd under `hf_home` so `load_dataset(id, lang, split=...)` works offline.

    Writes each repo's hub snapshot (parquet per config + README configs, refs/main) and, from it, the
    `datasets` cache entry that datasets 5.x reads when HF_HUB_OFFLINE=1 (it never reads the hub
    snapshot offline) in `datasets_cache`: the cache the readers will use, by default as `datasets` picks
    it ($HF_DATASETS_CACHE if set, else `hf_home/datasets`). Returns {task: snapshot folder}.
    """
    import datasets

    hf_home = Path(hf_home)
    cache = Path(datasets_cache or os.environ.get("HF_DATASETS_CACHE") or hf_home / "datasets")
    snapshots = {}
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        for task, (hub_id, split) in HUB_DATASETS.items():
            langs = HUB_TASK_LANGUAGES[task]
            rows = {lang: item_records(task, lang, seed, items_per_language) for lang in langs}
            revision = hashlib.sha1(
                json.dumps([hub_id, split, rows], ensure_ascii=False, sort_keys=True).encode()
            ).hexdigest()
            tables = {lang: datasets.Dataset.from_list(rows[lang], features=_features(task)) for lang in langs}
            snapshots[task] = _write_snapshot(hf_home, hub_id, split, tables, revision)
            _prepare_cache(cache, snapshots[task], hub_id, langs, revision)
    finally:
        if bars:
            datasets.enable_progress_bars()
    return snapshots
