"""The `tinktalker` command: one subcommand per way of running."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.config_loading import load_settings
from tinktalker.entrypoints.container import make_container
from tinktalker.entrypoints.export.command import add_export_arguments
from tinktalker.entrypoints.extras import missing_extra_line
from tinktalker.entrypoints.progress_bars import silence_library_progress_bars
from tinktalker.entrypoints.settings import ModelSettings, Settings
from tinktalker.entrypoints.train.arguments import add_train_arguments
from tinktalker.entrypoints.train.dataset_command import (
    add_dataset_arguments,
    add_evaluate_arguments,
)

ENVIRONMENT = """environment:
  TINKTALKER_CONFIG           the config file, like --config
  TINKTALKER_MODEL            the model folder or hub id, like --model
  TINKTALKER__SECTION__KEY    any config key, e.g. TINKTALKER__GENERATION__MAX_NEW_TOKENS=60
  HF_HUB_OFFLINE=1            never reach the Hugging Face hub
"""
COMMAND_ENVIRONMENT = {
    "chat": "  TINKTALKER_GENERATOR_API_KEY  the model server's key (generator.backend: http)\n",
    "bot": (
        "  TELEGRAM_TOKEN              the bot's token from @BotFather (required)\n"
        "  TELEGRAM_WEBHOOK_SECRET     webhook mode: the secret Telegram sends "
        "(random when unset)\n"
        "  TINKTALKER_GENERATOR_API_KEY  the model server's key (generator.backend: http)\n"
    ),
    "serve": (
        "  TINKTALKER_API_KEY          when set, generating endpoints want "
        "'Authorization: Bearer <key>'\n"
    ),
    "train": "",
    "export": "",
    "dataset": "",
    "evaluate": "",
}
EXAMPLES = {
    "chat": "  tinktalker chat --model trained/\n",
    "bot": "  TELEGRAM_TOKEN=123456:ABC... tinktalker bot --model trained/\n",
    "serve": "  tinktalker serve --model trained/ --host 0.0.0.0 --port 8000\n",
    "train": (
        "  tinktalker train --data result.json --output trained/\n"
        "  tinktalker train --data chat.csv --model tinkoff-ai/ruDialoGPT-medium --output trained/ "
        "--epochs 2\n"
        "  tinktalker train --data result.json --output trained/ --resume\n"
    ),
    "export": "  tinktalker export --model trained/ --output served/\n",
    "dataset": (
        "  tinktalker dataset --data result.json --output examples.jsonl\n"
        "  tinktalker dataset --data result.json --output examples.jsonl --gap 30\n"
    ),
    "evaluate": (
        "  tinktalker evaluate --model trained/ --against tinkoff-ai/ruDialoGPT-medium "
        "--data result.json --output report/\n"
    ),
}
_DEFAULT_MODEL = f"$TINKTALKER_MODEL, else model.name_or_path, {ModelSettings().name_or_path}"
MODEL_HELP = {
    "train": f"model to start from (default: training.base, else {_DEFAULT_MODEL})",
    "evaluate": f"the model to evaluate, 'after' beside --against (default: {_DEFAULT_MODEL})",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinktalker",
        description="TinkTalker: a chatbot that loves investing.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"tinktalker {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _command(commands, "chat", "talk with the model in this terminal (model in-process)")
    _command(commands, "bot", "run the Telegram bot (token from $TELEGRAM_TOKEN)")
    train = _command(
        commands, "train", "fine-tune the model on a chat (Telegram export, JSON Lines or CSV)"
    )
    add_train_arguments(train)
    add_dataset_arguments(
        _command(commands, "dataset", "write the examples training would use as JSON Lines")
    )
    add_evaluate_arguments(
        _command(commands, "evaluate", "compare two models on a chat's held-out replies")
    )
    serve = _command(
        commands, "serve", "serve the model over HTTP (original /answer and OpenAI-compatible /v1)"
    )
    serve.add_argument("--host", help="address to listen on (default: server.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: server.port, 8000)")
    export = _command(
        commands, "export", "write a model folder vLLM/TGI serve as TinkTalker does (see README)"
    )
    add_export_arguments(export)
    return parser


def _command(commands, name: str, help_text: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog="examples:\n" + EXAMPLES[name] + "\n" + ENVIRONMENT + COMMAND_ENVIRONMENT[name],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="YAML config (default: $TINKTALKER_CONFIG, else config.yml's defaults)",
    )
    parser.add_argument(
        "--model",
        metavar="FOLDER_OR_HUB_ID",
        help=MODEL_HELP.get(name, f"model to load (default: {_DEFAULT_MODEL})"),
    )
    return parser


def _version() -> str:
    try:
        return version("tinktalker")
    except PackageNotFoundError:
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config, model=args.model, flags=_setting_flags(args))
        _configure_logging(settings)
        if not sys.stderr.isatty():  # a log gets no `\r` bars from the libraries either
            silence_library_progress_bars()
        return _run(args, settings)
    except SetupError as error:
        print(f"tinktalker: error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        line = missing_extra_line(args.command, error.name)
        if line is None:
            raise
        print(f"tinktalker: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _setting_flags(args: argparse.Namespace) -> dict:
    """Flags that set a config key, so the schema checks them like the file and the environment."""
    return {"server.host": getattr(args, "host", None), "server.port": getattr(args, "port", None)}


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "chat":
        from tinktalker.entrypoints.chat.repl import run_chat

        return asyncio.run(run_chat(make_container(settings)))
    if args.command == "bot":
        from tinktalker.entrypoints.bot.run import serve_bot

        return serve_bot(make_container(settings), settings)
    if args.command == "train":
        from tinktalker.entrypoints.train.command import run_train

        return run_train(args, settings, make_container(settings))
    if args.command in ("dataset", "evaluate"):
        from tinktalker.entrypoints.train import dataset_command

        if args.command == "dataset":
            return dataset_command.run_dataset(args, settings)
        return dataset_command.run_evaluate(args, settings)
    if args.command == "serve":
        from tinktalker.entrypoints.api.serve import serve

        return serve(make_container(settings), settings)
    if args.command == "export":
        from tinktalker.entrypoints.export.command import run_export

        return run_export(args, settings, make_container(settings))
    raise AssertionError(f"unhandled command {args.command}")


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.logging.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


if __name__ == "__main__":
    sys.exit(main())
