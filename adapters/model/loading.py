"""Loads a causal LM and its tokenizer from a folder or a hub id, with errors that name the fix."""
from __future__ import annotations

import logging
from pathlib import Path

from domain.errors import SetupError

log = logging.getLogger(__name__)

_DTYPES = {"float32": "float32", "fp32": "float32", "float16": "float16", "fp16": "float16",
           "half": "float16", "bfloat16": "bfloat16", "bf16": "bfloat16"}


def looks_like_path(name_or_path: str) -> bool:
    return name_or_path.startswith(("/", ".", "~")) or Path(name_or_path).exists() or name_or_path.count("/") > 1


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SetupError(f"model.device is '{device}' but no CUDA GPU is visible; use 'auto' or 'cpu'")
    return device


def pick_dtype(dtype: str, device: str):
    import torch

    if dtype == "auto":
        return torch.float16 if device.startswith("cuda") else torch.float32
    if dtype not in _DTYPES:
        raise SetupError(f"model.dtype '{dtype}' is unknown; use auto, float32, float16 or bfloat16")
    return getattr(torch, _DTYPES[dtype])


def load_model_and_tokenizer(name_or_path: str, device: str = "auto", dtype: str = "auto",
                             local_files_only: bool = False):
    """(model in eval mode on its device, tokenizer); SetupError when it cannot be had."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = _checked_source(name_or_path)
    device = pick_device(device)
    torch_dtype = pick_dtype(dtype, device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype, local_files_only=local_files_only)
    except (OSError, ValueError) as error:
        raise SetupError(_load_failure(source, error)) from error
    log.info("loaded model %s on %s as %s", source, device, torch_dtype)
    return model.to(device).eval(), tokenizer


def _checked_source(name_or_path: str) -> str:
    """A local folder's expanded path (SetupError when it cannot hold a model), or the hub id as given."""
    if not looks_like_path(name_or_path):
        return name_or_path
    source = str(Path(name_or_path).expanduser())
    if not Path(source).is_dir():
        raise SetupError(f"model folder '{source}' does not exist; pass --model /path/to/model-folder "
                         "(or set TINKTALKER_MODEL) to a folder with config.json, weights and tokenizer")
    if not (Path(source) / "config.json").is_file():
        raise SetupError(f"model folder '{source}' has no config.json; it needs the files that "
                         "`save_pretrained` writes (config.json, weights, tokenizer)")
    return source


def local_source(name_or_path: str, local_files_only: bool = False) -> Path:
    """The model as a folder on disk: a local folder as is, a hub id downloaded (or found in the HF cache)."""
    source = _checked_source(name_or_path)
    if looks_like_path(name_or_path):
        return Path(source)
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(source, local_files_only=local_files_only))
    except (OSError, ValueError) as error:
        raise SetupError(_load_failure(source, error)) from error


def _load_failure(source: str, error: OSError) -> str:
    if Path(source).is_dir():
        return f"model folder '{source}' could not be loaded ({error}); it needs config.json, weights and tokenizer files"
    return (f"could not load model '{source}' from the Hugging Face hub ({type(error).__name__}). "
            "If this machine is offline, download the model elsewhere (e.g. `huggingface-cli download "
            f"{source} --local-dir ./model`), copy the folder here and pass --model ./model "
            "(or set TINKTALKER_MODEL=./model)")
