"""Tests for recipe.data (readers, validation messages, layout paths, word counts) and recipe.oscar."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alma_core.recipe import data, oscar
from alma_core.recipe.data import DataError


def _write_jsonl(path: Path, records: list[object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def _write_array(path: Path, records: list[object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


PAIRS = [
    {"translation": {"de": "Guten Morgen.", "en": "Good morning."}},
    {"translation": {"de": "Wie geht es dir?", "en": "How are you?"}},
]


# --- read_parallel ---------------------------------------------------------------------------


def test_read_parallel_json_lines_and_swap(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "train.de-en.json", PAIRS)
    assert data.read_parallel(path, "de", "en") == [
        ("Guten Morgen.", "Good morning."),
        ("Wie geht es dir?", "How are you?"),
    ]
    assert data.read_parallel(path, "en", "de") == [
        ("Good morning.", "Guten Morgen."),
        ("How are you?", "Wie geht es dir?"),
    ]


def test_read_parallel_json_array_is_detected(tmp_path: Path) -> None:
    path = _write_array(tmp_path / "valid.de-en.json", PAIRS)
    assert data.read_parallel(path, "de", "en")[1] == ("Wie geht es dir?", "How are you?")


def test_read_parallel_skips_blank_lines_and_keeps_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "train.de-en.json"
    path.write_text(json.dumps(PAIRS[0]) + "\n\n" + "{broken\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"train\.de-en\.json:3: bad JSON line"):
        data.read_parallel(path, "de", "en")


def test_read_parallel_bad_json_line_names_file_line_and_fix(tmp_path: Path) -> None:
    path = tmp_path / "train.de-en.json"
    path.write_text(json.dumps(PAIRS[0]) + "\n" + '{"translation": {"de": "x", "en": }\n', encoding="utf-8")
    with pytest.raises(DataError) as err:
        data.read_parallel(path, "de", "en")
    message = str(err.value)
    assert f"{path}:2:" in message
    assert "bad JSON line" in message and "Fix:" in message


def test_read_parallel_bad_json_array_names_line(tmp_path: Path) -> None:
    path = tmp_path / "valid.de-en.json"
    path.write_text('[\n {"translation": {"de": "a", "en": "b"}},\n {"translation": \n]\n', encoding="utf-8")
    with pytest.raises(DataError, match=rf"{path}:4: bad JSON .*Fix:"):
        data.read_parallel(path, "de", "en")


def test_read_parallel_missing_language_key(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "train.de-en.json", [PAIRS[0], {"translation": {"de": "Hallo", "fr": "Bonjour"}}])
    with pytest.raises(DataError) as err:
        data.read_parallel(path, "de", "en")
    message = str(err.value)
    assert f"{path}:2:" in message
    assert "missing language key 'en'" in message and "found: de, fr" in message and "Fix:" in message


def test_read_parallel_missing_key_in_array_names_item(tmp_path: Path) -> None:
    path = _write_array(tmp_path / "test.de-en.json", [PAIRS[0], PAIRS[1], {"translation": {"en": "x"}}])
    with pytest.raises(DataError, match=r"JSON array item 3, 1-based\): missing language key 'de'"):
        data.read_parallel(path, "de", "en")


def test_read_parallel_missing_translation_object(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "train.de-en.json", [{"de": "a", "en": "b"}])
    with pytest.raises(DataError, match=r":1: expected an object .*Fix: wrap the pair in a 'translation' object"):
        data.read_parallel(path, "de", "en")


@pytest.mark.parametrize("empty", ["", "   "])
def test_read_parallel_empty_segment(tmp_path: Path, empty: str) -> None:
    path = _write_jsonl(
        tmp_path / "train.de-en.json", [PAIRS[0], PAIRS[1], {"translation": {"de": "Hallo", "en": empty}}]
    )
    with pytest.raises(DataError) as err:
        data.read_parallel(path, "de", "en")
    assert f"{path}:3: empty 'en' segment. Fix:" in str(err.value)


def test_read_parallel_non_string_segment(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "train.de-en.json", [{"translation": {"de": 3, "en": "three"}}])
    with pytest.raises(DataError, match=r":1: 'de' must be a string, got int"):
        data.read_parallel(path, "de", "en")


def test_read_parallel_unknown_language(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "train.de-en.json", PAIRS)
    with pytest.raises(DataError) as err:
        data.read_parallel(path, "xx", "en")
    message = str(err.value)
    assert str(path) in message and "unknown language code 'xx'" in message
    assert "known codes:" in message and "register_language" in message


def test_read_parallel_same_language_rejected(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "train.de-en.json", PAIRS)
    with pytest.raises(DataError, match="both 'en'"):
        data.read_parallel(path, "en", "en")


def test_read_parallel_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "train.de-en.json"
    with pytest.raises(DataError) as err:
        data.read_parallel(path, "de", "en")
    assert f"{path}: parallel data file not found. Fix:" in str(err.value)


def test_read_parallel_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "train.de-en.json"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="no parallel pairs found"):
        data.read_parallel(path, "de", "en")


def test_read_parallel_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "train.de-en.json"
    path.write_bytes(b'{"translation": {"de": "\xff", "en": "x"}}\n')
    with pytest.raises(DataError, match="not valid UTF-8 .*Fix: re-encode"):
        data.read_parallel(path, "de", "en")


def test_data_error_is_value_error() -> None:
    assert issubclass(DataError, ValueError)


# --- read_parallel_text ----------------------------------------------------------------------


def test_read_parallel_text(tmp_path: Path) -> None:
    src = tmp_path / "src.txt"
    ref = tmp_path / "ref.txt"
    src.write_text("Hallo Welt\nZweiter Satz\n", encoding="utf-8")
    ref.write_text("Hello world\r\nSecond sentence\r\n", encoding="utf-8")
    assert data.read_parallel_text(src, ref) == [("Hallo Welt", "Hello world"), ("Zweiter Satz", "Second sentence")]


def test_read_parallel_text_keeps_unicode_line_separators_inside_segments(tmp_path: Path) -> None:
    src = tmp_path / "src.txt"
    ref = tmp_path / "ref.txt"
    src.write_text("a\u2028b\nc\n", encoding="utf-8")
    ref.write_text("x\ny\n", encoding="utf-8")
    assert data.read_parallel_text(src, ref)[0] == ("a\u2028b", "x")


def test_read_parallel_text_count_mismatch(tmp_path: Path) -> None:
    src = tmp_path / "src.txt"
    ref = tmp_path / "ref.txt"
    src.write_text("a\nb\nc\n", encoding="utf-8")
    ref.write_text("x\ny\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        data.read_parallel_text(src, ref)
    message = str(err.value)
    assert f"{src} has 3 lines but {ref} has 2 lines" in message and "Fix:" in message


def test_read_parallel_text_empty_segment(tmp_path: Path) -> None:
    src = tmp_path / "src.txt"
    ref = tmp_path / "ref.txt"
    src.write_text("a\nb\nc\n", encoding="utf-8")
    ref.write_text("x\n\nz\n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"{ref}:2: empty segment. Fix: .*line 2 in both files"):
        data.read_parallel_text(src, ref)


def test_read_parallel_text_missing_file(tmp_path: Path) -> None:
    src = tmp_path / "src.txt"
    src.write_text("a\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"ref\.txt: reference file not found\. Fix:"):
        data.read_parallel_text(src, tmp_path / "ref.txt")


# --- read_shots ------------------------------------------------------------------------------


def test_read_shots(tmp_path: Path) -> None:
    shots = [{"source": f"Quelle {i}", "target": f"Source {i}"} for i in range(5)]
    path = _write_array(tmp_path / "shots.de-en.json", shots)
    result = data.read_shots(path)
    assert len(result) == 5 and result[0] == ("Quelle 0", "Source 0") and result[4] == ("Quelle 4", "Source 4")


def test_read_shots_errors(tmp_path: Path) -> None:
    path = _write_array(tmp_path / "a.json", [{"source": "a", "target": "b"}, {"source": "c"}])
    with pytest.raises(DataError, match=r"item 2, 1-based\): missing key 'target'\. Fix:"):
        data.read_shots(path)
    path = _write_array(tmp_path / "b.json", [{"source": "a", "target": " "}])
    with pytest.raises(DataError, match=r"item 1, 1-based\): empty 'target' segment"):
        data.read_shots(path)
    path = _write_jsonl(tmp_path / "c.json", [{"source": "a", "target": "b"}])
    with pytest.raises(DataError, match=r"c\.json:1: expected a JSON array"):
        data.read_shots(path)
    path = tmp_path / "d.json"
    path.write_text('[{"source": "a", "target": "b"},\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"d\.json:2: bad JSON"):
        data.read_shots(path)
    with pytest.raises(DataError, match="few-shot file not found"):
        data.read_shots(tmp_path / "missing.json")


# --- read_monolingual ------------------------------------------------------------------------


def test_read_monolingual_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "de.txt"
    path.write_text("Erstes Dokument.\n\n{Zweites} Dokument.\n", encoding="utf-8")
    assert data.read_monolingual(path) == ["Erstes Dokument.", "{Zweites} Dokument."]


@pytest.mark.parametrize("name", ["de.jsonl", "de.json", "de.data"])
def test_read_monolingual_json_lines(tmp_path: Path, name: str) -> None:
    path = _write_jsonl(tmp_path / name, [{"text": "Ein Dokument.\nZweite Zeile.", "meta": {}}, {"text": "Noch eins."}])
    assert data.read_monolingual(path) == ["Ein Dokument.\nZweite Zeile.", "Noch eins."]


def test_read_monolingual_errors(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "de.jsonl", [{"text": "ok"}, {"content": "no text"}])
    with pytest.raises(DataError, match=r"de\.jsonl:2: missing key 'text'\. Fix:"):
        data.read_monolingual(path)
    path = _write_jsonl(tmp_path / "cs.jsonl", [{"text": "ok"}, {"text": ""}])
    with pytest.raises(DataError, match=r"cs\.jsonl:2: empty 'text' segment\. Fix:"):
        data.read_monolingual(path)
    path = tmp_path / "ru.jsonl"
    path.write_text('{"text": "ok"}\n{"text": "unterminated}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"ru\.jsonl:2: bad JSON line"):
        data.read_monolingual(path)
    path = tmp_path / "is.txt"
    path.write_text("\n \n", encoding="utf-8")
    with pytest.raises(DataError, match="no documents found"):
        data.read_monolingual(path)
    with pytest.raises(DataError, match="monolingual file not found"):
        data.read_monolingual(tmp_path / "zh.txt")


# --- layout ----------------------------------------------------------------------------------


def test_parallel_path_layout(tmp_path: Path) -> None:
    assert data.parallel_path(tmp_path, "de", "en", "train") == tmp_path / "deen" / "train.de-en.json"
    assert data.parallel_path(tmp_path, "en", "de", "train") == tmp_path / "deen" / "train.de-en.json"
    assert data.parallel_path(tmp_path, "en", "zh", "valid") == tmp_path / "zhen" / "valid.zh-en.json"
    assert data.parallel_path(tmp_path, "en", "is", "test") == tmp_path / "isen" / "test.en-is.json"
    assert data.parallel_path(tmp_path, "is", "en", "test") == tmp_path / "isen" / "test.is-en.json"


def test_parallel_path_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown split 'dev'. Fix: use one of train, valid, test"):
        data.parallel_path(tmp_path, "de", "en", "dev")
    with pytest.raises(DataError, match="not English-centric"):
        data.parallel_path(tmp_path, "de", "cs", "train")
    with pytest.raises(DataError, match="unknown language code 'xx'"):
        data.parallel_path(tmp_path, "xx", "en", "train")


def test_has_split_and_load_pairs(tmp_path: Path) -> None:
    _write_jsonl(tmp_path / "isen" / "train.is-en.json", [{"translation": {"is": "Halló", "en": "Hello"}}])
    assert data.has_split(tmp_path, "is", "en", "train")
    assert not data.has_split(tmp_path, "en", "is", "valid")
    assert data.load_pairs(tmp_path, "en", "is", "train") == [("Hello", "Halló")]
    with pytest.raises(DataError) as err:
        data.load_pairs(tmp_path, "en", "is", "valid")
    message = str(err.value)
    assert "valid.is-en.json" in message and "no Icelandic validation set" in message and "has_split" in message


def test_shots_and_monolingual_paths(tmp_path: Path) -> None:
    assert data.shots_path(tmp_path, "de", "en") == tmp_path / "HW-5-shot" / "shots.de-en.json"
    assert data.shots_path(tmp_path, "en", "zh", kind="Filtered") == tmp_path / "Filtered-5-shot" / "shots.en-zh.json"
    with pytest.raises(DataError, match="unknown shot kind 'HR'"):
        data.shots_path(tmp_path, "de", "en", kind="HR")
    assert data.monolingual_path(tmp_path, "ru") == tmp_path / "monolingual" / "ru.txt"
    with pytest.raises(DataError, match="unknown language code 'klingon'"):
        data.monolingual_path(tmp_path, "klingon")


def test_sample_data_dir_is_inside_the_package() -> None:
    root = data.sample_data_dir()
    assert root.name == "sample" and root.parent == Path(data.__file__).parent


def test_word_count() -> None:
    assert data.word_count(["Hello  world", "one\ttwo three\n"]) == 5
    assert data.word_count("a b c") == 3
    assert data.word_count(["中文 句子。"], lang="zh") == 5
    assert data.word_count(["日本語です"], lang="ja") == 5
    assert data.word_count(["Guten Tag"], lang="de") == 2
    assert data.word_count([]) == 0


# --- OSCAR -----------------------------------------------------------------------------------


def test_stream_oscar_local_fixture(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    meta = {"warc_headers": {"warc-target-uri": "http://example.org"}, "identification": {"label": "de", "prob": 0.9}}
    first = _write_jsonl(tmp_path / "de_meta_part_1.jsonl", [{"id": 1, "text": "Erstes Dokument.", "meta": meta},
                                                             {"id": 2, "text": "Zweites Dokument.", "meta": meta}])
    second = _write_jsonl(tmp_path / "de_meta_part_2.jsonl", [{"id": 3, "text": "Drittes.\nMit Zeile.", "meta": meta}])
    texts = list(oscar.stream_oscar("de", data_files=[str(first), str(second)]))
    assert texts == ["Erstes Dokument.", "Zweites Dokument.", "Drittes.\nMit Zeile."]
    # Not streaming: the json builder writes its Arrow cache only under cache_dir.
    kept = oscar.stream_oscar("de", data_files=str(first), streaming=False, cache_dir=tmp_path / "cache")
    assert list(kept) == texts[:2]
    assert any((tmp_path / "cache").rglob("*.arrow"))


def test_stream_oscar_errors(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    with pytest.raises(DataError, match="unknown language code 'xx'"):
        next(oscar.stream_oscar("xx", data_files=[str(tmp_path / "a.jsonl")]))
    with pytest.raises(DataError, match=r"cannot load OSCAR documents from data_files=.*missing\.jsonl.*Fix:"):
        next(oscar.stream_oscar("de", data_files=[str(tmp_path / "missing.jsonl")]))


# --- shipped sample corpora ------------------------------------------------------------------


def _sample_files() -> list[Path]:
    root = data.sample_data_dir()
    return (
        sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".txt"))
        if root.is_dir()
        else []
    )


def test_every_shipped_sample_file_parses(ukrainian: None) -> None:
    files = _sample_files()
    if not files:
        pytest.skip("no sample corpora shipped yet under alma_core/recipe/data/sample/")
    for path in files:
        rel = path.relative_to(data.sample_data_dir())
        if rel.parts[0] == "monolingual":
            assert data.read_monolingual(path), path
        elif rel.parts[0].endswith("-5-shot"):
            src, tgt = path.stem.split(".")[1].split("-")
            assert len(data.read_shots(path)) == 5, path
            assert data.shots_path(data.sample_data_dir(), src, tgt, kind=rel.parts[0][: -len("-5-shot")]) == path
        elif len(rel.parts) == 2 and rel.parts[0].endswith("en") and path.suffix == ".json":
            split, direction = path.stem.split(".")
            src, tgt = direction.split("-")
            pairs = data.read_parallel(path, src, tgt)
            assert pairs and data.parallel_path(data.sample_data_dir(), src, tgt, split) == path


def test_stream_oscar_hub_script_error_points_to_data_files(monkeypatch: pytest.MonkeyPatch) -> None:
    datasets = pytest.importorskip("datasets")

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Dataset scripts are no longer supported, but found OSCAR-2301.py")

    monkeypatch.setattr(datasets, "load_dataset", refuse)
    with pytest.raises(
        DataError,
        match=r"'oscar-corpus/OSCAR-2301' needs a loading script.*Fix: pass its JSON-lines shards as data_files",
    ):
        oscar.stream_oscar("de")


def test_write_train_pairs_round_trips_and_copies_valid(tmp_path):
    from alma_core.recipe.data import load_pairs, sample_data_dir, write_train_pairs

    pairs = [("Hallo Welt.", "Hello world."), ("Danke schön.", "Thank you.")]
    path = write_train_pairs(tmp_path, "de", pairs, valid_from=sample_data_dir())
    assert path == tmp_path / "deen" / "train.de-en.json"
    assert load_pairs(tmp_path, "de", "en", "train") == pairs
    assert load_pairs(tmp_path, "en", "de", "train") == [(b, a) for a, b in pairs]
    assert load_pairs(tmp_path, "de", "en", "valid") == load_pairs(sample_data_dir(), "de", "en", "valid")
    write_train_pairs(tmp_path, "is", pairs, valid_from=sample_data_dir())  # no Icelandic valid set: nothing copied
    assert not (tmp_path / "isen" / "valid.is-en.json").exists()


def _zst_shard(path: Path, records: list[object]) -> Path:
    import zstandard

    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    path.write_bytes(zstandard.ZstdCompressor().compress(lines.encode("utf-8")))
    return path


_META = {"warc_headers": {"warc-record-id": "<urn:uuid:1>"}, "identification": {"label": "de", "prob": 0.9},
         "harmful_pp": 120.5, "tlsh": "T1", "quality_warnings": None, "categories": None,
         "sentence_identifications": [{"label": "de", "prob": 0.9}]}


def test_stream_oscar_2301_zst_layout_and_rank_shares(tmp_path: Path) -> None:
    """The hub layout {lang}_meta/{lang}_meta_part_{k}.jsonl.zst through data_files with {lang}; ranks split the
    shards."""
    pytest.importorskip("zstandard")
    for k in (1, 2, 3, 4):
        _zst_shard(tmp_path / "de_meta" / f"de_meta_part_{k}.jsonl.zst",
                   [{"text": f"Dokument {k}.{i}", "meta": _META} for i in range(2)])
    pattern = str(tmp_path / "{lang}_meta" / "{lang}_meta_part_*.jsonl.zst")
    texts = list(oscar.stream_oscar("de", data_files=pattern))
    assert texts == [f"Dokument {k}.{i}" for k in (1, 2, 3, 4) for i in range(2)]
    shares = [list(oscar.stream_oscar("de", data_files=pattern, rank=r, world_size=2)) for r in (0, 1)]
    assert shares[0] == texts[0:2] + texts[4:6] and shares[1] == texts[2:4] + texts[6:8]
    few = [list(oscar.stream_oscar("de", data_files=pattern, rank=r, world_size=8)) for r in range(8)]
    assert sorted(t for share in few for t in share) == sorted(texts) and all(len(s) == 1 for s in few)
    assert oscar.OSCAR_DATA_FILES == "hf://datasets/oscar-corpus/OSCAR-2301/{lang}_meta/{lang}_meta_part_*.jsonl.zst"


def test_stream_oscar_checks_record_fields(tmp_path: Path) -> None:
    pytest.importorskip("zstandard")
    good = {"text": "Gut.", "meta": _META}
    bad = _zst_shard(tmp_path / "de_meta" / "de_meta_part_1.jsonl.zst", [good, {"text": "Ohne meta."}])
    with pytest.raises(
        DataError,
        match=r"de_meta_part_1\.jsonl\.zst: record 2: field 'meta' must be a mapping, but it is missing \(or null\)\. "
              r"Fix: .*OSCAR-2301 schema",
    ):
        list(oscar.stream_oscar("de", data_files=str(bad)))
    _zst_shard(bad, [good, {"content": "Falsches Feld.", "meta": _META}])
    with pytest.raises(DataError, match=r"record 2: field 'text' must be a string, but it is missing"):
        list(oscar.stream_oscar("de", data_files=str(bad)))
    with pytest.raises(DataError, match=r"cannot load OSCAR documents .*no file matches .*cs_meta"):
        oscar.stream_oscar("cs", data_files=str(tmp_path / "{lang}_meta" / "*.jsonl.zst"))


def test_one_json_reader_raises_the_callers_error(tmp_path: Path) -> None:
    """alma_core.io reads JSON lines and arrays for data and crosslingual_items alike, raising the error it is given."""
    from alma_core.io import json_records, read_text

    class OwnError(ValueError):
        pass

    assert list(json_records("f", '{"a": 1}\n\n{"a": 2}\n')) == [(1, None, {"a": 1}), (3, None, {"a": 2})]
    assert list(json_records("f", ' [{"a": 1}, 2]')) == [(None, 1, {"a": 1}), (None, 2, 2)]
    with pytest.raises(OwnError, match=r"^f:2: bad JSON line .*Fix: each line"):
        list(json_records("f", '{"a": 1}\n{"a": \n', OwnError))
    with pytest.raises(OwnError, match=r"^f:3: bad JSON array .*Fix: this file looks like a JSON array"):
        list(json_records("f", '[\n{"a": 1},\n{"a": }]', OwnError))
    with pytest.raises(OwnError, match=r"missing\.json: thing not found\. Fix: look elsewhere"):
        read_text(tmp_path / "missing.json", "thing", "look elsewhere", OwnError)
