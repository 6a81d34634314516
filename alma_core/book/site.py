"""The book's machinery: run every chapter notebook with papermill, build the HTML, dry-run, check it.

`python -m alma_core.book run --profile tiny [--force]` executes `notebooks/<name>.ipynb` with
`params/<profile>/<name>.yaml` into `book/_executed/<name>.ipynb` (the copy the book renders),
skipping a notebook whose inputs (notebook, params file, alma_core sources, profile) are unchanged.
`build` runs `jupyter-book build` with warnings as errors (execution off). `dry-run` renders every
job of a profile without running it. The headless-Chromium check of the built pages has its own CLI,
`python -m alma_core.book.browser` (it reads the book's folders; the book never imports it).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from alma_core.book import report
from alma_core.io import atomic_write_json, atomic_write_text, read_yaml_mapping
from alma_core.jobs import core as jobs
from alma_core.jobs import crosslingual
from alma_core.jobs.graphs import GRAPHS, chapter_graph
from alma_core.jobs.store import locked, repo_root
from alma_core.params.common import LOCAL_PROFILES
from alma_core.params.schemas import PROFILES, CrossLingualEvalParams, ParamsError, load_params, params_path, read_yaml

__all__ = [
    "BookError",
    "EXECUTED",
    "toc_chapters",
    "notebook_pairs",
    "source_hash",
    "input_hash",
    "run_notebook",
    "run",
    "build",
    "dry_run",
    "main",
]

EXECUTED = Path("book") / "_executed"
STAMP_KEY = "alma_book"
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "WANDB_DISABLED": "true",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "DS_ACCELERATOR": "cpu",
}


class BookError(RuntimeError):
    """A book step that failed; the message says which notebook/page and what to do."""


def toc_files(node: Any) -> Iterable[str]:
    """Every `file:` entry of a (nested) _toc.yml structure."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("file", "root") and isinstance(value, str):
                yield value
            else:
                yield from toc_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from toc_files(item)


def toc_chapters(root: Path | None = None) -> list[str]:
    """Notebook names the book renders: the `_toc.yml` entries under book/_executed/, in order."""
    root = root or repo_root()
    toc = read_yaml_mapping(root / "_toc.yml", "the book's table of contents", BookError)
    prefix = EXECUTED.as_posix() + "/"
    return [Path(f).name.removesuffix(".ipynb") for f in toc_files(toc) if f.startswith(prefix)]


def notebook_pairs(
    profile: str, root: Path | None = None, only: Sequence[str] = ()
) -> list[tuple[str, Path, Path | None]]:
    """(name, notebook, params file or None when the profile has none) for every chapter of the book (or `only`
    those)."""
    root = root or repo_root()
    unknown = sorted(set(only) - set(toc_chapters(root)))
    if unknown:
        raise BookError(f"--only {', '.join(unknown)}: not a chapter of _toc.yml. Fix: use one of "
                        f"{', '.join(toc_chapters(root))}")
    pairs = []
    for name in toc_chapters(root):
        if only and name not in only:
            continue
        notebook = root / "notebooks" / f"{name}.ipynb"
        if not notebook.is_file():
            raise BookError(
                f"_toc.yml lists {EXECUTED}/{name} but notebooks/{name}.ipynb does not exist; add it or drop the entry"
            )
        params = params_path(name, profile, root)
        pairs.append((name, notebook, params if params.is_file() else None))
    return pairs


def source_hash(root: Path | None = None) -> str:
    """Hash of the library sources and shipped data: a change re-executes the notebooks (their store skips training)."""
    root = root or repo_root()
    digest = hashlib.sha256()
    for path in sorted((root / "alma_core").rglob("*")):
        if (
            path.is_file()
            and "__pycache__" not in path.parts
            and path.suffix in {".py", ".csv", ".json", ".jsonl", ".txt", ".yaml"}
        ):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def input_hash(notebook: Path, params: Path | None, profile: str, sources: str, force: bool = False) -> str:
    """Hash of everything an executed copy depends on."""
    digest = hashlib.sha256()
    for part in (notebook.read_bytes(), params.read_bytes() if params else b"", profile.encode(), sources.encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def read_stamp(executed: Path) -> dict[str, Any]:
    """The run stamp stored in an executed notebook's metadata ({} when absent/unreadable)."""
    import nbformat

    try:
        return dict(nbformat.read(executed, as_version=4).metadata.get(STAMP_KEY, {}))
    except Exception:  # noqa: BLE001 - a broken copy is simply re-executed
        return {}


def _placeholder(name: str, profile: str, dest: Path) -> None:
    """An executed copy for a chapter the profile does not cover, so the book still builds."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    title = name.replace("_", " ")
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            f"# {title}\n\nThe `{profile}` profile does not run this chapter (no `params/{profile}/{name}.yaml`). "
            f"Build the book with `make book PROFILE=tiny` (or `paper`) to see it."
        )
    ]
    nb.metadata[STAMP_KEY] = {"profile": profile, "placeholder": True}
    atomic_write_text(dest, nbformat.writes(nb))


def run_notebook(notebook: Path, params: Path, dest: Path, *, force: bool = False, root: Path | None = None,
                 stamp: dict[str, Any] | None = None) -> float:
    """Execute one notebook with papermill on a params file into `dest`; returns seconds.

    papermill writes a hidden `.<name>.running.ipynb`; only a finished run becomes `dest`, written atomically with
    its stamp in the same step (so a killed run never leaves a copy that looks finished). A failed run becomes
    `dest` without an input hash (shown by the book, re-executed next time) with the error, log and resume command.
    """
    import papermill

    root = root or repo_root()
    values = read_yaml(params)
    load_params(params)  # fail fast, naming the file and key
    if force:
        values["force"] = True
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.running.ipynb")
    env_backup = dict(os.environ)
    if values.get("profile") in LOCAL_PROFILES:  # built locally, nothing from a hub
        os.environ.update({k: v for k, v in OFFLINE_ENV.items() if k not in os.environ})
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    start = time.time()
    try:
        papermill.execute_notebook(
            str(notebook), str(tmp), parameters=values, kernel_name="python3", cwd=str(root),
            progress_bar=False, log_output=False, report_mode=False,
        )
    except papermill.PapermillExecutionError as err:
        message = (f"{notebook.relative_to(root) if notebook.is_relative_to(root) else notebook} failed in cell "
                   f"{err.exec_count} with {err.ename}: {err.evalue}\nthe executed copy {dest} shows the error; fix "
                   "the cause and rerun `make book` (finished jobs are kept)")
        if tmp.is_file():
            _finish_copy(tmp, dest, {**(stamp or {}), "input_hash": None, "failed": message}, root)
        raise BookError(message) from None
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    seconds = time.time() - start
    _finish_copy(tmp, dest, {**(stamp or {}), "seconds": round(seconds, 1)}, root)
    return seconds


def _finish_copy(tmp: Path, dest: Path, stamp: dict[str, Any], root: Path) -> None:
    """Move papermill's working copy to `dest` with its stamp, in one atomic write (the done-marker is the stamp)."""
    import nbformat

    nb = nbformat.read(tmp, as_version=4)
    nb.metadata[STAMP_KEY] = stamp
    report.fold_boilerplate(nb, (root, repo_root()))
    atomic_write_text(dest, nbformat.writes(nb))
    tmp.unlink(missing_ok=True)


BOOK_LOCK = ".book-run.lock"


def run(profile: str, *, force: bool = False, only: Sequence[str] = (), root: Path | None = None,
        executed: Path | None = None) -> dict[str, str]:
    """Execute every chapter for `profile` into `executed` (default book/_executed), skipping unchanged ones;
    {notebook: status}. One book run at a time per folder: a second waits, then skips what the first executed."""
    root = root or repo_root()
    out_dir = executed or root / EXECUTED
    with locked(out_dir / BOOK_LOCK, f"the book run into {out_dir}"):
        return _run_locked(profile, force, only, root, out_dir)


RUN_LAST = ("scorecard",)  # reads what the other chapters recorded in the store: executed after them, every run


def run_order(pairs: list[tuple[str, Path, Path | None]]) -> list[tuple[str, Path, Path | None]]:
    """The chapters in _toc.yml order, except RUN_LAST, which run after all the others."""
    return [p for p in pairs if p[0] not in RUN_LAST] + [p for p in pairs if p[0] in RUN_LAST]


def _run_locked(profile: str, force: bool, only: Sequence[str], root: Path, out_dir: Path) -> dict[str, str]:
    """alma_core.book.site.run once it holds the book lock."""
    sources = source_hash(root)
    status: dict[str, str] = {}
    failures: list[str] = []
    for name, notebook, params in run_order(notebook_pairs(profile, root, only)):
        dest = out_dir / f"{name}.ipynb"
        if params is None:
            _placeholder(name, profile, dest)
            status[name] = f"no params/{profile}/{name}.yaml: placeholder page"
            print(f"[book] {name}: {status[name]}", flush=True)
            continue
        key = input_hash(notebook, params, profile, sources)
        if not force and name not in RUN_LAST and dest.is_file() and read_stamp(dest).get("input_hash") == key:
            status[name] = "unchanged, skipped"
            print(f"[book] {name}: {status[name]}", flush=True)
            continue
        print(f"[book] {name}: running with {params} ...", flush=True)
        stamp = {"input_hash": key, "profile": profile, "sources": sources}
        try:
            seconds = run_notebook(notebook, params, dest, force=force, root=root, stamp=stamp)
        except (BookError, ParamsError) as err:
            failures.append(str(err))
            status[name] = "FAILED"
            print(f"[book] {name}: FAILED\n{err}", flush=True)
            continue
        status[name] = f"executed in {seconds:.1f} s"
        print(f"[book] {name}: {status[name]}", flush=True)
    atomic_write_json(out_dir / "status.json", {"profile": profile, "status": status})
    if failures:
        raise BookError(f"{len(failures)} notebook(s) failed:\n" + "\n".join(failures))
    return status


# Every table and figure of the paper and the chapter that redraws it (the index page's summary).
PAPER_ITEMS: tuple[tuple[str, str], ...] = (
    ("Figure 1: ALMA vs. prior LLaMA-based systems", "sec5_main_results"),
    ("Figure 2: the translation prompt", "sec4_recipe"),
    ("Figure 3, Table 4 (App. B): zero-shot backbones", "sec2_zero_shot"),
    ("Figure 4: fine-tuning on growing parallel data", "sec3_parallel_data"),
    ("Tables 1-2: main results en→xx, xx→en", "sec5_main_results"),
    ("Figure 5, Tables 7-8 (App. F): stage-1 tokens", "sec6_1_monolingual_tokens"),
    ("Table 3, Table 9 (App. G): monolingual data and parallel data quality", "sec6_2_data_quality"),
    ("Figure 6 (App. A): CLM vs. prefix-LM vs. mixture-of-denoisers", "appA_objectives"),
    ("App. C: training details", "appC_training_details"),
    ("Table 5 (App. D): data statistics and sampling ratios", "appD_sampling"),
    ("Table 6 (App. E): the off-target problem", "appE_off_target"),
    ("Table 10 (App. H): Flores vs. Flores + WMT human-written data", "appH_human_written_data"),
    ("Table 11 (App. I): 5-shot in-context learning vs. stage 2", "appI_icl"),
    ("Table 12 (App. J): zero-shot cross-lingual evaluation", "appJ_crosslingual"),
    ("(beyond the paper) adding a language pair: uk↔en", "add_language_pair"),
)


def write_summary(root: Path | None = None) -> Path:
    """The index page's summary: each paper table/figure, its chapter, and whether this build ran it (and how)."""
    root = root or repo_root()
    lines = ["| Paper | Chapter | This build |", "|---|---|---|"]
    for item, name in PAPER_ITEMS:
        executed = root / EXECUTED / f"{name}.ipynb"
        stamp = read_stamp(executed) if executed.is_file() else {}
        if stamp.get("placeholder"):
            ran = f"not run on the `{stamp.get('profile')}` profile"
        elif stamp:
            ran = f"ran on the `{stamp.get('profile')}` profile ({stamp.get('seconds', '?')} s last time it executed)"
        else:
            ran = "not run yet"
        lines.append(f"| {item} | {{doc}}`{name} <_executed/{name}>` | {ran} |")
    return atomic_write_text(root / EXECUTED / "summary.md", "\n".join(lines) + "\n")


def stage_sources(root: Path, dest: Path) -> Path:
    """Copy the book's own pages and configuration (not its executed chapters) to `dest`, to build another profile's
    book there."""
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, dest / name)
    shutil.copytree(root / "book", dest / "book", ignore=shutil.ignore_patterns("_executed"), dirs_exist_ok=True)
    return dest


def _jupyter_book() -> list[str]:
    """The jupyter-book command of this environment."""
    exe = Path(sys.executable).parent / "jupyter-book"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "jupyter_book.cli.main"]


def build(root: Path | None = None) -> Path:
    """`jupyter-book build` of the executed copies with warnings as errors; returns the HTML folder."""
    root = root or repo_root()
    missing = [n for n in toc_chapters(root) if not (root / EXECUTED / f"{n}.ipynb").is_file()]
    if missing:
        raise BookError(
            f"no executed copy of {missing} in {EXECUTED}/; run `python -m alma_core.book run --profile tiny` first"
        )
    write_summary(root)
    cmd = [*_jupyter_book(), "build", str(root), "--builder", "html", "-W", "--keep-going"]
    print("[book] " + " ".join(cmd), flush=True)
    done = subprocess.run(cmd, cwd=root, check=False)
    if done.returncode != 0:
        raise BookError(
            f"jupyter-book build failed (exit {done.returncode}); the warnings above name the page and line"
        )
    return root / "_build" / "html"


def dry_run(profile: str = "paper", root: Path | None = None, out: Path | None = None) -> list[Path]:
    """Render every job of every notebook for `profile` (commands, sbatch scripts, DeepSpeed configs)."""
    root = root or repo_root()
    out = out or root / "_build" / "dry-run" / profile
    written: list[Path] = []
    for name, _notebook, params in notebook_pairs(profile, root):
        if params is None:
            print(f"[dry-run] {name}: no params for {profile}", flush=True)
            continue
        loaded = load_params(params)
        files = _launch_jobs(name, loaded, out / name)
        for path in files:
            print(f"[dry-run] {name}: {path.relative_to(root) if path.is_relative_to(root) else path}", flush=True)
        written.extend(files)
    return written


def _launch_jobs(name: str, params: Any, out: Path) -> list[Path]:
    """Render the jobs of one notebook's params (training runs, evaluations) without running them."""
    if name in GRAPHS:  # Sec. 6.2, App. E, H, I: the job graph the notebook runs, every seed
        graph = chapter_graph(name, params, dry_run=True)
        return jobs.render_jobs(graph.params(params), out, systems=graph.systems)
    if not isinstance(getattr(params, "evaluation", None), CrossLingualEvalParams):
        return jobs.render_jobs(params, out)
    written = jobs.render_jobs(params, out, systems=[])  # Appendix J scores answer options instead of translating
    return written + crosslingual.render_jobs(params, out)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: run / build / dry-run (the page check: `python -m alma_core.book.browser`)."""
    parser = argparse.ArgumentParser(prog="python -m alma_core.book", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="execute the chapter notebooks with papermill")
    p_run.add_argument("--profile", default="tiny", choices=PROFILES)
    p_run.add_argument("--force", action="store_true", help="re-execute every notebook and redo evaluations; a "
                       "finished training run is kept (move its folder away to retrain it)")
    p_run.add_argument("--only", nargs="*", default=[], help="notebook names to run (default: all)")
    p_run.add_argument("--root", type=Path, default=None, help="the book's checkout (default: this repository)")
    sub.add_parser("build", help="jupyter-book build, warnings as errors")
    p_dry = sub.add_parser("dry-run", help="render every job of a profile without running it")
    p_dry.add_argument("--profile", default="paper", choices=PROFILES)
    args = parser.parse_args(argv)
    start = time.time()
    try:
        if args.command == "run":
            run(args.profile, force=args.force, only=args.only, root=args.root)
        elif args.command == "build":
            build()
        else:
            dry_run(args.profile)
    except (BookError, ParamsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"[book] {args.command} took {time.time() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
