"""The authors' released WMT'22/'23 outputs (fe1ixxu/ALMA `outputs/`), fetched once and scored (Tables 1-2, Sec. 5.1).

The official repository publishes, per collection `outputs/{wmt22_outputs|wmt23_outputs}/`, the test sets
(`wmt-testset/{src}{tgt}/test.{src}-{tgt}.{src}` and `.{tgt}`) and each system's translations
(`{system}/{src}{tgt}/test.{src}-{tgt}.{tgt}`, one segment per line). `fetch_release` downloads the needed files
ONCE from a pinned commit (plain HTTPS, `file://` or a local folder) into the store: each file goes to `.part`,
is checked against its Content-Length (and a sha256 the params may pin) and renamed into place; its sha256 and
size go into `manifest.json`, and a file listed there is never fetched again, only re-verified. `score_release`
then scores every system with `alma_core.runs.evaluate.evaluate_system` (BLEU, chrF, COMET, off-target rate) on
`views/`, the same files in the layout `python -m alma_core.runs.evaluate` reads, so the CLI gives the same numbers.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from alma_core.io import atomic_write_bytes, atomic_write_json, read_json, stable_hash
from alma_core.jobs import store
from alma_core.params.released import (
    OFFICIAL_REPO,
    OFFICIAL_SOURCE,
    PINNED_COMMIT,
    ReleasedCollection,
    ReleasedOutputsParams,
    ReleasedSystem,
)
from alma_core.recipe.languages import wmt_test_set
from alma_core.recipe.testsets import read_lines
from alma_core.reported.paper import reported
from alma_core.runs import evaluate
from alma_core.standins.released_synthetic import (
    TESTSET,
    system_path,
    testset_path,
    write_synthetic_release,
)
from alma_core.standins.tiny_comet import build_tiny_comet

__all__ = [
    "OFFICIAL_REPO", "PINNED_COMMIT", "OFFICIAL_SOURCE", "OFFICIAL_LAYOUT", "ReleasedOutputsError", "ReleasedSystem",
    "ReleasedCollection", "ReleasedOutputsParams", "release_files", "fetch_release",
    "resolve_source", "write_views", "score_release", "released_frame", "paper_comparison", "fetch_summary",
    "banner_note", "comparison_wide", "delta_summary", "cli_command",
]

MANIFEST = "manifest.json"
# What the official repository publishes (outputs/README.md, evals/*.sh), for error messages.
OFFICIAL_LAYOUT: dict[str, dict[str, list[str]]] = {
    "wmt22_outputs": {
        "systems": ["ALMA-13B-LoRA", "ALMA-13B-R", "GPT-4-1106-preview", "MADLAD-10B", "WMT_Winners",
                    "gpt3.5-text-davinci-003"],
        "directions": ["de-en", "cs-en", "is-en", "zh-en", "ru-en", "en-de", "en-cs", "en-is", "en-zh", "en-ru"],
    },
    "wmt23_outputs": {
        "systems": ["ALMA-13B-R", "MADLAD-10B", "TowerInstruct-7B-v0.1", "WMT_Winners"],
        "directions": ["de-en", "zh-en", "ru-en", "en-de", "en-zh", "en-ru"],
    },
}


class ReleasedOutputsError(ValueError):
    """A released-outputs source, file or cache that cannot be used (missing, truncated, changed)."""


def release_files(collections: Sequence[ReleasedCollection]) -> list[str]:
    """Every file a set of collections needs, relative to the repository root (test sets first)."""
    files = [testset_path(c.name, d, lang) for c in collections for d in c.directions for lang in d.split("-")]
    return files + [system_path(c.name, s.folder, d) for c in collections for s in c.systems for d in c.directions]


def _what(relpath: str) -> str:
    """`outputs/C/S/pair/test.x-y.z` -> a sentence naming the collection, system and direction, with the known ones."""
    parts = relpath.split("/")
    if len(parts) != 5:
        return relpath
    collection, system, direction = parts[1], parts[2], parts[4].split(".")[1]
    known = OFFICIAL_LAYOUT.get(collection)
    hint = (f" The official layout of {collection} has systems {known['systems']} and directions "
            f"{known['directions']}." if known else f" {OFFICIAL_REPO} publishes {sorted(OFFICIAL_LAYOUT)}.")
    who = "the test set" if system == TESTSET else f"system {system!r}"
    return f"{who} of {collection} in direction {direction}.{hint}"


def _url(source: str, relpath: str) -> str:
    """The URL of one file of the release: `source` joined with the (quoted) relative path."""
    base = source if "://" in source else store.resolve(source).as_uri()
    return base.rstrip("/") + "/" + urllib.parse.quote(relpath)


def _download(url: str, dest: Path, relpath: str, timeout: float) -> tuple[str, int]:
    """Stream `url` to `dest`.part, check its length, rename it into place; (sha256, bytes)."""
    part = dest.with_name(dest.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            expected = response.headers.get("Content-Length") if hasattr(response, "headers") else None
            while chunk := response.read(1 << 16):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
    except (urllib.error.URLError, OSError) as err:
        part.unlink(missing_ok=True)
        if getattr(err, "code", None) == 404 or isinstance(getattr(err, "reason", None), FileNotFoundError):
            raise ReleasedOutputsError(
                f"{url}: not found. The release has no {_what(relpath)} Fix: remove it from the params' "
                "collections, or point `source` at a commit that has it.") from None
        raise ReleasedOutputsError(
            f"{url}: could not download ({getattr(err, 'reason', err)}). The first run needs internet; offline, clone "
            f"the repository (git clone https://github.com/{OFFICIAL_REPO} && git -C ALMA checkout {PINNED_COMMIT}) "
            "and set `source` to that folder.") from None
    if expected is not None and int(expected) != size:
        part.unlink(missing_ok=True)
        raise ReleasedOutputsError(f"{url}: received {size} of {expected} bytes (connection cut); rerun to retry")
    os.replace(part, dest)
    return digest.hexdigest(), size


def _verify(path: Path, entry: dict[str, Any], relpath: str) -> None:
    """A cached file must still have the size and sha256 recorded when it was downloaded."""
    if not path.is_file():
        raise ReleasedOutputsError(f"{path}: listed in {MANIFEST} but missing; delete its entry (or the whole "
                                   f"folder {path.parents[len(Path(relpath).parts) - 1]}) to download it again")
    data = path.read_bytes()
    if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ReleasedOutputsError(f"{path}: changed since it was downloaded ({len(data)} bytes, recorded "
                                   f"{entry['bytes']}); delete the file and its {MANIFEST} entry to download it again")


def fetch_release(source: str, files: Sequence[str], cache_dir: str | os.PathLike, *,
                  checksums: dict[str, str] | None = None, timeout: float = 60.0) -> dict[str, Any]:
    """Download the files not yet cached (once, atomically, recorded in manifest.json), verify the cached ones."""
    cache = Path(cache_dir)
    manifest_path = cache / MANIFEST
    manifest = read_json(manifest_path) if manifest_path.is_file() else {"source": source, "files": {}}
    if manifest.get("source") != source:
        raise ReleasedOutputsError(f"{manifest_path}: holds {manifest.get('source')!r}, not {source!r}; "
                                   "use another cache folder for another source")
    downloaded = []
    for relpath in files:
        entry = manifest["files"].get(relpath)
        if entry is None:
            sha, size = _download(_url(source, relpath), cache / relpath, relpath, timeout)
            pinned = (checksums or {}).get(relpath)
            if pinned and pinned != sha:
                (cache / relpath).unlink()
                raise ReleasedOutputsError(f"{_url(source, relpath)}: sha256 {sha} but the params pin {pinned}; "
                                           "check `source` (the commit) or update `checksums`")
            manifest["files"][relpath] = {"sha256": sha, "bytes": size}
            atomic_write_json(manifest_path, manifest)  # after every file: an interrupted run keeps what it has
            downloaded.append(relpath)
        else:
            _verify(cache / relpath, entry, relpath)
    used = {p: manifest["files"][p] for p in files}
    return {"source": source, "cache": str(cache), "files": len(files), "downloaded": downloaded,
            "bytes": sum(e["bytes"] for e in used.values()), "digest": stable_hash(used, length=16)}


def resolve_source(params: ReleasedOutputsParams) -> tuple[str, Path]:
    """(source URL or folder, cache folder under the store); `synthetic` writes its tree first (Sec. 5.1 layout)."""
    base = store.resolve(params.store_dir) / "released_outputs"
    source = params.source
    if source == "synthetic":
        spec = [c.model_dump() for c in params.collections]
        key = stable_hash({"collections": spec, "segments": params.synthetic_segments, "seed": params.seed})
        tree = write_synthetic_release(base / "synthetic" / key, params.collections, params.synthetic_segments,
                                       params.seed)
        source = tree.resolve().as_uri()
    return source, base / "cache" / stable_hash(source, length=16)


def write_views(cache: str | os.PathLike, collection: ReleasedCollection) -> tuple[Path, dict[str, Path]]:
    """The cached files in the layout `alma_core.runs.evaluate` reads: (test-set root, {system folder: hyps folder})."""
    cache = Path(cache)
    view = cache / "views" / collection.name
    for direction in collection.directions:
        src, tgt = direction.split("-")
        sources, refs = (read_lines(cache / testset_path(collection.name, direction, lang)) for lang in (src, tgt))
        if len(sources) != len(refs):
            raise ReleasedOutputsError(f"{cache / testset_path(collection.name, direction, src)}: {len(sources)} "
                                       f"source lines but {len(refs)} reference lines")
        pairs = [{"translation": {src: s, tgt: r}} for s, r in zip(sources, refs)]
        xx = src if tgt == "en" else tgt
        atomic_write_json(view / "testsets" / f"{xx}en" / f"test.{direction}.json", pairs)
    hyps = {}
    for s in collection.systems:
        hyps[s.folder] = view / "systems" / s.folder
        for d in collection.directions:
            data = cache / system_path(collection.name, s.folder, d)
            atomic_write_bytes(hyps[s.folder] / f"test-{d}", data.read_bytes())
    return view / "testsets", hyps


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence COMET's per-call Lightning banners and warnings (the page shows the tables, not the logs)."""
    names = ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "comet")
    levels = {n: logging.getLogger(n).level for n in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _comet(params: ReleasedOutputsParams) -> tuple[str | None, int, str]:
    """(COMET model or None, gpus, why not computed): the GPU when there is one, the CPU only if the params allow."""
    if params.comet_model.lower() == "none":
        return None, 0, "comet_model: none"
    import torch

    gpus = 1 if torch.cuda.is_available() else 0
    if not gpus and not params.comet_without_gpu:
        return None, 0, "no GPU here (set comet_without_gpu: true to run it on the CPU)"
    if params.comet_model == "tiny":
        return str(build_tiny_comet(store.resolve(params.store_dir) / "tiny_comet")), gpus, ""
    return params.comet_model, gpus, ""


def score_release(params: ReleasedOutputsParams) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Fetch (once) and score every system of every collection with evaluate_system; (records, fetch report).
    Scores are stored under the cache, keyed by the files' checksums and the scoring settings."""
    source, cache = resolve_source(params)
    fetched = fetch_release(source, release_files(params.collections), cache, checksums=params.checksums,
                            timeout=params.timeout_s)
    with _quiet():
        model, gpus, why = _comet(params)
    tiny = model and params.comet_model == "tiny"  # the built checkpoint changes with its code, not its name
    comet_id = hashlib.sha256(Path(model).read_bytes()).hexdigest()[:16] if tiny else model
    inputs = {"files": fetched["digest"], "collections": [c.model_dump() for c in params.collections],
              "comet": comet_id, "why": why, "candidates": params.off_target_candidates}

    def compute() -> list[dict[str, Any]]:
        records = []
        for c in params.collections:
            test_root, hyps = write_views(cache, c)
            pairs = [tuple(d.split("-")) for d in c.directions]
            for s in c.systems:
                with _quiet():
                    found = evaluate.evaluate_system(s.label, hyps[s.folder], test_root, pairs, fmt="json",
                                                     comet_model=model, comet_batch_size=params.comet_batch_size,
                                                     gpus=gpus)
                for record in found:
                    record.update(collection=c.name, folder=s.folder, reported=s.reported, setting=s.setting,
                                  hyps=str(hyps[s.folder]), test_root=str(test_root))
                    record["test_set"] = wmt_test_set(record["src"], record["tgt"]) if c.test_set == "wmt22" \
                        else c.test_set
                    if why:
                        record["comet_error"] = why
                records.append(found)
        return [r for found in records for r in found]

    records = store.cached_json(cache / "scores.json", store.run_key(inputs), compute, force=params.force,
                                inputs=inputs)
    return records, fetched


def released_frame(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Tidy scores (system, direction, lang, metric, value) plus the collection; off-target in percent (App. E)."""
    parts = []
    for collection in dict.fromkeys(r["collection"] for r in records):
        frame = evaluate.results_frame([r for r in records if r["collection"] == collection])
        parts.append(frame.assign(collection=collection))
    frame = pd.concat(parts, ignore_index=True)
    frame.loc[frame["metric"] == "off_target", "value"] *= 100
    return frame


def paper_comparison(records: Sequence[dict[str, Any]], metrics: Sequence[str] = ("bleu", "comet")) -> pd.DataFrame:
    """The released outputs' scores beside the paper's Tables 1-2 cells of the same system, with deltas."""
    paper = pd.concat([reported(1), reported(2)], ignore_index=True)
    rows = []
    for r in records:
        if not r.get("reported") or r["collection"] != "wmt22_outputs":
            continue
        for metric in metrics:
            cell = paper[(paper["system"] == r["reported"]) & (paper["setting"] == r["setting"]) &
                         (paper["direction"] == r["direction"]) & (paper["lang"] == r["lang"]) &
                         (paper["metric"] == metric)]
            if cell.empty:
                continue
            ours = r.get(metric)
            rows.append({"system": r["system"], "paper row": f"{r['reported']} {r['setting']}".strip(),
                         "direction": r["direction"], "lang": r["lang"], "metric": metric,
                         "paper": float(cell["value"].iloc[0]), "released outputs": ours,
                         "delta": None if ours is None else round(ours - float(cell["value"].iloc[0]), 2)})
    return pd.DataFrame(rows, columns=["system", "paper row", "direction", "lang", "metric", "paper",
                                       "released outputs", "delta"])


def fetch_summary(fetched: dict[str, Any]) -> pd.DataFrame:
    """One row describing the release in the store: source, cache folder, files, downloaded by this run, size."""
    return pd.DataFrame([{"source": fetched["source"], "cache": _short(fetched["cache"]), "files": fetched["files"],
                          "downloaded now": len(fetched["downloaded"]), "MB": round(fetched["bytes"] / 2**20, 2)}])


def comparison_wide(comparison: pd.DataFrame) -> pd.DataFrame:
    """`paper_comparison` in the Tables 1-2 layout: per system and metric the paper, released and delta rows."""
    long = comparison.melt(id_vars=["system", "metric", "direction", "lang"], var_name="row",
                           value_vars=["paper", "released outputs", "delta"])
    wide = long.pivot_table(index=["system", "metric", "row"], columns=["direction", "lang"], values="value",
                            aggfunc="first", sort=False)
    return wide.reindex(columns=[c for d in ("en-xx", "xx-en") for c in wide.columns if c[0] == d])


def delta_summary(comparison: pd.DataFrame) -> pd.DataFrame:
    """Per system and metric: directions compared and the largest absolute delta from Tables 1-2."""
    known = comparison.dropna(subset=["delta"])
    grouped = known.groupby(["system", "metric"], sort=False)["delta"]
    return pd.DataFrame({"directions": grouped.size(), "max |delta|": grouped.apply(lambda d: d.abs().max())})


def _short(path: str) -> str:
    """A path relative to the working directory (the repository root in the book) when it lies under it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def banner_note(params: ReleasedOutputsParams) -> str:
    """What the banner adds in this chapter: whether the released files are the real ones."""
    if params.source == "synthetic":
        return ("Here the released files themselves are generated (`source: synthetic`): a tree in the official "
                "layout, so the numbers below say nothing about ALMA. The real files: the `released` profile.")
    return f"The released files come from `{params.source}`, downloaded once into the store."


def cli_command(records: Sequence[dict[str, Any]], system: str, collection: str = "wmt22_outputs",
                out: str = "scores.json") -> str:
    """The `python -m alma_core.runs.evaluate` command that scores one released system from its views (same numbers)."""
    mine = [r for r in records if r["system"] == system and r["collection"] == collection]
    if not mine:
        known = sorted({r["system"] for r in records if r["collection"] == collection})
        raise ReleasedOutputsError(f"no scored system {system!r} in {collection}; scored: {known}")
    directions = ",".join(r["pair"] for r in mine)
    return (f"python -m alma_core.evaluate --hyps {_short(mine[0]['hyps'])} --testsets {_short(mine[0]['test_root'])} "
            "--format json "
            f"--directions {directions} --system '{system}' --out {out} --comet-model none")
