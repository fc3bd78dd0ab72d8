"""Loads a causal LM and its tokenizer from a folder or a hub id, with errors that name the fix."""

from __future__ import annotations

import logging
from pathlib import Path

from tinktalker.adapters.model.hub_access import (
    hub_files_only,
    is_hub_id,
    not_a_folder,
    offline_by_environment,
    offline_error,
    unreadable_files,
)
from tinktalker.domain.errors import SetupError

log = logging.getLogger(__name__)

_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}


def looks_like_path(name_or_path: str) -> bool:
    return (
        name_or_path.startswith(("/", ".", "~"))
        or Path(name_or_path).exists()
        or name_or_path.count("/") > 1
    )


def pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SetupError(
            f"model.device is '{device}' but no CUDA GPU is visible; use 'auto' or 'cpu'"
        )
    return device


def pick_dtype(dtype: str, device: str):
    import torch

    if dtype == "auto":
        return torch.float16 if device.startswith("cuda") else torch.float32
    if dtype not in _DTYPES:
        raise SetupError(
            f"model.dtype '{dtype}' is unknown; use auto, float32, float16 or bfloat16"
        )
    return getattr(torch, _DTYPES[dtype])


def load_model_and_tokenizer(
    name_or_path: str, device: str = "auto", dtype: str = "auto", local_files_only: bool = False
):
    """(model in eval mode on its device, tokenizer); SetupError when it cannot be had."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_library_handlers()
    source, local_files_only = _checked_source(name_or_path, local_files_only)
    device = pick_device(device)
    torch_dtype = pick_dtype(dtype, device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
        model = AutoModelForCausalLM.from_pretrained(
            source, dtype=torch_dtype, local_files_only=local_files_only
        )
    except (OSError, ValueError) as error:
        raise SetupError(_load_failure(source, error)) from error
    log.info("loaded model %s on %s as %s", source, device, torch_dtype)
    # transformers types `to` through a decorator whose stub takes the model for its first argument.
    return model.to(device).eval(), tokenizer  # type: ignore[arg-type]


def check_folder(name: str) -> str:
    """The folder's path, or SetupError naming what is wrong with it."""
    folder = Path(name).expanduser()
    if not folder.is_dir():
        if looks_like_path(name):
            raise SetupError(
                f"model folder '{folder}' does not exist; pass --model /path/to/model-folder "
                "(or set TINKTALKER_MODEL) to a folder with config.json, weights and tokenizer"
            )
        raise not_a_folder(name)
    if not (folder / "config.json").is_file():
        raise SetupError(
            f"model folder '{folder}' has no config.json; it needs the files that "
            "`save_pretrained` writes (config.json, weights, tokenizer)"
        )
    unreadable = unreadable_files(folder)
    if unreadable:
        raise SetupError(
            f"model folder '{folder}': this user cannot read {', '.join(unreadable)}; "
            f"make the files readable (chmod a+r '{folder}'/*)"
        )
    return str(folder)


def quiet_library_handlers() -> None:
    """transformers and huggingface_hub add their own stderr handler besides propagating to ours:
    drop theirs, so each of their warnings is printed once, in the program's format."""
    for name in ("transformers", "huggingface_hub"):
        library = logging.getLogger(name)
        for handler in [h for h in library.handlers if type(h) is logging.StreamHandler]:
            library.removeHandler(handler)


def _checked_source(name_or_path: str, local_files_only: bool) -> tuple[str, bool]:
    """A local folder's checked path, or a hub id and whether only the HF cache may serve it (hub
    unreachable)."""
    if looks_like_path(name_or_path) or not is_hub_id(name_or_path):
        return check_folder(name_or_path), local_files_only
    return name_or_path, hub_files_only(name_or_path, local_files_only)


def local_source(name_or_path: str, local_files_only: bool = False) -> Path:
    """The model as a folder on disk: a local folder as is, a hub id downloaded (or found in the HF
    cache)."""
    source, local_files_only = _checked_source(name_or_path, local_files_only)
    if Path(source).is_dir():
        return Path(source)
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(source, local_files_only=local_files_only))
    except (OSError, ValueError) as error:
        raise SetupError(_load_failure(source, error)) from error


def _load_failure(source: str, error: OSError | ValueError) -> str:
    if Path(source).is_dir():
        return (
            f"model folder '{source}' could not be loaded ({error}); "
            "it needs config.json, weights and tokenizer files"
        )
    if offline_by_environment():
        return f"{offline_error(source)} (HF_HUB_OFFLINE is set, and the hub cache has no copy)"
    return (
        f"could not load model '{source}' from the Hugging Face hub "
        f"({type(error).__name__}: {error}); "
        f"check the name, or pass --model FOLDER with a downloaded copy"
    )
