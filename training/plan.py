"""Everything one training run needs to know, as plain values."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from tinktalker.training.examples import LossOn
from tinktalker.training.trainable import Mode

# Changing these between a checkpoint and --resume would silently train something else.
_FINGERPRINTED = (
    "base",
    "limit",
    "mode",
    "loss_on",
    "batch_size",
    "learning_rate",
    "weight_decay",
    "validation_fraction",
    "max_length",
    "cache_hidden_states",
    "seed",
    "plateau_factor",
    "plateau_patience",
    "first_marker",
    "second_marker",
)


# The learning rate when none is given. Head mode trains one linear layer on frozen features, which
# barely moves at 5e-5 (bench/results/training_defaults.md: perplexity 916 -> 880 on the sample chat,
# 916 -> 10.6 at 1e-2); tied and full move the whole model, where 5e-5 is the usual fine-tuning rate.
DEFAULT_LEARNING_RATES = {"head": 1e-2, "tied": 5e-5, "full": 5e-5}


@dataclass(frozen=True)
class TrainingPlan:
    data: Path
    base: str
    output: Path
    resume: bool = False
    limit: int | None = None
    mode: Mode = "head"
    loss_on: LossOn = "reply"
    epochs: int = 3
    batch_size: int = 16
    learning_rate: float = 5e-5
    weight_decay: float = 0.0
    validation_fraction: float = 0.05
    max_length: int = 300
    cache_hidden_states: bool = True
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    seed: int = 42
    plateau_factor: float = 0.5
    plateau_patience: int = 0
    first_marker: str = "@@ПЕРВЫЙ@@"
    second_marker: str = "@@ВТОРОЙ@@"
    device: str = "auto"
    mixed_precision: str = "no"
    local_files_only: bool = False

    @property
    def uses_cache(self) -> bool:
        return self.mode == "head" and self.cache_hidden_states

    def fingerprint(self) -> str:
        """Identifies the data file's bytes and the settings that shape the run."""
        digest = hashlib.sha256()
        with open(self.data, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        values = {key: asdict(self)[key] for key in _FINGERPRINTED}
        digest.update(json.dumps(values, sort_keys=True, default=str).encode())
        return digest.hexdigest()[:16]

    def describe(self) -> dict:
        return {
            key: str(value) if isinstance(value, Path) else value
            for key, value in asdict(self).items()
        }
