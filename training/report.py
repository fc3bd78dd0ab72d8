"""What a run leaves beside the model: a JSON log of losses and learning rate, and a PNG of the
curves."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from tinktalker.training.exchanges import ChatData
from tinktalker.training.plan import TrainingPlan


def write_log(
    path: Path, plan: TrainingPlan, data: ChatData, position, train: int, validation: int
) -> None:
    validations = [r["validation_loss"] for r in position.history if "validation_loss" in r]
    document = {
        "plan": plan.describe(),
        "data": {
            "kind": data.kind,
            data.unit: data.read,
            "used": data.used,
            "skipped": dict(data.skipped),
            "left_out_by_limit": data.left_out,
            "train_examples": train,
            "validation_examples": validation,
        },
        "steps": position.global_step,
        "validation_perplexity_before": math.exp(min(position.validation_before, 700.0)),
        "validation_perplexity_after": math.exp(min(validations[-1], 700.0)),
        "records": position.history,
    }
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def plot_losses(path: Path, history: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on a training host
    from matplotlib import pyplot

    train = [(r["step"], r["train_loss"]) for r in history if "train_loss" in r]
    validation = [(r["step"], r["validation_loss"]) for r in history if "validation_loss" in r]
    figure, axes = pyplot.subplots(figsize=(8, 4.5))
    if train:
        axes.plot(*zip(*train, strict=True), label="train (per batch)", linewidth=0.8, alpha=0.6)
        axes.plot(*zip(*_smoothed(train), strict=True), label="train (moving mean)", linewidth=1.6)
    if validation:
        axes.plot(*zip(*validation, strict=True), "o-", label="validation (replies)", linewidth=1.6)
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("cross-entropy per token")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def _smoothed(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    window = max(
        1, min(50, len(points) // 10)
    )  # a trailing mean: short runs barely smoothed, long ones more
    values = [v for _, v in points]
    return [
        (
            step,
            sum(values[max(0, i - window + 1) : i + 1])
            / len(values[max(0, i - window + 1) : i + 1]),
        )
        for i, (step, _) in enumerate(points)
    ]
