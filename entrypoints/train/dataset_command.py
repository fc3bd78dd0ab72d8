"""`tinktalker dataset` shows the examples training would use; `tinktalker evaluate` compares two
models on a chat's held-out replies."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.settings import Settings
from tinktalker.entrypoints.train.arguments import DATA_HELP, add_gap_argument
from tinktalker.entrypoints.train.command import training_plan
from tinktalker.entrypoints.train.evaluation import evaluate


def add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="FILE", help=f"{DATA_HELP} (required)")
    parser.add_argument(
        "--output",
        metavar="FILE",
        help="(required) "
        'JSON Lines to write: {"context": [oldest, ..., answered], "reply": ...} a line',
    )
    add_gap_argument(parser)


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="FILE", help=f"{DATA_HELP} (required)")
    parser.add_argument(
        "--against",
        metavar="FOLDER_OR_HUB_ID",
        help="a second model to compare with (reported as 'before'; --model is 'after')",
    )
    parser.add_argument(
        "--output",
        metavar="DIR",
        default=".",
        help="folder for evaluation.json and evaluation.md (default: the current folder)",
    )
    add_gap_argument(parser)


def run_dataset(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    from tinktalker.training.chat_files import (
        no_usable_exchange,
        stream_exchanges,
        write_json_lines,
    )

    plan = training_plan(args, settings, needs_output=False)
    if not args.output:
        raise SetupError("no output file given; pass --output examples.jsonl")
    target = Path(args.output).expanduser()
    exchanges, counts = stream_exchanges(plan.data, plan.rules())
    temporary = target.with_name(target.name + ".tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            written = write_json_lines(exchanges, handle)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise SetupError(
            f"cannot write '{target}' ({error.strerror}); choose another --output"
        ) from None
    except BaseException:  # a broken export: no half-written examples file is left behind
        temporary.unlink(missing_ok=True)
        raise
    data = counts()
    if not written:
        temporary.unlink(missing_ok=True)
        raise no_usable_exchange(plan.data, data, plan.rules())
    temporary.replace(target)
    out = out or sys.stdout
    print(f"{plan.data} ({data.kind}): {data.summary(used=written)}", file=out)
    print(f"{written} examples written to {target}", file=out)
    return 0


def run_evaluate(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    from tinktalker.training.chat_files import read_chat_data
    from tinktalker.training.run import split_by_position

    plan = training_plan(args, settings, needs_output=False)
    plan = replace(plan, output=Path(args.output).expanduser())
    data = read_chat_data(plan.data, plan.rules(), plan.limit)
    _, validation = split_by_position(data, plan.validation_fraction, plan.data)
    model = args.model or settings.model.name_or_path
    models = {"before": args.against, "after": model} if args.against else {"model": model}
    say = lambda line: print(line, file=out or sys.stdout, flush=True)  # noqa: E731
    say(f"{plan.data} ({data.kind}): {data.summary()}; {len(validation)} held out")
    evaluate(settings, plan, models, validation, say)
    return 0
