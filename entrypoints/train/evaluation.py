"""Evaluation for `train` and `evaluate`: each model answers held-out contexts through the
in-process generator the container builds (torch engine, configured decoding); then the report."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from tinktalker.entrypoints.container import make_container
from tinktalker.entrypoints.settings import Settings


def evaluate(
    settings: Settings,
    plan,
    models: dict[str, str],
    validation: Sequence,
    say: Callable[[str], None],
    perplexity: dict[str, float] | None = None,
) -> None:
    """Writes plan.output/evaluation.json and .md for `models` ("before"/"after" -> name)."""
    from tinktalker.training import evaluation as measure
    from tinktalker.training.evaluation_report import Evaluation, write_evaluation

    if perplexity is None:
        container = make_container(settings)
        perplexity = {
            side: measure.perplexity_of(
                model, validation, plan, container.model_loader(), container.prompt_vocabulary()
            )
            for side, model in models.items()
        }
    contexts = measure.held_out_contexts(validation, plan.evaluation_samples)
    rules = measure.ReplyRules(
        settings.dialogue.control_fragments, settings.dialogue.fallback_reply
    )
    replies = {
        side: _replies(settings, model, contexts, plan.seed) for side, model in models.items()
    }
    evaluation = Evaluation(
        models=models,
        perplexity=perplexity,
        held_out=len(validation),
        samples=measure.samples_of(contexts, replies, rules),
        generation={side: measure.generation_stats(got, rules) for side, got in replies.items()},
        decoding=settings.generation.model_dump(),
        seed=plan.seed,
    )
    as_json, as_markdown = write_evaluation(plan.output, evaluation)
    say(f"evaluation of {len(contexts)} held-out replies: {as_markdown} (and {as_json.name})")


def _replies(settings: Settings, model: str, contexts: Sequence, seed: int) -> list:
    from tinktalker.training.evaluation import replies_of

    engine = settings.model.model_copy(update={"name_or_path": model, "engine": "torch"})
    container = make_container(settings.model_copy(update={"model": engine}))
    try:
        generator = container.local_generator()
        return asyncio.run(replies_of(generator, contexts, seed))
    finally:
        container.shutdown_resources()
