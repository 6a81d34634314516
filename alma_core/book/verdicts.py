"""The scorecard's machinery (Sec. 2-6, App. A-J): chapter records in the store, the paper's Avg. cells, claims and
their verdict rules. The claims are listed in `alma_core.book.claims`; the page's API is `alma_core.book.scorecard`.

Chapters call `record` after they evaluate: it writes their tidy scores to `<store_dir>/chapters/<chapter>.json`
(atomically). The scorecard only reads those records; it never trains or evaluates, and a claim whose chapter has
no record (or whose metric was not computed, or which needs the paper's scale) is "not run at this profile"; a build
difference within the profile's measured noise (scorecard params `noise`, the spread over seeds) is "inconclusive".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from alma_core.book.tables import DIRECTION_LABELS
from alma_core.io import atomic_write_json, read_json, stable_hash
from alma_core.jobs.store import resolve
from alma_core.params.common import PROFILES
from alma_core.reported.paper import reported

__all__ = [
    "REPRODUCED",
    "NOT_REPRODUCED",
    "INCONCLUSIVE",
    "NOT_RUN",
    "ScorecardError",
    "Claim",
    "Results",
    "record",
    "record_path",
    "sweep_attributes",
    "load_results",
    "paper_avg",
    "verdict",
    "noise_of",
    "paper_meets",
    "evaluate",
    "RULES",
    "label",
]

REPRODUCED, NOT_REPRODUCED, NOT_RUN = "reproduced", "not reproduced", "not run at this profile"
INCONCLUSIVE = "inconclusive"  # the build figure is not resolved by the profile's measured noise (issue 21, item 19)
SIGN_KINDS = ("beats", "no_gain")  # claims about the sign of a difference; the others are about closeness
RECORDS = "chapters"
PAPER_SCALE = ("paper", "released")  # claims that compare with the paper's absolute figures


class ScorecardError(ValueError):
    """A claim whose figure cannot be computed from a chapter's record (a system or metric the record lacks)."""


class NotRun(Exception):
    """Raised inside a claim's build figure when this profile did not produce what it needs; carries the reason."""


# ---------------------------------------------------------------------------------------------
# Writing and reading the chapters' records


def record_path(store_dir: str | Path, chapter: str) -> Path:
    """Where a chapter's record lives: `<store_dir>/chapters/<chapter>.json`."""
    return resolve(store_dir) / RECORDS / f"{chapter}.json"


def record(params: Any, chapter: str, scores: pd.DataFrame, attributes: Mapping[str, Mapping[str, Any]] | None = None,
           meta: Mapping[str, Any] | None = None) -> None:
    """Write a chapter's tidy scores (plus per-system attributes) for the scorecard. Used by every chapter notebook."""
    frame = scores.copy()
    for name, attrs in (attributes or {}).items():
        for key, value in attrs.items():
            if key not in frame.columns:
                frame[key] = None
            frame.loc[frame["system"] == name, key] = value
    frame = frame.astype(object).where(frame.notna(), None)
    body = {"chapter": chapter, "profile": params.profile, "written": time.strftime("%Y-%m-%d %H:%M:%S"),
            "inputs": stable_hash(params.model_dump(mode="json")), "meta": dict(meta or {}),
            "rows": frame.to_dict(orient="records")}
    atomic_write_json(record_path(params.store_dir, chapter), body)


def sweep_attributes(params: Any) -> dict[str, dict[str, Any]]:
    """Per system of a sweep (Sec. 3, 6.1, App. A): its group (backbone/objective key), pairs and stage-1 tokens."""
    out: dict[str, dict[str, Any]] = {}
    for system in params.systems:
        run = params.train.get(system.train, {}) if system.train else {}
        attrs: dict[str, Any] = {"group": system.train.rsplit("-", 1)[0] if system.train else "zero-shot",
                                 "pairs": int(run.get("max_train_examples") or 0)}
        if "objective" in run:
            attrs["group"] = run["objective"]
        if system.train and hasattr(params, "tokens_of"):
            attrs["tokens"] = int(params.tokens_of(system.name))
        out[system.name] = attrs
    return out


@dataclass
class Results:
    """What a profile's chapters recorded: {chapter: tidy frame}, their meta, and the scorecard's roles."""

    profile: str
    frames: dict[str, pd.DataFrame]
    meta: dict[str, dict[str, Any]]
    roles: dict[str, str | None]
    metric_for: dict[str, str] = field(default_factory=dict)  # scorecard params `metric_for`

    def frame(self, chapter: str) -> pd.DataFrame:
        """A chapter's recorded scores; NotRun when the chapter has not run in this profile."""
        if chapter not in self.frames:
            raise NotRun(f"{chapter} has no record in this profile's store")
        return self.frames[chapter]

    def role(self, role: str) -> str:
        """The system name that plays `role` in this profile (scorecard params `roles`)."""
        name = self.roles.get(role)
        if name is None:
            raise NotRun(f"no system plays '{role}' in this profile (scorecard params `roles`)")
        return name

    def _rows(self, chapter: str, metric: str, direction: str, match: Mapping[str, Any]) -> pd.DataFrame:
        """The recorded rows of one metric and direction (en-xx or xx-en) that match every `match` column."""
        frame = self.frame(chapter)
        if "direction" not in frame.columns:
            raise ScorecardError(f"the {chapter} record has no directions; it is not a translation chapter")
        rows = frame[(frame["metric"] == metric) & (frame["direction"] == direction)]
        for key, value in match.items():
            if key not in frame.columns:
                raise ScorecardError(f"the {chapter} record has no column {key!r}; rerun the chapter to rewrite it")
            rows = rows[rows[key] == value]
        if rows.empty:
            raise ScorecardError(f"the {chapter} record has no {metric} {direction} rows for {match}; the claim and "
                                 f"the chapter disagree (rerun the chapter, or fix the claim or the scorecard roles)")
        values = pd.to_numeric(rows["value"], errors="coerce")
        if values.isna().all():
            raise NotRun(f"{metric} not computed in {chapter} ({rows['note'].iloc[0] if 'note' in rows else ''})")
        return rows.assign(value=values).dropna(subset=["value"])

    def avg(self, chapter: str, metric: str, direction: str, **match: Any) -> float:
        """Mean of `metric` over the recorded languages of `direction` (en-xx, xx-en, or both = mean of the two)."""
        metric = self.metric_for.get(metric, metric)
        if direction == "both":
            return (self.avg(chapter, metric, "en-xx", **match) + self.avg(chapter, metric, "xx-en", **match)) / 2
        return float(self._rows(chapter, metric, direction, match)["value"].mean())

    def cells(self, chapter: str, metric: str, direction: str, **match: Any) -> dict[str, float]:
        """Sec. 5.4: {language: value} of `metric` in one direction, the cells an average is made of."""
        rows = self._rows(chapter, self.metric_for.get(metric, metric), direction, match)
        rows = rows[rows["lang"] != "avg"]
        return {str(lang): float(v) for lang, v in rows.groupby("lang", sort=False)["value"].mean().items()}


def load_results(params: Any) -> Results:
    """Read every chapter record under the scorecard's store (never trains or evaluates)."""
    frames, meta = {}, {}
    for path in sorted((resolve(params.store_dir) / RECORDS).glob("*.json")):
        body = read_json(path)
        frames[body["chapter"]] = pd.DataFrame(body["rows"])
        meta[body["chapter"]] = body.get("meta", {})
    return Results(params.profile, frames, meta, dict(params.roles), dict(getattr(params, "metric_for", {}) or {}))


# ---------------------------------------------------------------------------------------------
# The paper's side


def paper_avg(table: int, metric: str, direction: str, *, system: str | None = None,
              setting: str | None = None) -> float:
    """The paper's Avg. cell of a reported table (Tables 1-11), or the mean of the two directions for 'both'."""
    if direction == "both":
        return (paper_avg(table, metric, "en-xx", system=system, setting=setting)
                + paper_avg(table, metric, "xx-en", system=system, setting=setting)) / 2
    frame = reported(table)
    rows = frame[(frame["metric"] == metric) & (frame["direction"] == direction) & (frame["lang"] == "avg")]
    if system is not None:
        rows = rows[rows["system"] == system]
    if setting is not None:
        rows = rows[rows["setting"] == setting]
    if len(rows) != 1:
        raise ScorecardError(f"Table {table} has {len(rows)} Avg. cells for {system!r}/{setting!r} {metric} "
                             f"{direction}; name one row")
    return float(rows["value"].iloc[0])


# ---------------------------------------------------------------------------------------------
# Claims and verdicts


@dataclass(frozen=True)
class Claim:
    """One claim of the paper: where it is, what figure measures it, how each side computes it, and its rule."""

    number: int
    text: str
    where: str
    chapter: str
    figure: str
    kind: str  # beats | no_gain | matches | at_least | equals
    metric: str
    paper: Callable[[], float | None]
    build: Callable[[Results], float]
    profiles: tuple[str, ...] = PROFILES
    stated: float | None = None  # the number the paper's sentence states (a 'beats' margin at the paper's scale)
    metrics: tuple[str, ...] = ()  # further metrics the figure combines (its noise is the largest of theirs)
    note: Callable[[], str] | None = None  # the paper side, in words: per-model figures, shortfalls, inferred cells


RULES = {
    "beats": "reproduced when this build's difference exceeds the margin (`effect`; at the paper's scale also the "
             "number the paper states); inconclusive when |difference| is within the profile's measured `noise`",
    "no_gain": "reproduced when this build's difference does not exceed the margin (`effect`); inconclusive when "
               "|difference| is within the profile's measured `noise`",
    "matches": "reproduced when |this build's difference| is within the metric's tolerance; inconclusive when the "
               "profile's measured `noise` exceeds the tolerance (it cannot resolve it)",
    "at_least": "reproduced when this build's difference is above minus the metric's tolerance; inconclusive when "
                "the measured `noise` exceeds the tolerance",
    "equals": "reproduced when |this build - paper| is within the metric's tolerance; inconclusive when the "
              "measured `noise` exceeds the tolerance",
}


def noise_of(claim: Claim, noise: Mapping[str, float]) -> float:
    """The profile's measured seed spread for a claim's figure: the largest over the metrics it combines."""
    return max(float(noise.get(m, 0.0)) for m in (claim.metric, *claim.metrics))


def _margin(claim: Claim, effect: float, stated_applies: bool) -> float:
    """A 'beats' claim's margin: `effect`, or the paper's stated number where the profile runs the paper's scale."""
    if stated_applies and claim.stated is not None and claim.kind == "beats":
        return max(effect, claim.stated)
    return effect


def verdict(claim: Claim, paper: float | None, build: float, tolerance: Mapping[str, float], effect: float,
            noise: float = 0.0, stated_applies: bool = False) -> str:
    """The claim's verdict from this build's figure under the stated rule, tolerance and noise (see RULES)."""
    tol = tolerance.get(claim.metric, 1.0)
    margin = _margin(claim, effect, stated_applies)
    if claim.kind not in RULES:
        raise ScorecardError(f"claim {claim.number}: unknown kind {claim.kind!r}; use one of {sorted(RULES)}")
    if claim.kind == "equals" and paper is None:
        raise ScorecardError(f"claim {claim.number} compares with the paper's figure, which it does not compute")
    if noise > 0 and (abs(build) <= noise if claim.kind in SIGN_KINDS else noise > tol):
        return INCONCLUSIVE
    ok = {"beats": lambda: build > margin, "no_gain": lambda: build <= margin, "matches": lambda: abs(build) <= tol,
          "at_least": lambda: build >= -tol, "equals": lambda: abs(build - (paper or 0.0)) <= tol}[claim.kind]()
    return REPRODUCED if ok else NOT_REPRODUCED


def paper_meets(claim: Claim, tolerance: Mapping[str, float]) -> bool | None:
    """Whether the paper's own figure (its tables) meets the claim as worded (the rule at the paper's scale, the
    stated number included); None when the paper gives a figure only."""
    paper = claim.paper()
    if paper is None:
        return None
    if claim.kind == "equals":
        return claim.stated is None or abs(paper - claim.stated) <= tolerance.get(claim.metric, 1.0)
    return verdict(claim, paper, paper, tolerance, 0.0, stated_applies=True) == REPRODUCED


def evaluate(claim: Claim, results: Results, tolerance: Mapping[str, float], effect: float,
             noise: Mapping[str, float] | None = None) -> dict[str, Any]:
    """One scorecard row: the paper's figure and note, this build's figure, the verdict (or why it was not run)."""
    paper = claim.paper()
    row = {"claim": claim.number, "paper": paper, "build": None, "verdict": NOT_RUN, "why": "",
           "note": claim.note() if claim.note else ""}
    if results.profile not in claim.profiles:
        plural = "s" if len(claim.profiles) > 1 else ""
        row["why"] = f"needs the paper's scale: runs at the {' and '.join(claim.profiles)} profile{plural}"
        return row
    try:
        build = float(claim.build(results))
    except NotRun as reason:
        row["why"] = str(reason)
        return row
    row.update(build=build, verdict=verdict(claim, paper, build, tolerance, effect, noise_of(claim, noise or {}),
                                            results.profile in PAPER_SCALE))
    return row


def label(direction: str) -> str:
    """en→xx / xx→en / both directions."""
    return DIRECTION_LABELS.get(direction, "both directions")
