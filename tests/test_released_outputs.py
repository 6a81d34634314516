"""The released-outputs path (jobs.released_outputs): the official layout, fetching once, scoring with evaluate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from fixtures.released_outputs import COLLECTIONS, SEGMENTS, make_params
from sacrebleu.metrics import BLEU

from alma_core.io import read_json
from alma_core.jobs import released_outputs as ro
from alma_core.params.schemas import load_params
from alma_core.runs.evaluate import main as evaluate_main

ROOT = Path(__file__).resolve().parents[1]


def test_fixture_tree_has_the_official_layout(released_tree: Path) -> None:
    # the paths evals/*.sh of fe1ixxu/ALMA read: wmt-testset/${src}${tgt}/test.${src}-${tgt}.${src|tgt}
    outputs = released_tree / "outputs"
    for path in ("wmt22_outputs/wmt-testset/deen/test.de-en.de", "wmt22_outputs/wmt-testset/deen/test.de-en.en",
                 "wmt22_outputs/wmt-testset/enzh/test.en-zh.zh", "wmt22_outputs/ALMA-13B-LoRA/enzh/test.en-zh.zh",
                 "wmt22_outputs/gpt3.5-text-davinci-003/deen/test.de-en.en",
                 "wmt23_outputs/ALMA-13B-R/deen/test.de-en.en"):
        assert len((outputs / path).read_text(encoding="utf-8").splitlines()) == SEGMENTS, path
    params = make_params(Path("/unused"), "synthetic")
    files = ro.release_files(params.collections)
    assert len(files) == 2 * 2 + 1 * 2 + 3 * 2 + 1 * 1  # test-set sides (2 per direction), then system files
    assert all((released_tree / f).is_file() for f in files)
    sources = (outputs / "wmt22_outputs/wmt-testset/enzh/test.en-zh.en").read_text(encoding="utf-8").splitlines()
    refs = (outputs / "wmt22_outputs/wmt-testset/enzh/test.en-zh.zh").read_text(encoding="utf-8").splitlines()
    assert all(s.endswith(".") for s in sources) and all(r.endswith("。") for r in refs)


def test_downloads_once_over_http(released_server, tmp_path: Path) -> None:
    url, requests = released_server
    params = make_params(tmp_path / "store", url)
    before = len(requests)
    records, fetched = ro.score_release(params)
    files = ro.release_files(params.collections)
    assert fetched["downloaded"] == files and len(requests) - before == len(files)
    manifest = read_json(Path(fetched["cache"]) / "manifest.json")
    assert manifest["source"] == url and set(manifest["files"]) == set(files)
    cached = Path(fetched["cache"]) / files[-1]
    assert manifest["files"][files[-1]]["bytes"] == cached.stat().st_size
    assert not list(Path(fetched["cache"]).rglob("*.part"))
    again, fetched2 = ro.score_release(make_params(tmp_path / "store", url, force=True))  # rescored, not refetched
    assert fetched2["downloaded"] == [] and len(requests) - before == len(files)
    assert [r["bleu"] for r in again] == [r["bleu"] for r in records]


def test_a_changed_cached_file_is_refused(released_tree: Path, tmp_path: Path) -> None:
    params = make_params(tmp_path / "store", str(released_tree))
    _, fetched = ro.score_release(params)
    victim = Path(fetched["cache"]) / ro.release_files(params.collections)[0]
    victim.write_text("tampered\n", encoding="utf-8")
    with pytest.raises(ro.ReleasedOutputsError, match="changed since it was downloaded"):
        ro.score_release(params)


def test_pinned_checksum_mismatch_is_refused(released_tree: Path, tmp_path: Path) -> None:
    first = ro.release_files(make_params(tmp_path, "synthetic").collections)[0]
    params = make_params(tmp_path / "store", released_tree.as_uri(), checksums={first: "0" * 64})
    with pytest.raises(ro.ReleasedOutputsError, match="the params pin"):
        ro.score_release(params)
    assert not (Path(ro.resolve_source(params)[1]) / first).exists()


@pytest.mark.parametrize("how", ["http", "folder"])
def test_missing_system_or_direction_is_a_clear_error(how: str, released_server, released_tree: Path,
                                                      tmp_path: Path) -> None:
    source = released_server[0] if how == "http" else str(released_tree)
    collections = json.loads(json.dumps(COLLECTIONS))
    collections[0]["systems"].append({"folder": "NoSuchSystem"})
    expected = "system 'NoSuchSystem' of wmt22_outputs in direction de-en"
    with pytest.raises(ro.ReleasedOutputsError, match=expected) as err:
        ro.score_release(make_params(tmp_path / "a", source, collections=collections))
    assert "GPT-4-1106-preview" in str(err.value) and "remove it" in str(err.value)
    collections = json.loads(json.dumps(COLLECTIONS))
    collections[1]["directions"] = ["en-cs"]
    with pytest.raises(ro.ReleasedOutputsError, match="the test set of wmt23_outputs in direction en-cs"):
        ro.score_release(make_params(tmp_path / "b", source, collections=collections))


def test_unreachable_source_says_how_to_work_offline(tmp_path: Path) -> None:
    with pytest.raises(ro.ReleasedOutputsError, match="git clone https://github.com/fe1ixxu/ALMA"):
        ro.score_release(make_params(tmp_path, "http://127.0.0.1:9/ALMA", timeout_s=5))


def test_scores_match_the_evaluate_cli_and_sacrebleu(released_tree: Path, tmp_path: Path, capsys) -> None:
    records, _ = ro.score_release(make_params(tmp_path / "store", str(released_tree)))
    mine = [r for r in records if r["system"] == "GPT-3.5-D"]
    command = ro.cli_command(records, "GPT-3.5-D").split()
    argv = command[3:]
    argv[argv.index("--out") + 1] = str(tmp_path / "cli.json")
    argv[argv.index("--system") + 1] = "GPT-3.5-D"
    assert evaluate_main(argv) == 0
    cli = {r["pair"]: r for r in read_json(tmp_path / "cli.json")["records"]}
    for record in mine:
        for metric in ("bleu", "chrf", "off_target"):
            assert record[metric] == pytest.approx(cli[record["pair"]][metric], abs=1e-9), (record["pair"], metric)
    # and BLEU straight from the released files with sacreBLEU (target tokenizer zh for Chinese)
    outputs = released_tree / "outputs" / "wmt22_outputs"
    hyps = (outputs / "gpt3.5-text-davinci-003/enzh/test.en-zh.zh").read_text(encoding="utf-8").splitlines()
    refs = (outputs / "wmt-testset/enzh/test.en-zh.zh").read_text(encoding="utf-8").splitlines()
    direct = BLEU(tokenize="zh").corpus_score(hyps, [refs]).score
    assert next(r["bleu"] for r in mine if r["pair"] == "en-zh") == pytest.approx(direct)
    assert all(r["test_set"] == "wmt23" for r in records if r["collection"] == "wmt23_outputs")


def test_copied_sources_count_as_off_target(released_tree: Path, tmp_path: Path) -> None:
    records, _ = ro.score_release(make_params(tmp_path / "store", str(released_tree)))
    outputs = released_tree / "outputs" / "wmt22_outputs"
    copied = 0
    for record in (r for r in records if r["collection"] == "wmt22_outputs" and r["tgt"] == "zh"):
        src, tgt, folder = record["src"], record["tgt"], record["folder"]
        hyps = (outputs / folder / f"{src}{tgt}" / f"test.{src}-{tgt}.{tgt}").read_text(encoding="utf-8").splitlines()
        latin = sum(not any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in hyps)  # no Chinese character at all
        assert latin / SEGMENTS <= record["off_target"] <= (latin + 2) / SEGMENTS, folder  # langid: short texts
        copied += latin
    assert copied > 0  # the fixture does copy sources somewhere


def test_paper_comparison_and_its_tables(released_tree: Path, tmp_path: Path) -> None:
    records, _ = ro.score_release(make_params(tmp_path / "store", str(released_tree)))
    comparison = ro.paper_comparison(records)
    assert set(comparison["system"]) == {"ALMA-13B-LoRA", "GPT-3.5-D"}  # WMT winners and WMT'23: no paper row
    row = comparison[(comparison["system"] == "ALMA-13B-LoRA") & (comparison["lang"] == "de")
                     & (comparison["metric"] == "bleu")].iloc[0]
    assert row["direction"] == "xx-en" and row["paper"] == 31.14  # Table 2, ALMA-13B-LoRA, de
    assert row["delta"] == pytest.approx(row["released outputs"] - 31.14, abs=0.006)
    assert comparison[comparison["metric"] == "comet"]["delta"].isna().all()  # COMET off: no delta invented
    gpt = comparison[(comparison["system"] == "GPT-3.5-D") & (comparison["lang"] == "zh")
                     & (comparison["metric"] == "bleu")]
    assert gpt.iloc[0]["paper"] == 38.30 and gpt.iloc[0]["paper row"] == "GPT-3.5-D zero-shot"  # Table 1
    wide = ro.comparison_wide(comparison)
    assert wide.loc[("ALMA-13B-LoRA", "bleu", "paper"), ("xx-en", "de")] == 31.14
    summary = ro.delta_summary(comparison)
    assert summary.loc[("GPT-3.5-D", "bleu"), "directions"] == 2
    frame = ro.released_frame(records)
    off = frame[(frame["metric"] == "off_target")]["value"]
    assert off.between(0, 100).all() and set(frame["collection"]) == {"wmt22_outputs", "wmt23_outputs"}


def test_comet_on_a_cpu_only_when_allowed(released_tree: Path, tmp_path: Path) -> None:
    off, _ = ro.score_release(make_params(tmp_path / "a", str(released_tree), comet_model="tiny"))
    assert all(r["comet"] is None and "no GPU" in r["comet_error"] for r in off)
    on, _ = ro.score_release(make_params(tmp_path / "b", str(released_tree), comet_model="tiny",
                                         comet_without_gpu=True))
    assert all(0 < r["comet"] <= 100 and not r["comet_error"] for r in on)
    assert ro.paper_comparison(on)["delta"].notna().all()


def test_synthetic_source_is_the_same_tree(released_tree: Path, tmp_path: Path) -> None:
    params = make_params(tmp_path / "store", "synthetic")
    source, cache = ro.resolve_source(params)
    assert source.startswith("file://") and cache.parent.name == "cache"
    tree = Path(source.removeprefix("file://"))
    for relpath in ro.release_files(params.collections):
        assert (tree / relpath).read_bytes() == (released_tree / relpath).read_bytes()


@pytest.mark.parametrize("profile", ["tiny", "paper", "released"])
def test_params_files(profile: str) -> None:
    params = load_params(ROOT / "params" / profile / "released_outputs.yaml")
    assert isinstance(params, ro.ReleasedOutputsParams)
    wmt22 = next(c for c in params.collections if c.name == "wmt22_outputs")
    assert {s.folder for s in wmt22.systems} == set(ro.OFFICIAL_LAYOUT["wmt22_outputs"]["systems"])
    assert wmt22.directions == ro.OFFICIAL_LAYOUT["wmt22_outputs"]["directions"]
    if profile == "tiny":
        assert params.source == "synthetic" and params.comet_model == "tiny"
    else:
        assert params.source == ro.OFFICIAL_SOURCE and params.comet_model == "Unbabel/wmt22-comet-da"
    raw = yaml.safe_load((ROOT / "params" / profile / "released_outputs.yaml").read_text(encoding="utf-8"))
    assert raw["profile"] == profile


def test_the_chapter_runs_and_shows_the_comparison(released_tree: Path, tmp_path: Path) -> None:
    import nbformat
    import papermill

    values = make_params(tmp_path / "store", str(released_tree)).model_dump()
    out = tmp_path / "released_outputs.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / "released_outputs.ipynb"), str(out), parameters=values,
                               kernel_name="python3", cwd=str(ROOT), progress_bar=False)
    html = [o["data"]["text/html"] for c in nbformat.read(out, as_version=4).cells if c.cell_type == "code"
            for o in c.outputs if "text/html" in o.get("data", {})]
    comparison = next(h for h in html if "Tables 1-2 cells vs. the released outputs" in h)
    assert "31.14" in comparison and "38.30" in comparison and "WMT_Winners" not in comparison
    assert any("wmt23_outputs: BLEU" in h for h in html) and any("OFF-TARGET" in h for h in html)
    markdown = [o["data"]["text/markdown"] for c in nbformat.read(out, as_version=4).cells if c.cell_type == "code"
                for o in c.outputs if "text/markdown" in o.get("data", {})]
    assert any("python -m alma_core.evaluate --hyps" in m for m in markdown)
    assert any("COMET not computed: comet_model: none" in m for m in markdown)


def test_the_rehearsal_never_downloads(tmp_path: Path) -> None:
    from alma_core.params.schemas import validate_params
    from alma_core.rehearsal.scale import scale_params

    values = yaml.safe_load((ROOT / "params" / "paper" / "released_outputs.yaml").read_text(encoding="utf-8"))
    scaled = validate_params("released_outputs", scale_params(values, root=str(tmp_path)))
    assert scaled.source == "synthetic" and scaled.synthetic_segments == 4
    assert scaled.collections == load_params(ROOT / "params" / "paper" / "released_outputs.yaml").collections
