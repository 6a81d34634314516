"""Schema of every params file (alma_core.params.schemas): unknown keys and wrong types fail with file/key/fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alma_core.params.schemas import (
    PROFILES,
    SCHEMAS,
    ParamsError,
    load_notebook_params,
    load_params,
    notebook_params,
)

ROOT = Path(__file__).resolve().parents[1]
ALL_FILES = sorted(p for profile in PROFILES for p in (ROOT / "params" / profile).glob("*.yaml"))


def test_every_profile_has_the_params_files_of_its_chapters() -> None:
    """tiny and paper: a params file per chapter of the book; mini and released: the chapters they run; every file
    names a chapter with a schema (a stray or misspelt file fails here, not as a silent no-op)."""
    from alma_core.book.site import toc_chapters

    chapters = set(toc_chapters(ROOT))
    stems = {profile: {p.stem for p in (ROOT / "params" / profile).glob("*.yaml")} for profile in PROFILES}
    assert stems["tiny"] == stems["paper"] == chapters
    assert stems["mini"] == {"mini_world", "scorecard", "sec3_parallel_data", "sec5_main_results",
                             "sec6_1_monolingual_tokens", "sec6_2_data_quality", "appE_off_target", "appI_icl"}
    assert stems["released"] == {"released_outputs", "scorecard", "sec2_zero_shot", "sec5_main_results"}
    assert set().union(*stems.values()) <= set(SCHEMAS)


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_params_file_validates(path: Path) -> None:
    params = load_params(path)
    assert params.profile == path.parent.name
    assert type(params) is SCHEMAS[path.stem]


def _write(tmp_path: Path, profile: str, name: str, data: dict) -> Path:
    path = tmp_path / profile / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _valid_appd() -> dict:
    return yaml.safe_load((ROOT / "params" / "tiny" / "appD_sampling.yaml").read_text(encoding="utf-8"))


def test_unknown_key_fails_naming_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "tiny", "appD_sampling", {**_valid_appd(), "temprature": 5})
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert "temprature" in str(err.value) and str(path) in str(err.value) and "remove it" in str(err.value)


def test_wrong_type_fails(tmp_path: Path) -> None:
    path = _write(tmp_path, "tiny", "appD_sampling", {**_valid_appd(), "draws": "many"})
    with pytest.raises(ParamsError, match="'draws'"):
        load_params(path)


def test_out_of_range_value_fails(tmp_path: Path) -> None:
    path = _write(tmp_path, "tiny", "appD_sampling", {**_valid_appd(), "temperature": 0})
    with pytest.raises(ParamsError, match="temperature"):
        load_params(path)


def test_missing_key_fails(tmp_path: Path) -> None:
    data = _valid_appd()
    del data["languages"]
    with pytest.raises(ParamsError, match="missing key 'languages'"):
        load_params(_write(tmp_path, "tiny", "appD_sampling", data))


def test_profile_must_match_folder(tmp_path: Path) -> None:
    path = _write(tmp_path, "paper", "appD_sampling", _valid_appd())
    with pytest.raises(ParamsError, match="make them agree"):
        load_params(path)


def test_unknown_notebook_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="no params schema"):
        load_params(_write(tmp_path, "tiny", "no_such_notebook", {"profile": "tiny"}))
    bad = tmp_path / "tiny" / "appD_sampling.yaml"
    bad.write_text("profile: [tiny\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="invalid YAML"):
        load_params(bad)
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "tiny" / "absent.yaml")


def test_eval_directions_are_checked(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "params" / "tiny" / "sec2_zero_shot.yaml").read_text(encoding="utf-8"))
    data["evaluation"]["directions"] = ["de-fr"]
    with pytest.raises(ParamsError, match="one side English"):
        load_params(_write(tmp_path, "tiny", "sec2_zero_shot", data))


def test_notebook_params_from_namespace() -> None:
    namespace = {**_valid_appd(), "pd": object(), "unrelated": 3}
    params = notebook_params("appD_sampling", namespace)
    assert params.temperature == 6.0 and params.languages[0] == "en"
    namespace["temperature"] = "hot"
    with pytest.raises(ParamsError, match="temperature"):
        notebook_params("appD_sampling", namespace)


def test_load_notebook_params_by_name() -> None:
    params = load_notebook_params("appD_sampling", "tiny", ROOT)
    assert params.store_dir == "runs/tiny"


def _sec5(tmp_path: Path, change) -> Path:
    values = yaml.safe_load((ROOT / "params" / "tiny" / "sec5_main_results.yaml").read_text(encoding="utf-8"))
    change(values)
    return _write(tmp_path, "tiny", "sec5_main_results", values)


def test_a_typo_names_the_key_meant(tmp_path: Path) -> None:
    path = _sec5(tmp_path, lambda v: v["evaluation"].update(comet_batchsize=4))
    with pytest.raises(ParamsError, match=r"unknown key 'evaluation.comet_batchsize'.*did you mean 'comet_batch_size'"):
        load_params(path)


def test_directions_must_name_known_or_declared_languages(tmp_path: Path) -> None:
    from alma_core.recipe import languages

    with pytest.raises(ParamsError, match=r"evaluation.directions.1 'kk-en': unknown language code 'kk'"):
        load_params(_sec5(tmp_path, lambda v: v["evaluation"].update(directions=["de-en", "kk-en"])))
    declared = {"kk": {"name": "Kazakh", "native_name": "қазақ тілі", "bleu_tokenizer": "13a"}}
    try:
        params = load_params(_sec5(tmp_path, lambda v: v.update(declared_languages=declared) or
                                   v["evaluation"].update(directions=["de-en", "kk-en"])))
        assert params.evaluation.directions == ["de-en", "kk-en"]
    finally:
        languages.LANGUAGES.pop("kk", None)


def test_global_batch_must_divide_by_the_launch_ranks(tmp_path: Path) -> None:
    def runs(values: dict, gpus: int) -> None:
        values["train"] = {name: {**run, "global_batch_size": 24, "micro_batch_size": 4}
                           for name, run in values["train"].items()}
        values["launch"] = {"launcher": "torchrun", "gpus_per_node": gpus}

    load_params(_sec5(tmp_path, lambda v: runs(v, 3)))  # 24 = 4 x 3 x 2
    with pytest.raises(ParamsError, match=r"on 4 rank\(s\).*global_batch_size=24 .* 4 x 4 = 16"):
        load_params(_sec5(tmp_path, lambda v: runs(v, 4)))


def test_a_train_run_with_a_learning_rate_out_of_range_names_run_key_and_value(tmp_path: Path) -> None:
    def bad(values: dict) -> None:
        name = next(iter(values["train"]))
        values["train"][name]["learning_rate"] = -1.0

    with pytest.raises(ParamsError) as err:
        load_params(_sec5(tmp_path, bad))
    message = str(err.value)
    assert "learning_rate" in message and "-1.0" in message and "greater than 0" in message
    assert "global_batch_size" not in message  # the run's other values are not repeated


def test_params_cli_validates_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from alma_core.params.__main__ import main

    good = ROOT / "params" / "tiny" / "appD_sampling.yaml"
    bad = _write(tmp_path, "tiny", "appD_sampling", {**_valid_appd(), "draws": "many"})
    assert main([str(good)]) == 0 and "ok:" in capsys.readouterr().out
    assert main([str(good), str(bad)]) == 1
    assert capsys.readouterr().err.count("error:") == 1
