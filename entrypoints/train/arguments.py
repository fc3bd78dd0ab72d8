"""`tinktalker train` flags; one left out keeps the config's `training:` value (its default)."""

from __future__ import annotations

import argparse
import sys

from tinktalker.entrypoints.settings import TrainingSettings

_DEFAULTS = TrainingSettings()


def _default(key: str) -> str:
    return f"(default: training.{key}, {getattr(_DEFAULTS, key)})"


DATA_HELP = (
    "the chat: a Telegram Desktop export (result.json), JSON Lines from `tinktalker dataset`, "
    "or a CSV (header, then context..., reply per row; 2 columns = message, reply)"
)


class DeprecatedAlias(argparse.Action):
    """`--base`: the old name of `train --model`; still works, and says so."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"tinktalker: warning: {option_string} is deprecated; use --model", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_gap_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--gap",
        dest="gap_minutes",
        metavar="MINUTES",
        help="Telegram exports: a message without a reply link answers the one before it when "
        f"that is another person's and at most this old {_default('gap_minutes')}",
    )


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    needed = parser.add_argument_group(
        "required", "each flag here, or its key under training: in the config"
    )
    needed.add_argument("--data", metavar="FILE", help=f"{DATA_HELP} (training.data)")
    needed.add_argument(
        "--output",
        metavar="DIR",
        help="folder for the trained model, checkpoints, log, plot and evaluation "
        "(training.output)",
    )
    parser.add_argument(
        "--base",
        dest="model",
        action=DeprecatedAlias,
        metavar="FOLDER_OR_HUB_ID",
        help="deprecated alias of --model",
    )
    add_gap_argument(parser)
    parser.add_argument(
        "--resume", action="store_true", help="continue from the latest checkpoint in --output"
    )
    parser.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="train on the last N usable rows only (default: training.limit, all rows)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        metavar="N",
        help=f"passes over the training rows {_default('epochs')}",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help=f"exchanges per optimizer step {_default('batch_size')}",
    )
    parser.add_argument(
        "--learning-rate",
        "--lr",
        type=float,
        metavar="LR",
        dest="learning_rate",
        help="AdamW learning rate (default: training.learning_rate; unset, 1e-2 in head mode and "
        "5e-5 in tied and full)",
    )
    parser.add_argument(
        "--mode",
        choices=("head", "tied", "full"),
        help="head: untied lm_head only; tied: the original recipe; full: all weights "
        f"{_default('mode')}",
    )
    parser.add_argument(
        "--loss-on",
        choices=("reply", "all"),
        help=f"score the reply only, or the whole exchange {_default('loss_on')}",
    )
    parser.add_argument(
        "--validation-fraction",
        type=float,
        metavar="F",
        help=f"the last F of the rows validate {_default('validation_fraction')}",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        metavar="STEPS",
        help="optimizer steps between checkpoints, 0 = only at epoch ends "
        f"{_default('checkpoint_every')}",
    )
    parser.add_argument(
        "--no-cache",
        dest="cache_hidden_states",
        action="store_const",
        const=False,
        help="head mode: run the body every step (with dropout) instead of caching its outputs "
        f"(default: training.cache_hidden_states, {_DEFAULTS.cache_hidden_states})",
    )
    parser.add_argument("--seed", type=int, help=f"batch order and dropout {_default('seed')}")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bars (e.g. in CI logs)"
    )


OVERRIDABLE = (
    "data",
    "output",
    "gap_minutes",
    "limit",
    "epochs",
    "batch_size",
    "learning_rate",
    "mode",
    "loss_on",
    "validation_fraction",
    "checkpoint_every",
    "cache_hidden_states",
    "seed",
)
