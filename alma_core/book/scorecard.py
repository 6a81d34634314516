"""The reproduction scorecard page (Sec. 2-6, App. A-J): one row per claim of the paper with the paper's figure, this
build's figure read from the chapters' records in the store, the profile and a verdict from a stated tolerance.

Chapters call `record` after they evaluate; the scorecard reads the records and never trains or evaluates.
The claims are `alma_core.book.claims.CLAIMS`; the rules and records are `alma_core.book.verdicts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from alma_core.book.claims import CLAIMS
from alma_core.book.verdicts import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    NOT_RUN,
    PAPER_SCALE,
    REPRODUCED,
    RULES,
    Claim,
    Results,
    evaluate,
    load_results,
    paper_meets,
    record,
    record_path,
    sweep_attributes,
)
from alma_core.io import read_json

__all__ = ["CLAIMS", "record", "sweep_attributes", "scorecard", "counts", "claims_of", "chapter_links",
           "page_table", "rules_table", "records_table", "summary", "noise_note", "VERDICTS"]

VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_RUN)
VERDICT_STYLE = {REPRODUCED: "✓ reproduced", NOT_REPRODUCED: "✗ not reproduced",
                 INCONCLUSIVE: "≈ inconclusive (within the measured noise)", NOT_RUN: "– not run at this profile"}
SHORT = "the paper's own figure does not meet the claim as worded"


def scorecard(params: Any, claims: Sequence[Claim] = CLAIMS, results: Results | None = None) -> pd.DataFrame:
    """Every claim's row for the scorecard params' profile, read from the chapters' records (never trains)."""
    results = results if results is not None else load_results(params)
    rows = []
    for claim in claims:
        metric = results.metric_for.get(claim.metric, claim.metric)  # e.g. COMET claims in BLEU at the mini profile
        figure = claim.figure if metric == claim.metric else f"{claim.figure} (in {metric.upper()} at this profile)"
        judged = replace(claim, metric=metric, metrics=tuple(results.metric_for.get(m, m) for m in claim.metrics))
        row = evaluate(judged, results, params.tolerance, params.effect, getattr(params, "noise", {}))
        meets = paper_meets(claim, params.tolerance)
        note = "; ".join(n for n in (SHORT if meets is False else "", row["note"], _stated_note(claim, params))
                         if n)
        rows.append({**row, "note": note, "paper_meets": meets, "text": claim.text, "where": claim.where,
                     "chapter": claim.chapter, "figure": figure, "kind": claim.kind, "metric": metric})
    table = pd.DataFrame(rows)
    table["profile"] = params.profile
    return table


def _stated_note(claim: Claim, params: Any) -> str:
    """Sec. 5.4 / abstract: where a 'beats' claim's stated number is not this profile's margin, the row says so."""
    if claim.stated is None or claim.kind != "beats" or params.profile in PAPER_SCALE:
        return ""
    return (f"the stated {claim.stated:g} is the margin at the paper's scale only; here the build is judged by the "
            f"sign of the difference (margin {params.effect:g})")


def counts(table: pd.DataFrame) -> dict[str, int]:
    """How many claims got each verdict, inconclusive ones apart (the page's prose and the book's closing note)."""
    return {v: int((table["verdict"] == v).sum()) for v in VERDICTS}


def noise_note(params: Any) -> str:
    """The profile's measured noise and how it was measured, or that the margin is unmeasured (issue 21)."""
    noise = getattr(params, "noise", {}) or {}
    how = getattr(params, "noise_measured", "") or "not measured"
    if not noise:
        return (f"The margin is **unmeasured** at the `{params.profile}` profile ({how}): no verdict here is "
                "inconclusive, and none is tested against a seed spread.")
    values = ", ".join(f"{metric} {value:g}" for metric, value in noise.items())
    return (f"Measured noise at the `{params.profile}` profile (the spread over seeds of the same run): {values}. "
            f"Measured: {how}. A build difference within it is **inconclusive**.")


def summary(table: pd.DataFrame) -> str:
    """One sentence with the verdict counts of a scorecard: reproduced / not reproduced / inconclusive / not run."""
    c = counts(table)
    return (f"Of {len(table)} claims, **{c[REPRODUCED]} reproduced**, **{c[NOT_REPRODUCED]} not reproduced**, "
            f"**{c[INCONCLUSIVE]} inconclusive** and **{c[NOT_RUN]} not run** at the `{table['profile'].iloc[0]}` "
            "profile.")


def claims_of(chapter: str, claims: Sequence[Claim] = CLAIMS) -> list[int]:
    """The numbers of the claims a chapter tests."""
    return [c.number for c in claims if c.chapter == chapter]


def chapter_links(chapter: str, claims: Sequence[Claim] = CLAIMS) -> str:
    """'Scorecard: claims N, M' linked to their rows (markdown with HTML anchors). Used by every chapter notebook."""
    numbers = claims_of(chapter, claims)
    if not numbers:
        return 'This chapter tests no headline claim; the verdicts are on the <a href="scorecard.html">scorecard</a>.'
    links = ", ".join(f'<a href="scorecard.html#claim-{n}">{n}</a>' for n in numbers)
    return f"**Scorecard**: claim{'s' if len(numbers) > 1 else ''} {links} (the verdicts, paper vs. this build)."


def _fmt(value: Any) -> str:
    """A figure with a sign, two decimals; '–' when absent."""
    return "–" if value is None or pd.isna(value) else f"{value:+.2f}"


def page_table(table: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as displayed: anchored rows, linked chapters, signed figures, the verdict and why."""
    shown = pd.DataFrame({
        "claim": [f'<span id="claim-{n}"></span>{n}. {t}' for n, t in zip(table["claim"], table["text"])],
        "figure (what is measured)": table["figure"],
        "paper": ["figure only (no table)" if v is None or pd.isna(v) else _fmt(v) for v in table["paper"]],
        "note": table["note"],
        "this build": [_fmt(v) for v in table["build"]],
        "verdict": [VERDICT_STYLE[v] + (f" ({why})" if why else "") for v, why in zip(table["verdict"], table["why"])],
        "chapter": [f'<a href="{c}.html">{w}</a>' for c, w in zip(table["chapter"], table["where"])],
    })
    return shown.set_index("claim")


def rules_table(params: Any) -> pd.DataFrame:
    """The stated rules and tolerances the verdicts use."""
    rows = {kind: {"rule": text} for kind, text in RULES.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "kind of claim"
    tol = ", ".join(f"{metric} {value:g}" for metric, value in params.tolerance.items())
    table["tolerance"] = [f"margin {params.effect:g}" if k in ("beats", "no_gain") else tol for k in table.index]
    noise = getattr(params, "noise", {}) or {}
    table["noise"] = ", ".join(f"{metric} {value:g}" for metric, value in noise.items()) or "unmeasured"
    return table


def records_table(params: Any, claims: Sequence[Claim] = CLAIMS) -> pd.DataFrame:
    """Which chapter records the scorecard read: when each was written, how many rows, which claims use it."""
    rows = {}
    for chapter in dict.fromkeys(c.chapter for c in claims):
        path = record_path(params.store_dir, chapter)
        body = read_json(path) if path.is_file() else {}
        rows[f'<a href="{chapter}.html">{chapter}</a>'] = {
            "written": body.get("written", "no record"), "score rows": len(body.get("rows", [])),
            "claims": ", ".join(map(str, claims_of(chapter, claims)))}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "chapter"
    return table
