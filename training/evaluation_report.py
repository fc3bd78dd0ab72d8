"""Writes an evaluation as OUTPUT/evaluation.json (for programs) and evaluation.md (for people)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

STATS = (
    ("mean_words", "mean reply length (words)"),
    ("empty_or_fallback_rate", "empty replies (the bot sends its fallback)"),
    ("distinct_1", "distinct-1 (unique words / words)"),
    ("distinct_2", "distinct-2 (unique word pairs / pairs)"),
    ("marker_leaks", "replies that carried a control marker"),
)


@dataclass(frozen=True)
class Evaluation:
    models: dict[str, str]  # "before" / "after" (or one of them) -> model folder or hub id
    perplexity: dict[str, float]  # the same keys
    held_out: int  # validation exchanges the perplexity was measured on
    samples: list[dict[str, object]]  # context, reference, and each side's reply
    generation: dict[str, dict[str, float]]  # "before" / "after" -> statistics
    decoding: dict[str, object]
    seed: int


def write_evaluation(folder: Path, evaluation: Evaluation) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    document = asdict(evaluation)
    as_json, as_markdown = folder / "evaluation.json", folder / "evaluation.md"
    as_json.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    as_markdown.write_text(markdown(evaluation), encoding="utf-8")
    return as_json, as_markdown


def markdown(evaluation: Evaluation) -> str:
    sides = list(evaluation.models)
    lines = [
        "# Evaluation",
        "",
        "; ".join(f"**{side}**: `{model}`" for side, model in evaluation.models.items()) + ".",
        "",
        f"Perplexity on {evaluation.held_out} held-out replies, in the prompt the bot sends "
        "(lower is better): "
        + ", ".join(f"**{evaluation.perplexity[s]:.2f}** {s}" for s in sides)
        + ".",
        "",
        f"## Replies to {len(evaluation.samples)} held-out contexts",
        "",
        f"Decoding as configured (`generation:`), seed {evaluation.seed} + the sample's number; "
        "replies as the bot would send them.",
        "",
        "| | " + " | ".join(sides) + " |",
        "| --- |" + " --- |" * len(sides),
    ]
    for key, label in STATS:
        values = " | ".join(str(evaluation.generation[s][key]) for s in sides)
        lines.append(f"| {label} | {values} |")
    for number, sample in enumerate(evaluation.samples, 1):
        lines += ["", f"### {number}", ""]
        lines += [f"> {_line(str(text))}" for text in sample["context"]]  # type: ignore[attr-defined]
        lines += ["", f"- **reference** (the chat's real reply): {_line(str(sample['reference']))}"]
        lines += [f"- **{side}**: {_line(str(sample[side]))}" for side in sides]
    return "\n".join(lines) + "\n"


def _line(text: str) -> str:
    return " ".join(text.split()) or "(empty)"
