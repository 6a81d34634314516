"""The book's machinery (alma_core.book.site): chapters, notebooks, params pairs, skip-unchanged, page checks."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from alma_core.book import browser
from alma_core.book import site as book
from alma_core.jobs import core as jobs
from alma_core.params.schemas import SCHEMAS, NotebookParams, load_params, register_schema
from alma_core.runs.evaluate import run_job

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = book.toc_chapters(ROOT)
MAX_DEF_LINES = 5  # a notebook may name a one-liner; anything longer belongs in alma_core


def _parameter_names(cell: nbformat.NotebookNode) -> set[str]:
    """Names assigned at top level of a parameters cell."""
    return {
        t.id
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }


def test_toc_lists_the_part_one_chapters() -> None:
    for name in ("sec2_zero_shot", "sec4_recipe", "sec5_main_results", "appC_training_details", "appD_sampling"):
        assert name in CHAPTERS


@pytest.mark.parametrize("profile", ["tiny", "paper"])
def test_every_chapter_has_a_notebook_and_params(profile: str) -> None:
    pairs = book.notebook_pairs(profile, ROOT)
    assert [name for name, _, _ in pairs] == CHAPTERS
    missing = [name for name, _, params in pairs if params is None]
    assert missing == [], f"no params/{profile}/ file for {missing}"


def test_released_profile_covers_sections_2_and_5() -> None:
    with_params = {name for name, _, params in book.notebook_pairs("released", ROOT) if params is not None}
    assert {"sec2_zero_shot", "sec5_main_results"} <= with_params


@pytest.mark.parametrize("name", CHAPTERS)
def test_notebook_house_style(name: str) -> None:
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged `parameters`"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit notebooks without outputs"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), (
        "first cell is the chapter title"
    )
    assert "What this reproduces / deviations" in nb.cells[-1].source and nb.cells[-1].cell_type == "markdown"
    long_defs = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for c in code
        for node in ast.walk(ast.parse(c.source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.end_lineno - node.lineno + 1 > MAX_DEF_LINES
    ]
    assert not long_defs, f"move the logic of {long_defs} into alma_core (a notebook only calls the library)"
    names = _parameter_names(tagged[0])
    derived = getattr(SCHEMAS[name], "DERIVED", frozenset())  # sweep schemas derive these from the other fields
    optional = {"declared_languages"}  # a params file's own languages (alma_core.recipe.languages): in the cell or not
    assert names - optional == set(SCHEMAS[name].model_fields) - derived - optional, "parameters cell = the fields"
    for profile in ("tiny", "mini", "paper", "released"):
        path = ROOT / "params" / profile / f"{name}.yaml"
        if path.is_file():
            keys = set(yaml.safe_load(path.read_text(encoding="utf-8")))
            assert keys <= names | optional, f"{path.name} sets variables the notebook lacks: {keys - names}"


def test_input_hash_follows_every_input(tmp_path: Path) -> None:
    nb, params = tmp_path / "a.ipynb", tmp_path / "a.yaml"
    nb.write_text("{}", encoding="utf-8")
    params.write_text("x: 1", encoding="utf-8")
    base = book.input_hash(nb, params, "tiny", "src1")
    assert base == book.input_hash(nb, params, "tiny", "src1")
    assert base != book.input_hash(nb, params, "paper", "src1")
    assert base != book.input_hash(nb, params, "tiny", "src2")
    params.write_text("x: 2", encoding="utf-8")
    assert base != book.input_hash(nb, params, "tiny", "src1")


def test_page_report_counts_tables_images_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "fig.png").write_bytes(b"png")
    page = tmp_path / "page.html"
    dom = ("<html><head><title>Sec 5</title></head><body><table></table><table></table>"
           "<img src='_images/fig.png'><img src='_images/gone.png'></body></html>")
    report = browser.page_report(dom, page)
    assert report["tables"] == 2 and report["images"] == 2 and report["title"] == "Sec 5"
    assert report["missing_images"] == ["_images/gone.png"] and report["errors"] == 0
    assert browser.page_report("<pre>Traceback (most recent call last):</pre>", page)["errors"] == 1


def test_check_fails_loudly_without_chromium_and_never_installs(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"library code ran {args}")

    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    monkeypatch.setattr(browser.subprocess, "run", no_subprocess)
    with pytest.raises(book.BookError, match="CHECK FAILED") as err:
        browser.find_chromium()
    assert "sudo apt-get install -y chromium" in str(err.value)
    source = Path(browser.__file__).read_text(encoding="utf-8") + Path(book.__file__).read_text(encoding="utf-8")
    assert '"sudo"' not in source and '"apt-get"' not in source, "library code must not install packages"


def test_browser_cli_runs_the_check_and_reports_failures(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    called = []
    monkeypatch.setattr(browser, "check", lambda root: called.append(root) or {})
    assert browser.main(["--root", str(tmp_path)]) == 0 and called == [tmp_path]
    monkeypatch.undo()
    assert browser.main(["--root", str(tmp_path)]) == 1  # no built book: the message says to run `make book`
    with pytest.raises(SystemExit):
        book.main(["check"])  # the book CLI no longer knows the page check


class _SmokeParams(NotebookParams):
    """Params of the throwaway notebook below."""

    word: str = "hello"


def _mini_repo(root: Path) -> None:
    """A one-chapter book: _toc.yml, a notebook with a parameters cell, its tiny params file."""
    (root / "notebooks").mkdir()
    (root / "params" / "tiny").mkdir(parents=True)
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: book/_executed/smoke_nb\n", encoding="utf-8"
    )
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "tiny"\nstore_dir = "runs/tiny"\nword = "x"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Smoke"), params, nbformat.v4.new_code_cell("print(word * 2)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "notebooks" / "smoke_nb.ipynb")
    (root / "params" / "tiny" / "smoke_nb.yaml").write_text(
        "profile: tiny\nstore_dir: runs/tiny\nword: ab\n", encoding="utf-8"
    )


def test_run_executes_then_skips_unchanged(tmp_path: Path) -> None:
    register_schema("smoke_nb", _SmokeParams)
    try:
        _mini_repo(tmp_path)
        assert book.run("tiny", root=tmp_path)["smoke_nb"].startswith("executed")
        executed = nbformat.read(tmp_path / "book" / "_executed" / "smoke_nb.ipynb", as_version=4)
        outputs = [o for c in executed.cells for o in c.get("outputs", [])]
        logs = [o for o in outputs if "job log" in o.get("data", {}).get("text/html", "")]
        assert logs and "abab" in logs[0]["data"]["text/plain"]  # the cell's stdout, folded into one line
        assert book.run("tiny", root=tmp_path)["smoke_nb"] == "unchanged, skipped"
        (tmp_path / "params" / "tiny" / "smoke_nb.yaml").write_text(
            "profile: tiny\nstore_dir: runs/tiny\nword: cd\n", encoding="utf-8"
        )
        assert book.run("tiny", root=tmp_path)["smoke_nb"].startswith("executed")
        assert book.run("paper", root=tmp_path)["smoke_nb"].startswith("no params")
    finally:
        SCHEMAS.pop("smoke_nb", None)


def test_paper_dry_run_renders_deepspeed_slurm_jobs(tmp_path: Path) -> None:
    written = book.dry_run("paper", ROOT, out=tmp_path)
    scripts = {p.name: p.read_text(encoding="utf-8") for p in written if p.suffix == ".sbatch"}
    train = scripts["alma_7b_lora.train.sbatch"]
    assert train.startswith("#!/bin/bash\n") and "#SBATCH --gpus-per-node=8" in train and "--nproc_per_node 8" in train
    # the dry run shows the values the job resolves, not only the file's keys (1 node x 8 GPUs x 4 x 8 = 256)
    assert "# resolved: learning rate 0.002" in train and "x gradient accumulation 8 = global batch 256" in train
    assert "-m alma_core.runs.train" in train and "deepspeed=params/launch/ds_zero2.json" in train
    config = yaml.safe_load((tmp_path / "sec5_main_results" / "alma_7b_lora.train.yaml").read_text(encoding="utf-8"))
    assert config["lora"] is True and config["base_model"] == "haoranxu/ALMA-7B-Pretrain" and config["epochs"] == 2
    assert config["global_batch_size"] == 256  # Appendix C
    assert config["output_dir"].endswith(
        jobs.train_config(load_params(ROOT / "params/paper/sec5_main_results.yaml"), "alma_7b_lora")[2].name
    )
    evals = [name for name in scripts if name.endswith(".eval.sbatch")]
    assert evals and all(
        "alma_core.runs.evaluate job" in scripts[name] and "--nproc_per_node 1" in scripts[name] for name in evals
    )


def test_paper_dry_run_renders_every_job_of_the_two_stage_chapters(tmp_path: Path) -> None:
    """Sec. 6.2, App. E, H, I: the dry run renders the chapter's whole job graph (jobs.graphs), the runs and systems
    the notebook starts, and every system is a row of the paper's table (Table 11 adds shots on the stage-2 model)."""
    from collections import Counter

    from alma_core.jobs.graphs import chapter_graph
    from alma_core.reported.paper import reported

    written = book.dry_run("paper", ROOT, out=tmp_path)
    kinds = Counter((p.parent.name, p.name.split(".")[-2]) for p in written if p.suffix == ".yaml")
    expected = {"sec6_2_data_quality": (6, 8, 3), "appE_off_target": (1, 6, 6), "appH_human_written_data": (2, 2, 10),
                "appI_icl": (1, 6, 11)}  # (stage-2 runs: stage 1 is released, systems, the paper's table)
    for name, (runs, systems, table) in expected.items():
        graph = chapter_graph(name, load_params(ROOT / f"params/paper/{name}.yaml"), dry_run=True)
        rendered = (kinds[(name, "train")], kinds[(name, "eval")])
        assert rendered == (len(graph.runs), len(graph.systems)) == (runs, systems)
        rows = reported(table)[["system", "setting"]].drop_duplicates()
        assert len(rows) <= systems, f"{name}: fewer systems than Table {table} has rows"


def test_the_dry_run_renders_every_seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """mini Sec. 6.2 (seeds 1-3): stage 1 once, six stage-2 runs x 3 seeds, and each trained system's evaluation
    once per seed, as the notebook runs them."""
    from alma_core.jobs import assets
    from alma_core.jobs.graphs import chapter_graph

    monkeypatch.setattr(assets, "backbone_path", lambda *a, **k: str(tmp_path / "backbone"))
    params = load_params(ROOT / "params/mini/sec6_2_data_quality.yaml").model_copy(update={"store_dir": str(tmp_path)})
    graph = chapter_graph("sec6_2_data_quality", params, dry_run=True)
    written = jobs.render_jobs(graph.params(params), tmp_path / "out", systems=graph.systems)
    names = [p.name for p in written if p.suffix == ".yaml"]
    assert len([n for n in names if n.endswith(".train.yaml")]) == 1 + 6 * 3
    assert len([n for n in names if n.endswith(".eval.yaml")]) == 2 + 6 * 3
    assert {n for n in names if n.startswith("hw")} == {f"hw-seed-{s}.train.yaml" for s in (1, 2, 3)}


def test_released_dry_run_evaluates_the_public_checkpoints(tmp_path: Path) -> None:
    written = book.dry_run("released", ROOT, out=tmp_path)
    configs = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in written if p.name.endswith(".eval.yaml")]
    models = {(c["model"], c["adapter"]) for c in configs}
    assert ("haoranxu/ALMA-7B", None) in models and ("haoranxu/ALMA-13B", None) in models
    assert ("haoranxu/ALMA-7B-Pretrain", "haoranxu/ALMA-7B-Pretrain-LoRA") in models
    assert ("haoranxu/ALMA-13B-Pretrain", "haoranxu/ALMA-13B-Pretrain-LoRA") in models
    assert ("meta-llama/Llama-2-7b-hf", None) in models and ("meta-llama/Llama-2-13b-hf", None) in models
    assert all(c["num_beams"] == 5 and c["comet_model"] == "Unbabel/wmt22-comet-da" for c in configs)
    assert not [p for p in written if "train" in p.name]


def _eval_job(tmp_path: Path, model: Path, adapter: Path | None, comet_model: str) -> dict:
    from alma_core.recipe.data import sample_data_dir

    job = {
        "system": "fixture",
        "model": str(model),
        "adapter": str(adapter) if adapter else None,
        "local_files_only": True,
        "directions": ["de-en", "en-de"],
        "test_root": str(sample_data_dir()),
        "test_format": "json",
        "max_sentences": 2,
        "num_beams": 2,
        "batch_size": 2,
        "max_new_tokens": 6,
        "max_prompt_tokens": 128,
        "comet_model": comet_model,
        "comet_batch_size": 4,
        "output_dir": str(tmp_path / "out"),
    }
    path = tmp_path / "eval_config.yaml"
    path.write_text(yaml.safe_dump(job), encoding="utf-8")
    return job | {"config": path}


def test_eval_job_on_fixtures_released_style(tmp_path: Path, tiny_backbone_dir: Path, tiny_comet_hub: Path) -> None:
    """A released-profile job (base + LoRA adapter, COMET by hub name) on fixtures: tidy scores + provenance."""
    from alma_core.io import read_json
    from alma_core.runs.modeling import apply_lora, load_backbone

    model, _ = load_backbone(tiny_backbone_dir)
    apply_lora(model).save_pretrained(tmp_path / "adapter")
    job = _eval_job(tmp_path, tiny_backbone_dir, tmp_path / "adapter", "Unbabel/wmt22-comet-da")
    out = run_job(job["config"])
    rows = read_json(out / "scores.json")
    assert {(r["direction"], r["lang"]) for r in rows} == {("xx-en", "de"), ("en-xx", "de")}
    comet = [r for r in rows if r["metric"] == "comet"]
    assert len(comet) == 2 and all(isinstance(r["value"], float) for r in comet)
    run = read_json(out / "run.json")
    assert "nrefs:1" in run["signature"] and run["comet_model"] == "Unbabel/wmt22-comet-da"
    assert (out / "hyp.de-en.jsonl").is_file()


def test_eval_job_without_comet_says_not_computed(tmp_path: Path, tiny_backbone_dir: Path) -> None:
    from alma_core.io import read_json

    job = _eval_job(tmp_path, tiny_backbone_dir, None, str(tmp_path / "no-such-comet"))
    rows = read_json(run_job(job["config"]) / "scores.json")
    comet = [r for r in rows if r["metric"] == "comet"]
    assert all(r["value"] is None and r["note"].startswith("not computed") for r in comet)
    assert all(isinstance(r["value"], float) for r in rows if r["metric"] == "bleu")


def _tidy(system: str, values: dict[tuple[str, str], float | None], metric: str = "bleu") -> pd.DataFrame:
    return pd.DataFrame([{"system": system, "direction": d, "lang": lang, "metric": metric, "value": v, "note": ""}
                         for (d, lang), v in values.items()])


def test_reported_vs_build_table_and_not_computed() -> None:
    from alma_core.book.tables import NOT_COMPUTED, direction_averages, reported_vs_build
    from alma_core.reported.paper import reported

    build = _tidy("tiny", {("en-xx", "de"): 1.0, ("en-xx", "cs"): 3.0, ("xx-en", "de"): 5.0})
    table = reported_vs_build(reported(1), build, "bleu", "en-xx", ["de", "cs"], reported_systems=["ALMA-7B"])
    assert list(table["source"]) == ["paper", "this build"]
    assert table.loc["ALMA-7B", "de"] == pytest.approx(30.31) and table.loc["tiny", "Avg."] == pytest.approx(2.0)
    missing = _tidy("tiny", {("en-xx", "de"): None}, metric="comet")
    table = reported_vs_build(
        reported(1), missing, "comet", "en-xx", ["de"], reported_systems=["ALMA-7B"], missing_reason="offline"
    )
    assert table.loc["tiny", "de"] == f"{NOT_COMPUTED}: offline"
    averages = direction_averages(build, metric="bleu")
    assert list(averages.columns) == ["en→xx", "xx→en"] and averages.loc["tiny", "en→xx"] == pytest.approx(2.0)


def test_figure_has_both_panels_and_the_banner() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from alma_core.book import plots
    from alma_core.book.tables import direction_averages
    from alma_core.reported.paper import reported

    fig = plots.bars_reported_vs_build(direction_averages(reported(4), metric="bleu"), None, profile="tiny")
    texts = [t.get_text() for t in fig.texts] + [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("not comparable" in t for t in texts) and any("not computed" in t for t in texts)
    plots.close(fig)


def test_a_failed_chapter_shows_the_job_error_and_is_rerun(tmp_path: Path) -> None:
    """The executed copy of a failed chapter shows the error (a job's log and resume command); no stamp, so the next
    run executes it again; papermill's working copy is gone."""
    register_schema("smoke_nb", _SmokeParams)
    try:
        _mini_repo(tmp_path)
        path = tmp_path / "notebooks" / "smoke_nb.ipynb"
        nb = nbformat.read(path, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(
            "raise RuntimeError('job x failed\\nlog: runs/x/job.log\\nresume: python -m alma_core.train --config c')"))
        nbformat.write(nb, path)
        with pytest.raises(book.BookError, match="RuntimeError: job x failed"):
            book.run("tiny", root=tmp_path)
        executed = tmp_path / "book" / "_executed" / "smoke_nb.ipynb"
        shown = "".join(str(o) for c in nbformat.read(executed, as_version=4).cells for o in c.get("outputs", []))
        assert "log: runs/x/job.log" in shown and "python -m alma_core.train --config c" in shown
        stamp = book.read_stamp(executed)
        assert stamp["input_hash"] is None and "failed in cell" in stamp["failed"]
        assert not list(executed.parent.glob(".*.running.ipynb"))
    finally:
        SCHEMAS.pop("smoke_nb", None)


def test_a_page_shows_the_parameters_once_job_logs_folded_and_no_machine_paths(tmp_path: Path) -> None:
    """The executed copy the book renders: papermill's injected parameters replace the defaults they cover, a job's
    stdout folds into one <details> line, and paths under the checkout are relative to it."""
    from alma_core.book import report

    nb = nbformat.v4.new_notebook()
    defaults = nbformat.v4.new_code_cell('profile = "tiny"\nseed = 42', metadata={"tags": ["parameters"]})
    injected = nbformat.v4.new_code_cell('profile = "mini"\nseed = 1', metadata={"tags": ["injected-parameters"]})
    job = nbformat.v4.new_code_cell("jobs.ensure_trained(P)")
    log_line = f"[jobs] x: running; log in {tmp_path}/runs/x/job.log\n"
    job.outputs = [nbformat.v4.new_output("stream", name="stdout", text=log_line),
                   nbformat.v4.new_output("display_data", data={"text/html": f"<td>file://{tmp_path}/runs/y</td>"}),
                   nbformat.v4.new_output("stream", name="stderr", text="a warning\n")]
    report.fold_boilerplate(nb := nbformat.v4.new_notebook(cells=[defaults, injected, job]), [tmp_path])
    assert [c.metadata["tags"] for c in nb.cells[:1]] == [["injected-parameters", "hide-cell"]]
    log, table, warning = nb.cells[1].outputs
    assert log["data"]["text/html"].startswith("<details><summary>job log (1 line)</summary>")
    assert "runs/x/job.log" in log["data"]["text/plain"] and str(tmp_path) not in json.dumps(nb)
    assert table["data"]["text/html"] == "<td>runs/y</td>" and warning["name"] == "stderr"
    partial = nbformat.v4.new_code_cell('profile = "mini"', metadata={"tags": ["injected-parameters"]})
    kept = report.fold_boilerplate(nbformat.v4.new_notebook(cells=[defaults, partial]), [])
    assert len(kept.cells) == 2, "defaults the injected cell does not cover stay visible"
