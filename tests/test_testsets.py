"""Test-set readers: sacreBLEU --echo text and the official JSON layout, WMT'21 for is<->en."""

import json

import pytest

from alma_core.recipe.data import DataError
from alma_core.recipe.testsets import TestSetError, locate_test_set, read_lines, read_test_set


def _write_echo(root, testset, src, tgt, sources, refs):
    (root / f"{testset}.{src}-{tgt}.src").write_text("\n".join(sources) + "\n", encoding="utf-8")
    (root / f"{testset}.{src}-{tgt}.ref").write_text("\n".join(refs) + "\n", encoding="utf-8")


def test_echo_layout_reads_wmt22_and_wmt21_for_icelandic(tmp_path):
    _write_echo(tmp_path, "wmt22", "de", "en", ["Hallo Welt.", "  Zwei  Leerzeichen "], ["Hello world.", "Two spaces"])
    _write_echo(tmp_path, "wmt21", "en", "is", ["Good morning."], ["Góðan daginn."])
    _write_echo(tmp_path, "wmt22", "en", "is", ["WRONG"], ["RANGT"])  # must not be picked
    assert read_test_set(tmp_path, "de", "en") == (
        ["Hallo Welt.", "  Zwei  Leerzeichen "],
        ["Hello world.", "Two spaces"],
    )
    assert read_test_set(tmp_path, "en", "is") == (["Good morning."], ["Góðan daginn."])
    assert read_test_set(tmp_path, "en", "is", testset="wmt22") == (["WRONG"], ["RANGT"])
    assert locate_test_set(tmp_path, "is", "en")[0].name == "wmt21.is-en.src"
    assert locate_test_set(tmp_path, "zh", "en")[1].name == "wmt22.zh-en.ref"


def test_echo_checks_alignment_and_empty_segments(tmp_path):
    (tmp_path / "wmt22.en-zh.src").write_text("a\nb\nc\n", encoding="utf-8")
    (tmp_path / "wmt22.en-zh.ref").write_text("甲\n乙\n丙\n", encoding="utf-8")
    assert read_test_set(tmp_path, "en", "zh") == (["a", "b", "c"], ["甲", "乙", "丙"])
    (tmp_path / "wmt22.en-zh.ref").write_text("甲\n乙\n", encoding="utf-8")
    with pytest.raises(DataError, match="3 lines but .* has 2"):
        read_test_set(tmp_path, "en", "zh")
    (tmp_path / "wmt22.en-zh.src").write_text("a\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2"):
        read_test_set(tmp_path, "en", "zh")


def test_missing_file_error_says_how_to_make_it(tmp_path):
    with pytest.raises(TestSetError, match=r"sacrebleu -t wmt21 -l is-en --echo src"):
        read_test_set(tmp_path, "is", "en")
    with pytest.raises(TestSetError, match="human_written_data"):
        read_test_set(tmp_path, "is", "en", fmt="json")
    with pytest.raises(TestSetError, match="unknown test-set format"):
        read_test_set(tmp_path, "de", "en", fmt="tsv")
    with pytest.raises(TestSetError, match="English-centric"):
        read_test_set(tmp_path, "de", "cs", fmt="json")


def test_json_layout_array_and_lines(tmp_path):
    (tmp_path / "zhen").mkdir()
    records = [{"translation": {"zh": "你好", "en": "Hello"}}, {"translation": {"zh": "谢谢", "en": "Thanks"}}]
    (tmp_path / "zhen" / "test.en-zh.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    assert read_test_set(tmp_path, "en", "zh", fmt="json") == (["Hello", "Thanks"], ["你好", "谢谢"])
    (tmp_path / "isen").mkdir()
    lines = "\n".join(json.dumps({"translation": {"is": "Já", "en": "Yes"}}) for _ in range(3))
    (tmp_path / "isen" / "test.is-en.json").write_text(lines, encoding="utf-8")
    assert read_test_set(tmp_path, "is", "en", fmt="json") == (["Já"] * 3, ["Yes"] * 3)


def test_json_errors_name_file_and_record(tmp_path):
    (tmp_path / "deen").mkdir()
    path = tmp_path / "deen" / "test.de-en.json"
    path.write_text(json.dumps([{"translation": {"de": "Ja"}}]), encoding="utf-8")
    with pytest.raises(DataError, match=r"test.de-en.json.*item 1.*'en'"):
        read_test_set(tmp_path, "de", "en", fmt="json")
    path.write_text('{"translation": {"de": "a", "en": "b"}}\n{broken\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"test.de-en.json:2: bad JSON line"):
        read_test_set(tmp_path, "de", "en", fmt="json")


def test_read_lines_rejects_non_utf8(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"ok\n\xff\xfe bad\n")
    with pytest.raises(TestSetError, match="not UTF-8"):
        read_lines(path)


def test_shipped_sample_reads_in_the_json_layout_for_all_ten_directions():
    from alma_core.recipe.data import sample_data_dir
    from alma_core.recipe.languages import paper_directions

    for src, tgt in paper_directions():
        sources, references = read_test_set(sample_data_dir(), src, tgt, fmt="json")
        assert len(sources) == len(references) > 0
        assert all(s.strip() for s in sources) and all(r.strip() for r in references)
