"""Issue 22, data validated where it is read (recipe.data, io.json_records): sides in the wrong language, segments of
only invisible characters or with NUL, JSON keys given twice, a folder where a file is expected; and the check never
refuses the shipped sample, the mini world or a file read with its codes swapped on purpose."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alma_core.io import json_records
from alma_core.recipe import data
from alma_core.recipe.data import DataError, check_sides, sample_data_dir, sides
from alma_core.standins.mini_world import WorldConfig
from alma_core.standins.mini_world_data import write_world

DE = ["Ich habe heute leider keine Zeit für dich.", "Der Hund schläft den ganzen Tag im Garten.",
      "Wir fahren morgen früh mit dem Zug nach Berlin.", "Meine Schwester wohnt seit zwei Jahren in Hamburg."]
EN = ["Unfortunately I have no time for you today.", "The dog sleeps in the garden all day long.",
      "Tomorrow morning we are taking the train to Berlin.", "My sister has been living in Hamburg for two years."]


def _jsonl(path: Path, pairs: list[tuple[str, str]], src: str = "de", tgt: str = "en") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"translation": {src: a, tgt: b}}, ensure_ascii=False) + "\n"
                            for a, b in pairs), encoding="utf-8")
    return path


# --- sides in the wrong language --------------------------------------------------------------------------------


def test_swapped_keys_are_refused_naming_file_side_and_fix(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "deen" / "train.de-en.json", list(zip(EN, DE)))
    with pytest.raises(DataError) as err:
        data.read_parallel(path, "de", "en")
    message = str(err.value)
    assert str(path) in message and "the 'de' side reads as English" in message and "swapped" in message
    assert "Fix: swap the 'de' and 'en' keys" in message and "\n" not in message


def test_a_copied_side_is_refused(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "valid.de-en.json", list(zip(DE, DE)))
    with pytest.raises(DataError, match=r"valid.de-en.json: the 'en' side reads as German, not English .*Fix: "):
        data.read_parallel(path, "de", "en")


def test_reading_with_the_codes_swapped_on_purpose_still_works(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "train.de-en.json", list(zip(DE, EN)))
    assert data.read_parallel(path, "en", "de") == list(zip(EN, DE))


def test_a_minority_of_wrong_lines_or_short_lines_is_no_evidence(tmp_path: Path) -> None:
    mostly_right = list(zip(DE, EN)) * 5 + [(EN[0], DE[0])] * 4  # 4 of 24 swapped (a noisy corpus): read
    assert len(data.read_parallel(_jsonl(tmp_path / "a.json", mostly_right), "de", "en")) == 24
    short = [("OK", "Ja"), ("Anna", "Berlin"), ("RANGT", "WRONG")]  # too short to tell: never refused
    assert len(data.read_parallel(_jsonl(tmp_path / "b.json", short), "de", "en")) == 3


def test_languages_the_identifier_cannot_tell_apart_or_does_not_know_are_not_checked(tmp_path: Path) -> None:
    swapped = list(zip(EN, DE))
    check_sides(swapped, "xx", "en", (tmp_path, tmp_path), ("'xx'", "'en'"))  # unknown to py3langid: skipped
    check_sides([("Я живу в Києві вже багато років.", "Я живу в Киеве уже много лет.")] * 3, "ru", "uk",
                (tmp_path, tmp_path), ("'ru'", "'uk'"))  # ru/uk: too alike, skipped
    with pytest.raises(DataError):
        check_sides(swapped, "de", "en", (tmp_path, tmp_path), ("'de'", "'en'"))


def test_the_sample_is_small_and_fixed() -> None:
    pairs = [(str(i), str(i)) for i in range(1000)]
    sample = sides.side_sample(pairs)
    assert len(sample) == sides.SIDE_SAMPLE == 20 and sample == sides.side_sample(pairs)
    assert sample[0] == ("0", "0") and sample[-1] == ("950", "950")


def _all_parallel(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*en/*.json"))


def test_the_shipped_sample_is_never_refused(ukrainian: None) -> None:
    files = _all_parallel(sample_data_dir())
    assert len(files) >= 18
    for path in files:
        src, tgt = path.name.split(".")[1].split("-")
        assert data.read_parallel(path, src, tgt) and data.read_parallel(path, tgt, src)


@pytest.mark.parametrize("config", [WorldConfig(seed=0), WorldConfig(seed=1, rare_objects=40, rare_places=20,
                                                                     zipf=1.0, bilingual=0.02)], ids=["v1", "v2"])
def test_the_mini_world_is_never_refused(tmp_path: Path, config: WorldConfig, ukrainian: None) -> None:
    root = write_world(tmp_path / "world", config, train=60, valid=20, test=30, documents=2,
                       languages=("de", "cs", "is", "zh", "ru", "uk"), qualities=("Filtered", "Random"))
    files = _all_parallel(root)
    assert len(files) >= 30  # train/valid/test of six languages and the Filtered/Random roots (5% copied sources)
    for path in files:
        src, tgt = path.name.split(".")[1].split("-")
        assert data.read_parallel(path, src, tgt)


# --- segments of only invisible characters, NUL ------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["\u200b", "\u200c\u200d", " \ufeff ", "\u2060", "\u00ad"])
def test_a_segment_of_only_invisible_characters_is_empty(tmp_path: Path, blank: str) -> None:
    path = _jsonl(tmp_path / "train.de-en.json", [(DE[0], EN[0]), ("Hallo", blank)])
    with pytest.raises(DataError, match=r"train.de-en.json:2: empty 'en' segment \(only invisible characters: U\+"):
        data.read_parallel(path, "de", "en")


def test_invisible_characters_inside_text_are_kept(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "train.de-en.json", [("Hallo\u200bWelt", "Hello\u200c world\ufeff")])
    assert data.read_parallel(path, "de", "en") == [("Hallo\u200bWelt", "Hello\u200c world\ufeff")]


def test_a_nul_character_is_refused(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "train.de-en.json", [(DE[0], EN[0]), ("Hal\0lo", "Hello")])
    with pytest.raises(DataError, match=r"train.de-en.json:2: NUL character at column 4\. Fix: the file is corrupted"):
        data.read_parallel(path, "de", "en")


def test_segment_problem() -> None:
    assert data.segment_problem("Hallo") == "" and data.segment_problem(" ") == "empty segment"
    assert data.segment_problem("\u200b\u200b") == "empty segment (only invisible characters: U+200B)"
    assert data.segment_problem("a\0b") == "NUL character at column 2"


# --- JSON keys given twice (io.json_records: every JSON-lines / array reader) --------------------------------------


def test_a_key_given_twice_in_a_json_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "train.de-en.json"
    path.write_text(json.dumps({"translation": {"de": "x", "en": "y"}}) + "\n"
                    + '{"translation": {"de": "a", "de": "b", "en": "c"}}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"train.de-en.json:2: duplicate key 'de' .*\"a\", then \"b\".*Fix: keep one"):
        data.read_parallel(path, "de", "en")


def test_a_key_given_twice_in_a_json_array_names_the_line_and_item(tmp_path: Path) -> None:
    path = tmp_path / "valid.de-en.json"
    path.write_text('[\n {"translation": {"de": "Hallo", "en": "Hello"}},\n {"translation": {"de": "Ja",\n'
                    '   "en": "Yes",\n   "en": "No"}}\n]\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"valid.de-en.json:5 \(JSON array item 2\): duplicate key 'en'"):
        data.read_parallel(path, "de", "en")
    shots = tmp_path / "shots.de-en.json"
    shots.write_text('[{"source": "a", "target": "b", "source": "c"}]', encoding="utf-8")
    with pytest.raises(DataError, match=r"shots.de-en.json:1 \(JSON array item 1\): duplicate key 'source'"):
        data.read_shots(shots)


def test_json_records_reads_clean_text_unchanged() -> None:
    text = '{"a": 1, "b": {"a": 2}}\n\n{"a": 3}\n'
    assert list(json_records("f", text)) == [(1, None, {"a": 1, "b": {"a": 2}}), (3, None, {"a": 3})]
    assert list(json_records("f", '[{"a": 1}, {"a": 1}]')) == [(None, 1, {"a": 1}), (None, 2, {"a": 1})]


def test_monolingual_json_lines_with_a_key_twice(tmp_path: Path) -> None:
    path = tmp_path / "de.jsonl"
    path.write_text('{"text": "Ein Dokument.", "text": "Ein anderes."}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"de.jsonl:1: duplicate key 'text'"):
        data.read_monolingual(path)


# --- a folder where a file is expected ---------------------------------------------------------------------------


def test_a_folder_is_named_as_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "deen"
    _jsonl(folder / "train.de-en.json", list(zip(DE, EN)))
    with pytest.raises(DataError, match=r"deen: is a folder, not a parallel data file \(it holds train.de-en.json\)"
                                        r". Fix: pass the path of the file itself"):
        data.read_parallel(folder, "de", "en")
    with pytest.raises(DataError, match="is a folder, not a monolingual file"):
        data.read_monolingual(tmp_path)
    with pytest.raises(DataError, match="is a folder, not a few-shot file"):
        data.read_shots(tmp_path)
    with pytest.raises(DataError, match="is a folder, not a source file"):
        data.read_parallel_text(tmp_path, tmp_path)
