"""Backbones and tokenizers: loading (pad != EOS), LoRA on down_proj, parameter counts (Sections 2.2, 5.2); the tiny
stand-in for LLaMA-2 is built by `alma_core.standins.tiny_backbone`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alma_core.io import read_json
from alma_core.runs.backbones import check_lora_targets, fix_pad_token, load_kwargs
from alma_core.runs.load_errors import ModelLoadError, check_tokenizer_files, hub_load_error, interrupted_download

__all__ = [
    "ModelLoadError",
    "load_backbone",
    "is_local_model_path",
    "fix_pad_token",
    "apply_lora",
    "count_trainable",
    "count_parameters",
    "trainable_names",
    "backbone_info",
    "UNK",
    "BOS",
    "EOS",
]

UNK, BOS, EOS = "<unk>", "<s>", "</s>"
def is_local_model_path(name_or_path: str | os.PathLike) -> bool:
    """A model is a local folder when given as a Path, when it exists, or when written as one (/, ./, ../, ~).

    Anything else ("haoranxu/ALMA-7B", "runs/paper" that does not exist yet) is a Hugging Face hub id.
    """
    if isinstance(name_or_path, os.PathLike):
        return True
    name = str(name_or_path)
    return name.startswith(("/", "./", "../", "~")) or Path(name).expanduser().exists()


def _torch_dtype(dtype: Any) -> Any:
    """A torch dtype from "fp32"/"bf16"/"fp16" (or their long names), a torch dtype, "auto" or None."""
    import torch

    if not isinstance(dtype, str) or dtype == "auto":
        return dtype
    names = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
             "fp16": torch.float16, "float16": torch.float16}
    if dtype not in names:
        raise ModelLoadError(f"dtype {dtype!r} is not known; use one of {sorted(names)} or 'auto'")
    return names[dtype]


def load_backbone(
    name_or_path: str | os.PathLike, *, local_files_only: bool = False, dtype: Any = None,
    trust_remote_code: bool = False,
) -> tuple[Any, Any]:
    """Load (model, tokenizer) by hub id or local folder, in `dtype`, with pad != EOS set everywhere (Sections 2.2,
    5.2).

    A name is a local folder only when it exists or is written as a path (see `is_local_model_path`); anything else
    is a hub id, resolved through the Hugging Face cache (HF_HOME) exactly as `from_pretrained` does.
    """
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    local = is_local_model_path(name_or_path)
    name = str(Path(str(name_or_path)).expanduser()) if local else str(name_or_path)
    if local and not Path(name).is_dir():
        raise ModelLoadError(
            f"backbone {name!r}: no such directory; build it with build_tiny_backbone() or give a hub id"
        )
    torch_dtype = _torch_dtype(dtype)
    if local:
        check_tokenizer_files(Path(name))
    elif (interrupted := interrupted_download(name)) is not None:
        raise interrupted
    from safetensors import SafetensorError

    remote = {"trust_remote_code": trust_remote_code}  # never run a model's own code unless a params file asks
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local_files_only, **remote)
        config = AutoConfig.from_pretrained(name, local_files_only=local_files_only, **remote)
        model = AutoModelForCausalLM.from_pretrained(  # + the family's needs: eager attention for Gemma-2
            name, config=config, local_files_only=local_files_only, dtype=torch_dtype, low_cpu_mem_usage=True,
            **remote, **load_kwargs(config),
        )
    except SafetensorError as err:
        files = sorted(p.name for p in Path(name).glob("*.safetensors")) if local else ["its *.safetensors"]
        raise ModelLoadError(
            f"backbone {name!r}: {', '.join(files)} incomplete or corrupt ({err}), e.g. an interrupted copy or "
            "download. Fix: copy or download the weights again (huggingface-cli download resumes)") from None
    except ValueError as err:
        if "trust_remote_code" not in str(err):
            raise
        raise ModelLoadError(
            f"backbone {name!r} ships its own Python code (config.json auto_map) and loading it would run that code. "
            "Fix: only if you trust its authors, set trust_remote_code: true for this model in the params file"
        ) from None
    except OSError as err:
        if local:
            raise ModelLoadError(
                f"backbone {name!r} could not be loaded ({err}); check the folder holds a saved model"
            ) from None
        raise hub_load_error(name, err, local_files_only) from None
    fix_pad_token(model, tokenizer)
    return model, tokenizer


def apply_lora(
    model: Any, r: int = 16, alpha: int = 32, dropout: float = 0.05, target_modules: Sequence[str] = ("down_proj",)
) -> Any:
    """Wrap with PEFT LoRA as in Section 5.2 (r 16, alpha 32, dropout 0.05, down_proj only); base weights frozen.

    Targets the model lacks fail first, naming its family's projection (alma_core.runs.backbones.lora_targets)."""
    from peft import LoraConfig, TaskType, get_peft_model

    check_lora_targets(model, target_modules)

    config = LoraConfig(
        task_type=TaskType.CAUSAL_LM, r=r, lora_alpha=alpha, lora_dropout=dropout, bias="none",
        target_modules=list(target_modules),
    )
    return get_peft_model(model, config)


def count_trainable(model: Any) -> int:
    """Number of parameters that receive gradients (LoRA: adapters only)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_parameters(model: Any) -> int:
    """Number of all parameters."""
    return sum(p.numel() for p in model.parameters())


def trainable_names(model: Any) -> list[str]:
    """Names of the parameters that receive gradients."""
    return [name for name, p in model.named_parameters() if p.requires_grad]


def backbone_info(path: str | os.PathLike) -> dict[str, Any]:
    """The build record (config, key, parameter count, pretraining losses) of a tiny backbone directory."""
    return read_json(Path(path) / "backbone.json")
