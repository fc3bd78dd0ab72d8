"""A model folder of random weights (`make tiny-model`) carries a marker file; commands say so."""

from __future__ import annotations

from pathlib import Path

MARKER = "RANDOM_WEIGHTS"
NOTE = (
    "random weights, untrained: it answers gibberish; `make demo-model` trains one on a sample chat"
)


def has_random_weights(name_or_path: str) -> bool:
    return (Path(name_or_path).expanduser() / MARKER).is_file()


def random_weights_note(name_or_path: str) -> str:
    """' (random weights, …)' for a marked folder, else ''."""
    return f" ({NOTE})" if has_random_weights(name_or_path) else ""
