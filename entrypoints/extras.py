"""Which optional extra installs a module a command found missing, so the error can name it."""

from __future__ import annotations

EXTRA_OF_MODULE = {
    "torch": "model",
    "transformers": "model",
    "safetensors": "model",
    "tokenizers": "model",
    "telegram": "bot",
    "aiolimiter": "bot",
    "tornado": "bot",
    "accelerate": "train",
    "tqdm": "train",
    "matplotlib": "train",
    "ijson": "train",
    "litestar": "api",
    "uvicorn": "api",
    "prometheus_client": "api",
    "msgspec": "api",
    "swagger_ui_bundle": "api",
}


def missing_extra_line(command: str, module: str | None) -> str | None:
    """One line naming the extra to install for `module`, or None when it belongs to no extra (a
    bug, not a setup)."""
    top = (module or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(top)
    if extra is None:
        return None
    if command == "train" and extra == "model":
        extra = "train"  # it brings the model extra along
    return (
        f"tinktalker {command} needs the '{extra}' extra ({top} is not installed): "
        f"pip install 'tinktalker[{extra}]', or in a clone: pip install -e '.[{extra}]'"
    )
