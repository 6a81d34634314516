"""Evaluation: per-direction scores, tidy frame, Tables 1-2 layout, and the CLI end to end (tiny model + tiny COMET)."""

import json
import math

import pandas as pd
import pytest

from alma_core.book.tables import TableError, paper_layout
from alma_core.recipe import metrics
from alma_core.runs.evaluate import EvaluationError, main, results_frame, score_direction
from alma_core.runs.generate import translate

SRC = ["Das Haus ist klein.", "Ich habe heute keine Zeit.", "Der Hund schläft im Garten."]
REF = ["The house is small.", "I have no time today.", "The dog is sleeping in the garden."]
HYP = ["The house is small.", "Today I have no time.", "Der Hund schläft im Garten."]


def test_score_direction_all_metrics_with_tiny_comet(tiny_comet_checkpoint):
    record = score_direction(SRC, HYP, REF, "de", "en", comet_model=tiny_comet_checkpoint, comet_batch_size=2)
    assert record["bleu"] == pytest.approx(metrics.bleu(HYP, REF, "en").score)
    assert record["chrf"] == pytest.approx(metrics.chrf(HYP, REF).score)
    assert record["off_target"] == pytest.approx(1 / 3)  # the untranslated German line
    assert math.isfinite(record["comet"]) and record["comet_error"] is None
    assert record["comet_version"] and record["comet_model"] == str(tiny_comet_checkpoint)
    assert (record["direction"], record["lang"], record["test_set"]) == ("xx-en", "de", "wmt22")
    assert "tok:13a" in record["bleu_signature"]


def test_missing_comet_leaves_a_reason_and_other_metrics_complete(tmp_path):
    record = score_direction(SRC, HYP, REF, "en", "is", comet_model=tmp_path / "missing" / "model.ckpt")
    assert record["comet"] is None and "not available offline" in record["comet_error"]
    assert record["bleu"] >= 0 and record["off_target"] == 1.0 and record["test_set"] == "wmt21"
    assert score_direction(SRC, HYP, REF, "de", "en", comet_model=None)["comet_error"].startswith("skipped")


def _records():
    rows = []
    for system, bleu in (("ALMA-tiny", 20.0), ("baseline", 10.0)):
        for lang in ("de", "cs", "is", "zh", "ru"):
            for src, tgt in ((lang, "en"), ("en", lang)):
                if system == "baseline" and lang == "is" and tgt == "is":
                    continue  # a missing cell, like GPT-4's Icelandic in Table 1
                rows.append({"system": system, "src": src, "tgt": tgt, "bleu": bleu + (tgt == "en"), "comet": None,
                             "chrf": 50.0, "off_target": 0.0})
    return rows


def test_results_frame_is_tidy():
    frame = results_frame(_records())
    assert list(frame.columns) == ["system", "direction", "lang", "metric", "value"]
    assert set(frame["metric"]) == {"bleu", "chrf", "off_target"}  # COMET None is left out, not stored as 0
    row = frame[
        (frame.system == "ALMA-tiny") & (frame.direction == "xx-en") & (frame.lang == "zh") & (frame.metric == "bleu")
    ]
    assert row["value"].tolist() == [21.0]
    with pytest.raises(EvaluationError, match="no 'system' key"):
        results_frame([{"src": "de", "tgt": "en", "bleu": 1.0}])


def test_paper_layout_matches_tables_1_and_2():
    table = paper_layout(results_frame(_records()), "bleu")
    assert list(table.index) == ["ALMA-tiny", "baseline"]
    assert list(table.columns.get_level_values(0).unique()) == ["en-xx", "xx-en"]
    assert list(table["en-xx"].columns) == ["de", "cs", "is", "zh", "ru", "Avg."]
    assert table.loc["ALMA-tiny", ("en-xx", "Avg.")] == pytest.approx(20.0)
    assert table.loc["ALMA-tiny", ("xx-en", "Avg.")] == pytest.approx(21.0)
    assert pd.isna(table.loc["baseline", ("en-xx", "is")]) and pd.isna(table.loc["baseline", ("en-xx", "Avg.")])
    assert table.loc["baseline", ("xx-en", "Avg.")] == pytest.approx(11.0)
    both = paper_layout(results_frame(_records()), ["bleu", "chrf"])
    assert both.loc["ALMA-tiny", ("xx-en", "Avg.", "chrf")] == pytest.approx(50.0)
    with pytest.raises(TableError, match="no \\['comet'\\] values"):
        paper_layout(results_frame(_records()), "comet")


def _write_testsets(root):
    root.mkdir(parents=True, exist_ok=True)
    data = {
        ("de", "en"): (SRC, REF),
        ("en", "de"): (REF, SRC),
        ("is", "en"): (
            ["Góðan daginn öll.", "Já, ég kem á morgun."],
            ["Good morning to you all.", "Yes, I will come tomorrow."],
        ),
    }
    for (src, tgt), (sources, refs) in data.items():
        name = "wmt21" if "is" in (src, tgt) else "wmt22"
        (root / f"{name}.{src}-{tgt}.src").write_text("\n".join(sources) + "\n", encoding="utf-8")
        (root / f"{name}.{src}-{tgt}.ref").write_text("\n".join(refs) + "\n", encoding="utf-8")
    return data


def test_cli_end_to_end_with_tiny_model_and_tiny_comet(
    tmp_path, tiny_random_llama, tiny_tokenizer, tiny_comet_checkpoint, capsys
):
    data = _write_testsets(tmp_path / "testsets")
    hyps = tmp_path / "hyps"
    hyps.mkdir()
    for (src, tgt), (sources, _) in data.items():
        if (src, tgt) == ("is", "en"):  # the official plain-text name is accepted too
            (hyps / f"test-{src}-{tgt}").write_text(
                "Good morning to you all.\nYes, I will come tomorrow.\n", encoding="utf-8"
            )
            continue
        translate(tiny_random_llama, tiny_tokenizer, sources, src, tgt, num_beams=2, max_new_tokens=8,
                  output_path=hyps / f"{src}-{tgt}.jsonl", progress=False)
    out = tmp_path / "results.json"
    code = main(["--hyps", str(hyps), "--testsets", str(tmp_path / "testsets"), "--directions", "de-en,en-de,is-en",
                 "--system", "tiny", "--out", str(out), "--comet-model", str(tiny_comet_checkpoint)])
    printed = capsys.readouterr().out
    assert code == 0 and "bleu:" in printed and "comet:" in printed and "Avg." in printed
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert [r["pair"] for r in saved["records"]] == ["de-en", "en-de", "is-en"]
    assert saved["records"][2]["bleu"] == pytest.approx(100.0) and saved["records"][2]["test_set"] == "wmt21"
    assert all(r["comet"] is not None for r in saved["records"])
    csv = pd.read_csv(out.with_suffix(".csv"))
    assert len(csv) == 3 * 4 and set(csv["metric"]) == {"bleu", "comet", "chrf", "off_target"}


def test_cli_without_comet_model_still_scores_and_reports_missing_files(tmp_path, monkeypatch, capsys):
    from fixtures.comet import point_hub_cache

    point_hub_cache(monkeypatch, tmp_path / "empty_hf_home")
    data = _write_testsets(tmp_path / "testsets")
    (tmp_path / "hyps").mkdir()
    (tmp_path / "hyps" / "de-en.txt").write_text("\n".join(data[("de", "en")][1]) + "\n", encoding="utf-8")
    out = tmp_path / "r.json"
    args = [
        "--hyps",
        str(tmp_path / "hyps"),
        "--testsets",
        str(tmp_path / "testsets"),
        "--system",
        "refs",
        "--out",
        str(out),
    ]
    assert main([*args, "--directions", "de-en"]) == 0
    captured = capsys.readouterr()
    assert "COMET not computed" in captured.err and "not available offline" in captured.err
    record = json.loads(out.read_text())["records"][0]
    assert record["bleu"] == pytest.approx(100.0) and record["comet"] is None
    assert main([*args, "--directions", "de-en,en-de"]) == 2
    assert "no hypotheses for en-de" in capsys.readouterr().err
