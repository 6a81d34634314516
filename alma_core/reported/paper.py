"""The paper's reported numbers (Tables 1-12 of Xu et al., ALMA) as tidy pandas frames.

The CSVs live in `alma_core/reported/table_NN.csv`; provenance and every OCR correction are in
`alma_core/reported/README.md`.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import pandas as pd

__all__ = [
    "TABLES",
    "COLUMNS",
    "UnknownTableError",
    "UnknownMetricError",
    "reported",
    "reported_all",
    "reported_wide",
]

TABLES: tuple[int, ...] = tuple(range(1, 13))
COLUMNS: tuple[str, ...] = ("table", "system", "direction", "lang", "metric", "value", "setting", "task", "note")
_TEXT = ("system", "setting", "task", "direction", "lang", "metric", "note")


class UnknownTableError(ValueError):
    """A table number the paper does not have."""


class UnknownMetricError(ValueError):
    """A metric that a reported table does not contain."""


def _check_table(table: int) -> int:
    """Validate a table number against the paper's Tables 1-12."""
    if isinstance(table, bool) or not isinstance(table, int) or table not in TABLES:
        raise UnknownTableError(
            f"unknown table {table!r}: the paper's numeric tables are {', '.join(map(str, TABLES))}; pass one of "
            f"these ints"
        )
    return table


@cache
def _load(table: int) -> pd.DataFrame:
    """Read one shipped CSV (package data, so it works when installed)."""
    resource = files("alma_core").joinpath("reported", f"table_{table:02d}.csv")
    with resource.open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, keep_default_na=False, dtype={c: str for c in _TEXT})
    frame["table"] = frame["table"].astype(int)
    frame["value"] = frame["value"].astype(float)
    return frame[list(COLUMNS)]


def reported(table: int) -> pd.DataFrame:
    """One table of the paper (Sections 2, 5, 6; Appendices B-J) in tidy form, Avg. cells as lang 'avg'."""
    return _load(_check_table(table)).copy()


def reported_all() -> pd.DataFrame:
    """All twelve reported tables concatenated (Tables 1-12)."""
    return pd.concat([_load(t) for t in TABLES], ignore_index=True)


def reported_wide(table: int, metric: str) -> pd.DataFrame:
    """One metric of a table in the paper's layout (Tables 1-2 style): a row per system, (direction, lang) columns."""
    frame = reported(table)
    metrics = list(dict.fromkeys(frame["metric"]))
    if metric not in metrics:
        raise UnknownMetricError(f"table {table} has no metric {metric!r}; choose one of {metrics}")
    frame = frame[frame["metric"] == metric]
    index = ["system", "setting"] + (["task"] if (frame["task"] != "").any() else [])
    wide = frame.pivot(index=index, columns=["direction", "lang"], values="value")
    rows = list(dict.fromkeys(map(tuple, frame[index].itertuples(index=False))))
    directions = list(dict.fromkeys(frame["direction"]))
    langs = list(dict.fromkeys(frame["lang"]))  # the paper's column order (first row is complete)
    cols = [(d, lang) for d in directions for lang in langs if (d, lang) in wide.columns]
    wide = wide.reindex(index=pd.MultiIndex.from_tuples(rows, names=index), columns=pd.MultiIndex.from_tuples(cols))
    wide.columns.names = ["direction", "lang"]
    return wide
