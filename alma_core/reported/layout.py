"""The layout of the paper's translation tables (Tables 1-2, and 4, 6-9, which share it): systems x (direction,
language[, metric]) with the paper's column order and an Avg. per direction. The book's tables (`book.tables`) and
the evaluator's CLI (`runs.evaluate`) print this one layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from alma_core.recipe.languages import PAPER_LANGUAGES

__all__ = ["AVERAGE", "TableError", "lang_order", "paper_layout"]

AVERAGE = "Avg."


class TableError(ValueError):
    """A table asked of results that do not hold it (a metric that was not computed)."""


def lang_order(langs: Iterable[str]) -> list[str]:
    """Paper column order (Sec. 5.1: de, cs, is, zh, ru), then other languages A-Z. Used by the builders below."""
    langs = set(langs)
    return [c for c in PAPER_LANGUAGES if c in langs] + sorted(langs - set(PAPER_LANGUAGES))


def paper_layout(frame: pd.DataFrame, metric: str | Sequence[str] = "bleu") -> pd.DataFrame:
    """Tables 1-2 (Sec. 5.1): systems x (direction, lang[, metric]) + Avg. Used by book.tables, runs.evaluate."""
    names = [metric] if isinstance(metric, str) else list(metric)
    unknown = sorted(set(names) - set(frame["metric"])) if len(frame) else names
    if unknown:
        raise TableError(f"no {unknown} values in the results; available: {sorted(set(frame['metric']))}")
    sub = frame[frame["metric"].isin(names)]
    systems = list(dict.fromkeys(sub["system"]))
    blocks = []
    for direction in [d for d in ("en-xx", "xx-en") if d in set(sub["direction"])] + sorted(
        set(sub["direction"]) - {"en-xx", "xx-en"}
    ):
        part = sub[sub["direction"] == direction]
        table = part.pivot_table(index="system", columns=["lang", "metric"], values="value", aggfunc="first")
        langs = lang_order(part["lang"])
        table = table.reindex(columns=pd.MultiIndex.from_product([langs, names], names=["lang", "metric"]))
        for name in names:
            table[(AVERAGE, name)] = table.xs(name, axis=1, level="metric").mean(axis=1, skipna=False)
        table = table.reindex(columns=pd.MultiIndex.from_product([langs + [AVERAGE], names], names=["lang", "metric"]))
        table.columns = pd.MultiIndex.from_tuples(
            [(direction, *c) for c in table.columns], names=["direction", "lang", "metric"]
        )
        blocks.append(table)
    out = pd.concat(blocks, axis=1).reindex(systems)
    if isinstance(metric, str):
        out.columns = out.columns.droplevel("metric")
    return out
