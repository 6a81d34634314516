"""Every row of the bad-input catalogue (tests/bad_inputs_catalogue.py, issue 11 item 3), built and run.

A setup per case builds the input in a tmp dir and runs what the user runs: CLI entry points as subprocesses
(exit code, stderr without a traceback), library calls in process (an alma_core ValueError subclass). The checks
common to all cases live in `test_bad_input`; `test_page_matches_the_table` keeps book/bad_inputs.md generated.
"""

from __future__ import annotations

import errno
import json
import os
import re
import resource
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from bad_inputs_catalogue import CASES, PAGE, SAFETY, Case, render_page

from alma_core.io import atomic_write_json
from alma_core.recipe import data, testsets

REPO = Path(__file__).resolve().parents[1]
PAIR = {"translation": {"de": "Guten Morgen.", "en": "Good morning."}}
PAIRS = [PAIR, {"translation": {"de": "Wie geht es dir?", "en": "How are you?"}},
         {"translation": {"de": "Danke schön.", "en": "Thank you very much."}}]
SRC = ["Guten Morgen.", "Wie geht es dir?", "Danke schön."]
REF = ["Good morning.", "How are you?", "Thank you very much."]
HYP = ["Good morning.", "How are you doing?", "Thanks a lot."]


@dataclass
class Trial:
    """What one case produced: the message the user sees, the exit code (CLI) and files that must be unchanged."""

    message: str
    rc: int | None = None
    kept: dict[Path, bytes] = field(default_factory=dict)


def _lines(records: list[object]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def _keep(*paths: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in paths}


def _raises(call: Callable[[], object]) -> Trial:
    """Run a library call that must refuse its input with an alma_core error (a ValueError subclass, or BookError)."""
    try:
        call()
    except Exception as err:  # noqa: BLE001 - the assertion below names whatever came
        assert type(err).__module__.startswith("alma_core"), f"{type(err).__name__} is not an alma_core error: {err}"
        return Trial(str(err))
    raise AssertionError("the bad input was accepted")


def _cli(module: str, *args: str, env: dict[str, str] | None = None, limit_bytes: int | None = None,
         kept: dict[Path, bytes] | None = None) -> Trial:
    """Run `python -m alma_core.<module> ARGS` as the user would; the message is stderr."""
    def limit() -> None:
        if limit_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    done = subprocess.run([sys.executable, "-m", f"alma_core.{module}", *args], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, **(env or {})}, preexec_fn=limit, timeout=300, check=False)
    return Trial(done.stderr, done.returncode, kept or {})


# ---- parallel, monolingual and few-shot data ---------------------------------------------------------------------


def _train_yaml(tmp: Path, **values: object) -> tuple[Path, dict[Path, bytes]]:
    """A stage-2 run config in tmp; its output folder already holds a finished run.json that must stay."""
    finished = _write(tmp / "out" / "run.json", '{"status": "done"}\n')
    config = {"stage": 2, "base_model": "nobody/unused", "local_files_only": True, "output_dir": str(tmp / "out"),
              "data_root": str(tmp / "data"), "language_pairs": ["de-en"], **values}
    return _write(tmp / "run.yaml", yaml.safe_dump(config)), _keep(finished)


def _train_cli(tmp: Path, *extra: str, **values: object) -> Trial:
    config, kept = _train_yaml(tmp, **values)
    return _cli("train", "--config", str(config), *extra, kept=kept)


def _parallel(tmp: Path, content: str | bytes, src: str = "de", tgt: str = "en", name: str = "train") -> Trial:
    path = _write(tmp / "deen" / f"{name}.de-en.json", content)
    return _raises(lambda: data.read_parallel(path, src, tgt))


def parallel_truncated_last_line(tmp: Path) -> Trial:
    _write(tmp / "data" / "deen" / "train.de-en.json", _lines(PAIRS[:2]) + '{"translation": {"de": "Dan')
    return _train_cli(tmp)


def parallel_blank_lines(tmp: Path) -> Trial:
    path = _write(tmp / "train.de-en.json", "\n" + json.dumps(PAIR) + "\n   \n\n" + json.dumps(PAIRS[1]) + "\n\n")
    assert data.read_parallel(path, "de", "en") == [("Guten Morgen.", "Good morning."),
                                                     ("Wie geht es dir?", "How are you?")]
    return Trial("2 pairs, the blank lines skipped")


def parallel_bom_crlf(tmp: Path) -> Trial:
    plain = _write(tmp / "lf" / "train.de-en.json", _lines(PAIRS))
    windows = _write(tmp / "crlf" / "train.de-en.json", b"\xef\xbb\xbf" + _lines(PAIRS).replace("\n", "\r\n").encode())
    assert data.read_parallel(windows, "de", "en") == data.read_parallel(plain, "de", "en")
    return Trial("same pairs as the LF file without BOM")


def _mono(tmp: Path, name: str, content: str) -> Trial:
    path = _write(tmp / "monolingual" / name, content)
    return _raises(lambda: data.read_monolingual(path))


def _shots(tmp: Path, content: str) -> Trial:
    path = _write(tmp / "HW-5-shot" / "shots.de-en.json", content)
    return _raises(lambda: data.read_shots(path))


# ---- test sets and hypotheses ----------------------------------------------------------------------------------


def _eval_tree(tmp: Path, src: list[str] | bytes = SRC, ref: list[str] | bytes = REF,
               hyps: dict[str, str | bytes] | None = None) -> None:
    """tests/wmt22.de-en.{src,ref} and hyps/ in tmp (plain lines unless bytes are given)."""
    for suffix, lines in (("src", src), ("ref", ref)):
        if lines is not None:
            text = lines if isinstance(lines, bytes) else "\n".join(lines) + "\n"
            _write(tmp / "tests" / f"wmt22.de-en.{suffix}", text)
    for name, content in (hyps if hyps is not None else {"de-en.txt": "\n".join(HYP) + "\n"}).items():
        _write(tmp / "hyps" / name, content)


def _eval_cli(tmp: Path, *extra: str, directions: str = "de-en", out: Path | None = None) -> Trial:
    """The evaluate CLI without COMET; a results file from an earlier run sits at the default --out and must stay."""
    kept = {}
    if out is None:
        out = tmp / "results" / "res.json"
        kept = _keep(_write(out, '{"system": "earlier run"}\n'))
    args = ["--hyps", str(tmp / "hyps"), "--testsets", str(tmp / "tests"), "--directions", directions,
            "--system", "S", "--out", str(out), *extra]
    if "--comet-model" not in extra:
        args += ["--comet-model", "none"]
    return _cli("evaluate", *args, kept=kept)


def bom_crlf_testset(tmp: Path) -> Trial:
    _eval_tree(tmp / "lf")
    windows = tmp / "crlf"
    _eval_tree(windows, src=b"\xef\xbb\xbf" + "\r\n".join(SRC).encode() + b"\r\n",
               ref=b"\xef\xbb\xbf" + "\r\n".join(REF).encode() + b"\r\n")
    scores = []
    for root in (tmp / "lf", windows):
        trial = _eval_cli(root, out=root / "res.json")
        assert trial.rc == 0, trial.message
        scores.append(json.loads((root / "res.json").read_text())["results"])
    assert scores[0] == scores[1]
    return Trial("scores identical to the LF files without BOM")


def _same_scores(tmp: Path, plain: dict[str, str | bytes], variant: dict[str, str | bytes], says: str) -> Trial:
    """The evaluate CLI scores `variant` hypothesis files exactly as the `plain` ones."""
    scores = []
    for root, hyps in ((tmp / "plain", plain), (tmp / "variant", variant)):
        _eval_tree(root, hyps=hyps)
        trial = _eval_cli(root, out=root / "res.json")
        assert trial.rc == 0, trial.message
        scores.append(json.loads((root / "res.json").read_text())["results"])
    assert scores[0] == scores[1]
    return Trial(says)


def hyps_crlf(tmp: Path) -> Trial:
    lines = {"de-en.txt": "\n".join(HYP) + "\n"}
    return _same_scores(tmp, lines, {"de-en.txt": "\r\n".join(HYP) + "\r\n"}, "scores identical to the LF file")


def hyps_bom(tmp: Path, *, name: str = "de-en.txt") -> Trial:
    text = "\n".join(HYP) + "\n" if name.endswith(".txt") else _translations(SRC, HYP)
    return _same_scores(tmp, {name: text}, {name: b"\xef\xbb\xbf" + text.encode()},
                        "scores identical to the file without BOM")


def _wrong_language(tmp: Path) -> Trial:
    """German lines in the de-en hypothesis file: scored (the user may want the number), with one note."""
    _eval_tree(tmp, hyps={"de-en.txt": "\n".join(["Ich habe heute keine Zeit für dich.", "Wie geht es dir heute?",
                                                   "Danke schön für die schönen Blumen."]) + "\n"})
    trial = _eval_cli(tmp, out=tmp / "new.json")
    assert trial.rc == 0 and json.loads((tmp / "new.json").read_text())["records"][0]["off_target"] == 1.0
    return trial


def _translations(sources: list[str], hyps: list[str]) -> str:
    return _lines([{"index": i, "source": s, "hypothesis": h} for i, (s, h) in enumerate(zip(sources, hyps))])


# issue 22: a stale file, sides in the wrong language, invisible segments, repeated keys and directions, folders
LONG_DE = ["Ich habe heute leider keine Zeit für dich.", "Der Hund schläft den ganzen Tag im Garten.",
           "Wir fahren morgen früh mit dem Zug nach Berlin."]
LONG_EN = ["Unfortunately I have no time for you today.", "The dog sleeps in the garden all day long.",
           "Tomorrow morning we are taking the train to Berlin."]


def hyps_scored_file_named(tmp: Path) -> Trial:
    import contextlib
    import io

    from alma_core.runs import evaluate

    _eval_tree(tmp)
    out = tmp / "res.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert evaluate.main(["--hyps", str(tmp / "hyps"), "--testsets", str(tmp / "tests"), "--directions", "de-en",
                              "--system", "S", "--out", str(out), "--comet-model", "none"]) == 0
    scored = str(tmp / "hyps" / "de-en.txt")
    assert f"hypotheses de-en: {scored}" in printed.getvalue()
    assert json.loads(out.read_text())["records"][0]["hypotheses"] == scored
    return Trial(f"hypotheses de-en: {scored}; results record 'hypotheses': {scored}")


def _parallel_sides(tmp: Path, de: list[str], en: list[str]) -> Trial:
    return _parallel(tmp, _lines([{"translation": {"de": a, "en": b}} for a, b in zip(de, en)]))


def _eval_job_cli(tmp: Path, drop: tuple[str, ...] = (), **values: object) -> Trial:
    """A hand-edited evaluation job config (the keys alma_core.jobs.core writes, changed) run by the job CLI."""
    job = {"system": "S", "model": "nobody/unused", "local_files_only": True, "directions": ["de-en"],
           "test_root": str(tmp / "data"), "test_format": "json", "num_beams": 1, "batch_size": 2,
           "max_new_tokens": 8, "max_prompt_tokens": 64, "comet_model": "none", "comet_batch_size": 8,
           "output_dir": str(tmp / "out"), **values}
    config = _write(tmp / "job.yaml", yaml.safe_dump({k: v for k, v in job.items() if k not in drop}))
    return _cli("evaluate", "job", "--config", str(config))


def comet_missing_offline(tmp: Path) -> Trial:
    _eval_tree(tmp)
    out = tmp / "res.json"
    args = ["--hyps", str(tmp / "hyps"), "--testsets", str(tmp / "tests"), "--directions", "de-en", "--system", "S",
            "--out", str(out), "--comet-model", "Unbabel/wmt22-comet-da"]
    env = {"HF_HOME": str(tmp / "empty_hf"), "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp / "empty_hf" / "hub")}
    trial = _cli("evaluate", *args, env=env)
    assert trial.rc == 0, trial.message
    record = json.loads(out.read_text())["records"][0]
    assert record["bleu"] > 0 and record["comet"] is None and "not available offline" in record["comet_error"]
    return trial


# ---- params files ------------------------------------------------------------------------------------------------


def _params_cli(tmp: Path, notebook: str, change: Callable[[dict], object] | None = None,
                text: str | None = None) -> Trial:
    """Copy params/tiny/<notebook>.yaml into tmp/params/tiny/, change it, validate it with the params CLI."""
    values = yaml.safe_load((REPO / "params" / "tiny" / f"{notebook}.yaml").read_text(encoding="utf-8"))
    if change is not None:
        change(values)
    path = _write(tmp / "params" / "tiny" / f"{notebook}.yaml", text if text is not None else yaml.safe_dump(values))
    return _cli("params", str(path))


def _first_run(values: dict) -> dict:
    return next(iter(values["train"].values()))


def _rename_first_run(values: dict, **run: object) -> None:
    first = _first_run(values)
    values["train"] = {"full": {**first, **run}}
    for system in values["systems"]:
        if system.get("train"):
            system["train"] = "full"


# ---- models ------------------------------------------------------------------------------------------------------


def _saved_model(request: pytest.FixtureRequest, folder: Path, tokenizer: bool = True) -> Path:
    request.getfixturevalue("tiny_random_llama").save_pretrained(folder)
    if tokenizer:
        request.getfixturevalue("tiny_tokenizer").save_pretrained(folder)
    return folder


def model_no_tokenizer(tmp: Path, request: pytest.FixtureRequest) -> Trial:
    from alma_core.runs.modeling import load_backbone

    folder = _saved_model(request, tmp / "model", tokenizer=False)
    return _raises(lambda: load_backbone(folder))


def model_truncated_weights(tmp: Path, request: pytest.FixtureRequest) -> Trial:
    from alma_core.runs.modeling import load_backbone

    folder = _saved_model(request, tmp / "model")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return _raises(lambda: load_backbone(folder))


def model_interrupted_download(tmp: Path, request: pytest.FixtureRequest) -> Trial:
    """The layout huggingface_hub leaves when a download dies: config and tokenizer linked, the weights .incomplete."""
    from fixtures.comet import point_hub_cache

    from alma_core.runs.modeling import load_backbone

    point_hub_cache(request.getfixturevalue("monkeypatch"), tmp / "hf")
    repo = tmp / "hf" / "hub" / "models--acme--tiny-mt"
    snapshot = _saved_model(request, repo / "snapshots" / ("0" * 40))
    _write(repo / "refs" / "main", "0" * 40)
    weights = snapshot / "model.safetensors"
    _write(repo / "blobs" / "f00d.incomplete", weights.read_bytes()[:1000])
    weights.unlink()
    return _raises(lambda: load_backbone("acme/tiny-mt", local_files_only=True))


def lora_base_mismatch(tmp: Path, request: pytest.FixtureRequest) -> Trial:
    from transformers import LlamaForCausalLM

    from alma_core.runs.generate import load_translator
    from alma_core.runs.modeling import apply_lora
    from alma_core.standins.tiny_backbone import tiny_llama_config

    tokenizer = request.getfixturevalue("tiny_tokenizer")
    other = LlamaForCausalLM(tiny_llama_config(tokenizer, hidden_size=96, intermediate_size=192))
    apply_lora(other).save_pretrained(tmp / "adapter")
    base = _saved_model(request, tmp / "base")
    return _raises(lambda: load_translator(base, adapter=tmp / "adapter"))


def lora_other_base(tmp: Path, request: pytest.FixtureRequest) -> Trial:
    from fixtures.comet import point_hub_cache

    from alma_core.runs.generate import load_translator
    from alma_core.runs.modeling import apply_lora, load_backbone

    point_hub_cache(request.getfixturevalue("monkeypatch"), tmp / "hf")
    snapshots = {}
    for name in ("base-a", "base-b"):
        repo = tmp / "hf" / "hub" / f"models--acme--{name}"
        snapshots[name] = _saved_model(request, repo / "snapshots" / ("0" * 40))
        _write(repo / "refs" / "main", "0" * 40)
    adapter = apply_lora(load_backbone(snapshots["base-a"])[0])
    adapter.peft_config["default"].base_model_name_or_path = "acme/base-a"
    adapter.save_pretrained(tmp / "adapter")
    capsys = request.getfixturevalue("capsys")
    capsys.readouterr()
    load_translator("acme/base-b", adapter=tmp / "adapter", local_files_only=True)
    return Trial(capsys.readouterr().err)


def model_remote_code(tmp: Path, request: pytest.FixtureRequest) -> Trial:
    from alma_core.runs.modeling import load_backbone

    folder = _saved_model(request, tmp / "model")
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="acme-mt", auto_map={"AutoConfig": "acme.AcmeConfig",
                                                  "AutoModelForCausalLM": "acme.AcmeModel"})
    _write(folder / "config.json", json.dumps(config))
    marker = tmp / "code-ran"
    _write(folder / "acme.py", f"open({str(marker)!r}, 'w').write('ran')\n")
    trial = _raises(lambda: load_backbone(folder))
    assert not marker.exists(), "the model folder's own code was executed"
    return trial


# ---- disk and folders ------------------------------------------------------------------------------------------


def disk_full_checkpoint(tmp: Path, request: pytest.FixtureRequest) -> Trial:
    """A 512 KiB file-size limit (RLIMIT_FSIZE: writes fail with EFBIG, as on a full disk) hits the first checkpoint;
    the same command without the limit then finishes the run."""
    backbone = request.getfixturevalue("tiny_backbone_dir")
    values = {"base_model": str(backbone), "data_root": None, "max_steps": 2, "global_batch_size": 4,
              "micro_batch_size": 4, "max_train_examples": 8, "max_eval_examples": 4, "eval_every": 0.5,
              "max_length": 256, "local_files_only": True}
    config, _ = _train_yaml(tmp, **values)  # the run replaces the earlier run.json; the config must stay
    trial = _cli("train", "--config", str(config), limit_bytes=512 * 1024, kept=_keep(config))
    again = _cli("train", "--config", str(config))
    assert again.rc == 0, again.message[-3000:]
    record = json.loads((tmp / "out" / "run.json").read_text())
    assert record["status"] == "done" and record["resumed_from"] is None  # the half-written checkpoint-1 not taken
    return trial


def disk_full_result(tmp: Path, request: pytest.FixtureRequest) -> Trial:
    monkeypatch = request.getfixturevalue("monkeypatch")
    finished = _write(tmp / "scores.json", '{"bleu": 30.1}\n')
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: FullDisk(real_fdopen(fd, mode, *a, **k)))
    try:
        trial = _raises(lambda: atomic_write_json(finished, {"bleu": 99.9}))
    finally:
        monkeypatch.undo()
    assert sorted(p.name for p in tmp.iterdir()) == ["scores.json"], "a temp file was left behind"
    trial.kept = {finished: b'{"bleu": 30.1}\n'}
    return trial


def out_folder_read_only(tmp: Path) -> Trial:
    if os.geteuid() == 0:
        pytest.skip("running as root: permission bits do not stop writes (out-under-a-file covers the same path)")
    _eval_tree(tmp)
    (tmp / "results").mkdir()
    (tmp / "results").chmod(0o500)
    try:
        return _eval_cli(tmp, out=tmp / "results" / "res.json")
    finally:
        (tmp / "results").chmod(0o700)


def book_unknown_notebook(tmp: Path) -> Trial:
    from alma_core.book import site as book

    _write(tmp / "_toc.yml", (REPO / "_toc.yml").read_text())
    status = _write(tmp / "book" / "_executed" / "status.json", '{"status": {"sec5_main_results": "done"}}\n')
    executed = tmp / "book" / "_executed"
    trial = _raises(lambda: book.run("tiny", only=["sec5_main_reslts"], root=tmp, executed=executed))
    trial.kept = _keep(status)
    return trial


def papermill_unknown_parameter(tmp: Path) -> Trial:
    import papermill

    values = yaml.safe_load((REPO / "params" / "tiny" / "appD_sampling.yaml").read_text(encoding="utf-8"))
    try:
        papermill.execute_notebook(str(REPO / "notebooks" / "appD_sampling.ipynb"), str(tmp / "out.ipynb"),
                                   parameters={**values, "temperatur": 3}, kernel_name="python3", cwd=str(REPO),
                                   progress_bar=False)
    except papermill.PapermillExecutionError as err:
        return Trial(f"{err.ename}: {err.evalue}")  # the last line papermill prints
    raise AssertionError("the chapter ran with an unknown parameter")


# ---- training runs and their checkpoints -------------------------------------------------------------------------

HOLD_LOCK = """
import sys, time
from alma_core.io import locked
with locked(sys.argv[1], "a training run"):
    print("held", flush=True)
    time.sleep(120)
"""


def train_output_dir_busy(tmp: Path) -> Trial:
    from alma_core.runs.checkpoints import TRAIN_LOCK

    _write(tmp / "data" / "deen" / "train.de-en.json", _lines(PAIRS))
    _write(tmp / "data" / "deen" / "valid.de-en.json", _lines(PAIRS))
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(tmp / "out" / TRAIN_LOCK)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        return _train_cli(tmp)
    finally:
        holder.kill()
        holder.wait(timeout=30)


def _damaged_checkpoint(tmp: Path, request: pytest.FixtureRequest, damage: Callable[[Path], object]) -> Trial:
    """A 6-step run killed after checkpoint-4 (run.json running), checkpoint-4 damaged since; the CLI reruns it."""
    import shutil

    from test_kill_resume import _train_config

    from alma_core.runs.config import load_train_config
    from alma_core.runs.train import run_training

    out = tmp / "run"
    config = _train_config(tmp, request.getfixturevalue("tiny_backbone_dir"), 2, out)
    run_training(load_train_config(config))
    shutil.rmtree(out / "checkpoint-6")
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    atomic_write_json(out / "run.json", {**record, "status": "running"})
    damage(out / "checkpoint-4")
    done = subprocess.run([sys.executable, "-m", "alma_core.train", "--config", str(config)], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return Trial(done.stdout + done.stderr, done.returncode)


def _cut_off(path: Path, lost: int) -> None:
    """Drop the last `lost` bytes of a file, as an interrupted copy does."""
    os.truncate(path, path.stat().st_size - lost)


def checkpoint_damaged(tmp: Path, request: pytest.FixtureRequest) -> Trial:
    return _damaged_checkpoint(tmp, request, lambda folder: _cut_off(folder / "model.safetensors", 100))


def checkpoint_state_truncated(tmp: Path, request: pytest.FixtureRequest) -> Trial:
    return _damaged_checkpoint(tmp, request, lambda folder: _cut_off(folder / "trainer_state.json", 100))


# ---- the table of setups -----------------------------------------------------------------------------------------

V = "valid"


def _tiny_text(notebook: str) -> str:
    return (REPO / "params" / "tiny" / f"{notebook}.yaml").read_text(encoding="utf-8")


def params_alias_bomb(tmp: Path) -> Trial:
    """Nine anchors of nine aliases each under tiny_backbone (any mapping), the last one as the seed: 9**9 values."""
    anchors = "".join(f"  {c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    text = _tiny_text("sec5_main_results").replace("seed: 42\n", "").replace(
        "tiny_backbone: {}\n", "tiny_backbone:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + anchors)
    return _params_cli(tmp, "sec5_main_results", text=text + "seed: *i\n")


SETUPS: dict[str, Callable[..., Trial]] = {
    "parallel-truncated-last-line": parallel_truncated_last_line,
    "parallel-bad-middle-line": lambda t: _parallel(t, json.dumps(PAIR) + "\n{translation: x}\n"),
    "parallel-truncated-array": lambda t: _parallel(t, json.dumps(PAIRS, indent=1)[:-20], name=V),
    "parallel-wrong-language-keys": lambda t: _parallel(t, _lines([{"translation": {"cs": "Ahoj.", "en": "Hi"}}])),
    "parallel-blank-lines": parallel_blank_lines,
    "parallel-empty-segment": lambda t: _parallel(t, _lines([PAIR, {"translation": {"de": "Hallo", "en": ""}}])),
    "parallel-not-a-string": lambda t: _parallel(t, _lines([{"translation": {"de": 5, "en": "five"}}])),
    "parallel-no-translation-object": lambda t: _parallel(t, _lines([{"de": "Hallo", "en": "Hello"}])),
    "parallel-empty-file": lambda t: _parallel(t, b""),
    "parallel-latin1": lambda t: _parallel(t, _lines([PAIRS[2]]).encode("latin-1")),
    "parallel-utf16": lambda t: _parallel(t, _lines(PAIRS).encode("utf-16")),
    "parallel-bom-crlf": parallel_bom_crlf,
    "parallel-same-language": lambda t: _parallel(t, _lines(PAIRS), "de", "de"),
    "train-unknown-language": lambda t: _train_cli(t, language_pairs=["de-xx"]),
    "train-not-english-centric": lambda t: _train_cli(t, language_pairs=["de-cs"]),
    "monolingual-empty-file": lambda t: _mono(t, "de.txt", ""),
    "monolingual-jsonl-no-text": lambda t: _mono(t, "de.jsonl", _lines([{"content": "Ein Dokument."}])),
    "shots-not-array": lambda t: _shots(t, _lines([{"source": "a", "target": "b"}])),
    "testset-misaligned": lambda t: (_eval_tree(t, ref=REF[:2]), _eval_cli(t))[1],
    "testset-empty-line": lambda t: (_eval_tree(t, ref=[REF[0], "", REF[2]]), _eval_cli(t))[1],
    "testset-missing": lambda t: (_eval_tree(t, ref=None), _eval_cli(t))[1],
    "testset-empty-file": lambda t: (_eval_tree(t, src=b""), _raises(lambda: testsets.read_test_set(t / "tests", "de",
                                                                                                        "en")))[1],
    "testset-bom-crlf": bom_crlf_testset,
    "testset-latin1": lambda t: (_eval_tree(t, ref="\n".join(REF).encode("latin-1") + "é\n".encode("latin-1")),
                                 _raises(lambda: testsets.read_test_set(t / "tests", "de", "en")))[1],
    "testset-wrong-direction": lambda t: (
        _write(t / "deen" / "test.de-en.json", json.dumps([{"translation": {"cs": "Ahoj", "en": "Hi"}}])),
        _raises(lambda: testsets.read_test_set(t, "de", "en", fmt="json")))[1],
    "eval-unknown-language": lambda t: (_eval_tree(t), _eval_cli(t, directions="de-xx"))[1],
    "hyps-short": lambda t: (_eval_tree(t, hyps={"de-en.txt": "\n".join(HYP[:2]) + "\n"}), _eval_cli(t))[1],
    "hyps-wrong-direction": lambda t: (_eval_tree(t, hyps={"de-en.jsonl": _translations(REF, SRC)}), _eval_cli(t))[1],
    "hyps-wrong-language": lambda t: _wrong_language(t),
    "hyps-missing": lambda t: (_eval_tree(t, hyps={}), _eval_cli(t))[1],
    "hyps-jsonl-latin1": lambda t: (_eval_tree(t, hyps={"de-en.jsonl": _translations(SRC, HYP).encode("latin-1")}),
                                    _eval_cli(t))[1],
    "hyps-jsonl-interrupted": lambda t: (_eval_tree(t, hyps={"de-en.jsonl": _translations(SRC, HYP)[:-30]}),
                                         _eval_cli(t))[1],
    "hyps-crlf": hyps_crlf,
    "hyps-bom": hyps_bom,
    "hyps-jsonl-bom": lambda t: hyps_bom(t, name="de-en.jsonl"),
    "hyps-stale-beside-new": lambda t: (_eval_tree(t, hyps={"de-en.jsonl": _translations(SRC, ["Stale."] * 3),
                                                            "de-en.txt": "\n".join(REF) + "\n"}), _eval_cli(t))[1],
    "hyps-scored-file-named": hyps_scored_file_named,
    "hyps-zero-width-line": lambda t: (_eval_tree(t, hyps={"de-en.txt": f"{HYP[0]}\n\ufeff\n{HYP[2]}\n"}),
                                       _eval_cli(t))[1],
    "hyps-nul": lambda t: (_eval_tree(t, hyps={"de-en.txt": "Good\0 morning.\n" + "\n".join(HYP[1:]) + "\n"}),
                           _eval_cli(t))[1],
    "hyps-jsonl-duplicate-key": lambda t: (
        _eval_tree(t, hyps={"de-en.jsonl": _translations(SRC, HYP).replace(
            '"hypothesis": "How', '"hypothesis": "Stale.", "hypothesis": "How')}), _eval_cli(t))[1],
    "testset-swapped-sides": lambda t: (_eval_tree(t, src=LONG_EN, ref=LONG_DE, hyps={"de-en.txt": "\n".join(
        LONG_EN) + "\n"}), _eval_cli(t))[1],
    "testset-zero-width-line": lambda t: (_eval_tree(t, ref=[REF[0], "\u200b", REF[2]]), _eval_cli(t))[1],
    "testset-folder-not-file": lambda t: (_eval_tree(t, ref=None), (t / "tests" / "wmt22.de-en.ref").mkdir(),
                                          _eval_cli(t))[2],
    "eval-duplicate-direction": lambda t: (_eval_tree(t), _eval_cli(t, directions="de-en,de-en"))[1],
    "parallel-swapped-sides": lambda t: _parallel_sides(t, LONG_EN, LONG_DE),
    "parallel-copied-side": lambda t: _parallel_sides(t, LONG_DE, LONG_DE),
    "parallel-zero-width-segment": lambda t: _parallel(t, _lines([PAIR, {"translation": {"de": "Hallo",
                                                                                         "en": "\u200c\u200d"}}])),
    "parallel-duplicate-key": lambda t: _parallel(t, '{"translation": {"de": "a", "de": "b", "en": "c"}}\n'),
    "parallel-folder-not-file": lambda t: ((t / "deen").mkdir(), _raises(lambda: data.read_parallel(t / "deen", "de",
                                                                                                      "en")))[1],
    "eval-job-missing-directions": lambda t: _eval_job_cli(t, drop=("directions",)),
    "eval-job-wrong-type": lambda t: _eval_job_cli(t, num_beams="five"),
    "eval-job-duplicate-direction": lambda t: _eval_job_cli(t, directions=["de-en", "en-de", "de-en"]),
    "params-wrong-type": lambda t: _params_cli(t, "sec5_main_results",
                                               lambda v: v["evaluation"].update(num_beams="five")),
    "params-typo-key": lambda t: _params_cli(t, "sec5_main_results",
                                             lambda v: v["evaluation"].update(num_beam=v["evaluation"].pop("num_beams",
                                                                                                           5))),
    "params-missing-key": lambda t: _params_cli(t, "sec5_main_results", lambda v: v.pop("evaluation")),
    "params-bad-yaml": lambda t: _params_cli(t, "sec5_main_results", text="profile: tiny\nstore_dir: [runs\n\tx: 1\n"),
    "params-temperature-out-of-range": lambda t: _params_cli(t, "sec4_recipe", lambda v: v.update(temperature=0)),
    "params-lr-out-of-range": lambda t: _params_cli(t, "sec5_main_results",
                                                    lambda v: _rename_first_run(v, learning_rate=-0.001)),
    "params-monolingual-ratio": lambda t: _params_cli(t, "appJ_crosslingual", lambda v: _rename_first_run(
        v, monolingual_langs=["en", "de"], monolingual_ratios={"en": 1.5, "de": -0.5})),
    "params-batch-not-divisible": lambda t: _params_cli(t, "sec5_main_results", lambda v: (
        _rename_first_run(v, global_batch_size=250, micro_batch_size=4),
        v.setdefault("launch", {}).update(launcher="torchrun", gpus_per_node=2))),
    "params-unknown-direction": lambda t: _params_cli(t, "sec5_main_results",
                                                      lambda v: v["evaluation"].update(directions=["de-en", "xx-en"])),
    "params-profile-mismatch": lambda t: _params_cli(t, "sec5_main_results", lambda v: v.update(profile="paper")),
    "params-path-traversal": lambda t: _params_cli(t, "sec5_main_results",
                                                   lambda v: v["systems"][0].update(name="../../outside")),
    "params-missing-file": lambda t: _cli("params", str(t / "params" / "tiny" / "sec5_main_results.yaml")),
    "params-alias-bomb": params_alias_bomb,
    "params-duplicate-key": lambda t: _params_cli(t, "sec5_main_results", text=_tiny_text("sec5_main_results")
                                                  + "seed: 7\n"),
    "params-bool-as-number": lambda t: _params_cli(t, "sec5_main_results",
                                                   lambda v: v["evaluation"].update(num_beams=True)),
    "params-unknown-train-language": lambda t: _params_cli(t, "sec5_main_results", lambda v: _rename_first_run(
        v, language_pairs=["de-en", "xx-en"])),
    "params-unknown-language-list": lambda t: _params_cli(t, "appD_sampling",
                                                          lambda v: v.update(languages=["en", "de", "xx"])),
    "params-system-unknown-run": lambda t: _params_cli(t, "sec5_main_results",
                                                       lambda v: v["systems"][1].update(train="alma_ful")),
    "params-duplicate-system": lambda t: _params_cli(t, "sec5_main_results",
                                                     lambda v: v["systems"][1].update(name=v["systems"][0]["name"])),
    "params-empty-store-dir": lambda t: _params_cli(t, "sec5_main_results", lambda v: v.update(store_dir="")),
    "params-seed-out-of-range": lambda t: _params_cli(t, "sec5_main_results", lambda v: v.update(seed=2**32)),
    "params-empty-file": lambda t: _params_cli(t, "sec5_main_results", text="# to be written\n"),
    "params-store-dir-is-a-file": lambda t: _params_cli(t, "sec5_main_results", lambda v: v.update(
        store_dir=str(_write(t / "store", "not a folder\n")))),
    "train-set-bad-yaml": lambda t: _train_cli(t, "--plan", "--set", "lora_target_modules=[a, b"),
    "train-bool-as-number": lambda t: _train_cli(t, "--plan", max_steps=True),
    "train-typo-key": lambda t: _train_cli(t, "--plan", learnin_rate=2e-5),
    "train-missing-config": lambda t: _cli("train", "--config", str(t / "nope.yaml")),
    "train-missing-stage": lambda t: (_write(t / "run.yaml", "base_model: x\noutput_dir: out\n"),
                                      _cli("train", "--config", str(t / "run.yaml"), "--plan"))[1],
    "train-batch-not-divisible": lambda t: _train_cli(t, "--plan", global_batch_size=10, micro_batch_size=4,
                                                      world_size=1),
    "train-lr-typo": lambda t: _train_cli(t, "--plan", learning_rate=2e3),
    "train-lr-zero": lambda t: _train_cli(t, "--plan", learning_rate=0),
    "model-missing-folder": lambda t: _train_cli(t, base_model="./no-such-model"),
    "model-missing-offline": lambda t: _train_cli(t, base_model="nobody/no-such-model", data_root=None,
                                                  max_train_examples=4),
    "model-no-tokenizer": model_no_tokenizer,
    "model-truncated-weights": model_truncated_weights,
    "model-interrupted-download": model_interrupted_download,
    "lora-base-mismatch": lora_base_mismatch,
    "lora-other-base": lora_other_base,
    "model-remote-code": model_remote_code,
    "comet-missing-offline": comet_missing_offline,
    "disk-full-checkpoint": disk_full_checkpoint,
    "disk-full-result": disk_full_result,
    "out-folder-read-only": out_folder_read_only,
    "out-under-a-file": lambda t: (_eval_tree(t), _write(t / "results", "a file, not a folder"),
                                   _eval_cli(t, out=t / "results" / "res.json"))[2],
    "out-is-a-csv": lambda t: (_eval_tree(t), _eval_cli(t, out=t / "res.csv"))[1],
    "out-is-a-folder": lambda t: (_eval_tree(t), (t / "results").mkdir(), _eval_cli(t, out=t / "results"))[2],
    "eval-job-missing-config": lambda t: _cli("evaluate", "job", "--config", str(t / "nope.yaml")),
    "appj-job-missing-config": lambda t: _cli("runs.crosslingual", "--config", str(t / "nope.yaml")),
    "appj-job-bad-yaml": lambda t: (_write(t / "job.yaml", f"output_dir: {t / 'out'}\nmodel: a: b\n"),
                                    _cli("runs.crosslingual", "--config", str(t / "job.yaml")))[1],
    "appj-job-missing-model": lambda t: (
        _write(t / "job.yaml", yaml.safe_dump({"output_dir": str(t / "out"), "model": "nobody/no-such-model",
                                               "local_files_only": True})),
        _cli("runs.crosslingual", "--config", str(t / "job.yaml")))[1],
    "book-unknown-notebook": book_unknown_notebook,
    "papermill-unknown-parameter": papermill_unknown_parameter,
    "train-output-dir-busy": train_output_dir_busy,
    "checkpoint-damaged": checkpoint_damaged,
    "checkpoint-state-truncated": checkpoint_state_truncated,
}


def test_every_case_has_a_setup_and_the_catalogue_is_large_enough() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 40
    assert set(ids) == set(SETUPS)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    setup = SETUPS[case.id]
    trial = setup(tmp_path, request) if setup.__code__.co_argcount == 2 else setup(tmp_path)
    message = trial.message
    for fragment in case.expect:
        assert fragment in message, f"{fragment!r} not in the message:\n{message}"
    assert "Traceback" not in message, message
    if trial.rc is not None and case.outcome == "error":
        assert trial.rc != 0, f"exit code 0 for a bad input:\n{message}"
        errors = [line for line in message.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, f"not exactly one error message:\n{message}"
    if case.outcome == "error":
        assert re.search(r"\bfix\b|to add one", message, re.I), f"the message names no fix:\n{message}"
    for path, before in trial.kept.items():
        assert path.read_bytes() == before, f"{path} was changed by a failed command"


def test_page_matches_the_table() -> None:
    assert PAGE.is_file(), "run .venv/bin/python tests/bad_inputs_catalogue.py"
    regenerate = "regenerate it: .venv/bin/python tests/bad_inputs_catalogue.py"
    assert PAGE.read_text(encoding="utf-8") == render_page(), regenerate
    toc = (REPO / "_toc.yml").read_text(encoding="utf-8")
    assert "file: book/bad_inputs" in toc.split("caption: The paper")[0], "not under 'Using this book' in _toc.yml"


def test_the_safety_rules_name_real_tests() -> None:
    source = (REPO / "tests" / "test_safety.py").read_text(encoding="utf-8")
    names = [name.strip() for _, tests in SAFETY if tests.startswith("test_") for name in tests.split(",")]
    assert len(names) >= 10 and all(f"def {name}(" in source for name in names), names
