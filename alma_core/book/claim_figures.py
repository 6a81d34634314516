"""The figures the scorecard's claims are made of (Sec. 2-6, App. A-J): each build figure from the chapters'
records (`verdicts.Results`), each paper figure from the reported tables (`reported.paper`), and the notes that say
in words what the paper's tables give (per-model figures, shortfalls, inferred cells). The claims are
`alma_core.book.claims`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from alma_core.book.verdicts import NotRun, Results, ScorecardError, paper_avg
from alma_core.reported.paper import reported

__all__ = ["sweep_point", "accuracy_gain", "paper_accuracy_gain", "Cell"]

S2, S3, S5, S61, S62 = ("sec2_zero_shot", "sec3_parallel_data", "sec5_main_results", "sec6_1_monolingual_tokens",
                        "sec6_2_data_quality")
AJ = "appJ_crosslingual"
DIRECTIONS = ("en-xx", "xx-en")
OTHER_7B = {"OPT-7B": "opt_7b_zero_shot", "BLOOM-7B": "bloom_7b_zero_shot", "Falcon-7B": "falcon_7b_zero_shot",
            "LLaMA-1-7B": "llama1_7b_zero_shot", "MPT-7B": "mpt_7b_zero_shot"}  # Table 4 row -> scorecard role
PRIOR = ("TIM-BLOOMZ-7B", "TIM-LLaMA-1-7B", "SWIE-BLOOMZ-7B", "SWIE-LLaMA-1-7B", "BigTranslate-13B", "BayLing-13B")
SOTA = ("NLLB-54B", "GPT-3.5-D", "GPT-3.5-T", "GPT-4")
ALMA = {"ALMA-7B": "LLaMA-2-7B", "ALMA-7B-LoRA": "LLaMA-2-7B", "ALMA-13B": "LLaMA-2-13B",
        "ALMA-13B-LoRA": "LLaMA-2-13B"}  # each ALMA model and its zero-shot backbone (Tables 1-2)
Cell = tuple[str, str, str]  # (direction, lang, metric)


# ---------------------------------------------------------------------------------------------
# Build side: the chapters' records


def sys_avg(r: Results, chapter: str, metric: str, direction: str, system: str) -> float:
    """A recorded system's average (by name)."""
    return r.avg(chapter, metric, direction, system=system)


def role_avg(r: Results, chapter: str, metric: str, direction: str, role: str) -> float:
    """The average of the system playing `role` in this profile."""
    return r.avg(chapter, metric, direction, system=r.role(role))


def sweep_point(r: Results, chapter: str, metric: str, direction: str, group: str, which: str) -> float:
    """A sweep's value (Sec. 3, 6.1, App. A) at its 'first'/'last' point, or the 'best_before_last' one."""
    frame = r.frame(chapter)
    if "group" not in frame.columns:
        raise ScorecardError(f"the {chapter} record has no sweep attributes; rerun the chapter to rewrite it")
    points = sorted({int(p) for p in frame.loc[frame["group"] == group, "pairs"].dropna()})
    if not points:
        raise NotRun(f"no '{group}' runs in {chapter} in this profile")
    if which == "best_before_last":
        if len(points) < 2:
            raise NotRun(f"{chapter} has one '{group}' step only")
        return max(r.avg(chapter, metric, direction, group=group, pairs=p) for p in points[:-1])
    return r.avg(chapter, metric, direction, group=group, pairs=points[0 if which == "first" else -1])


def first_nonzero(r: Results, chapter: str, metric: str, direction: str, group: str) -> float:
    """App. A: a group's value at the smallest non-zero data step."""
    frame = r.frame(chapter)
    points = sorted({int(p) for p in frame.loc[frame["group"] == group, "pairs"].dropna() if int(p) > 0})
    if not points:
        raise NotRun(f"no '{group}' runs with data in {chapter}")
    return r.avg(chapter, metric, direction, group=group, pairs=points[0])


def snapshot(r: Results, metric: str, direction: str, which: str) -> float:
    """Sec. 6.1: the first or last stage-1 snapshot (fewest / most tokens), after stage 2."""
    frame = r.frame(S61)
    if "tokens" not in frame.columns:
        raise ScorecardError(f"the {S61} record has no stage-1 token counts; rerun the chapter to rewrite it")
    tokens = sorted({int(t) for t in frame["tokens"].dropna()})
    return r.avg(S61, metric, direction, tokens=tokens[0 if which == "first" else -1])


def accuracy_gain(r: Results, chapter: str = AJ) -> float:
    """App. J: after minus before stage 1 (the first `before_after` pair), mean accuracy over non-English cells."""
    frame = r.frame(chapter)
    pairs = r.meta.get(chapter, {}).get("before_after") or []
    if not pairs:
        raise NotRun(f"{chapter} names no before/after pair (params `before_after`)")
    before, after = pairs[0]
    rows = frame[(frame["metric"] == "accuracy") & (frame["lang"] != "en") & (frame["lang"] != "avg")]
    wide = rows.pivot_table(index=["task", "lang"], columns="system", values="value", aggfunc="first")
    if before not in wide.columns or after not in wide.columns:
        raise ScorecardError(f"the {chapter} record lacks {before!r} or {after!r}; rerun the chapter")
    return float((wide[after] - wide[before]).mean())


def best_other_7b(r: Results, metric: str, direction: str) -> float:
    """Sec. 2.2: the best zero-shot average of the other 7B backbones (every one of Table 4's must play its role)."""
    return max(role_avg(r, S2, metric, direction, role) for role in OTHER_7B.values())


def recipe_gain(r: Results) -> float:
    """Sec. 5.4 / abstract: the smallest of the ALMA roles' BLEU and COMET gains over zero-shot (both directions)."""
    return min(role_avg(r, S5, m, "both", alma) - role_avg(r, S5, m, "both", "zero_shot")
               for alma in ("alma_full", "alma_lora") for m in ("bleu", "comet"))


def beyond_bleu(r: Results) -> float:
    """Sec. 3.2 'Beyond BLEU': the smaller of LLaMA-2-7B's BLEU rise and COMET fall, smallest to largest step."""
    if r.metric_for.get("comet", "comet") != "comet":
        raise NotRun("COMET is not computed at this profile, so the BLEU/COMET divergence cannot show")
    bleu = sweep_point(r, S3, "bleu", "en-xx", "llama", "last") - sweep_point(r, S3, "bleu", "en-xx", "llama", "first")
    comet = sweep_point(r, S3, "comet", "en-xx", "llama", "first") - sweep_point(r, S3, "comet", "en-xx", "llama",
                                                                                  "last")
    return min(bleu, comet)


def build_cells(r: Results, role: str, metrics: Iterable[str] = ("bleu", "comet")) -> dict[Cell, float]:
    """Sec. 5.4: the per-language cells (both directions) of the system playing `role` in the Sec. 5 record."""
    system = r.role(role)
    return {(d, lang, m): v for m in metrics for d in DIRECTIONS
            for lang, v in r.cells(S5, m, d, system=system).items()}


# ---------------------------------------------------------------------------------------------
# Paper side: Tables 1-4, 8


def t12(metric: str, direction: str, system: str) -> float:
    """Tables 1 (en→xx) / 2 (xx→en): a system's Avg. cell."""
    return paper_avg(1 if direction == "en-xx" else 2, metric, direction, system=system)


def both(metric: str, system: str) -> float:
    """Tables 1-2: the mean of a system's two Avg. cells (the paper's 10-direction average)."""
    return (t12(metric, "en-xx", system) + t12(metric, "xx-en", system)) / 2


def t4(metric: str, direction: str, system: str) -> float:
    """Table 4 (App. B, Fig. 3): a 7B backbone's zero-shot Avg. cell."""
    return paper_avg(4, metric, direction, system=system)


def paper_cells(system: str, metrics: Iterable[str] = ("bleu", "comet")) -> dict[Cell, float]:
    """Tables 1-2: a system's per-language cells (the blank cells of the paper have none)."""
    out: dict[Cell, float] = {}
    for table in (1, 2):
        rows = reported(table)
        rows = rows[(rows["system"] == system) & (rows["lang"] != "avg") & rows["metric"].isin(list(metrics))]
        out.update({(d, lang, m): float(v) for d, lang, m, v in
                    zip(rows["direction"], rows["lang"], rows["metric"], rows["value"])})
    return out


def best_of(systems: Iterable[str], metrics: Iterable[str] = ("bleu", "comet")) -> dict[Cell, float]:
    """Tables 1-2: per cell, the best value any of `systems` reports."""
    best: dict[Cell, float] = {}
    for system in systems:
        for cell, value in paper_cells(system, metrics).items():
            best[cell] = max(value, best.get(cell, value))
    return best


def margins(cells: Mapping[Cell, float], reference: Mapping[Cell, float]) -> dict[Cell, float]:
    """Cell by cell, `cells` minus `reference`, over the cells both have."""
    common = [c for c in reference if c in cells]
    if not common:
        raise NotRun("this build evaluated none of the cells the paper's comparison systems report")
    return {c: cells[c] - reference[c] for c in common}


def prior_margin(cells: Mapping[Cell, float]) -> float:
    """Sec. 5.4: the smallest margin over the best prior similar study, over every cell they report."""
    return min(margins(cells, best_of(PRIOR)).values())


def trails(cells: Mapping[Cell, float]) -> float:
    """Sec. 5.4: the smallest lead of GPT-3.5-T / GPT-4 over `cells` per metric, averaged over the cells they report."""
    leads = []
    for system in ("GPT-3.5-T", "GPT-4"):
        for metric in ("bleu", "comet"):
            diff = margins(cells, paper_cells(system, (metric,)))
            leads.append(-sum(diff.values()) / len(diff))
    return min(leads)


def iceland(cells: Mapping[Cell, float], metric: str = "comet") -> float:
    """Sec. 5.4: per direction, the margin over the best SoTA model on is and its excess over every other language's
    margin; the smallest of these."""
    diff = margins(cells, best_of(SOTA, (metric,)))
    out = []
    for d in DIRECTIONS:
        if (d, "is", metric) not in diff:
            raise NotRun("this build did not evaluate Icelandic")
        others = [v for (dd, lang, _m), v in diff.items() if dd == d and lang != "is"]
        out += [diff[(d, "is", metric)], diff[(d, "is", metric)] - max(others, default=float("-inf"))]
    return min(out)


def paper_recipe_gain(alma: str, metric: str) -> float:
    """Tables 1-2: an ALMA model's 10-direction gain over its zero-shot backbone."""
    return both(metric, alma) - both(metric, ALMA[alma])


def paper_accuracy_gain() -> float:
    """Table 12: LLaMA-2-7B after 20B stage-1 tokens minus before, mean accuracy over non-English cells."""
    t = reported(12)
    t = t[(t["system"] == "LLaMA-2-7B") & (t["lang"] != "en") & (t["lang"] != "avg")]
    wide = t.pivot_table(index=["task", "lang"], columns="setting", values="value", aggfunc="first")
    return float((wide["20B mono."] - wide[""]).mean())


def inferred_cells(table: int, system: str) -> int:
    """How many of a system's cells of a reported table are not in the OCR'd table but inferred (their `note`)."""
    rows = reported(table)
    return int((rows["system"].eq(system) & rows["note"].fillna("").str.startswith("NOT IN OCR")).sum())
