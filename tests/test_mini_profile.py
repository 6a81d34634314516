"""The `mini` profile (issue 14): its params share one world and one backbone, the world is written once from the
params' `world:` block, stage-2 runs train once per seed and report mean and range, COMET claims are judged in BLEU,
and a Sec. 5 chapter runs end to end on a small world through the same notebook, params schema and job layer."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from alma_core.book import chapters, tables
from alma_core.book import site as book
from alma_core.book.scorecard import scorecard
from alma_core.book.verdicts import Results
from alma_core.jobs import assets
from alma_core.jobs import core as jobs
from alma_core.params.schemas import ParamsError, load_params, validate_params
from alma_core.standins.mini_world import WorldError
from alma_core.standins.mini_world_data import world_settings

ROOT = Path(__file__).resolve().parents[1]
MINI = sorted((ROOT / "params" / "mini").glob("*.yaml"))
SMALL_WORLD = {"seed": 0, "train": 40, "valid": 8, "test": 6, "documents": 40, "english_documents": 120,
               "languages": ["de"], "qualities": ["Filtered"]}


def test_every_mini_file_reads_the_same_world_and_backbone() -> None:
    """One `world:` block and one backbone for every chapter, so the store reuses them (and the runs built on them)."""
    assert len(MINI) >= 7
    worlds, backbones = set(), set()
    for path in MINI:
        params = load_params(path)
        if params.world is not None:
            worlds.add(json.dumps(params.world, sort_keys=True))
            assert params.data_root == "runs/mini/world"
        backbone = getattr(params, "tiny_backbone", None)
        if backbone:
            backbones.add(json.dumps(backbone, sort_keys=True))
    assert len(worlds) == 1, worlds
    assert len(backbones) == 1, backbones


def test_every_mini_chapter_trains_on_three_seeds() -> None:
    for path in MINI:
        params = load_params(path)
        if path.stem not in ("scorecard", "mini_world"):
            assert len(params.seeds) >= 3, f"{path.name}: the protocol asks for three seeds"


@pytest.mark.parametrize("spec, fix", [
    ({"trian": 10}, "unknown key(s) trian"),
    ({"train": 0}, "world.train=0 must be a positive whole number"),
    ({"qualities": ["HW"]}, "only Filtered and Random"),
    ({"held_out": 1.5}, "WorldConfig.held_out=1.5"),
])
def test_a_bad_world_block_names_the_key_and_the_fix(spec: dict, fix: str) -> None:
    with pytest.raises(WorldError, match="Fix:"):
        world_settings(spec)
    with pytest.raises(ParamsError) as err:
        validate_params("mini_world", {"profile": "mini", "store_dir": "runs/mini", "data_root": "w", "world": spec})
    assert fix in str(err.value)


def test_a_world_needs_a_data_root() -> None:
    with pytest.raises(ParamsError, match="world: needs data_root"):
        validate_params("mini_world", {"profile": "mini", "store_dir": "runs/mini", "world": {"seed": 0}})


def test_the_world_is_written_once_with_its_quality_roots(tmp_path: Path) -> None:
    root = assets.ensure_world(tmp_path / "world", SMALL_WORLD)
    train = root / "deen" / "train.de-en.json"
    assert len(train.read_text(encoding="utf-8").splitlines()) == 40
    assert len((root / "monolingual" / "en.txt").read_text(encoding="utf-8").splitlines()) == 120
    assert len((root / "monolingual" / "de.txt").read_text(encoding="utf-8").splitlines()) == 40
    filtered = root / "quality-Filtered" / "deen"
    assert (filtered / "train.de-en.json").read_text(encoding="utf-8") != train.read_text(encoding="utf-8")
    valid = (root / "deen" / "valid.de-en.json").read_text(encoding="utf-8")
    assert (filtered / "valid.de-en.json").read_text(encoding="utf-8") == valid, "the same model selection"
    stamp = train.stat().st_mtime_ns
    assets.ensure_world(tmp_path / "world", SMALL_WORLD)
    assert train.stat().st_mtime_ns == stamp, "an unchanged block is not written again"
    assets.ensure_world(tmp_path / "world", {**SMALL_WORLD, "train": 30})
    assert len(train.read_text(encoding="utf-8").splitlines()) == 30, "a changed block rewrites the world"


def _seeded(system: str, values: list[float]) -> pd.DataFrame:
    rows = [{"system": system, "direction": d, "lang": lang, "metric": "bleu", "value": v + i, "note": "", "seed": s}
            for s, v in zip((1, 2, 3), values) for i, (d, lang) in enumerate((("xx-en", "de"), ("xx-en", "avg")))]
    return pd.DataFrame(rows)


def test_seed_mean_and_the_spread_table() -> None:
    mean = jobs.seed_mean(_seeded("ALMA-mini", [10.0, 14.0, 12.0]))
    de = mean[mean["lang"] == "de"].iloc[0]
    assert (de["value"], de["seed_min"], de["seed_max"], de["seeds"]) == (12.0, 10.0, 14.0, 3)
    spread = tables.seed_spread(jobs.scores_frame([mean]))
    assert spread.loc["ALMA-mini", "xx-en de"] == "12.0 (10.0-14.0, 3 seeds)"
    single = _seeded("one seed", [5.0, 5.0, 5.0]).drop(columns="seed")
    assert tables.seed_spread(single).empty, "systems trained once show no spread table"


def test_comet_claims_are_judged_in_bleu_where_the_profile_says_so() -> None:
    rows = [{"system": s, "direction": d, "lang": "avg", "metric": "bleu", "value": v, "note": ""}
            for s, v in (("full", 40.0), ("lora", 39.5), ("zero", 1.0)) for d in ("xx-en", "en-xx")]
    results = Results("mini", {"sec5_main_results": pd.DataFrame(rows)}, {}, {"alma_full": "full", "alma_lora": "lora",
                                                                          "zero_shot": "zero"}, {"comet": "bleu"})
    params = load_params(ROOT / "params" / "mini" / "scorecard.yaml")
    table = scorecard(params, results=results).set_index("claim")
    assert table.loc[9, "verdict"] == "reproduced" and table.loc[9, "metric"] == "bleu"  # |39.5 - 40| <= 2
    assert "(in BLEU at this profile)" in table.loc[9, "figure"]
    assert table.loc[6, "verdict"] == "reproduced"  # 39.5 - 1 > the 2-BLEU margin


def test_a_mini_chapter_runs_end_to_end_on_a_small_world(tmp_path: Path) -> None:
    """params/mini/sec5_main_results.yaml scaled down: the notebook writes the world, pretrains the backbone on it,
    trains stage 2 once per seed and shows the seed table; the chapter record carries the seeds."""
    values = yaml.safe_load((ROOT / "params" / "mini" / "sec5_main_results.yaml").read_text(encoding="utf-8"))
    world_dir = tmp_path / "world"
    values.update(store_dir=str(tmp_path / "store"), data_root=str(world_dir), world=SMALL_WORLD, seeds=[1, 2])
    values["tiny_backbone"].update(corpus_dir=str(world_dir), pretrain_steps=3, vocab_size=400)
    full = {**values["train"]["alma_full"], "max_steps": 2, "eval_every": 0.5, "max_eval_examples": 4}
    full.pop("epochs")
    values["train"] = {"alma_full": full}
    values["systems"] = [s for s in values["systems"] if s.get("train") in (None, "alma_full")]
    values["evaluation"].update(max_sentences=3, num_beams=2, max_new_tokens=8)
    params = tmp_path / "params" / "mini" / "sec5_main_results.yaml"
    params.parent.mkdir(parents=True)
    params.write_text(yaml.safe_dump(values, allow_unicode=True), encoding="utf-8")
    dest = tmp_path / "executed.ipynb"
    book.run_notebook(ROOT / "notebooks" / "sec5_main_results.ipynb", params, dest, root=ROOT)
    trained = sorted((tmp_path / "store" / "train").glob("alma_full-*"))
    assert len(trained) == 2, "one stage-2 run per seed"
    assert sorted(json.loads((t / "run.json").read_text())["config"]["seed"] for t in trained) == [1, 2]
    backbone = json.loads(next((tmp_path / "store" / "backbones").glob("*/backbone.json")).read_text())
    assert backbone["config"]["corpus_dir"] == str(world_dir), "the backbone is pretrained on the world's text"
    record = json.loads((tmp_path / "store" / "chapters" / "sec5_main_results.json").read_text())
    seeded = [r for r in record["rows"] if r["system"] == "ALMA-mini (full weights)"]
    assert seeded and all(r["seeds"] == 2 for r in seeded)
    text = json.dumps(nbformat.read(dest, as_version=4).cells)
    assert "BLEU of the systems trained on several seeds" in text


def test_a_chapter_graph_trains_stage_2_once_per_seed_and_evaluates_every_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sec. 6.2 declares its runs (jobs.graphs): stage 1 once, each stage-2 run once per seed, and the evaluation
    finds every copy from the params alone (no state carried between the calls)."""
    from alma_core.jobs.graphs import chapter_graph

    started: list[tuple[str, int, Path]] = []

    def fake_ensure(params, values, key, out, module, **_):
        started.append((Path(out).name.rsplit("-", 1)[0], values["seed"], Path(out)))
        return Path(out)

    monkeypatch.setattr(jobs, "ensure", fake_ensure)
    monkeypatch.setattr(assets, "backbone_path", lambda *a, **k: str(tmp_path / "backbone"))
    params = load_params(ROOT / "params" / "mini" / "sec6_2_data_quality.yaml").model_copy(
        update={"store_dir": str(tmp_path)})
    with_runs = chapter_graph("sec6_2_data_quality", params, dry_run=True).params(params)
    trained = jobs.ensure_trained(with_runs)
    assert started[0][:2] == ("stage-1", 42) and len(started) == 1 + 2 * len(params.qualities) * 3
    assert [seed for name, seed, _ in started if name == "hw"] == [1, 2, 3]
    assert jobs.seed_folders(with_runs, "HW", trained) == [(seed, out) for name, seed, out in started if name == "hw"]
    assert jobs.seed_folders(with_runs, "stage 1", trained) == [(None, trained["stage 1"])]
    with pytest.raises(jobs.JobError, match="seed copies are unknown"):
        jobs.seed_folders(params, "HW", trained)  # params without the chapter's runs: an error, not one seed


def test_held_out_bleu_splits_the_test_set_by_the_held_out_lexicon(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from alma_core.recipe.testsets import read_test_set
    from alma_core.standins.mini_world_data import held_out_flags

    root = assets.ensure_world(tmp_path / "world", SMALL_WORLD)
    sources, refs = read_test_set(root, "de", "en", fmt="json")
    flags = held_out_flags(world_settings(SMALL_WORLD)[0], "de", "en", SMALL_WORLD["test"])
    assert len(flags) == len(refs) == SMALL_WORLD["test"] and any(flags)
    run = tmp_path / "eval" / "run.json"
    run.parent.mkdir()
    hyps = [ref if flag else "nothing at all" for ref, flag in zip(refs, flags)]  # right exactly where held out
    (run.parent / "hyp.de-en.jsonl").write_text(
        "".join(json.dumps({"index": i, "source": s, "hypothesis": h}) + "\n" for i, (s, h) in
                enumerate(zip(sources, hyps))), encoding="utf-8")
    params = SimpleNamespace(world=SMALL_WORLD, data_root=str(root), evaluation=SimpleNamespace(directions=["de-en"]))
    table = chapters.held_out_bleu(params, {"system": str(run)})
    with_, without = (f"de-en, with a held-out entry ({sum(flags)})", f"de-en, without ({len(flags) - sum(flags)})")
    assert table.loc["system", with_] == pytest.approx(100) and table.loc["system", without] < 5
    assert chapters.held_out_bleu(SimpleNamespace(world=None), {"system": str(run)}).empty
