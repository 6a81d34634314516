"""A language the library does not know, declared only in a params file, trains and evaluates through jobs (each its
own process): the job configs carry the declaration and each job registers it before use (recipe.languages)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from alma_core.jobs import core as jobs
from alma_core.params.schemas import ParamsError, load_params
from alma_core.recipe import languages
from alma_core.recipe.languages import (
    LANGUAGES,
    LanguageDeclarationError,
    UnknownLanguageError,
    declare_languages,
    get_language,
    parse_declarations,
)
from alma_core.recipe.prompts import translation_prompt

ROOT = Path(__file__).resolve().parents[1]
CODE = "kk"  # Kazakh: not in alma_core/recipe/languages.py
DECLARED = {CODE: {"name": "Kazakh", "native_name": "қазақ тілі", "bleu_tokenizer": "13a",
                   "target_prompt": "Мұны ағылшын тілінен қазақ тіліне аударыңыз:\nАғылшынша: {source}\nҚазақша:"}}
PAIRS = [
    ("Мен кітап оқып отырмын.", "I am reading a book."),
    ("Бүгін ауа райы жақсы.", "The weather is good today."),
    ("Біз ертең Алматыға барамыз.", "We are going to Almaty tomorrow."),
    ("Ол мектепте мұғалім болып жұмыс істейді.", "She works as a teacher at a school."),
    ("Шай ішкіңіз келе ме?", "Would you like some tea?"),
    ("Бұл үй өте үлкен.", "This house is very big."),
]


def _data_root(root: Path) -> Path:
    """kk<->en in the official layout: train (JSON lines), valid and both test directions (JSON arrays)."""
    folder = root / f"{CODE}en"
    folder.mkdir(parents=True)
    lines = [json.dumps({"translation": {CODE: kk, "en": en}}, ensure_ascii=False) for kk, en in PAIRS]
    (folder / f"train.{CODE}-en.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
    array = [{"translation": {CODE: kk, "en": en}} for kk, en in PAIRS[:2]]
    for name in (f"valid.{CODE}-en.json", f"test.{CODE}-en.json", f"test.en-{CODE}.json"):
        (folder / name).write_text(json.dumps(array, ensure_ascii=False), encoding="utf-8")
    return root


def _params_file(tmp_path: Path, backbone: Path, comet: Path) -> Path:
    values = {
        "profile": "tiny", "store_dir": str(tmp_path / "store"), "data_root": str(_data_root(tmp_path / "data")),
        "language": CODE, "declared_languages": DECLARED,
        "train": {"alma_kk": {"stage": 2, "base_model": str(backbone), "local_files_only": True,
                              "language_pairs": [f"{CODE}-en", f"en-{CODE}"], "max_steps": 2, "global_batch_size": 4,
                              "micro_batch_size": 4, "max_length": 96, "learning_rate": 1e-3, "eval_every": 0.5,
                              "save_total_limit": 1}},
        "systems": [{"name": "ALMA-tiny kk<->en", "train": "alma_kk"}],
        "evaluation": {"directions": [f"{CODE}-en", f"en-{CODE}"], "max_sentences": 2, "num_beams": 2,
                       "max_new_tokens": 8, "comet_model": str(comet), "comet_batch_size": 4},
        "off_target_candidates": [CODE, "ru", "en"],
        "launch": {"launcher": "python"},
    }
    path = tmp_path / "params" / "add_language_pair.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(values, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_the_library_does_not_know_the_language():
    assert CODE not in languages.BUILTIN_LANGUAGES
    with pytest.raises(UnknownLanguageError, match="declare it in the params file"):
        get_language(CODE)


def test_train_and_evaluate_jobs_for_a_language_declared_only_in_params(
    registry, tmp_path, tiny_backbone_dir, tiny_comet_checkpoint
):
    params = load_params(_params_file(tmp_path, tiny_backbone_dir, tiny_comet_checkpoint))
    assert get_language(CODE).name == "Kazakh"  # the notebook's process: registered by load_params
    trained = jobs.ensure_trained(params)
    out = trained["alma_kk"]
    config = yaml.safe_load((out / "train_config.yaml").read_text(encoding="utf-8"))
    assert config["declared_languages"] == DECLARED
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == "done" and record["token_counts"]["train_examples"] == 2 * len(PAIRS)
    scores, runs = jobs.ensure_evaluated(params, trained)
    job = yaml.safe_load((runs["ALMA-tiny kk<->en"].parent / "job_config.yaml").read_text(encoding="utf-8"))
    assert job["declared_languages"] == DECLARED
    assert set(scores["lang"]) == {CODE} and set(scores["direction"]) == {"xx-en", "en-xx"}
    assert scores.loc[scores["metric"] == "bleu", "value"].notna().all()
    # the job process knew the language only from its config: without the block it stops at the first lookup
    del config["declared_languages"]
    bare = tmp_path / "bare.yaml"
    bare.write_text(yaml.safe_dump({**config, "output_dir": str(tmp_path / "bare")}), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "alma_core.runs.train", "--config", str(bare)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode != 0 and f"unknown language code '{CODE}'" in result.stdout + result.stderr


def test_a_declared_language_is_in_the_store_key(registry, tmp_path, tiny_backbone_dir, tiny_comet_checkpoint):
    params = load_params(_params_file(tmp_path, tiny_backbone_dir, tiny_comet_checkpoint))
    _, key, _ = jobs.train_config(params, "alma_kk")
    renamed = params.model_copy(update={"declared_languages": {CODE: {**DECLARED[CODE], "name": "Qazaq"}}})
    assert jobs.train_config(renamed, "alma_kk")[1] != key  # the name is in the prompt: another model


def test_declared_entries_make_the_prompts(registry):
    declare_languages(DECLARED)
    expected = "Translate this from Kazakh to English:\nKazakh: Сәлем.\nEnglish:"
    assert translation_prompt(CODE, "en", "Сәлем.") == expected
    assert translation_prompt("en", CODE, "Hi.", style="target").endswith("Ағылшынша: Hi.\nҚазақша:")


@pytest.mark.parametrize(("declared", "match"), [
    ({"KK": {"name": "Kazakh"}}, "not a language code"),
    ({"kk": "Kazakh"}, "expected a mapping"),
    ({"kk": {"native_name": "қазақ тілі"}}, r"missing keys \['name'\]"),
    ({"kk": {"name": "Kazakh", "tokenizer": "13a"}}, r"unknown keys \['tokenizer'\]"),
    ({"kk": {"name": "Kazakh", "bleu_tokenizer": "spaces"}}, "no sacreBLEU tokenizer"),
    ({"kk": {"name": "Kazakh", "target_prompt": "Аударыңыз:"}}, "must contain '{source}'"),
    ({"de": {"name": "Deutsch"}}, "redefines the built-in entry"),
])
def test_bad_declarations_name_the_key_and_the_fix(registry, declared, match):
    with pytest.raises(LanguageDeclarationError, match=match):
        parse_declarations(declared, "my.yaml")
    assert set(LANGUAGES) == set(registry)


def test_a_bad_block_fails_when_the_params_load(registry, tmp_path, tiny_backbone_dir, tiny_comet_checkpoint):
    path = _params_file(tmp_path, tiny_backbone_dir, tiny_comet_checkpoint)
    values = yaml.safe_load(path.read_text(encoding="utf-8"))
    values["declared_languages"] = {CODE: {"name": "Kazakh", "bleu_tokenizer": "spaces"}}
    path.write_text(yaml.safe_dump(values, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ParamsError, match="languages"):
        load_params(path)
    assert CODE not in LANGUAGES


def test_declaring_a_builtin_with_its_own_values_is_allowed(registry):
    entry = get_language("de")
    fields = {"name": entry.name, "native_name": entry.native_name, "bleu_tokenizer": entry.bleu_tokenizer,
              "target_prompt": entry.target_prompt}
    assert declare_languages({"de": fields}) == [entry]
