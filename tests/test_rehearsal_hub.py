"""The offline rehearsal's local Hugging Face cache: tiny random stand-ins under the real hub ids (DESIGN.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from alma_core.standins.hub import (
    COMET_IDS,
    HUB_MODELS,
    LORA_ADAPTERS,
    build_local_hub,
    hub_ids,
    main,
    snapshot_revision,
)

ROOT = Path(__file__).resolve().parents[1]
MODEL_KEYS = ("model", "base_model", "adapter", "tokenizer", "comet_model")
TEXTS = ["The cat sits on the mat.", "Die Katze sitzt auf der Matte.", "猫坐在垫子上。", "Кошка сидит на коврике."] * 30


def _params_hub_ids() -> set[str]:
    """Every `org/name` value of a model-naming key in the paper and released params (local paths have more '/')."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                values = value if isinstance(value, list) else [value]
                if key in MODEL_KEYS or key.endswith("_model"):
                    found.update(v for v in values if isinstance(v, str) and v.count("/") == 1)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted((ROOT / "params" / "paper").glob("*.yaml")) + sorted(
        (ROOT / "params" / "released").glob("*.yaml")
    ):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


def test_hub_covers_every_id_the_params_name():
    wanted = _params_hub_ids()
    assert {"meta-llama/Llama-2-7b-hf", "haoranxu/ALMA-13B-Pretrain-LoRA", "Unbabel/wmt22-comet-da"} <= wanted
    assert wanted <= set(hub_ids()), f"params name ids the local hub lacks: {sorted(wanted - set(hub_ids()))}"


def test_layout_is_the_hf_cache_layout(local_hub_home):
    hub = local_hub_home / "hub"
    for repo_id in hub_ids():
        repo = hub / ("models--" + repo_id.replace("/", "--"))
        rev = (repo / "refs" / "main").read_text().strip()
        assert re.fullmatch(r"[0-9a-f]{40}", rev), repo_id
        snapshot = repo / "snapshots" / rev
        assert snapshot.is_dir() and not list(repo.glob("snapshots/.*")), f"{repo_id}: no snapshot or a temp dir left"
    for spec in HUB_MODELS:
        snapshot = hub / ("models--" + spec.repo_id.replace("/", "--")) / "snapshots" / snapshot_revision(spec.repo_id)
        assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= {
            p.name for p in snapshot.iterdir()
        }
        assert "RANDOM weights" in (snapshot / "README.md").read_text()
    for adapter in LORA_ADAPTERS:
        snapshot = (
            hub / ("models--" + adapter.repo_id.replace("/", "--")) / "snapshots" / snapshot_revision(adapter.repo_id)
        )
        config = json.loads((snapshot / "adapter_config.json").read_text())
        assert (snapshot / "adapter_model.safetensors").is_file()
        assert config["base_model_name_or_path"] == adapter.base
        assert (config["r"], config["lora_alpha"], config["lora_dropout"], config["target_modules"]) == (
            16,
            32,
            0.05,
            ["down_proj"],
        )


def test_tokenizers_cover_every_script_and_follow_their_family(local_hub):
    from transformers import AutoTokenizer

    lines = ["Kötturinn situr á mottunni.", "猫坐在垫子上。", "Кошка сидит на коврике.", "Kočka sedí na rohožce."]
    adds_bos = {"llama": True, "opt": True, "mpt": False, "bloom": False, "falcon": False, "llama3": True,
                "qwen2": False, "gemma2": True, "mistral": True}
    for spec in HUB_MODELS:
        tok = AutoTokenizer.from_pretrained(spec.repo_id)
        for line in lines:
            ids = tok(line)["input_ids"]
            assert tok.decode(ids, skip_special_tokens=True) == line, spec.repo_id
            plain = tok(line, add_special_tokens=False)["input_ids"]
            assert ids[len(ids) - len(plain):] == plain, f"{spec.repo_id} must not append EOS"
        first = tok("Hello")["input_ids"][0]
        assert (first == tok.bos_token_id) is adds_bos[spec.family], spec.repo_id
        assert len(tok) <= 1000


def test_build_is_deterministic_idempotent_and_leaves_present_ids_alone(tmp_path, monkeypatch):
    import alma_core.standins.hub as hub

    monkeypatch.setattr(hub, "COMET_IDS", ())  # COMET's own determinism is tested with tiny_comet
    real = tmp_path / "a" / "hub" / "models--tiiuae--falcon-7b"
    (real / "snapshots" / ("f" * 40)).mkdir(parents=True)
    (real / "refs").mkdir()
    (real / "refs" / "main").write_text("f" * 40)  # stands for a real download: must be kept
    a = build_local_hub(tmp_path / "a", TEXTS)
    b = build_local_hub(tmp_path / "b", TEXTS)
    assert a["tiiuae/falcon-7b"] == real / "snapshots" / ("f" * 40)
    assert list((real / "snapshots").iterdir()) == [real / "snapshots" / ("f" * 40)]
    for repo_id in ("meta-llama/Llama-2-7b-hf", "mosaicml/mpt-7b", "haoranxu/ALMA-7B-Pretrain-LoRA"):
        assert a[repo_id].name == b[repo_id].name == snapshot_revision(repo_id)
        for file in a[repo_id].iterdir():
            assert file.read_bytes() == (b[repo_id] / file.name).read_bytes(), f"{repo_id}/{file.name} differs"
    weights = a["meta-llama/Llama-2-7b-hf"] / "model.safetensors"
    stamp = weights.stat().st_mtime_ns
    assert build_local_hub(tmp_path / "a", TEXTS) == a and weights.stat().st_mtime_ns == stamp
    other = build_local_hub(tmp_path / "c", TEXTS, seed=1)
    assert (other["meta-llama/Llama-2-7b-hf"] / "model.safetensors").read_bytes() != weights.read_bytes()


def test_refuses_the_default_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    with pytest.raises(ValueError, match="default Hugging Face cache"):
        build_local_hub(tmp_path / ".cache" / "huggingface", TEXTS)


def test_cli_lists_every_id(local_hub_home, capsys):
    assert main(["--hf-home", str(local_hub_home)]) == 0
    out = capsys.readouterr().out
    assert all(f"present  {repo_id}" in out for repo_id in hub_ids())
    assert f"HF_HOME={local_hub_home} HF_HUB_OFFLINE=1" in out


def test_comet_download_model_resolves_offline(local_hub):
    from comet import download_model

    path = Path(download_model(COMET_IDS[0]))
    assert path.is_file() and local_hub in path.parents
