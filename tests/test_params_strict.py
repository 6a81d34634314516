"""Issue 22, "params that validate but are wrong": the one YAML reader is bounded and strict, no boolean is read as a
number, every language code is checked, cross-references and paths are checked; each refusal names the file, the key
(or value) and the fix."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from alma_core.io import YAML_MAX_BYTES, load_yaml_text, read_yaml_mapping
from alma_core.params.schemas import ParamsError, load_notebook_params, load_params
from alma_core.recipe.languages import get_language
from alma_core.runs.config import TrainConfigError, load_train_config, make_config

ROOT = Path(__file__).resolve().parents[1]
STAGE2 = {"stage": 2, "base_model": "x", "output_dir": "out", "language_pairs": ["de-en"]}
# "billion laughs" at six levels (9**6 values) in a valid Section 5 file: the anchors under tiny_backbone (any
# mapping), the bomb as the seed. It used to take seconds and print a 5 MB message; nine levels did not end.
SEC5 = (ROOT / "params" / "tiny" / "sec5_main_results.yaml").read_text(encoding="utf-8")
BOMB = (SEC5.replace("seed: 42\n", "").replace("tiny_backbone: {}\n", "tiny_backbone:\n  a: &a [lol, lol, lol, lol, "
                                                 "lol, lol, lol, lol, lol]\n" + "".join(
    f"  {c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcde", "bcdef"))) + "seed: *f\n")


def _tiny(notebook: str) -> dict:
    return yaml.safe_load((ROOT / "params" / "tiny" / f"{notebook}.yaml").read_text(encoding="utf-8"))


def _params(tmp_path: Path, notebook: str, change: Callable[[dict], object] | None = None,
            text: str | None = None) -> Path:
    """params/tiny/<notebook>.yaml copied into tmp_path/params/tiny/, changed (or replaced by `text`)."""
    values = _tiny(notebook)
    if change is not None:
        change(values)
    path = tmp_path / "params" / "tiny" / f"{notebook}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else yaml.safe_dump(values, allow_unicode=True), encoding="utf-8")
    return path


def _refused(path: Path, *fragments: str) -> str:
    with pytest.raises(ParamsError) as err:
        load_params(path)
    message = str(err.value)
    for fragment in (str(path), "Fix", *fragments):
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def _first_run(values: dict) -> dict:
    return next(iter(values["train"].values()))


# ---- 1. one YAML reader, bounded and strict ------------------------------------------------------------------------


def test_an_alias_bomb_is_refused_at_once_with_a_short_message(tmp_path: Path) -> None:
    path = _params(tmp_path, "sec5_main_results", text=BOMB)
    start = time.monotonic()
    message = _refused(path, "alias", "expand to more than")
    assert time.monotonic() - start < 2 and len(message) < 500


@pytest.mark.parametrize(("text", "fragment"), [
    ("profile: tiny\nx: " + "[" * 40 + "]" * 40 + "\n", "nested deeper than 32 levels"),
    ("profile: tiny\nx: [" + ", ".join(["*a"] * 101) + "]\n", "more than 100 aliases"),
])
def test_deep_nesting_and_many_aliases_are_refused_before_building(text: str, fragment: str, tmp_path: Path) -> None:
    _refused(_params(tmp_path, "sec5_main_results", text=text), fragment)


def test_a_file_over_the_size_bound_is_refused_before_parsing(tmp_path: Path) -> None:
    path = _params(tmp_path, "sec5_main_results", text="profile: tiny\n" + "#" * YAML_MAX_BYTES + "\n")
    _refused(path, "bytes, more than a params file may hold")


def test_a_duplicate_key_is_refused_naming_the_key_and_its_lines(tmp_path: Path) -> None:
    text = SEC5 + "seed: 7\n"
    message = _refused(_params(tmp_path, "sec5_main_results", text=text), "duplicate key 'seed'", "first at line 6")
    assert f"{tmp_path / 'params' / 'tiny' / 'sec5_main_results.yaml'}:{text.count(chr(10))}:" in message
    with pytest.raises(ValueError, match=r"f.yaml:4: duplicate key 'c' \(first at line 3"):
        load_yaml_text("a: 1\nb:\n  c: 2\n  c: 3\n", "f.yaml")


def test_a_training_config_with_a_duplicate_key_is_a_train_config_error(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(STAGE2) + "stage: 1\n", encoding="utf-8")
    with pytest.raises(TrainConfigError, match=r"run.yaml:\d+: duplicate key 'stage'.*Fix"):
        load_train_config(path)


def test_safe_loading_and_merge_keys_still_work(tmp_path: Path) -> None:
    assert load_yaml_text("base: &b {x: 1}\nother:\n  <<: *b\n  x: 2\n", "f") == {"base": {"x": 1}, "other": {"x": 2}}
    with pytest.raises(ValueError, match="invalid YAML"):
        load_yaml_text("x: !!python/object/apply:os.system [echo hi]\n", "f")
    path = tmp_path / "a.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    assert read_yaml_mapping(path, "params file") == {"a": 1}


def test_broken_yaml_in_set_is_a_one_line_error_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(STAGE2), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "alma_core.train", "--config", str(config), "--plan",
                           "--set", "lora_target_modules=[a, b"], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: --set lora_target_modules: invalid YAML") and "quote it" in done.stderr


# ---- 2. no bool read as a number ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("notebook", "change", "key"), [
    ("sec5_main_results", lambda v: v["evaluation"].update(num_beams=True), "evaluation.num_beams"),
    ("sec5_main_results", lambda v: v.update(seeds=[1, True]), "seeds"),
    ("sec5_main_results", lambda v: v.update(seed=False), "seed"),
    ("scorecard", lambda v: v.update(tolerance={"bleu": True}), "tolerance"),
    ("sec5_main_results", lambda v: _first_run(v).update(max_train_examples=True), "max_train_examples"),
    ("sec5_main_results", lambda v: _first_run(v).update(stage=True), "stage"),
    ("appJ_crosslingual", lambda v: _first_run(v).update(monolingual_langs=["en", "de"],
                                                         monolingual_ratios={"en": True, "de": 0.0}),
     "monolingual_ratios"),
])
def test_a_boolean_is_never_read_as_a_number(notebook: str, change: Callable, key: str, tmp_path: Path) -> None:
    _refused(_params(tmp_path, notebook, change), key, "is a boolean where a number is expected")


def test_a_train_config_refuses_a_boolean_number_and_keeps_its_booleans() -> None:
    with pytest.raises(TrainConfigError, match=r"key 'max_steps': true is a boolean where a number"):
        make_config({**STAGE2, "max_steps": True})
    assert make_config({**STAGE2, "lora": True, "packing": False}).lora is True


@pytest.mark.parametrize("world", [{"seed": True, "train": 10}, {"train": True}, {"held_out": False}])
def test_the_world_block_takes_no_boolean_as_a_number(world: dict, tmp_path: Path) -> None:
    path = _params(tmp_path, "mini_world", lambda v: v.update(world=world, data_root=str(tmp_path / "w")))
    message = _refused(path, "world.")
    assert "key ''" not in message


# ---- 3/4. every language code is checked against the registry ------------------------------------------------------

LANGUAGE_CASES = [
    ("sec5_main_results", lambda v: _first_run(v).update(language_pairs=["de-en", "xx-en"]),
     "train.alma_full: language_pairs: xx-en"),
    ("appJ_crosslingual", lambda v: _first_run(v).update(monolingual_langs=["en", "xx"]),
     "train.stage 1: monolingual_langs: xx"),
    ("sec6_2_data_quality", lambda v: v["stage1"].update(monolingual_langs=["en", "xx"]),
     "stage1: monolingual_langs: xx"),
    ("sec3_parallel_data", lambda v: v["evaluation"].update(directions=["de-en", "xx-en"]), "language_pairs: xx-en"),
    ("appD_sampling", lambda v: v.update(languages=["en", "de", "xx"]), "languages.2 'xx'"),
    ("appJ_crosslingual", lambda v: v["evaluation"]["tasks"].update(XNLI=["en", "xx"]),
     "evaluation.tasks.XNLI.1 'xx'"),
    ("sec4_recipe", lambda v: v.update(languages=["en", "xx"]), "languages.1 'xx'"),
    ("sec4_recipe", lambda v: v.update(pair=["xx", "en"]), "pair.0 'xx'"),
    ("mini_world", lambda v: v.update(starting_languages=["de", "xx"]), "starting_languages.1 'xx'"),
    ("sec5_main_results", lambda v: v["evaluation"].update(prompt_tokens_by_direction={"xx-en": 512}),
     "evaluation.prompt_tokens_by_direction.xx-en"),
    ("add_language_pair", lambda v: v.update(language="xx"), "language 'xx'"),
    ("released_outputs", lambda v: v["collections"][0].update(directions=["de-en", "xx-en"]),
     "collections.0.directions.1 'xx-en'"),
]


@pytest.mark.parametrize(("notebook", "change", "key"), LANGUAGE_CASES,
                         ids=[f"{case[0]}:{case[2].split(':')[0]}" for case in LANGUAGE_CASES])
def test_every_language_code_is_checked(notebook: str, change: Callable, key: str, tmp_path: Path) -> None:
    _refused(_params(tmp_path, notebook, change), key, "unknown language code 'xx'", "known codes: cs, de",
             "declared_languages: {xx:")


def test_the_world_languages_need_the_lexicon_and_the_registry(registry, tmp_path: Path) -> None:
    def world(langs: list[str]) -> Callable[[dict], object]:
        return lambda v: (v.update(world={"languages": langs}, data_root=str(tmp_path / "w")),
                          v.pop("declared_languages", None))

    _refused(_params(tmp_path, "mini_world", world(["de", "fr"])), "world.languages", "lexicon")
    registry.pop("uk", None)
    _refused(_params(tmp_path, "mini_world", world(["de", "uk"])), "world.languages.1 'uk'",
             "unknown language code 'uk'")


def test_off_target_candidates_are_language_id_codes(tmp_path: Path) -> None:
    _refused(_params(tmp_path, "appE_off_target", lambda v: v.update(off_target_candidates=["de", "en", "xx"])),
             "off_target_candidates", "'xx'", "py3langid cannot identify")
    load_params(_params(tmp_path, "appE_off_target", lambda v: v.update(off_target_candidates=["de", "en", "pl"])))


def test_released_collections_may_use_a_declared_language_and_check_their_candidates(registry,
                                                                                      tmp_path: Path) -> None:
    registry.pop("kk", None)
    params = load_params(_params(tmp_path, "released_outputs", lambda v: (
        v.update(declared_languages={"kk": {"name": "Kazakh"}}), v["collections"][0].update(directions=["kk-en"]))))
    assert params.collections[0].directions == ["kk-en"]
    _refused(_params(tmp_path, "released_outputs", lambda v: v.update(off_target_candidates=["de", "xx"])),
             "off_target_candidates", "py3langid cannot identify")


def test_a_train_run_may_use_a_language_the_same_file_declares(registry, tmp_path: Path) -> None:
    declared = {"kk": {"name": "Kazakh"}}
    registry.pop("kk", None)
    params = load_params(_params(tmp_path, "sec5_main_results", lambda v: (
        v.update(declared_languages=declared), _first_run(v).update(language_pairs=["kk-en", "en-kk"]))))
    assert _first_run(params.model_dump())["language_pairs"] == ["kk-en", "en-kk"]
    registry.pop("kk", None)
    cfg = make_config({**STAGE2, "language_pairs": ["kk-en"], "declared_languages": declared})
    assert cfg.language_pairs == ["kk-en"]
    with pytest.raises(TrainConfigError, match=r"language_pairs: kk-en: unknown language code 'kk'"):
        make_config({**STAGE2, "language_pairs": ["kk-en"]})


def test_the_unknown_language_fix_names_the_declared_languages_key() -> None:
    with pytest.raises(ValueError) as err:
        get_language("xx")
    assert "declared_languages: {xx: {name: ..." in str(err.value) and "(languages:" not in str(err.value)


# ---- 5. cross-references, paths, seeds ------------------------------------------------------------------------------


@pytest.mark.parametrize(("notebook", "change", "fragments"), [
    ("sec5_main_results", lambda v: v["systems"][1].update(train="alma_ful"),
     ("systems.1.train 'alma_ful'", "its runs: alma_full, alma_lora")),
    ("sec2_zero_shot", lambda v: v["systems"][0].update(train="alma_full"), ("systems.0.train", "no train: block")),
    ("sec5_main_results", lambda v: v["systems"][1].update(name=v["systems"][0]["name"]),
     ("two systems are named 'tiny backbone, zero-shot'",)),
    ("appJ_crosslingual", lambda v: v["before_after"][0].__setitem__(1, "nope"), ("before_after.0 'nope'",)),
])
def test_cross_references_are_checked(notebook: str, change: Callable, fragments: tuple, tmp_path: Path) -> None:
    _refused(_params(tmp_path, notebook, change), *fragments)


@pytest.mark.parametrize(("change", "key"), [
    (lambda v: v.update(store_dir=""), "store_dir"),
    (lambda v: v.update(store_dir="   "), "store_dir"),
    (lambda v: v.update(data_root=""), "data_root"),
    (lambda v: v["evaluation"].update(test_root=" "), "evaluation.test_root"),
    (lambda v: _first_run(v).update(data_root=""), "data_root"),
])
def test_an_empty_path_is_refused(change: Callable, key: str, tmp_path: Path) -> None:
    _refused(_params(tmp_path, "sec5_main_results", change), f"'{key}'", "empty path")


@pytest.mark.parametrize(("change", "key"), [
    (lambda v: v.update(seed=2**32), "seed"),
    (lambda v: v.update(seed=-1), "seed"),
    (lambda v: v.update(seeds=[1, 2**40]), "seeds.1"),
    (lambda v: _first_run(v).update(seed=-5), "seed"),
])
def test_a_seed_outside_numpys_range_is_refused(change: Callable, key: str, tmp_path: Path) -> None:
    _refused(_params(tmp_path, "sec5_main_results", change), f"'{key}'", "outside numpy's range 0..4294967295")
    with pytest.raises(TrainConfigError, match="outside numpy's range"):
        make_config({**STAGE2, "seed": 2**32})
    assert make_config({**STAGE2, "seed": 2**32 - 1}).seed == 2**32 - 1


# ---- 6. empty files, unusable store folders -------------------------------------------------------------------------


def test_an_empty_params_file_says_so(tmp_path: Path) -> None:
    path = _params(tmp_path, "sec5_main_results", text="# nothing yet\n")
    with pytest.raises(ParamsError, match=r"the params file is empty\. Fix: write its `key: value` lines") as err:
        load_notebook_params("sec5_main_results", "tiny", tmp_path)
    assert "NoneType" not in str(err.value)
    done = subprocess.run([sys.executable, "-m", "alma_core.params", str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 1 and done.stderr.startswith(f"error: {path}: the params file is empty"), done.stderr


def test_a_store_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "store").write_text("not a folder\n", encoding="utf-8")
    for store in (tmp_path / "store", tmp_path / "store" / "below"):
        _refused(_params(tmp_path, "sec5_main_results", lambda v, s=store: v.update(store_dir=str(s))),
                 "'store_dir'", "is a file, not a folder", "Fix: point store_dir at a folder")


def test_a_read_only_store_dir_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    path = _params(tmp_path, "sec5_main_results", lambda v: v.update(store_dir=str(folder / "store")))
    if os.geteuid() != 0:  # root writes through permission bits: there, stand in for a read-only mount
        folder.chmod(0o500)
    else:
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == folder else real(p, mode, **kw))
    try:
        _refused(path, "'store_dir'", "is read-only for this user", "Fix: point store_dir at a folder you can write")
    finally:
        folder.chmod(0o700)
