"""Why a backbone does not load, said with the fix (Sec. 5.1 loads LLaMA-2 and the ALMA checkpoints by hub id).

An interrupted hub download, a hub id offline without a cache, a gated model without a login, and a local folder
without its tokenizer each get one ModelLoadError naming the id or folder and what to do.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ModelLoadError", "interrupted_download", "hub_load_error", "TOKENIZER_FILES", "check_tokenizer_files"]


class ModelLoadError(ValueError):
    """A backbone path/id that cannot be loaded (missing, offline without a cache, malformed)."""


def interrupted_download(name: str) -> ModelLoadError | None:
    """An error naming the partial files an interrupted hub download left in the cache (None when there are none)."""
    from huggingface_hub import constants

    repo = Path(constants.HF_HUB_CACHE) / f"models--{name.replace('/', '--')}"
    partial = sorted((repo / "blobs").glob("*.incomplete"))
    if not partial:
        return None
    return ModelLoadError(
        f"backbone {name!r}: an interrupted download left {len(partial)} partial file(s) ({partial[0].name}) in "
        f"{repo}. Fix: rerun `huggingface-cli download {name}` where there is network (it resumes the partial "
        f"files), or delete {repo} and download again")


def hub_load_error(name: str, err: Exception, local_files_only: bool) -> ModelLoadError:
    """A ModelLoadError for a hub id that did not load: names the id, the cache and the fix (offline or not)."""
    from huggingface_hub import constants
    from transformers.utils import is_offline_mode

    cache = constants.HF_HUB_CACHE
    interrupted = interrupted_download(name)
    if interrupted is not None:
        return interrupted
    local_hint = f"; if {name!r} is meant as a local folder, check it exists (or write it as ./{name})"
    if is_offline_mode() or constants.HF_HUB_OFFLINE or local_files_only:
        why = "HF_HUB_OFFLINE=1 is set" if not local_files_only else "local_files_only=True"
        return ModelLoadError(
            f"backbone {name!r} is not in the Hugging Face cache {cache} and {why}, so it cannot be downloaded. "
            f"Fix: download it where there is network (huggingface-cli login for gated models such as meta-llama, "
            f"then huggingface-cli download {name}) and copy the cache here, or set HF_HOME to a cache that holds it "
            f"(for a rehearsal with tiny stand-ins: python -m alma_core.standins.hub --hf-home DIR){local_hint}"
        )
    return ModelLoadError(
        f"backbone {name!r} could not be loaded from the Hugging Face hub ({str(err).splitlines()[0]}). "
        f"Fix: check the id; for gated models (meta-llama/*) run huggingface-cli login and accept the license on the "
        f"model page; or set HF_HOME to a cache that holds it (now {cache}){local_hint}"
    )


TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "vocab.json", "spiece.model")


def check_tokenizer_files(folder: Path) -> None:
    """A local model folder must hold its tokenizer (Sec. 5.1 decodes with the model's own vocabulary)."""
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise ModelLoadError(
            f"{folder} holds no tokenizer (none of {', '.join(TOKENIZER_FILES)}). Fix: save it beside the weights "
            "(tokenizer.save_pretrained(folder)) or copy the base model's tokenizer files there")
