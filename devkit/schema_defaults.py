"""The settings schema's defaults in the shapes adapters and training take, with a test's
changes."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tinktalker.adapters.model.decoding import Decoding
from tinktalker.adapters.model.rudialogpt_prompt import PromptMarkers
from tinktalker.entrypoints.settings import (
    GenerationSettings,
    PromptSettings,
    Settings,
    TrainingSettings,
)
from tinktalker.entrypoints.train.command import plan_from_settings
from tinktalker.training.exchanges import DataRules
from tinktalker.training.plan import TrainingPlan


def decoding_values(**changes: Any) -> dict[str, Any]:
    """`generation:` as the container hands it to an engine's resource."""
    return GenerationSettings(**changes).model_dump()


def decoding(**changes: Any) -> Decoding:
    return Decoding(**decoding_values(**changes))


def markers() -> PromptMarkers:
    prompt = PromptSettings()
    return PromptMarkers(first=prompt.first_marker, second=prompt.second_marker)


def training_plan(data: Path, base: Path | str, output: Path, **changes: Any) -> TrainingPlan:
    """The plan `tinktalker train --data D --base B --output O` makes, then `changes` (any
    field)."""
    training = TrainingSettings(data=str(data), base=str(base), output=str(output))
    return dataclasses.replace(plan_from_settings(Settings(training=training)), **changes)


def data_rules(**changes: Any) -> DataRules:
    """How `tinktalker train` and `tinktalker dataset` turn messages into exchanges by default."""
    rules = training_plan(Path("chat.json"), "base", Path("out")).rules()
    return dataclasses.replace(rules, **changes)
