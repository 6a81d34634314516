"""Issue 22, test sets validated where they are read (recipe.testsets): swapped or copied sides, invisible or NUL
segments, a folder where a file is expected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alma_core.recipe.data import DataError
from alma_core.recipe.testsets import TestSetError, read_lines, read_test_set

DE = ["Ich habe heute leider keine Zeit für dich.", "Der Hund schläft den ganzen Tag im Garten.",
      "Wir fahren morgen früh mit dem Zug nach Berlin."]
EN = ["Unfortunately I have no time for you today.", "The dog sleeps in the garden all day long.",
      "Tomorrow morning we are taking the train to Berlin."]


def _echo(root: Path, src_lines: list[str], ref_lines: list[str], pair: str = "de-en") -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / f"wmt22.{pair}.src").write_text("\n".join(src_lines) + "\n", encoding="utf-8")
    (root / f"wmt22.{pair}.ref").write_text("\n".join(ref_lines) + "\n", encoding="utf-8")


def test_swapped_echo_files_are_refused_naming_both_files(tmp_path: Path) -> None:
    _echo(tmp_path, EN, DE)
    with pytest.raises(DataError) as err:
        read_test_set(tmp_path, "de", "en")
    message = str(err.value)
    assert f"{tmp_path / 'wmt22.de-en.src'}: the source (de) side reads as English, not German" in message
    assert str(tmp_path / "wmt22.de-en.ref") in message and "Fix: swap the two files" in message


def test_a_reference_copied_from_the_source_is_refused(tmp_path: Path) -> None:
    _echo(tmp_path, EN, EN, pair="en-de")
    with pytest.raises(DataError, match=r"wmt22.en-de.ref: the reference \(de\) side reads as English, not German"):
        read_test_set(tmp_path, "en", "de")


def test_right_sides_read_unchanged(tmp_path: Path) -> None:
    _echo(tmp_path, DE, EN)
    _echo(tmp_path, EN, DE, pair="en-de")
    assert read_test_set(tmp_path, "de", "en") == (DE, EN)
    assert read_test_set(tmp_path, "en", "de") == (EN, DE)


def test_a_swapped_json_test_set_is_refused(tmp_path: Path) -> None:
    (tmp_path / "deen").mkdir()
    records = [{"translation": {"de": e, "en": d}} for d, e in zip(DE, EN)]
    (tmp_path / "deen" / "test.de-en.json").write_text(json.dumps(records), encoding="utf-8")
    with pytest.raises(DataError, match=r"test.de-en.json: the 'de' side reads as English.*swapped"):
        read_test_set(tmp_path, "de", "en", fmt="json")


@pytest.mark.parametrize("blank", ["\u200b", "\u200c\u200d", "\ufeff"])
def test_a_reference_of_only_invisible_characters_is_an_empty_segment(tmp_path: Path, blank: str) -> None:
    _echo(tmp_path, DE, [EN[0], blank, EN[2]])
    with pytest.raises(DataError, match=r"wmt22.de-en.ref:2: empty segment \(only invisible characters: U\+.*Fix: "):
        read_test_set(tmp_path, "de", "en")


def test_a_nul_in_a_test_set_is_refused(tmp_path: Path) -> None:
    _echo(tmp_path, [DE[0], "Der\0 Hund", DE[2]], EN)
    with pytest.raises(DataError, match=r"wmt22.de-en.src:2: NUL character at column 4"):
        read_test_set(tmp_path, "de", "en")


def test_a_folder_where_a_test_set_file_is_expected(tmp_path: Path) -> None:
    (tmp_path / "wmt22.de-en.src").write_text("\n".join(DE) + "\n", encoding="utf-8")
    (tmp_path / "wmt22.de-en.ref").mkdir()
    with pytest.raises(TestSetError, match=r"wmt22.de-en.ref: is a folder, not a test-set file.*Fix: pass the path"):
        read_test_set(tmp_path, "de", "en")
    (tmp_path / "deen" / "test.de-en.json").mkdir(parents=True)
    with pytest.raises(TestSetError, match=r"test.de-en.json: is a folder, not a test-set file"):
        read_test_set(tmp_path, "de", "en", fmt="json")


def test_read_lines_names_a_folder_and_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TestSetError, match="is a folder, not a text file"):
        read_lines(tmp_path)
    with pytest.raises(TestSetError, match=r"nope.txt: file not found. Fix: "):
        read_lines(tmp_path / "nope.txt")
