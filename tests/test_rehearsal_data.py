"""Rehearsal data (alma_core/rehearsal/data.py): every file reads back through the project's own readers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from alma_core.recipe.crosslingual_items import read_task, sample_path
from alma_core.recipe.data import DataError, has_split, load_pairs, read_monolingual, read_shots, shots_path
from alma_core.recipe.languages import paper_directions
from alma_core.recipe.metrics import off_target_rate
from alma_core.recipe.oscar import stream_oscar
from alma_core.recipe.testsets import read_test_set
from alma_core.rehearsal.data import (
    HUB_TASK_LANGUAGES,
    OSCAR_LANGUAGES,
    REHEARSAL_LANGUAGES,
    oscar_data_files,
    write_hub_datasets,
    write_rehearsal_data,
)

PAIRS, TESTS = 20, 8


def _files(root: Path) -> dict[str, bytes]:
    """Every file under root, by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("rehearsal")
    return root, write_rehearsal_data(root, seed=3, pairs_per_direction=PAIRS, test_sentences=TESTS)


def _directions(languages=REHEARSAL_LANGUAGES) -> list[tuple[str, str]]:
    return [(xx, "en") for xx in languages] + [("en", xx) for xx in languages]


def test_every_data_root_the_params_name_is_written(rehearsal):
    root, roots = rehearsal
    repo = Path(__file__).parents[1]
    params = "\n".join(
        p.read_text() for profile in ("paper", "released") for p in (repo / "params" / profile).glob("*.yaml")
    )
    named = set(re.findall(r"\bdata/([\w-]+)", params))
    assert named and named <= set(roots), named - set(roots)
    test_roots = set(re.findall(r"^\s*test_root:\s*(\S+)", params, re.M))
    assert test_roots == {"data/wmt"}, f"one test-set root for every chapter (issue 21), got {test_roots}"
    for name, path in roots.items():
        assert path == root / "data" / name and path.is_dir()


def test_test_sets_read_back_in_both_formats(rehearsal):
    _, roots = rehearsal
    for src, tgt in paper_directions():
        echo = read_test_set(roots["wmt"], src, tgt)
        assert echo == read_test_set(roots["human_written_data"], src, tgt, fmt="json")
        assert len(echo[0]) == TESTS
    for src, tgt in (("uk", "en"), ("en", "uk")):
        assert len(read_test_set(roots["human_written_data"], src, tgt, fmt="json")[0]) == TESTS


def test_parallel_roots_in_the_official_layout(rehearsal):
    _, roots = rehearsal
    hw = roots["human_written_data"]
    for xx in REHEARSAL_LANGUAGES:
        train = load_pairs(hw, xx, "en", "train")
        assert len(train) == PAIRS and load_pairs(hw, "en", xx, "train")[0] == train[0][::-1]
        assert has_split(hw, xx, "en", "valid") == (xx != "is")  # the official data has no is-en validation set
        tests = set(read_test_set(hw, xx, "en", fmt="json")[0])
        assert not tests & {s for s, _ in train}, "test sentences leak into training"
        assert (hw / f"{xx}en" / f"train.{xx}-en.json").read_text().startswith('{"translation"')  # JSON lines
        for split in ("valid", "test"):
            if has_split(hw, xx, "en", split):
                assert (
                    (hw / f"{xx}en" / (f"valid.{xx}-en.json" if split == "valid" else f"test.{xx}-en.json"))
                    .read_text()
                    .startswith("[")
                )
    for name in ("wmt_filtered", "wmt_random"):
        for xx in ("de", "cs", "is", "zh", "ru"):
            assert len(load_pairs(roots[name], xx, "en", "train")) == PAIRS
            assert has_split(roots[name], xx, "en", "valid") == (xx != "is")
    ru = roots["wmt-en-ru-filtered"]
    assert len(load_pairs(ru, "ru", "en", "train")) == 2 * PAIRS and load_pairs(ru, "en", "ru", "valid")
    with pytest.raises(DataError, match="no valid split"):
        load_pairs(hw, "is", "en", "valid")


def test_shots_for_every_direction(rehearsal):
    _, roots = rehearsal
    for kind in ("HW", "Filtered"):
        for src, tgt in _directions():
            shots = read_shots(shots_path(roots["human_written_data"], src, tgt, kind))
            assert len(shots) == 5 and all(s and t for s, t in shots)


def test_oscar_shards_stream_through_stream_oscar(rehearsal):
    import zstandard

    root, roots = rehearsal
    for lang in OSCAR_LANGUAGES:
        files = oscar_data_files(root, lang)
        assert [Path(f).name for f in files] == [f"{lang}_meta_part_1.jsonl.zst"]
        documents = list(stream_oscar(lang, data_files=files))
        assert len(documents) >= 4 and all(len(doc.split("\n")) >= 3 for doc in documents)
        raw = zstandard.ZstdDecompressor().stream_reader(open(files[0], "rb")).read().decode("utf-8")
        record = json.loads(raw.splitlines()[0])
        meta = record["meta"]
        assert set(meta) == {"warc_headers", "identification", "harmful_pp", "tlsh", "quality_warnings", "categories",
                             "sentence_identifications"}
        assert meta["identification"]["label"] == lang
        assert len(meta["sentence_identifications"]) == len(record["text"].split("\n"))
        assert {"warc-record-id", "warc-date", "warc-target-uri", "content-length"} <= set(meta["warc_headers"])
        monolingual = read_monolingual(roots["human_written_data"] / "monolingual" / f"{lang}.txt")
        assert len(monolingual) == len(documents)


def test_languages_are_identified_as_themselves(rehearsal):
    _, roots = rehearsal
    for lang in OSCAR_LANGUAGES:
        text = read_monolingual(roots["human_written_data"] / "monolingual" / f"{lang}.txt")
        sentences = [s for doc in stream_oscar(lang, data_files=oscar_data_files(roots["oscar"].parents[1], lang))
                     for s in doc.split("\n")]
        if lang != "en":
            sentences += read_test_set(roots["wmt"] if lang != "uk" else roots["human_written_data"], "en", lang,
                                       fmt="sacrebleu-echo" if lang != "uk" else "json")[1]
        assert off_target_rate(sentences + text, lang).score <= 0.1, lang


def test_crosslingual_items_in_the_files_layout(rehearsal):
    _, roots = rehearsal
    for task, langs in HUB_TASK_LANGUAGES.items():
        for lang in langs:
            items = read_task(task, sample_path(task, lang, roots["crosslingual"]), lang)
            assert len(items) == 12 and {item.label for item in items} == set(range(len(items[0].contexts)))


def test_hub_datasets_load_offline_with_the_unchanged_call(tmp_path, rehearsal):
    _, roots = rehearsal
    snapshots = write_hub_datasets(tmp_path / "hf", datasets_cache=tmp_path / "cache", seed=3)
    for snapshot in snapshots.values():
        assert (snapshot / "README.md").read_text().startswith("---\nconfigs:")
        assert (snapshot.parents[1] / "refs" / "main").read_text() == snapshot.name
    code = (
        "import json; from alma_core.recipe.crosslingual_items import load_hub_items\n"
        f"tasks = {HUB_TASK_LANGUAGES!r}\n"
        "print(json.dumps({t: {l: [[list(i.contexts), list(i.continuations), i.label] for i in load_hub_items(t, l)]"
        " for l in ls} for t, ls in tasks.items()}))"
    )
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_DATASETS_CACHE": str(tmp_path / "cache"),
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    for task, langs in HUB_TASK_LANGUAGES.items():  # the hub rows are the files-layout rows (same seed)
        for lang in langs:
            files = read_task(task, sample_path(task, lang, roots["crosslingual"]), lang)
            assert loaded[task][lang] == [[list(i.contexts), list(i.continuations), i.label] for i in files]


def test_deterministic_and_idempotent(tmp_path, rehearsal):
    root, _ = rehearsal
    again = tmp_path / "again"
    write_rehearsal_data(again, seed=3, pairs_per_direction=PAIRS, test_sentences=TESTS)
    first = _files(root / "data")
    assert _files(again / "data") == first
    write_rehearsal_data(again, seed=3, pairs_per_direction=PAIRS, test_sentences=TESTS)
    assert _files(again / "data") == first  # rewriting changes nothing and leaves no temp files
    other = tmp_path / "other"
    write_rehearsal_data(other, seed=4, pairs_per_direction=PAIRS, test_sentences=TESTS)
    assert _files(other / "data").keys() == first.keys() and _files(other / "data") != first


def test_too_much_data_is_refused_with_the_limit():
    with pytest.raises(ValueError, match="pairs_per_direction"):
        write_rehearsal_data(Path("/nonexistent-never-written"), pairs_per_direction=10_000)
