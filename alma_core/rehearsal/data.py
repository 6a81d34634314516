"""Small data in the REAL formats for the offline rehearsal of the paper/released profiles (see DESIGN.md).

`write_rehearsal_data(root)` writes, under `root/data/`, every data root the paper and released params
name: `human_written_data/` (official layout, 5-shot files, monolingual text), WMT test sets as
`sacrebleu --echo` text (`wmt/`, `wmt_testsets/`), the Section 3 / App. A ru-en root, the Section 6.2
Random/Filtered roots, OSCAR-2301 shards (JSON lines + zstandard) and App. J items in the files layout.
`write_hub_datasets(hf_home)` puts XNLI / XStoryCloze / XWinograd where an offline
`datasets.load_dataset(id, lang, split=...)` finds them.

Sentences come from a small hand-written lexicon: subject + verb phrase + adverbial, with real words
in each language's own script and word order, so aligned pairs share their slots and py3langid
recognises every language. Everything is deterministic per seed and written atomically.
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

from alma_core.data import parallel_path, shots_path
from alma_core.io import atomic_write_text
from alma_core.languages import PAPER_LANGUAGES, paper_directions, wmt_test_set

__all__ = [
    "LEXICON",
    "GRAMMAR",
    "REHEARSAL_LANGUAGES",
    "OSCAR_LANGUAGES",
    "HUB_TASK_LANGUAGES",
    "sentence",
    "write_rehearsal_data",
    "oscar_data_files",
    "write_hub_datasets",
]

# Languages of human_written_data/: the paper's five plus uk (the "adding a language pair" chapter).
REHEARSAL_LANGUAGES: tuple[str, ...] = (*PAPER_LANGUAGES, "uk")
OSCAR_LANGUAGES: tuple[str, ...] = ("en", *REHEARSAL_LANGUAGES)
# Which languages the App. J hub datasets hold here (the languages of Table 12).
HUB_TASK_LANGUAGES: dict[str, tuple[str, ...]] = {
    "XNLI": ("de", "en", "ru", "zh"),
    "XStoryCloze": ("en", "ru", "zh"),
    "XWinograd": ("en", "ru", "zh"),
}
_LANG_ORDER = ("en", "de", "cs", "is", "zh", "ru", "uk")

# slot -> one row per entry, columns in _LANG_ORDER: the same meaning in every language.
LEXICON: dict[str, list[tuple[str, ...]]] = {
    "subject": [
        ("The old man", "Der alte Mann", "Starý muž", "Gamli maðurinn", "老人", "Старик", "Старий чоловік"),
        ("My sister", "Meine Schwester", "Moje sestra", "Systir mín", "我的姐姐", "Моя сестра", "Моя сестра"),
        ("The teacher", "Die Lehrerin", "Učitelka", "Kennarinn", "老师", "Учительница", "Вчителька"),
        ("Our neighbour", "Unser Nachbar", "Náš soused", "Nágranni okkar", "我们的邻居", "Наш сосед", "Наш сусід"),
        ("The young doctor", "Der junge Arzt", "Mladý lékař", "Ungi læknirinn", "年轻的医生", "Молодой врач", "Молодий лікар"),
        ("My father", "Mein Vater", "Můj otec", "Faðir minn", "我的父亲", "Мой отец", "Мій батько"),
        ("The little girl", "Das kleine Mädchen", "Malá holčička", "Litla stúlkan", "小女孩", "Маленькая девочка", "Маленька дівчинка"),
        ("Her brother", "Ihr Bruder", "Její bratr", "Bróðir hennar", "她的哥哥", "Её брат", "Її брат"),
    ],
    "verb": [
        ("reads a book", "liest ein Buch", "čte knihu", "les bók", "读一本书", "читает книгу", "читає книжку"),
        ("buys fresh bread", "kauft frisches Brot", "kupuje čerstvý chléb", "kaupir nýtt brauð", "买新鲜的面包", "покупает свежий хлеб", "купує свіжий хліб"),
        ("writes a long letter", "schreibt einen langen Brief", "píše dlouhý dopis", "skrifar langt bréf", "写一封长信", "пишет длинное письмо", "пише довгого листа"),
        ("drinks hot coffee", "trinkt heißen Kaffee", "pije horkou kávu", "drekkur heitt kaffi", "喝热咖啡", "пьёт горячий кофе", "п'є гарячу каву"),
        ("opens the window", "öffnet das Fenster", "otevírá okno", "opnar gluggann", "打开窗户", "открывает окно", "відчиняє вікно"),
        ("cooks dinner", "kocht das Abendessen", "vaří večeři", "eldar kvöldmat", "做晚饭", "готовит ужин", "готує вечерю"),
        ("feeds the dog", "füttert den Hund", "krmí psa", "fóðrar hundinn", "喂狗", "кормит собаку", "годує собаку"),
        ("cleans the kitchen", "putzt die Küche", "uklízí kuchyni", "þrífur eldhúsið", "打扫厨房", "убирает кухню", "прибирає кухню"),
        ("visits the museum", "besucht das Museum", "navštěvuje muzeum", "heimsækir safnið", "参观博物馆", "посещает музей", "відвідує музей"),
        ("learns a new language", "lernt eine neue Sprache", "studuje nový jazyk", "lærir nýtt tungumál", "学习一门新语言", "изучает новый язык", "вивчає нову мову"),
    ],
    "adverbial": [
        ("every morning", "jeden Morgen", "každé ráno", "á hverjum morgni", "每天早上", "каждое утро", "щоранку"),
        ("in the evening", "am Abend", "večer", "á kvöldin", "晚上", "вечером", "увечері"),
        ("at home", "zu Hause", "doma", "heima", "在家里", "дома", "вдома"),
        ("on Sunday", "am Sonntag", "v neděli", "á sunnudaginn", "星期天", "в воскресенье", "у неділю"),
        ("after work", "nach der Arbeit", "po práci", "eftir vinnu", "下班以后", "после работы", "після роботи"),
        ("in the city", "in der Stadt", "ve městě", "í borginni", "在城里", "в городе", "у місті"),
        ("with great joy", "mit großer Freude", "s velkou radostí", "með mikilli gleði", "很高兴地", "с большой радостью", "з великою радістю"),
        ("before breakfast", "vor dem Frühstück", "před snídaní", "fyrir morgunmat", "早饭前", "перед завтраком", "перед сніданком"),
    ],
}

# Per language: word order of the slots, sentence end, comma, "because" (XWinograd), space between words.
GRAMMAR: dict[str, dict[str, str]] = {
    "en": {"order": "{s} {v} {a}", "stop": ".", "comma": ", ", "because": "because", "space": " "},
    "de": {"order": "{s} {v} {a}", "stop": ".", "comma": ", ", "because": "denn", "space": " "},
    "cs": {"order": "{s} {a} {v}", "stop": ".", "comma": ", ", "because": "protože", "space": " "},
    "is": {"order": "{s} {v} {a}", "stop": ".", "comma": ", ", "because": "af því að", "space": " "},
    "zh": {"order": "{s}{a}{v}", "stop": "。", "comma": "，", "because": "因为", "space": ""},
    "ru": {"order": "{s} {a} {v}", "stop": ".", "comma": ", ", "because": "потому что", "space": " "},
    "uk": {"order": "{s} {a} {v}", "stop": ".", "comma": ", ", "because": "тому що", "space": " "},
}

Combo = tuple[int, int, int]  # (subject, verb, adverbial) indices into LEXICON
_COMBOS: tuple[Combo, ...] = tuple(
    (s, v, a) for s in range(len(LEXICON["subject"])) for v in range(len(LEXICON["verb"]))
    for a in range(len(LEXICON["adverbial"]))
)
# OSCAR-2301 sizes differ a lot by language; the shard sizes keep that order (App. D.1).
_DOC_SHARE: dict[str, float] = {"en": 1.0, "ru": 0.9, "de": 0.9, "zh": 0.8, "cs": 0.7, "uk": 0.5, "is": 0.35}
_ISO3: dict[str, str] = {"en": "eng", "de": "deu", "cs": "ces", "is": "isl", "zh": "zho", "ru": "rus", "uk": "ukr"}
_TLD: dict[str, str] = {"en": "com", "de": "de", "cs": "cz", "is": "is", "zh": "cn", "ru": "ru", "uk": "ua"}


def _word(slot: str, index: int, lang: str) -> str:
    """One lexicon entry in one language."""
    return LEXICON[slot][index][_LANG_ORDER.index(lang)]


def _lower_first(text: str) -> str:
    """Lower-case the first letter (a subject moved inside a sentence); German nouns keep their capital."""
    return text[:1].lower() + text[1:]


def _clause(combo: Combo, lang: str, *, adverbial: bool = True) -> str:
    """The sentence of a combo without its final punctuation, in `lang`'s word order."""
    s, v, a = combo
    order = GRAMMAR[lang]["order"] if adverbial else GRAMMAR[lang]["order"].replace("{a}", "").replace("  ", " ")
    return order.format(s=_word("subject", s, lang), v=_word("verb", v, lang), a=_word("adverbial", a, lang)).strip()


def sentence(combo: Combo, lang: str, *, adverbial: bool = True) -> str:
    """One sentence (subject, verb phrase, adverbial) in `lang`; the same combo is its translation elsewhere."""
    return _clause(combo, lang, adverbial=adverbial) + GRAMMAR[lang]["stop"]


def _rng(seed: int, *parts: str) -> random.Random:
    """A random generator that depends only on the seed and a name (stable across runs and Python versions)."""
    digest = hashlib.sha256("|".join([str(seed), *parts]).encode("utf-8")).hexdigest()
    return random.Random(int(digest[:16], 16))


def _atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write bytes to a temp file beside `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


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
        combos = list(_COMBOS)
        _rng(seed, "combos", lang).shuffle(combos)
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
            atomic_write_text(parallel_path(root, src, tgt, "test"), _json_array(_translation(split.test(src), src, tgt)))


def _noisy(combos: Sequence[Combo], rng: random.Random) -> list[tuple[Combo, Combo]]:
    """(source combo, target combo) with a quarter of the targets misaligned, as in unfiltered web-mined data."""
    pairs = []
    for index, combo in enumerate(combos):
        other = combos[(index + 1 + rng.randrange(len(combos) - 1)) % len(combos)] if index % 4 == 3 else combo
        pairs.append((combo, other))
    return pairs


def _write_random_root(root: Path, xx: str, combos: Sequence[Combo], split: _Split, seed: int) -> None:
    """Sec. 6.2's Random data: same layout, a quarter of the pairs misaligned."""
    records = [{"translation": {xx: sentence(a, xx), "en": sentence(b, "en")}} for a, b in _noisy(combos, _rng(seed, "random", xx))]
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
    rng = _rng(seed, "documents", lang)
    return [[sentence(rng.choice(_COMBOS), lang) for _ in range(rng.randint(3, 6))] for _ in range(count)]


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
                "warc-date": f"2022-11-{26 + number % 4:02d}T{number % 24:02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z",
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

    rng = _rng(seed, "oscar-meta", lang)
    text = _json_lines(_oscar_record(lines, lang, rng, number) for number, lines in enumerate(documents, start=1))
    data = zstandard.ZstdCompressor(level=10).compress(text.encode("utf-8"))
    return _atomic_write_bytes(folder / f"{lang}_meta" / f"{lang}_meta_part_1.jsonl.zst", data)


# ---------------------------------------------------------------------------------------------
# App. J items


def _item_records(task: str, lang: str, seed: int, count: int) -> list[dict[str, Any]]:
    """`count` records of a task in the public dataset's column names (xnli, xstory_cloze, xwinograd)."""
    rng = _rng(seed, "items", task, lang)
    g = GRAMMAR[lang]
    records = []
    for index in range(count):
        s, v, a = rng.choice(_COMBOS)
        others = [i for i in range(len(LEXICON["verb"])) if i != v]
        v2 = rng.choice(others)
        if task == "XNLI":
            label = index % 3
            hypothesis = {0: sentence((s, v, a), lang, adverbial=False), 1: sentence((s, v2, a), lang, adverbial=False),
                          2: sentence(((s + 1) % len(LEXICON["subject"]), v, a), lang)}[label]
            records.append({"premise": sentence((s, v, a), lang), "hypothesis": hypothesis, "label": label})
        elif task == "XStoryCloze":
            story = [sentence((s, rng.choice(others), adv), lang) for adv in rng.sample(range(len(LEXICON["adverbial"])), 4)]
            right, wrong = sentence((s, v, a), lang), sentence(((s + 3) % len(LEXICON["subject"]), v2, a), lang)
            answer = 1 + index % 2
            quiz = (right, wrong) if answer == 1 else (wrong, right)
            records.append({"story_id": f"rehearsal-{lang}-{index + 1:04d}",
                            **{f"input_sentence_{i}": text for i, text in enumerate(story, start=1)},
                            "sentence_quiz1": quiz[0], "sentence_quiz2": quiz[1], "answer_right_ending": answer})
        elif task == "XWinograd":
            s2 = (s + 1 + rng.randrange(len(LEXICON["subject"]) - 1)) % len(LEXICON["subject"])
            options = [_lower_first(_word("subject", s, lang)), _lower_first(_word("subject", s2, lang))]
            answer = 1 + index % 2
            sp = g["space"]
            blank = f"{_clause((s, v, a), lang)}{g['comma']}{g['because']}{sp}_{sp}{_word('verb', v2, lang)}{g['stop']}"
            records.append({"sentence": blank, "option1": options[0], "option2": options[1], "answer": str(answer)})
        else:
            raise ValueError(f"unknown task {task!r}; use one of {', '.join(HUB_TASK_LANGUAGES)}")
    return records


def _write_item_files(root: Path, seed: int, count: int) -> None:
    """App. J items in the local files layout crosslingual reads: `{xnli,xstorycloze,xwinograd}/{lang}.jsonl`."""
    for task, langs in HUB_TASK_LANGUAGES.items():
        for lang in langs:
            atomic_write_text(root / task.lower() / f"{lang}.jsonl", _json_lines(_item_records(task, lang, seed, count)))


# ---------------------------------------------------------------------------------------------
# the whole tree


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
    room = len(_COMBOS) - 2 * test_sentences - valid_sentences  # per language, after the tests and valid
    if 3 * pairs_per_direction > room:
        raise ValueError(
            f"pairs_per_direction={pairs_per_direction}: the rehearsal lexicon has {len(_COMBOS)} sentences per "
            f"language, {room} left after tests and valid, and HW/Filtered/Random need 3 disjoint blocks. "
            f"Fix: ask for at most {room // 3} pairs_per_direction, or extend LEXICON"
        )
    data = Path(root) / "data"
    roots = {name: data / name for name in ("human_written_data", "wmt", "wmt_testsets", "wmt-en-ru-filtered",
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
    for name in ("wmt", "wmt_testsets"):
        _write_test_sets(roots[name], splits, paper_directions())
    for lang in OSCAR_LANGUAGES:
        documents = _documents(seed, lang, max(4, round(oscar_documents * _DOC_SHARE[lang])))
        _write_oscar(roots["oscar"], lang, documents, seed)
        joiner = GRAMMAR[lang]["space"]  # monolingual/{lang}.txt: one document per line
        atomic_write_text(hw / "monolingual" / f"{lang}.txt", "".join(joiner.join(d) + "\n" for d in documents))
    _write_item_files(roots["crosslingual"], seed, items_per_language)
    return roots


# ---------------------------------------------------------------------------------------------
# App. J datasets for an offline `datasets.load_dataset(hub_id, lang, split=...)`

_HUB_REPOS: dict[str, tuple[str, str]] = {  # task -> (hub id, split), as alma_core.crosslingual.HUB_DATASETS
    "XNLI": ("xnli", "test"),
    "XStoryCloze": ("juletxara/xstory_cloze", "eval"),
    "XWinograd": ("Muennighoff/xwinograd", "test"),
}


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
        configs.append(f"- config_name: {lang}\n  data_files:\n  - split: {split}\n    path: {lang}/{split}-*.parquet\n")
    atomic_write_text(snapshot / "README.md", "---\nconfigs:\n" + "".join(configs)
                      + f"---\n# {hub_id} (ALMA rehearsal stand-in)\n\nSmall generated items with the public columns.\n")
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
        for task, (hub_id, split) in _HUB_REPOS.items():
            langs = HUB_TASK_LANGUAGES[task]
            rows = {lang: _item_records(task, lang, seed, items_per_language) for lang in langs}
            revision = hashlib.sha1(json.dumps([hub_id, split, rows], ensure_ascii=False, sort_keys=True).encode()).hexdigest()
            tables = {lang: datasets.Dataset.from_list(rows[lang], features=_features(task)) for lang in langs}
            snapshots[task] = _write_snapshot(hf_home, hub_id, split, tables, revision)
            _prepare_cache(cache, snapshots[task], hub_id, langs, revision)
    finally:
        if bars:
            datasets.enable_progress_bars()
    return snapshots
