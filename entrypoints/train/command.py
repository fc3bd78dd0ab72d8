"""`tinktalker train`: flags + the `training:` config → a training run, then its evaluation."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pydantic import ValidationError

from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.container import Container
from tinktalker.entrypoints.progress_bars import silence_library_progress_bars
from tinktalker.entrypoints.settings import DEFAULT_LEARNING_RATES, Settings, TrainingSettings
from tinktalker.entrypoints.train.arguments import OVERRIDABLE
from tinktalker.entrypoints.train.evaluation import evaluate

if TYPE_CHECKING:
    from tinktalker.training.plan import TrainingPlan

FAULT_ENV = "TINKTALKER_TRAIN_FAULT"  # crash tests only: e.g. kill-in-checkpoint:2
FLAGS = {"gap_minutes": "--gap"}  # where a key's flag is not --key-with-dashes


def run_train(
    args: argparse.Namespace,
    settings: Settings,
    container: Container,
    out: TextIO | None = None,
) -> int:
    out = sys.stdout if out is None else out  # looked up per call: tests capture sys.stdout
    from tinktalker.training.faults import fault_hook
    from tinktalker.training.run import run_training

    plan = training_plan(args, settings)
    say = lambda line: print(line, file=out or sys.stdout, flush=True)  # noqa: E731
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
    perplexity = {"before": summary.perplexity_before, "after": summary.perplexity_after}
    models = {"before": plan.base, "after": str(summary.output)}
    evaluate(settings, plan, models, summary.validation, say, perplexity)
    say(
        f"model saved to {summary.output} (try: tinktalker chat --model {summary.output}); "
        f"losses in {summary.output / 'training_log.json'}, plot in "
        f"{summary.output / 'loss_curves.png'}"
    )
    return 0


def training_plan(
    args: argparse.Namespace, settings: Settings, needs_output: bool = True
) -> TrainingPlan:
    values = settings.training.model_dump()
    values.update(
        {key: getattr(args, key) for key in OVERRIDABLE if getattr(args, key, None) is not None}
    )
    training = _checked(values)
    if training.learning_rate is None:
        training = training.model_copy(
            update={"learning_rate": DEFAULT_LEARNING_RATES[training.mode]}
        )
    for key, flag in (("data", "--data"), ("output", "--output"))[: 2 if needs_output else 1]:
        if not getattr(training, key):
            raise SetupError(
                f"no training {key} given; pass {flag} (or set training.{key} in the config)"
            )
    base = getattr(args, "model", None) or training.base
    training = training.model_copy(update={"base": base, "output": training.output or "."})
    resume = getattr(args, "resume", False)
    return plan_from_settings(settings.model_copy(update={"training": training}), resume)


def plan_from_settings(settings: Settings, resume: bool = False) -> TrainingPlan:
    """The plan for `settings.training` (data and output set), in the serving prompt's shape."""
    from tinktalker.training.plan import TrainingPlan

    training = settings.training
    if training.data is None or training.output is None:
        raise SetupError("training.data and training.output must both be set")
    prompt = settings.prompt
    return TrainingPlan(
        data=Path(training.data).expanduser(),
        output=Path(training.output).expanduser(),
        base=training.base or settings.model.name_or_path,
        resume=resume,
        first_marker=settings.prompt.first_marker,
        second_marker=settings.prompt.second_marker,
        pad_to_messages=settings.prompt.pad_to_messages,
        context_size=settings.dialogue.context_size,
        # what the bot strips from user text: the markers, then the configured extras
        control_fragments=(
            prompt.first_marker,
            prompt.second_marker,
            *settings.dialogue.control_fragments,
        ),
        device=settings.model.device,
        local_files_only=settings.model.local_files_only,
        **training.model_dump(exclude={"data", "output", "base"}),
    )


def _checked(values: dict) -> TrainingSettings:
    """Flags get the same checks as the config keys (e.g. --limit 0, --gap ten)."""
    try:
        return TrainingSettings.model_validate(values)
    except ValidationError as error:
        problem = error.errors()[0]
        key = ".".join(str(part) for part in problem["loc"])
        flag = FLAGS.get(key, f"--{key.replace('_', '-')}")
        raise SetupError(
            f"training {key} ({flag} or training.{key} in the config): "
            f"{problem['msg']} (got {problem.get('input')!r})"
        ) from None
