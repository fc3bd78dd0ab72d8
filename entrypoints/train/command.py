"""`tinktalker train`: flags + the `training:` config → a training run; prints what it did."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.container import Container
from tinktalker.entrypoints.progress_bars import silence_library_progress_bars
from tinktalker.entrypoints.settings import Settings, TrainingSettings
from tinktalker.entrypoints.train.arguments import OVERRIDABLE

FAULT_ENV = "TINKTALKER_TRAIN_FAULT"  # crash tests only: e.g. kill-in-checkpoint:2


def run_train(
    args: argparse.Namespace, settings: Settings, container: Container, out: TextIO = sys.stdout
) -> int:
    from tinktalker.training.faults import fault_hook
    from tinktalker.training.run import run_training

    plan = training_plan(args, settings)
    say = lambda line: print(line, file=out, flush=True)  # noqa: E731
    progress_bars = not args.no_progress and sys.stderr.isatty()
    if not progress_bars:
        silence_library_progress_bars()
    summary = run_training(
        plan,
        container.model_loader(),
        container.prompt_vocabulary(),
        progress_bars=progress_bars,
        on_event=fault_hook(os.environ.get(FAULT_ENV)),
        say=say,
        finish_folder=container.serving_files_writer(),
    )
    if not summary.main_process:
        return 0
    say(
        f"validation perplexity on replies: {summary.perplexity_before:.2f} before, "
        f"{summary.perplexity_after:.2f} after {summary.steps} steps"
    )
    say(
        f"model saved to {summary.output} (try: tinktalker chat --model {summary.output}); "
        f"losses in {summary.output / 'training_log.json'}, plot in {summary.output / 'loss_curves.png'}"
    )
    return 0


def training_plan(args: argparse.Namespace, settings: Settings):
    from tinktalker.training.plan import DEFAULT_LEARNING_RATES, TrainingPlan

    values = settings.training.model_dump()
    values.update(
        {key: getattr(args, key) for key in OVERRIDABLE if getattr(args, key, None) is not None}
    )
    values = _checked(values)
    if values["learning_rate"] is None:
        values["learning_rate"] = DEFAULT_LEARNING_RATES[values["mode"]]
    for key, flag in (("data", "--data"), ("output", "--output")):
        if not values[key]:
            raise SetupError(
                f"no training {key} given; pass {flag} (or set training.{key} in the config)"
            )
    return TrainingPlan(
        data=Path(values.pop("data")).expanduser(),
        output=Path(values.pop("output")).expanduser(),
        base=values.pop("base") or settings.model.name_or_path,
        resume=args.resume,
        first_marker=settings.prompt.first_marker,
        second_marker=settings.prompt.second_marker,
        device=settings.model.device,
        local_files_only=settings.model.local_files_only,
        **values,
    )


def _checked(values: dict) -> dict:
    """Flags get the same checks as the config keys (e.g. --limit 0, --validation-fraction 1.5)."""
    try:
        return TrainingSettings.model_validate(values).model_dump()
    except ValidationError as error:
        problem = error.errors()[0]
        key = ".".join(str(part) for part in problem["loc"])
        raise SetupError(
            f"training {key} (--{key.replace('_', '-')} or training.{key} in the config): "
            f"{problem['msg']} (got {problem.get('input')!r})"
        ) from None
