"""Everything one training run needs to know, as plain values."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from tinktalker.training.examples import LossOn
from tinktalker.training.exchanges import DataRules
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
    "pad_to_messages",
    "context_size",
    "gap_minutes",
    "control_fragments",
)


@dataclass(frozen=True, kw_only=True)
class TrainingPlan:
    """Every value is given: the defaults live in the settings schema (`training:`, `prompt:`)."""

    data: Path
    base: str
    output: Path
    resume: bool
    limit: int | None
    mode: Mode
    loss_on: LossOn
    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    validation_fraction: float
    max_length: int
    cache_hidden_states: bool
    checkpoint_every: int
    keep_checkpoints: int
    seed: int
    plateau_factor: float
    plateau_patience: int
    first_marker: str
    second_marker: str
    pad_to_messages: int
    context_size: int
    gap_minutes: float
    control_fragments: tuple[str, ...]
    evaluation_samples: int
    device: str
    mixed_precision: str
    local_files_only: bool

    @property
    def uses_cache(self) -> bool:
        return self.mode == "head" and self.cache_hidden_states

    def rules(self) -> DataRules:
        return DataRules(
            context_size=self.context_size,
            gap_minutes=self.gap_minutes,
            control_fragments=self.control_fragments,
        )

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
