"""Safe by default (issue 11, item 5): no model code runs unless a params file asks, checkpoints and state load
with safe loaders, YAML with the safe loader, names from params never leave the store, and the library never runs
sudo or a package manager."""

from __future__ import annotations

import ast
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
import yaml

from alma_core.book import browser
from alma_core.book.site import BookError, notebook_pairs
from alma_core.jobs import core as jobs
from alma_core.params.schemas import ParamsError, load_params
from alma_core.recipe.data import DataError, monolingual_path
from alma_core.runs.modeling import ModelLoadError, load_backbone

REPO = Path(__file__).resolve().parents[1]
SOURCES = sorted((REPO / "alma_core").rglob("*.py"))


def _calls(name: str) -> list[tuple[Path, ast.Call]]:
    """Every call `<x>.name(...)` or `name(...)` in the library."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called == name:
                    found.append((path, node))
    return found


def _receiver(call: ast.Call) -> str | None:
    func = call.func
    return func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None


def _keyword(call: ast.Call, name: str) -> Any:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value.value if isinstance(keyword.value, ast.Constant) else keyword.value
    return None


# ---- YAML and pickles ------------------------------------------------------------------------------------------


def test_yaml_is_only_read_with_the_safe_loader() -> None:
    unsafe = [f"{path.name}:{call.lineno}" for name in ("load", "full_load", "unsafe_load", "load_all")
              for path, call in _calls(name) if _receiver(call) == "yaml"]
    assert unsafe == []
    # THE YAML reader is io.read_yaml_mapping; the one other safe_load parses a `--set KEY=VALUE` value, not a file
    safe = sorted(f"{p.relative_to(p.parents[1]) if p.parent.name != 'alma_core' else p.name}" for p, c in
                  _calls("safe_load") if _receiver(c) == "yaml")
    assert safe == ["io/yaml_reader.py", "runs/config.py"], safe


def test_every_torch_load_in_the_library_is_weights_only() -> None:
    loads = [(path, call) for path, call in _calls("load") if _receiver(call) == "torch"]
    assert loads, "expected the library's torch.load calls"
    assert [f"{p.name}:{c.lineno}" for p, c in loads if _keyword(c, "weights_only") is not True] == []


def test_torch_load_default_refuses_pickled_code(tmp_path: Path) -> None:
    """HF Trainer's resume reads rng_state.pth with a bare torch.load (optimizer/scheduler with weights_only=True):
    under the pinned torch (>= 2.6) the bare call is weights_only too, so a crafted state file cannot run code."""
    import torch

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.write_text, (marker, "code ran"))

    assert tuple(int(part) for part in torch.__version__.split(".")[:2]) >= (2, 6)  # weights_only by default
    state = tmp_path / "rng_state.pth"
    state.write_bytes(pickle.dumps({"python": Payload()}))
    with pytest.raises(pickle.UnpicklingError):
        torch.load(state)
    assert not marker.exists()
    trainer = Path(__import__("transformers").trainer.__file__).read_text(encoding="utf-8")
    assert "weights_only=False" not in trainer


def test_comet_checkpoint_loads_weights_only(tiny_comet_checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """COMET (through Lightning) loads its checkpoint with weights_only (explicitly or by torch's default)."""
    import torch

    from alma_core.recipe import metrics

    real_load, seen = torch.load, []

    def recording_load(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", recording_load)
    metrics._load_comet.cache_clear()  # a model an earlier test loaded would be served from the cache, unloaded
    metrics.comet(["Hallo Welt."], ["Hello world."], ["Hello, world."], model=str(tiny_comet_checkpoint))
    assert seen and all(flag in (None, True) for flag in seen), seen  # None: torch's default, weights_only (>= 2.6)


# ---- model code --------------------------------------------------------------------------------------------------


def test_no_library_call_turns_remote_code_on() -> None:
    literal_true = [f"{p.name}:{c.lineno}" for name in ("from_pretrained", "load_backbone", "load_translator")
                    for p, c in _calls(name) if _keyword(c, "trust_remote_code") is True]
    assert literal_true == []
    loads = [c for p, c in _calls("from_pretrained") if p.name == "modeling.py" and _receiver(c) and
             _receiver(c).startswith("Auto")]
    assert loads and all(any(k.arg is None or k.arg == "trust_remote_code" for k in c.keywords) for c in loads)


def _model_with_own_code(folder: Path, tiny_random_llama: Any, tiny_tokenizer: Any, marker: Path) -> Path:
    """A model folder whose config.json asks transformers to import its own acme.py (which leaves `marker`)."""
    tiny_random_llama.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="acme-mt", auto_map={"AutoConfig": "acme.AcmeConfig",
                                                  "AutoModelForCausalLM": "acme.AcmeModel"})
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "acme.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('ran')\n"
        "from transformers import LlamaConfig, LlamaForCausalLM\n"
        "class AcmeConfig(LlamaConfig):\n    model_type = 'acme-mt'\n"
        "class AcmeModel(LlamaForCausalLM):\n    config_class = AcmeConfig\n")
    return folder


def test_model_code_runs_only_when_the_params_ask(tmp_path: Path, tiny_random_llama: Any, tiny_tokenizer: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    marker = tmp_path / "ran"
    folder = _model_with_own_code(tmp_path / "model", tiny_random_llama, tiny_tokenizer, marker)
    with pytest.raises(ModelLoadError, match="trust_remote_code: true"):
        load_backbone(folder)
    assert not marker.exists()
    model, _ = load_backbone(folder, trust_remote_code=True)  # the params key, passed through by the jobs
    assert marker.exists() and type(model).__name__ == "AcmeModel"


def test_trust_remote_code_is_a_params_key_carried_by_the_jobs(tmp_path: Path) -> None:
    from alma_core.runs.config import make_config

    assert make_config({"stage": 2, "base_model": "x", "output_dir": "o", "language_pairs": ["de-en"]}
                       ).trust_remote_code is False
    values = yaml.safe_load((REPO / "params" / "tiny" / "sec2_zero_shot.yaml").read_text(encoding="utf-8"))
    values["store_dir"] = str(tmp_path / "store")
    values["systems"] = [{"name": "acme", "model": "acme/mt", "local_files_only": True, "trust_remote_code": True},
                         {"name": "plain", "model": "acme/mt"}]
    path = tmp_path / "tiny" / "sec2_zero_shot.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(values))
    params = load_params(path)
    asked, plain = (jobs.eval_config(params, system, {})[0] for system in params.systems)
    assert asked["trust_remote_code"] is True and "trust_remote_code" not in plain


# ---- names from params -------------------------------------------------------------------------------------------

ESCAPES = ["../outside", "../../etc/passwd", "/abs/path", "a/../../b", ".hidden", "~root", "a\\b", ""]


def _params_with(tmp_path: Path, notebook: str, change: Any) -> Path:
    values = yaml.safe_load((REPO / "params" / "tiny" / f"{notebook}.yaml").read_text(encoding="utf-8"))
    change(values)
    path = tmp_path / "tiny" / f"{notebook}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(values))
    return path


@pytest.mark.parametrize("name", ESCAPES)
def test_system_and_run_names_cannot_escape_the_store(tmp_path: Path, name: str) -> None:
    def system(values: dict) -> None:
        values["systems"][0]["name"] = name

    def run(values: dict) -> None:
        first = next(iter(values["train"]))
        values["train"] = {name: values["train"][first]}

    for change, key in ((system, "systems.0.name"), (run, "train")):
        with pytest.raises(ParamsError, match="store folder") as err:
            load_params(_params_with(tmp_path, "sec5_main_results", change))
        assert key in str(err.value) and repr(name) in str(err.value)


def test_prompt_and_language_names_cannot_escape(tmp_path: Path) -> None:
    def prompt(values: dict) -> None:
        values["prompts"][0]["name"] = "../x"

    def language(values: dict) -> None:
        values["evaluation"]["tasks"]["XNLI"] = ["de", "../../x"]

    for notebook, change in (("appE_off_target", prompt), ("appJ_crosslingual", language)):
        with pytest.raises(ParamsError, match="store folder"):
            load_params(_params_with(tmp_path, notebook, change))
    with pytest.raises(DataError, match="unknown language code"):
        monolingual_path(tmp_path, "../../x")


def test_plain_names_are_kept_and_job_folders_stay_inside(tmp_path: Path) -> None:
    path = _params_with(tmp_path, "sec5_main_results", lambda v: v["systems"][0].update(name="ALMA-7B (LoRA) v1.0"))
    assert load_params(path).systems[0].name == "ALMA-7B (LoRA) v1.0"
    store = (tmp_path / "store").resolve()
    for name in [*ESCAPES, "..", ".", "a/b/..", "x" * 300]:
        folder = (store / "eval" / f"{jobs.slug(name)}-0123abcd").resolve()
        assert folder.parent == store / "eval", name


def test_book_only_refuses_a_path(tmp_path: Path) -> None:
    (tmp_path / "_toc.yml").write_text((REPO / "_toc.yml").read_text(encoding="utf-8"))
    for name in ("../../tmp/x", "/etc/passwd", "sec5_main_reslts"):
        with pytest.raises(BookError, match="not a chapter"):
            notebook_pairs("tiny", tmp_path, [name])


# ---- no sudo, no package manager ------------------------------------------------------------------------------

INSTALLERS = {"sudo", "apt", "apt-get", "yum", "dnf", "brew", "pip", "pip3", "conda", "mamba", "npm", "snap"}
RUNNERS = {"run", "Popen", "call", "check_call", "check_output", "system", "popen", "execvp", "execv", "spawnv"}


def _strings(node: ast.AST) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_no_library_code_runs_sudo_or_a_package_manager() -> None:
    offending, checked = [], 0
    for runner in RUNNERS:
        for path, call in _calls(runner):
            if _receiver(call) not in ("subprocess", "os"):
                continue
            checked += 1
            words = {word for text in _strings(call) for word in text.replace("/", " ").split()}
            if words & INSTALLERS or any(isinstance(a, ast.Name) and a.id == "INSTALL_COMMAND" for a in
                                         ast.walk(call)):
                offending.append(f"{path.relative_to(REPO)}:{call.lineno}")
    assert checked >= 4 and offending == []
    assert "-m pip" not in "".join(p.read_text(encoding="utf-8") for p in SOURCES if p.name != "browser.py")


def test_browser_prints_the_install_command_instead_of_running_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil
    import subprocess

    ran: list[Any] = []
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: ran.append(a))
    with pytest.raises(BookError, match="apt-get install"):
        browser.find_chromium()
    assert ran == []
