"""`tinktalker train` flags; each one left out keeps the config's `training:` value."""
from __future__ import annotations

import argparse


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="CSV", help="chat CSV: a header, then first speaker, second speaker per row")
    parser.add_argument("--base", metavar="FOLDER_OR_HUB_ID", help="model to start from (default: model.name_or_path)")
    parser.add_argument("--output", metavar="DIR", help="folder for the trained model, checkpoints, log and plot")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --output")
    parser.add_argument("--limit", type=int, metavar="N", help="train on the last N usable rows only")
    parser.add_argument("--epochs", type=int, metavar="N")
    parser.add_argument("--batch-size", type=int, metavar="N")
    parser.add_argument("--learning-rate", "--lr", type=float, metavar="LR", dest="learning_rate")
    parser.add_argument("--mode", choices=("head", "tied", "full"),
                        help="head: untied lm_head only (default); tied: the original recipe; full: all weights")
    parser.add_argument("--loss-on", choices=("reply", "all"), help="score the reply only (default) or everything")
    parser.add_argument("--validation-fraction", type=float, metavar="F", help="the last F of the rows validate")
    parser.add_argument("--checkpoint-every", type=int, metavar="STEPS")
    parser.add_argument("--no-cache", dest="cache_hidden_states", action="store_const", const=False,
                        help="head mode: run the body every step (with dropout) instead of caching its outputs")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (e.g. in CI logs)")


OVERRIDABLE = ("data", "base", "output", "limit", "epochs", "batch_size", "learning_rate", "mode", "loss_on",
               "validation_fraction", "checkpoint_every", "cache_hidden_states", "seed")
