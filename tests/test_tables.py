"""THE table builder (book.tables), App. C (book.appendix_c), the derived data sets (jobs.variants)."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from alma_core.book import appendix_c, tables
from alma_core.jobs import variants
from alma_core.jobs.assets import data_dir
from alma_core.recipe.data import load_pairs, write_train_pairs
from alma_core.recipe.languages import PAPER_LANGUAGES
from alma_core.reported.paper import reported

ROOT = Path(__file__).resolve().parents[1]


def _tidy(rows: list[tuple[str, str, str, str, float | None]], note: str = "") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"system": s, "direction": d, "lang": lang, "metric": m, "value": v, "note": note if v is None else ""}
            for s, d, lang, m, v in rows
        ]
    )


def test_one_language_order_from_the_registry() -> None:
    assert tables.lang_order(["uk", "ru", "de", "ja", "is"]) == ["de", "is", "ru", "ja", "uk"]
    params = SimpleNamespace(evaluation=SimpleNamespace(directions=["en-ru", "zh-en", "uk-en", "en-cs"]))
    assert tables.eval_langs(params) == ["cs", "zh", "ru", "uk"]
    for path in (ROOT / "alma_core").rglob("*.py"):  # the paper's order is spelled out in languages.py only
        if path.name != "languages.py" and "rehearsal" not in path.parts:
            assert '("de", "cs", "is", "zh", "ru")' not in path.read_text(encoding="utf-8"), path


def test_comet_note_from_the_scores_or_from_the_profile() -> None:
    skipped = SimpleNamespace(evaluation=SimpleNamespace(comet_model="none"))
    computed = SimpleNamespace(evaluation=SimpleNamespace(comet_model="tiny"))
    assert "evaluation.comet_model: none" in tables.comet_note(skipped) and tables.comet_note(computed) == ""
    scores = _tidy(
        [("a", "en-xx", "de", "comet", None), ("a", "en-xx", "de", "bleu", 3.0)], note="not computed: offline"
    )
    assert tables.comet_note(computed, scores) == "not computed: offline"
    assert tables.comet_note(skipped, _tidy([("a", "en-xx", "de", "comet", 80.0)])) == ""


def test_averages_bars_and_blank_comet_keep_the_table_3_layout() -> None:
    scores = _tidy(
        [
            ("s", "xx-en", "de", "bleu", 10.0),
            ("s", "xx-en", "ru", "bleu", 20.0),
            ("s", "en-xx", "de", "bleu", 4.0),
            ("s", "xx-en", "de", "comet", 70.0),
            ("s", "en-xx", "de", "comet", 60.0),
        ]
    )
    table = tables.averages(scores)
    assert list(table.columns) == [("xx-en", "bleu"), ("xx-en", "comet"), ("en-xx", "bleu"), ("en-xx", "comet")]
    assert table.loc["s", ("xx-en", "bleu")] == pytest.approx(15.0)
    assert list(tables.bleu_bars(table).columns) == ["xx→en", "en→xx"]
    blank = tables.blank_comet(table, "skipped")
    assert blank.loc["s", ("en-xx", "comet")] == tables.NOT_COMPUTED and blank.loc["s", ("en-xx", "bleu")] == 4.0
    paper3 = tables.averages(reported(3).assign(system=lambda f: f["setting"]))  # the paper's Avg. cells
    assert len(paper3) and list(paper3.columns)[0] == ("xx-en", "bleu")


def test_snapshot_tables_and_token_curves_of_section_6_1() -> None:
    scores = _tidy([("ALMA-tiny@1", "en-xx", "de", "bleu", 2.0), ("ALMA-tiny@1", "xx-en", "de", "bleu", 4.0)])
    table = tables.snapshot_tables(reported(8), reported(7), scores, ["de"], "bleu", "en-xx")
    assert list(table.columns) == ["source", *PAPER_LANGUAGES, "Avg."] and table.index.name == "BLEU en-xx"
    assert table["source"].iloc[-1] == "this build" and table.loc["ALMA-tiny@1", "de"] == 2.0
    paper, build = tables.token_curves(reported(8), scores, {"ALMA-tiny@1": 1000}.get)
    assert set(paper["direction"]) <= {"en→xx", "xx→en"} and paper["tokens (billions)"].notna().all()
    assert list(build["direction"]) == ["en→xx", "xx→en"] and list(build["monolingual tokens"]) == [1000, 1000]


def test_pair_results_reads_the_off_target_rate_from_the_scores() -> None:
    scores = _tidy(
        [
            ("s", "xx-en", "uk", "bleu", 5.0),
            ("s", "xx-en", "uk", "off_target", 10.0),
            ("s", "en-xx", "uk", "off_target", 0.0),
        ]
    )
    results = tables.pair_results(scores, "uk")
    assert results.loc["s", ("uk→en", "off-target %")] == 10.0 and ("en→uk", "off-target %") in results.columns


def test_no_notebook_scores_translations_itself() -> None:
    """Every BLEU, chrF, COMET and off-target figure a chapter shows comes from a job's scores (jobs.core ->
    runs.evaluate), never from a metric called in the kernel: no notebook imports alma_core.recipe.metrics or calls
    one of its scorers (add_language_pair once recomputed the off-target rate itself)."""
    import ast

    import nbformat

    from alma_core.recipe import metrics

    scorers = {name for name in metrics.__all__ if callable(getattr(metrics, name))}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        tree = ast.parse(code)
        imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "alma_core.recipe.metrics"
                   or isinstance(n, ast.ImportFrom) and n.module == "alma_core.recipe"
                   and any(a.name == "metrics" for a in n.names)]
        calls = [n.func.attr if isinstance(n.func, ast.Attribute) else n.func.id for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, (ast.Attribute, ast.Name))]
        assert not imports and not scorers & set(calls), (path.name, scorers & set(calls))


def _two_stage(tmp_path: Path, **extra) -> SimpleNamespace:
    values = {
        "stage2": {"language_pairs": ["de-en", "en-de"]},
        "data_root": None,
        "store_dir": str(tmp_path),
        "seed": 42,
        "quality_data": {},
        "flores_fraction": 0.5,
        "qualities": ["Random", "Filtered", "HW"],
    }
    return SimpleNamespace(**{**values, **extra})


def test_data_variants_are_written_once_by_content(tmp_path: Path) -> None:
    params = _two_stage(tmp_path)
    assert variants.data_variant(params, "HW") is None
    base = load_pairs(data_dir(None), "de", "en", "train")
    random = variants.data_variant(params, "Random")
    assert random == variants.data_variant(params, "Random") and Path(random).name.startswith("Random-")
    degraded = load_pairs(random, "de", "en", "train")
    assert len(degraded) == len(base) and degraded != base and [s for s, _ in degraded] == [s for s, _ in base]
    flores = variants.data_variant(params, "Flores")
    assert Path(flores).name.startswith("flores-like-")
    assert len(load_pairs(flores, "de", "en", "train")) == round(0.5 * len(base))
    given = _two_stage(tmp_path, quality_data={"Filtered": str(tmp_path / "mine")})
    assert variants.data_variant(given, "Filtered") == str(tmp_path / "mine")
    with pytest.raises(ValueError, match="unknown data variant"):
        variants.data_variant(params, "Noisy")


def test_quality_preview_shows_the_data_each_quality_trains_on(tmp_path: Path) -> None:
    row = "% differing from the HW pair at that position"
    params = _two_stage(tmp_path)
    for quality in params.qualities:  # the chapter's runs write each variant; the preview only reads them
        variants.data_variant(params, quality)
    xx, changed, examples = tables.quality_preview(params)
    assert xx == "de" and changed.loc[row, "HW"] == 0
    assert changed.loc[row, "Random"] > changed.loc[row, "Filtered"] > 0
    assert list(examples.columns) == ["Random", "Filtered", "HW"] and len(examples) <= 4
    mine = [("Ein Satz.", "A sentence."), ("Noch einer.", "Another one.")]
    write_train_pairs(tmp_path / "mine", "de", mine)
    given = _two_stage(tmp_path, quality_data={"Filtered": str(tmp_path / "mine")})
    _, changed, examples = tables.quality_preview(given)
    assert changed.loc["pairs", "Filtered"] == 2, "a given root is previewed as it is, not as a degraded copy"
    assert examples.loc["de-en pair 0", "Filtered"] == "Ein Satz. → A sentence."


def test_every_function_a_notebook_calls_says_so() -> None:
    """One-line docstrings citing the paper section and naming their caller (the notebook, for what a notebook
    calls)."""
    for module in (tables, appendix_c, variants):
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                doc = ast.get_docstring(node) or ""
                assert "Used by " in doc and "\n" not in doc and ("Sec." in doc or "App." in doc), (
                    f"{module.__name__}.{node.name}"
                )


def test_appendix_c_shows_the_deepspeed_config_the_runs_used() -> None:
    """Sec. 5's runs name no DeepSpeed JSON themselves; the launch block passes params/launch/ds_zero2.json (App. C)."""
    from alma_core.params.schemas import load_params

    params = load_params(Path(__file__).resolve().parents[1] / "params/paper/appC_training_details.yaml")
    table = appendix_c.training_details(params)
    row = table.loc["DeepSpeed"]
    assert row["sec5_main_results: alma_7b_full"].startswith("ZeRO-2, grad accumulation in fp32")
    assert table.loc["best checkpoint by", "sec5_main_results: alma_7b_lora"] == "lowest validation loss"


def test_table_cells_show_tokens_as_text_and_keep_links() -> None:
    """A tokenizer's `<s>` / `<bos>` in a cell is shown, not parsed as HTML (it struck the porting chapter's table
    through); the scorecard's links and anchors stay markup."""
    from alma_core.book import report

    table = pd.DataFrame({"EOS": ["</s>", "<eos>"], "row": ['<span id="claim-1"></span>1.', '<a href="x.html">x</a>']})
    html = report.style_table(table).to_html()
    assert "&lt;/s>" in html and "&lt;eos>" in html and "<eos>" not in html
    assert '<span id="claim-1"></span>' in html and '<a href="x.html">x</a>' in html
