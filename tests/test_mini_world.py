"""The mini world (issue 14): determinism, test meanings disjoint from training, language ID, formats, quality order."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from alma_core.recipe import languages
from alma_core.recipe.data import DataError, load_pairs, read_monolingual, read_shots, shots_path
from alma_core.recipe.metrics import chrf, detect_languages
from alma_core.recipe.testsets import read_test_set
from alma_core.standins.lexicon import LANGS, NAMES, SUBJECTS
from alma_core.standins.mini_world import (
    Meaning,
    WorldConfig,
    WorldError,
    bucket,
    document,
    documents,
    draw_meaning,
    held_out_entries,
    pairs,
    realise,
    train_meanings,
    uses_held_out,
    valid_meanings,
)
from alma_core.standins.mini_world import (
    test_meanings as meanings_of_test,  # aliased: pytest would collect a test_* name
)
from alma_core.standins.mini_world_data import (
    graded_pairs,
    world_statistics,
    write_quality_root,
    write_world,
)

CFG = WorldConfig(seed=3)
XX = LANGS[1:]


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def world_root(tmp_path_factory: pytest.TempPathFactory, ukrainian: None) -> Path:
    return write_world(tmp_path_factory.mktemp("mini") / "world", CFG, train=120, valid=20, test=30, documents=40,
                       languages=XX)


def test_an_undeclared_language_is_refused_before_anything_is_written(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(languages.LANGUAGES, "uk", raising=False)  # other tests may have declared it in this process
    with pytest.raises(DataError, match="uk"):
        write_world(tmp_path / "w", CFG, train=5, valid=2, test=2, documents=2, languages=("de", "uk"))
    assert not (tmp_path / "w").exists()


def test_same_seed_writes_byte_identical_trees_and_another_seed_differs(world_root: Path, tmp_path: Path) -> None:
    again = write_world(tmp_path / "again", CFG, train=120, valid=20, test=30, documents=40, languages=XX)
    other = write_world(tmp_path / "other", WorldConfig(seed=4), train=120, valid=20, test=30, documents=40,
                        languages=XX)
    assert _tree_digest(again) == _tree_digest(world_root)
    assert _tree_digest(other) != _tree_digest(world_root)


def test_streams_are_random_access_and_unlimited() -> None:
    stream = documents(CFG, "de", start=1000)
    assert [next(stream) for _ in range(3)] == [document(CFG, "de", i) for i in (1000, 1001, 1002)]
    assert train_meanings(CFG, "cs", 50)[:20] == train_meanings(CFG, "cs", 20)  # a prefix, as the sweeps need
    assert len(set(train_meanings(CFG, "cs", 400))) > 390  # a meaning space far larger than the data


def test_test_meanings_never_occur_in_any_training_text() -> None:
    tests = {m.key() for src, tgt in (("de", "en"), ("en", "de")) for m in meanings_of_test(CFG, src, tgt, 300)}
    assert len(tests) > 580  # distinct within a set; the two directions are (mostly) different sentences
    assert all(bucket(CFG, draw_meaning(CFG, "test:de-en", i, "test", covered_only=False)) == "test" for i in range(5))
    training = [m for xx in XX for m in train_meanings(CFG, xx, 3000)]
    training += valid_meanings(CFG, "de", 300)
    training += [draw_meaning(CFG, "mono:en", i, "train", covered_only=False) for i in range(3000)]
    assert not tests & {m.key() for m in training}
    # the fronted word order of a test meaning is still the test meaning
    fronted = next(m for m in meanings_of_test(CFG, "de", "en", 300) if m.front)
    assert bucket(CFG, Meaning(**{**fronted.__dict__, "front": False})) == "test"


def test_parallel_data_never_uses_held_out_entries_but_tests_and_monolingual_text_do() -> None:
    held = held_out_entries(CFG)
    assert all(held.values())
    assert not any(uses_held_out(CFG, m) for m in train_meanings(CFG, "de", 2000) + valid_meanings(CFG, "de", 200))
    share = sum(uses_held_out(CFG, m) for m in meanings_of_test(CFG, "de", "en", 400)) / 400
    assert 0.2 < share < 0.7
    assert any(uses_held_out(CFG, draw_meaning(CFG, "mono:de", i, "train", covered_only=False)) for i in range(50))


@pytest.mark.parametrize("lang", LANGS)
def test_the_language_identifier_recognises_every_language(lang: str) -> None:
    sentences = [realise(m, lang) for m in train_meanings(CFG, "de", 300)]
    detected = detect_languages(sentences, LANGS)
    assert sum(d == lang for d in detected) / len(sentences) >= 0.9, list(zip(sentences, detected))[:10]
    docs = [document(CFG, lang, i) for i in range(100)]
    assert sum(d == lang for d in detect_languages(docs, LANGS)) >= 97


def test_bridges_names_and_numbers_are_shared_and_code_switching_is_rare() -> None:
    meaning = Meaning("act", len(SUBJECTS), action=0, place=13, time=11, number=214, clock=730)
    texts = {lang: realise(meaning, lang) for lang in LANGS}
    assert all("214" in t and "7:30" in t for t in texts.values()), texts
    assert {texts[lang].split()[0] for lang in ("en", "de", "cs", "is")} == {NAMES[0][0][0]}
    docs = [document(CFG, "de", i) for i in range(400)]
    switched = sum("(" in d for d in docs) / len(docs)
    assert 0.02 < switched < 0.25
    assert not any("(" in document(CFG, "en", i) for i in range(400))


def test_grammar_word_order_and_agreement() -> None:
    fem = next(i for i, (_, g) in enumerate(SUBJECTS) if g == "f")
    state = Meaning("state", fem, place=1, time=7, attribute=0)
    assert realise(state, "cs").endswith("unavená.") and realise(state, "ru").endswith("усталая.")
    assert realise(Meaning("state", 0, place=1, time=7, attribute=0), "cs").endswith("unavený.")
    fronted = Meaning("state", 0, place=1, time=7, attribute=0, front=True)
    assert realise(fronted, "de") == "Heute ist der alte Mann zu Hause müde."
    act = Meaning("act", 0, action=0, place=0, time=0, front=True)
    assert realise(act, "de") == "Jeden Morgen liest der alte Mann im Garten ein Buch."  # verb second
    assert realise(act, "en") == "Every morning, the old man reads a book in the garden."
    assert realise(act, "zh") == "每天早上，老人在花园里读一本书。"
    assert realise(act, "de", omit="T") == "Der alte Mann liest im Garten ein Buch."
    assert realise(act, "en", omit="P") == "Every morning, the old man reads a book."
    with pytest.raises(WorldError, match="Fix"):
        realise(act, "fr")
    with pytest.raises(WorldError, match="held_out"):
        WorldConfig(held_out=1.5)


def test_written_world_reads_with_the_projects_readers(world_root: Path) -> None:
    for xx in XX:
        train = load_pairs(world_root, xx, "en", "train")
        assert train == graded_pairs(CFG, xx, 120, "HW")
        assert len(load_pairs(world_root, xx, "en", "valid")) == 20
        for src, tgt in ((xx, "en"), ("en", xx)):
            sources, refs = read_test_set(world_root, src, tgt, fmt="json")
            assert (sources, refs) == tuple(map(list, zip(*pairs(meanings_of_test(CFG, src, tgt, 30), src, tgt))))
            assert len(read_shots(shots_path(world_root, src, tgt, "HW"))) == 5
            assert len(read_shots(shots_path(world_root, src, tgt, "Filtered"))) == 5
    for lang in LANGS:
        docs = read_monolingual(world_root / "monolingual" / f"{lang}.txt")
        assert docs == [document(CFG, lang, i) for i in range(40)]


def test_graded_quality_orders_hw_above_filtered_above_random(tmp_path: Path, world_root: Path) -> None:
    exact: dict[str, float] = {}
    for quality in ("HW", "Filtered", "Random"):
        noisy = graded_pairs(CFG, "de", 600, quality)
        meanings = train_meanings(CFG, "de", 600, stream="train" if quality == "HW" else f"quality-{quality}")
        truth = pairs(meanings, "de", "en")
        exact[quality] = sum(n == t for n, t in zip(noisy, truth)) / len(truth)
        score = chrf([t for _, t in noisy], [t for _, t in truth]).score
        exact[quality + "-chrf"] = score
    assert exact["HW"] == 1.0 and exact["HW-chrf"] == 100.0
    assert 0.7 < exact["Filtered"] < 0.95 and 0.25 < exact["Random"] < 0.55
    assert exact["HW-chrf"] > exact["Filtered-chrf"] > exact["Random-chrf"]
    root = write_quality_root(tmp_path / "Random", CFG, "Random", train=50, languages=("de",), valid_from=world_root)
    assert load_pairs(root, "de", "en", "train") == graded_pairs(CFG, "de", 50, "Random")
    assert load_pairs(root, "de", "en", "valid") == load_pairs(world_root, "de", "en", "valid")
    with pytest.raises(WorldError, match="quality"):
        graded_pairs(CFG, "de", 5, "Perfect")


def test_statistics_describe_the_world() -> None:
    stats = world_statistics(CFG, sample=60, train=200, test=50, languages=("en", "de", "zh"))
    assert stats["slots"]["subject"]["entries"] == len(SUBJECTS) + len(NAMES)
    de = stats["languages"]["de"]
    assert de["parallel_vocabulary"] < de["mono_vocabulary"]  # the parallel data does not cover the lexicon
    assert 0.3 < de["parallel_coverage_of_mono_vocabulary"] < 1.0
    assert 4 <= de["words_per_sentence"]["min"] <= de["words_per_sentence"]["mean"] <= de["words_per_sentence"]["max"]
    assert stats["languages"]["zh"]["words_per_sentence"]["mean"] > de["words_per_sentence"]["mean"]  # characters
    assert "parallel_vocabulary" not in stats["languages"]["en"]
