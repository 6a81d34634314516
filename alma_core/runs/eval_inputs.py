"""The inputs of an evaluation, checked before anything is scored (Section 5.1): which hypothesis file a direction is
in (one, never a stale one beside it) and what it holds, the directions asked for, and a job config's keys. Every
refusal names the file, line or key and the fix."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from alma_core.io import DuplicateKeyError, loads_unique
from alma_core.recipe.data import NUL_FIX, folder_problem, segment_problem
from alma_core.recipe.languages import get_language, paper_directions
from alma_core.recipe.testsets import read_lines
from alma_core.runs.generate import read_translations

__all__ = ["EvaluationError", "find_hypotheses", "read_hypotheses", "no_repeats", "parse_directions", "check_job"]


class EvaluationError(ValueError):
    """Inputs to an evaluation that do not fit together (missing files, misaligned lines, bad arguments)."""


def find_hypotheses(hyps_dir: str | os.PathLike, src: str, tgt: str) -> Path:
    """The hypothesis file of a direction in `hyps_dir` (see module docstring for accepted names); more than one
    such file (which one is current?) or a folder under such a name is refused."""
    root = Path(hyps_dir)
    candidates = [root / f"{src}-{tgt}.jsonl", root / f"test-{src}-{tgt}", root / f"{src}-{tgt}.txt"]
    for path in candidates:
        if folder_problem(path, "hypothesis file"):
            raise EvaluationError(folder_problem(path, "hypothesis file"))
    found = [path for path in candidates if path.is_file()]
    if len(found) > 1:
        names = " and ".join(path.name for path in found)
        raise EvaluationError(
            f"{root}: {len(found)} hypothesis files for {src}-{tgt}, {names}: which one is current cannot be told. "
            f"Fix: delete or move the stale one, keeping only the file to score"
        )
    if found:
        return found[0]
    raise EvaluationError(
        f"no hypotheses for {src}-{tgt} in {root}: expected one of {[p.name for p in candidates]}; "
        "Fix: generate them with alma_core.runs.generate.translate(..., output_path=DIR/'{src}-{tgt}.jsonl')"
    )


def _jsonl_lines(path: Path) -> dict[int, int]:
    """{sentence index: line} of a translate() output file (the last line of an index wins, as in read_translations);
    an object naming a key twice is refused. Syntax and the rest are read_translations' to check."""
    if not path.is_file():
        return {}
    try:
        lines = path.read_text(encoding="utf-8-sig").split("\n")
    except UnicodeDecodeError:
        return {}  # read_translations names the byte
    where: dict[int, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = loads_unique(line)
        except DuplicateKeyError as err:
            raise EvaluationError(f"{path}:{number}: {err}") from None
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("index"), int):
            where[record["index"]] = number
    return where


def _check_hypotheses(path: Path, hypotheses: Sequence[str], lines: Sequence[int]) -> None:
    """No hypothesis of only invisible characters or with a NUL character; the message names file:line."""
    for hypothesis, number in zip(hypotheses, lines):
        problem = segment_problem(hypothesis)
        if problem in ("", "empty segment"):  # an empty output is a (bad) translation, scored as such
            continue
        if problem.startswith("NUL"):
            fix = NUL_FIX
        elif path.suffix == ".jsonl":
            fix = "delete the file and rerun translate() to write it again (was it edited by hand?)"
        else:
            fix = "remove the invisible characters (an empty output is an empty line) or write the translation there"
        raise EvaluationError(f"{path}:{number}: {problem.replace('segment', 'hypothesis', 1)}. Fix: {fix}")


def read_hypotheses(path: str | os.PathLike, sources: Sequence[str]) -> list[str]:
    """Hypotheses aligned with `sources` from a translate() JSONL file or a plain one-per-line file; a hypothesis of
    only invisible characters (U+200B, ...), a NUL character or a JSON key given twice is refused naming file:line."""
    path = Path(path)
    if folder_problem(path, "hypothesis file"):
        raise EvaluationError(folder_problem(path, "hypothesis file"))
    if path.suffix == ".jsonl":
        line_of = _jsonl_lines(path)
        done = read_translations(path, sources)
        missing = [i for i in range(len(sources)) if i not in done]
        if missing:
            raise EvaluationError(
                f"{path}: {len(missing)} of {len(sources)} sentences untranslated (first: {missing[0]}); "
                "Fix: rerun translate() with the same output_path to finish it"
            )
        hypotheses = [done[i] for i in range(len(sources))]
        _check_hypotheses(path, hypotheses, [line_of.get(i, 0) for i in range(len(sources))])
        return hypotheses
    lines = read_lines(path)
    if len(lines) != len(sources):
        raise EvaluationError(f"{path} has {len(lines)} lines but the test set has {len(sources)} segments. Fix: "
                              "one line per test segment, in order (is it the file of another direction or test set?)")
    _check_hypotheses(path, lines, range(1, len(lines) + 1))
    return lines


def no_repeats(directions: Sequence[str], where: str) -> None:
    """A direction named twice would be scored twice and counted twice in every average: refused."""
    seen = set()
    for direction in directions:
        if direction in seen:
            raise EvaluationError(f"{where} lists {direction} twice. Fix: name each direction once")
        seen.add(direction)


def parse_directions(text: str | None) -> list[tuple[str, str]]:
    """'de-en,en-de' -> [('de','en'),('en','de')]; None -> the paper's ten directions."""
    if not text:
        return paper_directions()
    pairs = []
    for item in text.split(","):
        parts = item.strip().split("-")
        if len(parts) != 2 or not all(parts):
            raise EvaluationError(f"--directions item {item!r} is not 'src-tgt' (e.g. de-en)")
        get_language(parts[0])
        get_language(parts[1])
        pairs.append((parts[0], parts[1]))
    no_repeats([f"{src}-{tgt}" for src, tgt in pairs], f"--directions {text}")
    return pairs


# The keys an evaluation job config holds (alma_core.jobs.core.eval_config writes them): type and an example value.
_JOB_KEYS: dict[str, tuple[type, str]] = {
    "system": (str, "ALMA-7B"), "output_dir": (str, "store/eval/ALMA-7B"), "directions": (list, "[de-en, en-de]"),
    "test_root": (str, "data/human_written_data"), "test_format": (str, "json"), "num_beams": (int, "5"),
    "batch_size": (int, "16"), "max_new_tokens": (int, "256"), "max_prompt_tokens": (int, "256"),
    "comet_model": (str, "Unbabel/wmt22-comet-da"), "comet_batch_size": (int, "8"),
}
_JOB_OPTIONAL: dict[str, tuple[type, str]] = {  # may be left out or null
    "max_sentences": (int, "100"), "prompt": (dict, "{style: english}"), "prompt_tokens_by_direction": (dict, "{}"),
    "token_budget": (int, "4096"), "off_target_candidates": (list, "[en, de]"), "shots_root": (str, "data"),
    "dtype": (str, "auto"),
}
_TYPE_NAMES = {str: "string", int: "positive whole number", list: "list", dict: "mapping"}


def check_job(job: Mapping[str, Any], config_path: str | os.PathLike) -> list[tuple[str, str]]:
    """The job's directions as (src, tgt); a missing or wrong-typed key, a bad or repeated direction names the
    config file, the key and the fix."""
    again = "or let the notebook write the config again (alma_core.jobs.core)"
    if not job.get("trained") and not job.get("model"):
        raise EvaluationError(f"{config_path}: missing key 'trained' or 'model' (what to evaluate). Fix: add one "
                              f"(a training run's folder, or a model id or folder) {again}")
    for key, (kind, example) in (*_JOB_KEYS.items(), *_JOB_OPTIONAL.items()):
        value = job.get(key)
        if value is None:
            if key in _JOB_KEYS:
                raise EvaluationError(f"{config_path}: missing key {key!r} in the evaluation job config. Fix: add it "
                                      f"(e.g. `{key}: {example}`) {again}")
            continue
        if isinstance(value, bool) or not isinstance(value, kind) or (kind is int and value < 1):
            raise EvaluationError(f"{config_path}: key {key!r} = {value!r} is not a {_TYPE_NAMES[kind]}. Fix: "
                                  f"correct it (e.g. `{key}: {example}`) {again}")
    pairs = []
    for item in job["directions"]:
        parts = item.split("-") if isinstance(item, str) else []
        if len(parts) != 2 or not all(parts):
            raise EvaluationError(f"{config_path}: key 'directions' item {item!r} is not 'src-tgt'. Fix: write it as "
                                  "e.g. de-en")
        try:
            get_language(parts[0])
            get_language(parts[1])
        except ValueError as err:
            raise EvaluationError(f"{config_path}: key 'directions' item {item!r}: {err}") from None
        pairs.append((parts[0], parts[1]))
    if not pairs:
        raise EvaluationError(f"{config_path}: key 'directions' is empty. Fix: list the directions to evaluate "
                              f"(e.g. `directions: [de-en, en-de]`)")
    no_repeats(job["directions"], f"{config_path}: key 'directions'")
    return pairs
