"""The paper's headline claims (Sec. 2-6, App. A-J) as a declarative list: each claim's paper figure is computed from
the reported tables (`reported.paper`), its build figure from the chapters' records (`scorecard_rules.Results`).

A figure is a difference (A minus B) unless the claim compares one number with the paper's ("equals"). Build
figures average over the languages the profile evaluates; the paper's use its printed Avg. cells.
"""

from __future__ import annotations

from alma_core.book.verdicts import PAPER_SCALE, Claim, NotRun, Results, ScorecardError, paper_avg
from alma_core.reported.paper import reported

__all__ = ["CLAIMS", "sweep_point", "accuracy_gain", "paper_accuracy_gain"]

S2, S3, S5, S61, S62 = ("sec2_zero_shot", "sec3_parallel_data", "sec5_main_results", "sec6_1_monolingual_tokens",
                        "sec6_2_data_quality")
AE, AH, AI, AA, AJ = "appE_off_target", "appH_human_written_data", "appI_icl", "appA_objectives", "appJ_crosslingual"


def _sys(r: Results, chapter: str, metric: str, direction: str, system: str) -> float:
    """A recorded system's average (by name)."""
    return r.avg(chapter, metric, direction, system=system)


def _role(r: Results, chapter: str, metric: str, direction: str, role: str) -> float:
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


def _first_nonzero(r: Results, chapter: str, metric: str, direction: str, group: str) -> float:
    """App. A: a group's value at the smallest non-zero data step."""
    frame = r.frame(chapter)
    points = sorted({int(p) for p in frame.loc[frame["group"] == group, "pairs"].dropna() if int(p) > 0})
    if not points:
        raise NotRun(f"no '{group}' runs with data in {chapter}")
    return r.avg(chapter, metric, direction, group=group, pairs=points[0])


def _snapshot(r: Results, metric: str, direction: str, which: str) -> float:
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


def paper_accuracy_gain() -> float:
    """Table 12: LLaMA-2-7B after 20B stage-1 tokens minus before, mean accuracy over non-English cells."""
    t = reported(12)
    t = t[(t["system"] == "LLaMA-2-7B") & (t["lang"] != "en") & (t["lang"] != "avg")]
    wide = t.pivot_table(index=["task", "lang"], columns="setting", values="value", aggfunc="first")
    return float((wide["20B mono."] - wide[""]).mean())


def _t3(setting: str, direction: str) -> float:
    return paper_avg(3, "bleu", direction, setting=setting)


def _t11(setting: str, direction: str) -> float:
    return paper_avg(11, "bleu", direction, setting=setting)


def _t6(system: str, setting: str, metric: str = "bleu") -> float:
    return paper_avg(6, metric, "en-xx", system=system, setting=setting)


def _t12(metric: str, direction: str, system: str, table: int = 1) -> float:
    return paper_avg(table if direction == "en-xx" else table + 1, metric, direction, system=system)


def _both(table_pair: int, metric: str, system: str) -> float:
    return (_t12(metric, "en-xx", system, table_pair) + _t12(metric, "xx-en", system, table_pair)) / 2


HW, FIL, RND = "mono=yes,parallel=HW", "mono=yes,parallel=Filtered", "mono=yes,parallel=Random"

CLAIMS: tuple[Claim, ...] = (
    Claim(1, "Zero-shot, LLaMA-2-7B translates better into English than out of it", "Sec. 2.2, Fig. 3, Table 4", S2,
          "xx→en minus en→xx, avg. BLEU, LLaMA-2-7B zero-shot", "beats", "bleu",
          lambda: paper_avg(4, "bleu", "xx-en", system="LLaMA-2-7B")
          - paper_avg(4, "bleu", "en-xx", system="LLaMA-2-7B"),
          lambda r: _role(r, S2, "bleu", "xx-en", "llama2_7b_zero_shot") - _role(r, S2, "bleu", "en-xx",
                                                                                  "llama2_7b_zero_shot")),
    Claim(2, "Zero-shot, LLaMA-2-7B beats MPT-7B on en→xx COMET (MPT-7B leads in BLEU)", "Sec. 2.2, Fig. 3, Table 4",
          S2, "LLaMA-2-7B minus MPT-7B, avg. COMET en→xx", "beats", "comet",
          lambda: paper_avg(4, "comet", "en-xx", system="LLaMA-2-7B") - paper_avg(4, "comet", "en-xx", system="MPT-7B"),
          lambda r: _role(r, S2, "comet", "en-xx", "llama2_7b_zero_shot") - _role(r, S2, "comet", "en-xx",
                                                                                   "mpt_7b_zero_shot")),
    Claim(3, "Small parallel data is enough: LLaMA-2-7B's COMET does not improve at the largest data step",
          "Sec. 3.2, Fig. 4", S3, "COMET at the largest step minus the best smaller step, LLaMA-2-7B, en→ru", "no_gain",
          "comet", lambda: None,
          lambda r: sweep_point(r, S3, "comet", "en-xx", "llama", "last")
          - sweep_point(r, S3, "comet", "en-xx", "llama", "best_before_last")),
    Claim(4, "MPT-7B, the weaker translator, keeps improving with more parallel data", "Sec. 3.2, Fig. 4", S3,
          "COMET at the largest minus the smallest step, MPT-7B, en→ru", "beats", "comet", lambda: None,
          lambda r: sweep_point(r, S3, "comet", "en-xx", "mpt", "last") - sweep_point(r, S3, "comet", "en-xx", "mpt",
                                                                                      "first")),
    Claim(5, "Large parallel data washes out the knowledge: LLaMA-2-7B ends close to a model trained from scratch",
          "Sec. 3.2, Fig. 4", S3, "LLaMA-2-7B minus from scratch, COMET at the largest step, en→ru", "matches",
          "comet", lambda: None,
          lambda r: sweep_point(r, S3, "comet", "en-xx", "llama", "last") - sweep_point(r, S3, "comet", "en-xx",
                                                                                        "scratch", "last")),
    Claim(6, "The recipe lifts LLaMA-2 far above its zero-shot translation (more than 12 BLEU on average)",
          "Sec. 5, Tables 1-2", S5, "ALMA-13B-LoRA minus LLaMA-2-13B zero-shot, avg. BLEU, both directions", "beats",
          "bleu", lambda: _both(1, "bleu", "ALMA-13B-LoRA") - _both(1, "bleu", "LLaMA-2-13B"),
          lambda r: _role(r, S5, "bleu", "both", "alma_lora") - _role(r, S5, "bleu", "both", "zero_shot")),
    Claim(7, "ALMA-13B-LoRA beats NLLB-54B on en→xx COMET", "Sec. 5, Table 1", S5,
          "ALMA-13B-LoRA minus NLLB-54B (the paper's figure), avg. COMET en→xx", "beats", "comet",
          lambda: _t12("comet", "en-xx", "ALMA-13B-LoRA") - _t12("comet", "en-xx", "NLLB-54B"),
          lambda r: _role(r, S5, "comet", "en-xx", "alma_lora") - _t12("comet", "en-xx", "NLLB-54B"), PAPER_SCALE),
    Claim(8, "ALMA-13B-LoRA beats GPT-3.5-D on xx→en COMET", "Sec. 5, Table 2", S5,
          "ALMA-13B-LoRA minus GPT-3.5-D (the paper's figure), avg. COMET xx→en", "beats", "comet",
          lambda: _t12("comet", "xx-en", "ALMA-13B-LoRA") - _t12("comet", "xx-en", "GPT-3.5-D"),
          lambda r: _role(r, S5, "comet", "xx-en", "alma_lora") - _t12("comet", "xx-en", "GPT-3.5-D"), PAPER_SCALE),
    Claim(9, "LoRA on down_proj (0.1% of the weights) matches full-weight fine-tuning", "Sec. 5, Tables 1-2", S5,
          "ALMA-13B-LoRA minus ALMA-13B, avg. COMET, both directions", "matches", "comet",
          lambda: _both(1, "comet", "ALMA-13B-LoRA") - _both(1, "comet", "ALMA-13B"),
          lambda r: _role(r, S5, "comet", "both", "alma_lora") - _role(r, S5, "comet", "both", "alma_full")),
    Claim(10, "Table 1: ALMA-13B-LoRA's average en→xx BLEU", "Sec. 5, Table 1", S5,
          "avg. BLEU en→xx of ALMA-13B-LoRA", "equals", "bleu", lambda: _t12("bleu", "en-xx", "ALMA-13B-LoRA"),
          lambda r: _role(r, S5, "bleu", "en-xx", "alma_lora"), PAPER_SCALE),
    Claim(11, "Table 2: ALMA-13B-LoRA's average xx→en COMET", "Sec. 5, Table 2", S5,
          "avg. COMET xx→en of ALMA-13B-LoRA", "equals", "comet", lambda: _t12("comet", "xx-en", "ALMA-13B-LoRA"),
          lambda r: _role(r, S5, "comet", "xx-en", "alma_lora"), PAPER_SCALE),
    Claim(12, "1B monolingual tokens, then stage 2, already match NLLB-54B", "Sec. 6.1, Fig. 5, Table 8", S61,
          "first stage-1 snapshot (1B) minus NLLB-54B (the paper's figure), avg. COMET en→xx", "at_least", "comet",
          lambda: paper_avg(8, "comet", "en-xx", system="ALMA-7B@1B") - _t12("comet", "en-xx", "NLLB-54B"),
          lambda r: _snapshot(r, "comet", "en-xx", "first") - _t12("comet", "en-xx", "NLLB-54B"), ("paper",)),
    Claim(13, "More monolingual tokens help, slowly: the last snapshot beats the first", "Sec. 6.1, Fig. 5, Table 8",
          S61, "last minus first stage-1 snapshot (each + stage 2), avg. BLEU, both directions", "beats", "bleu",
          lambda: (paper_avg(8, "bleu", "both", system="ALMA-7B@20B") - paper_avg(8, "bleu", "both",
                                                                                   system="ALMA-7B@1B")),
          lambda r: _snapshot(r, "bleu", "both", "last") - _snapshot(r, "bleu", "both", "first")),
    Claim(14, "Stage 1 + stage 2 beats stage 2 alone on the same human-written data", "Sec. 6.2, Table 3", S62,
          "mono=yes minus mono=no (HW data), avg. BLEU, both directions", "beats", "bleu",
          lambda: _t3(HW, "both") - _t3("mono=no,parallel=HW", "both"),
          lambda r: _sys(r, S62, "bleu", "both", HW) - _sys(r, S62, "bleu", "both", "mono=no,parallel=HW")),
    Claim(15, "Human-written > Filtered > Random parallel data (after stage 1)", "Sec. 6.2, Table 3", S62,
          "the smaller of HW minus Filtered and Filtered minus Random, avg. BLEU en→xx", "beats", "bleu",
          lambda: min(_t3(HW, "en-xx") - _t3(FIL, "en-xx"), _t3(FIL, "en-xx") - _t3(RND, "en-xx")),
          lambda r: min(_sys(r, S62, "bleu", "en-xx", HW) - _sys(r, S62, "bleu", "en-xx", FIL),
                        _sys(r, S62, "bleu", "en-xx", FIL) - _sys(r, S62, "bleu", "en-xx", RND))),
    Claim(16, "Stage 1 outweighs data quality: stage 1 + Random data beats human-written data without stage 1",
          "Sec. 6.2, Table 3", S62, "mono=yes Random minus mono=no HW, avg. BLEU, both directions", "beats", "bleu",
          lambda: _t3(RND, "both") - _t3("mono=no,parallel=HW", "both"),
          lambda r: _sys(r, S62, "bleu", "both", RND) - _sys(r, S62, "bleu", "both", "mono=no,parallel=HW")),
    Claim(17, "A prompt in the target language lifts zero-shot en→xx translation", "App. E, Table 6", AE,
          "target-language prompt minus English prompt, avg. BLEU en→xx, the backbone", "beats", "bleu",
          lambda: _t6("LLaMA-2-13B", "prompt in target language") - _t6("LLaMA-2-13B", "zero-shot"),
          lambda r: _sys(r, AE, "bleu", "en-xx", "prompt in target language") - _sys(r, AE, "bleu", "en-xx",
                                                                                     "zero-shot")),
    Claim(18, "The target-language prompt lowers the off-target rate (shown by example only in the paper)",
          "App. E", AE, "English prompt minus target-language prompt, off-target % en→xx", "beats", "off_target",
          lambda: None,
          lambda r: _sys(r, AE, "off_target", "en-xx", "zero-shot") - _sys(r, AE, "off_target", "en-xx",
                                                                           "prompt in target language")),
    Claim(19, "ALMA zero-shot beats the backbone with 5 human-written shots", "App. E, Table 6", AE,
          "ALMA minus HW 5-shot backbone, avg. BLEU en→xx", "beats", "bleu",
          lambda: _t6("ALMA-13B-LoRA", "") - _t6("LLaMA-2-13B", "HW 5-shot"),
          lambda r: _sys(r, AE, "bleu", "en-xx", "ALMA (stage 1 + stage 2), zero-shot") - _sys(r, AE, "bleu", "en-xx",
                                                                                              "HW 5-shot")),
    Claim(20, "Adding WMT human-written data to Flores raises xx→en BLEU", "App. H, Table 10", AH,
          "Flores+WMT minus Flores, avg. BLEU xx→en", "beats", "bleu",
          lambda: paper_avg(10, "bleu", "xx-en", setting="Flores+WMT") - paper_avg(10, "bleu", "xx-en",
                                                                                   setting="Flores"),
          lambda r: _sys(r, AH, "bleu", "xx-en", "Flores+WMT") - _sys(r, AH, "bleu", "xx-en", "Flores")),
    Claim(21, "Stage 2 beats 5-shot in-context learning with human-written shots", "App. I, Table 11", AI,
          "stage 2 minus HW 5-shot (stage-1 model), avg. BLEU en→xx", "beats", "bleu",
          lambda: _t11("stage 2", "en-xx") - _t11("HW 5-shot", "en-xx"),
          lambda r: _sys(r, AI, "bleu", "en-xx", "stage 2") - _sys(r, AI, "bleu", "en-xx", "HW 5-shot")),
    Claim(22, "Shot quality matters: 5 human-written shots beat 5 Filtered shots", "App. I, Table 11", AI,
          "HW 5-shot minus Filtered 5-shot (stage-1 model), avg. BLEU xx→en", "beats", "bleu",
          lambda: _t11("HW 5-shot", "xx-en") - _t11("Filtered 5-shot", "xx-en"),
          lambda r: _sys(r, AI, "bleu", "xx-en", "HW 5-shot") - _sys(r, AI, "bleu", "xx-en", "Filtered 5-shot")),
    Claim(23, "After stage 2, in-context examples add nothing", "App. I, Table 11", AI,
          "stage 2 + HW 5-shot minus stage 2, avg. BLEU en→xx", "no_gain", "bleu",
          lambda: _t11("stage 2 + HW 5-shot", "en-xx") - _t11("stage 2", "en-xx"),
          lambda r: _sys(r, AI, "bleu", "en-xx", "stage 2 + HW 5-shot") - _sys(r, AI, "bleu", "en-xx", "stage 2")),
    Claim(24, "With little parallel data, CLM beats prefix-LM and mixture-of-denoisers", "App. A, Fig. 6", AA,
          "CLM minus the better of prefix-LM and MoD at the smallest data step, avg. BLEU xx→en", "beats", "bleu",
          lambda: None,
          lambda r: _first_nonzero(r, AA, "bleu", "xx-en", "clm") - max(
              _first_nonzero(r, AA, "bleu", "xx-en", "prefix_lm"), _first_nonzero(r, AA, "bleu", "xx-en", "mod"))),
    Claim(25, "Stage 1 improves zero-shot cross-lingual accuracy in the non-English languages", "App. J, Table 12", AJ,
          "after minus before stage 1, mean accuracy over non-English XNLI/XStoryCloze/XWinograd cells", "beats",
          "accuracy", paper_accuracy_gain, accuracy_gain),
)
