"""THE builder of the book's tables: the paper's layout (Tables 1-2, 4, 6-9), averages (Tables 3, 10, 11),
Table 12 (App. J) and the COMET note (App. C's table is `alma_core.book.appendix_c`). Pandas frames built from
stored scores and data already written (nothing here trains, scores or writes); `report` and `plots` display them.

Every table lists languages in the paper's column order (`alma_core.recipe.languages.PAPER_LANGUAGES`,
de cs is zh ru), then any other language alphabetically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from alma_core.jobs.assets import data_dir
from alma_core.jobs.variants import data_variant, stage2_languages
from alma_core.recipe.crosslingual_items import TABLE12_LANGUAGES, TASKS, MultipleChoiceItem
from alma_core.recipe.data import load_pairs
from alma_core.recipe.languages import PAPER_LANGUAGES
from alma_core.reported.layout import AVERAGE, TableError, lang_order, paper_layout

__all__ = [
    "seed_spread",
    "AVERAGE",
    "NOT_COMPUTED",
    "DIRECTION_LABELS",
    "TableError",
    "lang_order",
    "eval_langs",
    "comet_note",
    "paper_layout",
    "wide_table",
    "reported_vs_build",
    "direction_averages",
    "averages",
    "bleu_bars",
    "blank_comet",
    "quality_preview",
    "snapshot_tables",
    "token_curves",
    "pair_results",
    "table12",
    "deltas",
    "loss_mask_table",
    "scored_examples",
    "size_points",
    "objective_curves",
    "size_grid",
]

NOT_COMPUTED = "not computed"
DIRECTION_LABELS = {"en-xx": "en→xx", "xx-en": "xx→en"}



# ---------------------------------------------------------------------------------------------
# The paper's language order and the COMET note


def eval_langs(params: Any) -> list[str]:
    """Non-English languages of the evaluation directions, paper order (Sec. 5.1). Used by every chapter notebook."""
    return lang_order({part for d in params.evaluation.directions for part in d.split("-") if part != "en"})


def comet_note(params: Any, scores: pd.DataFrame | None = None) -> str:
    """Why COMET is missing (Sec. 5.1), '' when computed. Used by every chapter notebook."""
    if scores is not None:
        notes = scores.loc[(scores["metric"] == "comet") & scores["value"].isna(), "note"] if len(scores) else []
        return str(notes.iloc[0]) if len(notes) else ""
    if params.evaluation.comet_model != "none":
        return ""
    return "COMET skipped in this profile (evaluation.comet_model: none) to fit the book's time budget"


# ---------------------------------------------------------------------------------------------
# Tables 1-2 layout (and Tables 4, 6-9, which share it)


def wide_table(frame: pd.DataFrame, metric: str, *, direction: str | None = None, langs: Sequence[str] | None = None,
               source: str | None = None, average: bool = True) -> pd.DataFrame:
    """One direction of Tables 1-2 (Sec. 5.1), + Avg. Used by notebooks/appE_off_target, appH_human_written_data."""
    rows = frame[frame["metric"] == metric]
    if direction is not None:
        rows = rows[rows["direction"] == direction]
    rows = rows[rows["lang"].astype(str) != "avg"]
    table = rows.pivot_table(index="system", columns="lang", values="value", aggfunc="first", sort=False, dropna=False)
    if langs is not None:
        table = table.reindex(columns=list(langs))
    if average and len(table.columns):
        table[AVERAGE] = table.mean(axis=1, skipna=False)
    table.columns.name = None
    if source is not None:
        table.insert(0, "source", source)
    return table


def reported_vs_build(reported: pd.DataFrame, build: pd.DataFrame | None, metric: str, direction: str,
                      langs: Sequence[str], *, reported_systems: Sequence[str] | None = None,
                      missing_reason: str = "") -> pd.DataFrame:
    """Paper rows above this build's, Tables 1-2 layout (Sec. 5.1). Used by notebooks/sec2, sec5, sec6_2, appE."""
    paper_rows = reported if reported_systems is None else reported[reported["system"].isin(reported_systems)]
    parts = [wide_table(paper_rows, metric, direction=direction, langs=langs, source="paper")]
    if build is not None and len(build):
        mine = wide_table(build, metric, direction=direction, langs=langs, source="this build")
        if mine.drop(columns="source").isna().all().all() and missing_reason:
            mine = mine.astype(object)
            mine.loc[:, [c for c in mine.columns if c != "source"]] = f"{NOT_COMPUTED}: {missing_reason}"
        parts.append(mine)
    table = pd.concat(parts)
    table.index.name = f"{metric.upper()} {direction}"
    return table


# ---------------------------------------------------------------------------------------------
# Averages (Figure 3; Tables 3, 10, 11)


def direction_averages(*frames: pd.DataFrame, metric: str, systems: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean per system and direction (Sec. 2 Fig. 3, Sec. 5.1). Used by notebooks/sec2_zero_shot, sec5_main_results."""
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[(rows["metric"] == metric) & (rows["lang"].astype(str) != "avg")]
    if systems is not None:
        rows = rows[rows["system"].isin(systems)]
    table = rows.pivot_table(index="system", columns="direction", values="value", aggfunc="mean", sort=False)
    if systems is not None:
        table = table.reindex([s for s in systems if s in table.index])
    table = table.reindex(columns=[d for d in DIRECTION_LABELS if d in table.columns]).rename(columns=DIRECTION_LABELS)
    table.columns.name = None
    return table


def averages(frame: pd.DataFrame, metrics_: tuple[str, ...] = ("bleu", "comet")) -> pd.DataFrame:
    """Tables 3, 10, 11 (Sec. 6.2, App. H, I): the Avg. cells. Used by notebooks/sec6_2, appH, appI."""
    rows = frame[frame["metric"].isin(metrics_)]
    rows = rows[rows["lang"] == "avg"] if (rows["lang"] == "avg").any() else rows
    table = rows.pivot_table(index="system", columns=["direction", "metric"], values="value", aggfunc="mean",
                             sort=False, dropna=False)
    return table.reindex(columns=[(d, m) for d in ("xx-en", "en-xx") for m in metrics_ if (d, m) in table.columns])


def seed_spread(frame: pd.DataFrame, metric: str = "bleu") -> pd.DataFrame:
    """Sec. 5-6 (mini): "mean (min-max, n seeds)" of systems trained per seed, else empty. Used by sec3, 5, 6."""
    if "seeds" not in frame.columns:
        return pd.DataFrame()
    rows = frame[(frame["metric"] == metric) & (frame["seeds"].fillna(0) > 1)]
    if rows.empty:
        return pd.DataFrame()
    cells = rows.assign(cell=[f"{v:.1f} ({lo:.1f}-{hi:.1f}, {int(n)} seeds)" for v, lo, hi, n in
                              zip(rows["value"], rows["seed_min"], rows["seed_max"], rows["seeds"])],
                        column=[f"{d} {lang}" for d, lang in zip(rows["direction"], rows["lang"])])
    return cells.pivot_table(index="system", columns="column", values="cell", aggfunc="first", sort=False)


def bleu_bars(table: pd.DataFrame) -> pd.DataFrame:
    """BLEU columns of `averages`, numeric (Sec. 6.2, App. H, I bars). Used by notebooks/sec6_2, appH, appI."""
    return (
        table.xs("bleu", axis=1, level="metric").apply(pd.to_numeric, errors="coerce").rename(columns=DIRECTION_LABELS)
    )


def blank_comet(table: pd.DataFrame, note: str) -> pd.DataFrame:
    """`averages` with COMET cells marked not computed (Sec. 6.2, App. H, I). Used by notebooks/sec6_2, appH, appI."""
    if not note:
        return table
    table = table.astype(object)
    table.loc[:, [c for c in table.columns if c[1] == "comet"]] = NOT_COMPUTED
    return table


def quality_preview(params: Any, shown: int = 4) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """Sec. 6.2: each quality's train data as its runs read it: size, share unlike HW, first pairs. Used by sec6_2."""
    xx = stage2_languages(params)[0]
    roots = {q: data_variant(params, q, write=False) for q in params.qualities}  # written by the runs; only read
    data = {q: load_pairs(Path(root) if root else data_dir(params.data_root), xx, "en", "train") for q, root in
            roots.items()}
    base = data.get("HW") or load_pairs(data_dir(params.data_root), xx, "en", "train")
    changed = pd.DataFrame({q: [len(v), sum(a != b for a, b in zip(v, base)) / max(1, len(v)) * 100]
                            for q, v in data.items()}, index=["pairs", "% differing from the HW pair at that position"])
    examples = pd.DataFrame({q: pd.Series([f"{a} → {b}" for a, b in v[:shown]], dtype=object) for q, v in data.items()})
    examples.index = [f"{xx}-en pair {i}" for i in examples.index]
    return xx, changed, examples


# ---------------------------------------------------------------------------------------------
# Section 6.1: stage-1 tokens (Figure 5, Tables 7-8)


def snapshot_tables(table8: pd.DataFrame, table7: pd.DataFrame, scores: pd.DataFrame, build_langs: Sequence[str],
                    metric: str, direction: str) -> pd.DataFrame:
    """Tables 7-8 (Sec. 6.1, App. F): paper snapshots, then this build. Used by notebooks/sec6_1_monolingual_tokens."""
    langs = list(PAPER_LANGUAGES)
    parts = [
        wide_table(table8, metric, direction=direction, langs=langs, source="paper, Table 8 (7B)"),
        wide_table(
            table7[table7["setting"] == "greedy"],
            metric,
            direction=direction,
            langs=langs,
            source="paper, Table 7 (13B, greedy)",
        ),
        wide_table(scores, metric, direction=direction, langs=build_langs, source="this build"),
    ]
    table = pd.concat(parts).reindex(columns=["source", *langs, AVERAGE])
    table.index.name = f"{metric.upper()} {direction}"
    return table


def token_curves(table8: pd.DataFrame, scores: pd.DataFrame, tokens_of: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Figure 5 (Sec. 6.1): average BLEU/COMET vs. stage-1 tokens. Used by notebooks/sec6_1_monolingual_tokens.ipynb."""
    paper = table8[(table8["lang"] == "avg") & table8["system"].str.startswith("ALMA-7B@")].copy()
    paper["tokens (billions)"] = paper["system"].str.split("@").str[1].str.rstrip("B").astype(float)
    paper["direction"] = paper["direction"].map(DIRECTION_LABELS)
    build = scores[scores["metric"].isin(["bleu", "comet"]) & scores["value"].notna()]
    build = build.groupby(["system", "direction", "metric"], sort=False)["value"].mean().reset_index()
    build["monolingual tokens"] = build["system"].map(tokens_of)
    build["direction"] = build["direction"].map(DIRECTION_LABELS)
    build = build.sort_values("direction", key=lambda d: d.map({"en→xx": 0, "xx→en": 1}), kind="stable")
    return paper, build


# ---------------------------------------------------------------------------------------------
# Beyond the paper: one added language pair


def pair_results(scores: pd.DataFrame, xx: str) -> pd.DataFrame:
    """An added xx-en pair (Sec. 5.1, App. E): systems x (direction, metric). Used by notebooks/add_language_pair."""
    tidy = scores.assign(metric=scores["metric"].replace({"off_target": "off-target %"}))
    results = tidy.pivot_table(
        index="system", columns=["direction", "metric"], values="value", aggfunc="first", sort=False
    )
    return results.rename(columns={"xx-en": f"{xx}→en", "en-xx": f"en→{xx}"}, level=0)


# ---------------------------------------------------------------------------------------------
# Table 12 (Appendix J)


def table12(frame: pd.DataFrame, metric: str = "accuracy", *, source: str | None = None) -> pd.DataFrame:
    """Table 12 (App. J): systems x (task, lang) + Avg. per task. Used by notebooks/appJ_crosslingual.ipynb."""
    rows = frame[(frame["metric"] == metric) & (frame["lang"].astype(str) != "avg")].copy()
    if "setting" in rows.columns:  # the reported table names "LLaMA-2-7B" + "1B mono." as one row
        rows["system"] = [
            f"{s}, {st}" if isinstance(st, str) and st else s for s, st in zip(rows["system"], rows["setting"])
        ]
    columns = []
    for task in TASKS:
        langs = [lang for lang in TABLE12_LANGUAGES[task] if ((rows["task"] == task) & (rows["lang"] == lang)).any()]
        columns += [(task, lang) for lang in langs] + ([(task, AVERAGE)] if langs else [])
    wide = rows.pivot_table(index="system", columns=["task", "lang"], values="value", aggfunc="first", sort=False)
    for task in TASKS:
        present = [c for c in wide.columns if c[0] == task]
        if present:
            wide[(task, AVERAGE)] = wide[present].mean(axis=1, skipna=False)
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(columns)) if columns else wide
    if source is not None:
        wide.insert(0, ("", "source"), source)
    wide.index.name = None
    return wide


def deltas(wide: pd.DataFrame, pairs: Sequence[tuple[str, str]], *, source: str | None = None) -> pd.DataFrame:
    """Stage 1's effect in Table 12 (App. J): after minus before. Used by notebooks/appJ_crosslingual.ipynb."""
    numeric = wide.drop(columns=[c for c in wide.columns if c[0] == ""], errors="ignore")
    rows = {f"{after} minus {before}": numeric.loc[after] - numeric.loc[before]
            for before, after in pairs if before in numeric.index and after in numeric.index}
    table = pd.DataFrame(rows).T.reindex(columns=numeric.columns)
    if source is not None:
        table.insert(0, ("", "source"), source)
    return table


# ---------------------------------------------------------------------------------------------
# Section 4.2: the loss mask (Figure 2)


def loss_mask_table(tokenizer: Any, example: Mapping[str, Sequence[int]]) -> pd.DataFrame:
    """Token by token: id, text, label, in the loss? (Sec. 4.2, Figure 2). Used by notebooks/sec4_recipe.ipynb."""
    ids = list(example["input_ids"])
    labels = list(example["labels"])
    pieces = [tokenizer.decode([i]) for i in ids]
    special = {tokenizer.bos_token_id: "<BOS>", tokenizer.eos_token_id: "<EOS>"}
    shown = [special.get(i, p).replace("\n", "\\n") for i, p in zip(ids, pieces)]
    frame = pd.DataFrame({"token id": ids, "token": shown, "label": labels,
                          "in loss": ["yes" if label != -100 else "no (masked)" for label in labels]})
    frame.index.name = "position"
    return frame


def scored_examples(items_by_task: Mapping[str, MultipleChoiceItem]) -> Any:
    """App. J: one item per task, each option's context and scored continuation, the right one marked. Used by appJ."""
    rows = []
    for task, item in items_by_task.items():
        for k, (context, continuation) in enumerate(zip(item.contexts, item.continuations)):
            rows.append({"task": f"{task} ({item.lang})", "option": k, "context (not scored)": context or "(BOS only)",
                         "continuation (scored)": continuation, "right": "yes" if k == item.label else ""})
    return pd.DataFrame(rows).set_index(["task", "option"])


def size_points(scores: pd.DataFrame, params: Any, label: str = "backbone") -> pd.DataFrame:
    """Figure 4 (Sec. 3): BLEU and COMET of each system as a (`label`, pairs) point. Used by sec3, appA."""
    points = scores[scores["metric"].isin(["bleu", "comet"])].copy()
    points[label], points["pairs"] = zip(*points["system"].map(params.point_of)) if len(points) else ([], [])
    return points


def objective_curves(scores: pd.DataFrame, params: Any) -> pd.DataFrame:
    """Figure 6 (App. A): each objective by data size, averaged over directions, zero-shot at 0. Used by appA."""
    averaged = scores[scores["metric"].isin(["bleu", "comet"])].groupby(["system", "metric"], sort=False)["value"]
    points = size_points(averaged.mean().reset_index(), params, "objective")
    zero_shot = points[points["objective"] == "zero-shot"]
    return pd.concat([points[points["objective"] != "zero-shot"]]
                     + [zero_shot.assign(objective=o) for o in params.objectives], ignore_index=True)


def size_grid(points: pd.DataFrame, metric: str, label: str) -> pd.DataFrame:
    """Figures 4, 6 as tables (Sec. 3, App. A): a row per `label`, a column per data size. Used by sec3, appA."""
    table = points[points["metric"] == metric].pivot_table(index=label, columns="pairs", values="value", sort=False)
    table.columns = ["zero-shot" if n == 0 else f"{n:,} pairs" for n in table.columns]
    return table
