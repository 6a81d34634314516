"""Issue 22, the evaluator's inputs (runs.evaluate): one hypothesis file per direction, the file scored named in the
output and the results, hypotheses of invisible characters / NUL / a JSON key twice, repeated directions, and
hand-edited job configs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from alma_core.runs.eval_inputs import parse_directions
from alma_core.runs.evaluate import (
    EvaluationError,
    evaluate_system,
    find_hypotheses,
    main,
    read_hypotheses,
    run_job,
)

SRC = ["Guten Morgen.", "Wie geht es dir?", "Danke schön."]
REF = ["Good morning.", "How are you?", "Thank you very much."]


def _tree(tmp: Path, hyps: dict[str, str]) -> list[str]:
    (tmp / "tests").mkdir(parents=True, exist_ok=True)
    (tmp / "tests" / "wmt22.de-en.src").write_text("\n".join(SRC) + "\n", encoding="utf-8")
    (tmp / "tests" / "wmt22.de-en.ref").write_text("\n".join(REF) + "\n", encoding="utf-8")
    (tmp / "hyps").mkdir(exist_ok=True)
    for name, text in hyps.items():
        (tmp / "hyps" / name).write_text(text, encoding="utf-8")
    return ["--hyps", str(tmp / "hyps"), "--testsets", str(tmp / "tests"), "--directions", "de-en", "--system", "S",
            "--out", str(tmp / "res.json"), "--comet-model", "none"]


def _jsonl(hyps: list[str]) -> str:
    return "".join(json.dumps({"index": i, "source": s, "hypothesis": h}, ensure_ascii=False) + "\n"
                   for i, (s, h) in enumerate(zip(SRC, hyps)))


# --- which file is scored ---------------------------------------------------------------------------------------


def test_a_stale_file_beside_the_new_one_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = _tree(tmp_path, {"de-en.jsonl": _jsonl(["Stale."] * 3), "de-en.txt": "\n".join(REF) + "\n"})
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "2 hypothesis files for de-en, de-en.jsonl and de-en.txt" in err
    assert "Fix: delete or move the stale one" in err and "Traceback" not in err
    assert not (tmp_path / "res.json").exists()
    (tmp_path / "hyps" / "de-en.jsonl").unlink()  # the fix: now the new file is scored, BLEU 100
    assert main(args) == 0
    assert json.loads((tmp_path / "res.json").read_text())["records"][0]["bleu"] == pytest.approx(100.0)


def test_every_pair_of_accepted_names_is_ambiguous(tmp_path: Path) -> None:
    (tmp_path / "test-de-en").write_text("a\n", encoding="utf-8")
    (tmp_path / "de-en.txt").write_text("a\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match="test-de-en and de-en.txt"):
        find_hypotheses(tmp_path, "de", "en")
    (tmp_path / "de-en.txt").unlink()
    assert find_hypotheses(tmp_path, "de", "en") == tmp_path / "test-de-en"
    (tmp_path / "en-de.jsonl").touch()
    (tmp_path / "test-en-de").touch()
    with pytest.raises(EvaluationError, match="en-de.jsonl and test-en-de"):
        find_hypotheses(tmp_path, "en", "de")


def test_the_scored_file_is_printed_and_stored_in_the_record(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = _tree(tmp_path, {"de-en.txt": "\n".join(REF) + "\n"})
    assert main(args) == 0
    scored = str(tmp_path / "hyps" / "de-en.txt")
    assert f"hypotheses de-en: {scored}" in capsys.readouterr().out
    saved = json.loads((tmp_path / "res.json").read_text())
    assert saved["records"][0]["hypotheses"] == scored
    frame = pd.read_csv(tmp_path / "res.csv")  # the tidy frame and the tables are unchanged
    assert list(frame.columns) == ["system", "direction", "lang", "metric", "value"]
    assert {row["metric"] for row in saved["results"]} == {"bleu", "chrf", "off_target"}


def test_a_folder_under_a_hypothesis_name(tmp_path: Path) -> None:
    (tmp_path / "de-en.txt").mkdir()
    with pytest.raises(EvaluationError, match=r"de-en.txt: is a folder, not a hypothesis file.*Fix: "):
        find_hypotheses(tmp_path, "de", "en")
    with pytest.raises(EvaluationError, match="is a folder, not a hypothesis file"):
        read_hypotheses(tmp_path / "de-en.txt", SRC)


# --- what a hypothesis file holds -------------------------------------------------------------------------------


@pytest.mark.parametrize("blank", ["\u200b", "\u200c\u200d", "\ufeff"])
def test_a_hypothesis_of_only_invisible_characters_is_refused(tmp_path: Path, blank: str) -> None:
    path = tmp_path / "de-en.txt"
    path.write_text(f"{REF[0]}\n{blank}\n{REF[2]}\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"de-en.txt:2: empty hypothesis \(only invisible characters: U\+"
                                              r".*Fix: remove the invisible characters"):
        read_hypotheses(path, SRC)
    jsonl = tmp_path / "de-en.jsonl"
    jsonl.write_text(_jsonl([REF[0], REF[1], blank]), encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"de-en.jsonl:3: empty hypothesis \(only invisible"):
        read_hypotheses(jsonl, SRC)


def test_empty_hypotheses_are_still_scored(tmp_path: Path) -> None:
    path = tmp_path / "de-en.txt"
    path.write_text(f"{REF[0]}\n\n  \n", encoding="utf-8")  # an empty output is a (bad) translation
    assert read_hypotheses(path, SRC) == [REF[0], "", "  "]
    path.write_text(f"{REF[0]}\u200b\n{REF[1]}\n{REF[2]}\n", encoding="utf-8")  # inside text: kept
    assert read_hypotheses(path, SRC)[0] == REF[0] + "\u200b"


def test_a_nul_character_in_a_hypothesis_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "de-en.txt"
    path.write_text(f"{REF[0]}\n{REF[1]}\nThank\0 you.\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"de-en.txt:3: NUL character at column 6\. Fix: the file is corrupted"):
        read_hypotheses(path, SRC)
    jsonl = tmp_path / "de-en.jsonl"
    jsonl.write_text(_jsonl(["Good\0 morning.", REF[1], REF[2]]), encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"de-en.jsonl:1: NUL character at column 5"):
        read_hypotheses(jsonl, SRC)


def test_a_json_key_twice_in_a_translate_output_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "de-en.jsonl"
    lines = _jsonl(REF).splitlines()
    lines[1] = lines[1].replace('"hypothesis": ', '"hypothesis": "Stale.", "hypothesis": ')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"de-en.jsonl:2: duplicate key 'hypothesis' .*Fix: keep one"):
        read_hypotheses(path, SRC)


def test_an_interrupted_translate_output_is_still_reported_as_unfinished(tmp_path: Path) -> None:
    path = tmp_path / "de-en.jsonl"
    path.write_text(_jsonl(REF)[:-25], encoding="utf-8")  # the duplicate-key scan skips the cut line
    with pytest.raises(EvaluationError, match="1 of 3 sentences untranslated"):
        read_hypotheses(path, SRC)


# --- repeated directions ------------------------------------------------------------------------------------------


def test_a_direction_named_twice_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(EvaluationError, match=r"--directions de-en,en-de,de-en lists de-en twice\. Fix: "):
        parse_directions("de-en,en-de,de-en")
    with pytest.raises(EvaluationError, match="directions lists de-en twice"):
        evaluate_system("S", tmp_path, tmp_path, [("de", "en"), ("de", "en")], comet_model=None)
    args = _tree(tmp_path, {"de-en.txt": "\n".join(REF) + "\n"})
    args[args.index("de-en")] = "de-en, de-en"
    assert main(args) == 2 and "lists de-en twice" in capsys.readouterr().err


# --- hand-edited evaluation job configs ---------------------------------------------------------------------------

JOB = {"system": "S", "model": "nobody/unused", "local_files_only": True, "directions": ["de-en"],
       "test_root": "data", "test_format": "json", "num_beams": 1, "batch_size": 2, "max_new_tokens": 8,
       "max_prompt_tokens": 64, "comet_model": "none", "comet_batch_size": 8, "output_dir": "out"}


def _job(tmp: Path, drop: str | None = None, **values: object) -> Path:
    job = {k: v for k, v in {**JOB, **values}.items() if k != drop}
    path = tmp / "job.yaml"
    path.write_text(yaml.safe_dump(job), encoding="utf-8")
    return path


@pytest.mark.parametrize("key", ["directions", "output_dir", "system", "num_beams", "test_root", "comet_model"])
def test_a_missing_required_key_names_the_config_and_the_key(tmp_path: Path, key: str) -> None:
    config = _job(tmp_path, drop=key)
    with pytest.raises(EvaluationError, match=rf"job.yaml: missing key '{key}' in the evaluation job config\. Fix: "):
        run_job(config)


@pytest.mark.parametrize(("values", "says"), [
    ({"num_beams": "five"}, "key 'num_beams' = 'five' is not a positive whole number"),
    ({"num_beams": 0}, "key 'num_beams' = 0 is not a positive whole number"),
    ({"batch_size": True}, "key 'batch_size' = True is not a positive whole number"),
    ({"directions": "de-en"}, "key 'directions' = 'de-en' is not a list"),
    ({"prompt": "english"}, "key 'prompt' = 'english' is not a mapping"),
    ({"directions": ["de_en"]}, "key 'directions' item 'de_en' is not 'src-tgt'"),
    ({"directions": ["de-xx"]}, "key 'directions' item 'de-xx': unknown language code 'xx'"),
    ({"directions": []}, "key 'directions' is empty"),
    ({"directions": ["de-en", "en-de", "de-en"]}, "key 'directions' lists de-en twice"),
    ({"model": None}, "missing key 'trained' or 'model'"),
])
def test_a_wrong_value_names_the_config_the_key_and_the_fix(tmp_path: Path, values: dict, says: str) -> None:
    with pytest.raises(EvaluationError) as err:
        run_job(_job(tmp_path, **values))
    assert str(tmp_path / "job.yaml") in str(err.value) and says in str(err.value) and "Fix: " in str(err.value)


def test_the_job_cli_exits_2_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["job", "--config", str(_job(tmp_path, drop="directions"))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing key 'directions'" in err and "Traceback" not in err
