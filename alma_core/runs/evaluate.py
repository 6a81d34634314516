"""Scoring translations per direction (Section 5.1; Appendix E off-target); the CLI prints them in the Tables 1-2
layout.

CLI: score existing hypothesis files against the test sets::

    python -m alma_core.evaluate --hyps DIR --testsets DIR --directions de-en,en-de --system NAME --out results.json

Hypothesis files in DIR, exactly one per direction: `{src}-{tgt}.jsonl` (written by
`alma_core.runs.generate.translate`), `test-{src}-{tgt}` (the official script's plain-text name) or `{src}-{tgt}.txt`
(one line per segment). Two of them for one direction (a stale file beside a new one) are refused; the file scored is
printed and stored in the results record (`hypotheses`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from alma_core.io import atomic_write_json, atomic_write_text, read_yaml_mapping
from alma_core.provenance import determinism, git_revision, hardware, package_versions
from alma_core.recipe import metrics
from alma_core.recipe.data import read_shots, shots_path
from alma_core.recipe.languages import declare_languages, get_language, wmt_test_set
from alma_core.recipe.testsets import read_test_set
from alma_core.reported.layout import paper_layout
from alma_core.runs.eval_inputs import (
    EvaluationError,
    check_job,
    find_hypotheses,
    no_repeats,
    parse_directions,
    read_hypotheses,
)
from alma_core.runs.generate import count_truncated, translate
from alma_core.runs.job_setup import decoding_device, load_job_model, quiet_progress

__all__ = [
    "EvaluationError",
    "METRICS",
    "direction_kind",
    "score_direction",
    "results_frame",
    "find_hypotheses",
    "read_hypotheses",
    "evaluate_system",
    "run_job",
    "main",
]

METRICS = ("bleu", "comet", "chrf", "off_target")


def direction_kind(src: str, tgt: str) -> tuple[str, str]:
    """('xx-en', src) for into-English, ('en-xx', tgt) for from-English, else ('{src}-{tgt}', '{src}-{tgt}')."""
    if tgt == "en" and src != "en":
        return "xx-en", src
    if src == "en" and tgt != "en":
        return "en-xx", tgt
    return f"{src}-{tgt}", f"{src}-{tgt}"


def score_direction(
    sources: Sequence[str],
    hypotheses: Sequence[str],
    references: Sequence[str],
    src: str,
    tgt: str,
    *,
    comet_model: str | os.PathLike | None = metrics.DEFAULT_COMET_MODEL,
    comet_batch_size: int = 8,
    gpus: int = 0,
    off_target_candidates: Sequence[str] | None = None,
) -> dict[str, Any]:
    """BLEU, chrF, COMET and off-target rate of one direction (Section 5.1, App. E); COMET may be None + reason."""
    get_language(src)
    get_language(tgt)
    direction, lang = direction_kind(src, tgt)
    bleu = metrics.bleu(hypotheses, references, tgt)
    chrf = metrics.chrf(hypotheses, references, tgt)
    record: dict[str, Any] = {
        "src": src,
        "tgt": tgt,
        "pair": f"{src}-{tgt}",
        "direction": direction,
        "lang": lang,
        "test_set": wmt_test_set(src, tgt),
        "n": len(hypotheses),
        "bleu": bleu.score,
        "bleu_signature": bleu.signature,
        "chrf": chrf.score,
        "chrf_signature": chrf.signature,
        "comet": None,
        "comet_model": None if comet_model is None else str(comet_model),
        "comet_version": None,
        "comet_error": None,
    }
    if comet_model is None:
        record["comet_error"] = "skipped: comet_model=None"
    else:
        try:
            result = metrics.comet(
                sources, hypotheses, references, model=comet_model, batch_size=comet_batch_size, gpus=gpus
            )
            record.update(
                comet=result.score, comet_version=result.extra["comet_version"], comet_signature=result.signature
            )
        except metrics.CometUnavailableError as err:
            record["comet_error"] = str(err)
    off = metrics.off_target_rate(hypotheses, tgt, off_target_candidates)
    record.update(off_target=off.score, off_target_signature=off.signature)
    return record


def results_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Tidy results: one row per system x direction x language x metric (columns system, direction, lang, metric,
    value)."""
    rows = []
    for record in records:
        system = record.get("system")
        if system is None:
            raise EvaluationError(
                f"record for {record.get('pair', '?')} has no 'system' key; add one (e.g. the model name)"
            )
        direction, lang = record.get("direction"), record.get("lang")
        if direction is None or lang is None:
            direction, lang = direction_kind(record["src"], record["tgt"])
        for metric in METRICS:
            value = record.get(metric)
            if value is not None:
                rows.append(
                    {"system": system, "direction": direction, "lang": lang, "metric": metric, "value": float(value)}
                )
    return pd.DataFrame(rows, columns=["system", "direction", "lang", "metric", "value"])


def evaluate_system(
    system: str,
    hyps_dir: str | os.PathLike,
    testsets_root: str | os.PathLike,
    directions: Sequence[tuple[str, str]],
    *,
    fmt: str = "sacrebleu-echo",
    comet_model: str | os.PathLike | None = metrics.DEFAULT_COMET_MODEL,
    comet_batch_size: int = 8,
    gpus: int = 0,
) -> list[dict[str, Any]]:
    """Score one system's hypothesis files for several directions; a record per direction (`hypotheses`: the file
    scored)."""
    no_repeats([f"{src}-{tgt}" for src, tgt in directions], "directions")
    records = []
    comet_failed: str | None = None
    for src, tgt in directions:
        sources, references = read_test_set(testsets_root, src, tgt, fmt=fmt)  # type: ignore[arg-type]
        hyp_file = find_hypotheses(hyps_dir, src, tgt)
        hypotheses = read_hypotheses(hyp_file, sources)
        record = score_direction(
            sources, hypotheses, references, src, tgt,
            comet_model=None if comet_failed else comet_model, comet_batch_size=comet_batch_size, gpus=gpus,
        )
        if comet_failed:
            record.update(comet_model=str(comet_model), comet_error=comet_failed)
        elif record["comet_error"] and comet_model is not None:
            comet_failed = record["comet_error"]  # do not retry a model that is not there for every direction
        records.append({"system": system, **record, "hypotheses": str(hyp_file)})
    return records


def _format_table(frame: pd.DataFrame, metric: str) -> str:
    """A printable table of one metric for the CLI, in the paper's layout (Tables 1-2: reported.layout)."""
    digits = 4 if metric == "off_target" else 2
    return f"{metric}:\n" + paper_layout(frame, metric).round(digits).to_string(na_rep="-")


# ---------------------------------------------------------------------------------------------
# THE evaluation job (alma_core.jobs.core starts it for every chapter): translate, then score


def _score_rows(system: str, src: str, tgt: str, values: Mapping[str, Any], note: str) -> list[dict[str, Any]]:
    """Tidy rows (Tables 1-2 layout) of one direction's scores; a missing value carries `note`."""
    direction, lang = direction_kind(src, tgt)
    return [{"system": system, "direction": direction, "lang": lang, "metric": metric, "value": value,
             "note": note if value is None else ""} for metric, value in values.items()]


def _comet_by_direction(triples: Mapping[str, tuple[list[str], list[str], list[str]]], job: Mapping[str, Any],
                        gpus: int) -> tuple[dict[str, float], str, str]:
    """COMET of every direction from ONE model call (loading COMET dominates small runs); ({}, reason, '') if
    unavailable."""
    flat = [(d, s, h, r) for d, (srcs, hyps, refs) in triples.items() for s, h, r in zip(srcs, hyps, refs)]
    if str(job.get("comet_model", "none")).lower() == "none":
        return {}, "COMET skipped (evaluation.comet_model: none)", ""
    try:
        result = metrics.comet([f[1] for f in flat], [f[2] for f in flat], [f[3] for f in flat],
                               model=job["comet_model"], batch_size=job["comet_batch_size"], gpus=gpus, progress=True)
    except metrics.CometUnavailableError as err:
        return {}, str(err).split(". Provide")[0], ""
    per: dict[str, list[float]] = {}
    for (direction, *_), score in zip(flat, result.sentence_scores):
        per.setdefault(direction, []).append(score)
    return {d: sum(v) / len(v) for d, v in per.items()}, "", result.signature


def _job_sources(job: Mapping[str, Any], src: str, tgt: str) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """(sources, references, shots) of one direction of a job: its test set (first max_sentences) and k-shot
    examples."""
    sources, refs = read_test_set(job["test_root"], src, tgt, fmt=job["test_format"])
    if job.get("max_sentences"):
        sources, refs = sources[: job["max_sentences"]], refs[: job["max_sentences"]]
    prompt = job.get("prompt") or {}
    shots = read_shots(shots_path(job["shots_root"], src, tgt, kind=prompt["shots"]))[: prompt.get("n_shots", 0)] \
        if prompt.get("shots") else []
    return sources, refs, shots


def run_job(config_path: str | os.PathLike) -> Path:
    """One system's evaluation (Section 5.1; App. E/I prompts): translate every direction (resumable), then BLEU,
    chrF, COMET, off-target rate and the count of sources cut to fit the prompt; writes scores.json and run.json."""
    job = read_yaml_mapping(config_path, "evaluation job config", EvaluationError)
    if isinstance(job.get("declared_languages"), dict):
        declare_languages(job.get("declared_languages"), str(config_path))  # languages the params file declared
    check_job(job, config_path)
    out = Path(job["output_dir"])
    device, dtype = decoding_device(job.get("dtype", "auto"))
    model, tokenizer = load_job_model(job, device, dtype)
    prompt = job.get("prompt") or {}
    style = prompt.get("style", "english")
    num_beams = prompt.get("num_beams") or job["num_beams"]
    triples, outputs, signatures = {}, {}, {}
    for direction in job["directions"]:
        src, tgt = direction.split("-")
        sources, refs, shots = _job_sources(job, src, tgt)
        budget = max(job["max_prompt_tokens"], (job.get("prompt_tokens_by_direction") or {}).get(direction, 0))
        started = time.time()
        hyps = translate(model, tokenizer, sources, src, tgt, num_beams=num_beams, batch_size=job["batch_size"],
                         token_budget=job.get("token_budget"), max_new_tokens=job["max_new_tokens"],
                         max_prompt_tokens=budget, style=style, shots=shots,
                         output_path=out / f"hyp.{src}-{tgt}.jsonl", progress=True)  # tqdm: sentences/s, ETA
        triples[direction] = (sources, hyps, refs)
        bleu = metrics.bleu(hyps, refs, tgt)
        off = metrics.off_target_rate(hyps, tgt, job.get("off_target_candidates"))
        signatures[f"bleu {direction}"], signatures["off-target"] = bleu.signature, off.signature
        outputs[direction] = {
            "sentences": len(sources),
            "seconds": round(time.time() - started, 2),
            "example": hyps[0] if hyps else "",
            "bleu": bleu.score,
            "chrf": metrics.chrf(hyps, refs).score,
            "off_target": 100 * off.score,
            "prompt_tokens": budget,
            "truncated": count_truncated(tokenizer, sources, src, tgt, budget, style=style, shots=shots),
        }
    comet_scores, comet_error, signatures["comet"] = _comet_by_direction(triples, job, 1 if device == "cuda" else 0)
    rows = []
    for direction in triples:
        src, tgt = direction.split("-")
        done = outputs[direction]
        values = {"bleu": done["bleu"], "chrf": done["chrf"], "comet": comet_scores.get(direction),
                  "off_target": done["off_target"], "truncated": done["truncated"]}
        rows += _score_rows(job["system"], src, tgt, values, f"not computed: {comet_error}")
    atomic_write_json(out / "run.json", {
        "system": job["system"], "job": job, "signature": signatures.get("bleu " + job["directions"][0]),
        "comet_model": job["comet_model"] if not comet_error else f"not computed: {comet_error}",
        "signatures": signatures, "outputs": outputs, "device": device, "dtype": dtype, "num_beams": num_beams,
        "versions": package_versions(),
        "git_revision": git_revision(), "hardware": hardware(), "determinism": determinism()})
    atomic_write_json(out / "scores.json", rows)  # last: its presence marks the job finished
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m alma_core.runs.evaluate` (`job --config FILE` runs one evaluation job)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["job"]:
        quiet_progress()
        job_parser = argparse.ArgumentParser(prog="python -m alma_core.runs.evaluate job", description=run_job.__doc__)
        job_parser.add_argument("--config", required=True, help="job YAML written by alma_core.jobs.core")
        try:
            print(f"[evaluate] wrote {run_job(job_parser.parse_args(argv[1:]).config)}", flush=True)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0
    parser = argparse.ArgumentParser(prog="python -m alma_core.runs.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--hyps", required=True, help="folder with {src}-{tgt}.jsonl / test-{src}-{tgt} files")
    parser.add_argument("--testsets", required=True, help="test-set root (see alma_core.recipe.testsets)")
    parser.add_argument("--format", default="sacrebleu-echo", choices=["sacrebleu-echo", "json"])
    parser.add_argument(
        "--directions", default=None, help="comma-separated, e.g. de-en,en-de (default: the paper's ten)"
    )
    parser.add_argument("--system", required=True, help="name of the system in the tables")
    parser.add_argument("--out", required=True, help="results JSON path; a CSV of the tidy frame is written beside it")
    parser.add_argument("--comet-model", default=metrics.DEFAULT_COMET_MODEL, help="hub id, checkpoint path, or 'none'")
    parser.add_argument("--comet-batch-size", type=int, default=8)
    parser.add_argument("--gpus", type=int, default=0)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    comet_model = None if str(args.comet_model).lower() == "none" else args.comet_model
    out = Path(args.out)
    if out.is_dir() or out.suffix.lower() != ".json":  # the CSV goes beside it: --out r.csv would overwrite the JSON
        what = "a folder" if out.is_dir() else f"not a .json path (the CSV is written beside it as {out.stem}.csv)"
        example = out / "results.json" if out.is_dir() else out.with_suffix(".json")
        print(f"error: --out {out} is {what}. Fix: pass a results file such as {example}", file=sys.stderr)
        return 2
    try:  # before any scoring: an --out that cannot be written fails now, not after COMET
        out.parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out.parent).close()
    except OSError as err:
        print(f"error: cannot write {out} ({err.strerror}). Fix: pass an --out in a writable folder", file=sys.stderr)
        return 2
    try:
        records = evaluate_system(
            args.system, args.hyps, args.testsets, parse_directions(args.directions), fmt=args.format,
            comet_model=comet_model, comet_batch_size=args.comet_batch_size, gpus=args.gpus,
        )
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    frame = results_frame(records)
    atomic_write_json(out, {"system": args.system, "records": records, "results": frame.to_dict(orient="records")})
    atomic_write_text(out.with_suffix(".csv"), frame.to_csv(index=False))
    for record in records:  # which file each direction's scores come from
        print(f"hypotheses {record['pair']}: {record['hypotheses']}")
    print()
    for metric in METRICS:
        if metric in set(frame["metric"]):
            print(_format_table(frame, metric), end="\n\n")
    errors = {r["comet_error"] for r in records if r.get("comet_error")}
    for error in errors:
        print(f"COMET not computed: {error}", file=sys.stderr)
    for r in records:  # user-supplied files: a file of the wrong direction scores near 0 without this note
        if r.get("off_target") is not None and r["off_target"] >= 0.8:
            target = get_language(r["tgt"]).name
            print(f"note: {100 * r['off_target']:.0f}% of the {r['pair']} hypotheses are not in {target} "
                  f"(off-target): check that the file is the {r['pair']} output, not another direction's",
                  file=sys.stderr)
    print(f"wrote {out} and {out.with_suffix('.csv')} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
