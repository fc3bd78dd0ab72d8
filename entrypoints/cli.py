"""The `tinktalker` command: one subcommand per way of running."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from domain.errors import SetupError
from entrypoints.config_loading import load_settings
from entrypoints.container import make_container
from entrypoints.settings import Settings
from entrypoints.export.command import add_export_arguments
from entrypoints.train.arguments import add_train_arguments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinktalker", description="TinkTalker: a chatbot that loves investing.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chat = commands.add_parser("chat", help="talk with the model in this terminal (model in-process)")
    _common(chat)
    bot = commands.add_parser("bot", help="run the Telegram bot (token from $TELEGRAM_TOKEN)")
    _common(bot)
    train = commands.add_parser("train", help="fine-tune the model on a chat CSV (resumable; see README)")
    _common(train)
    add_train_arguments(train)
    serve = commands.add_parser("serve", help="serve the model over HTTP (original /answer and OpenAI-compatible /v1)")
    _common(serve)
    serve.add_argument("--host", help="address to listen on (default: server.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: server.port, 8000)")
    export = commands.add_parser("export", help="write a model folder vLLM/TGI serve as TinkTalker does (see README)")
    _common(export)
    add_export_arguments(export)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", help="YAML config (default: $TINKTALKER_CONFIG or the shipped config.yml)")
    parser.add_argument("--model", metavar="FOLDER_OR_HUB_ID", help="model to load (also $TINKTALKER_MODEL)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config, model=args.model, flags=_setting_flags(args))
        _configure_logging(settings)
        return _run(args, settings)
    except SetupError as error:
        print(f"tinktalker: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _setting_flags(args: argparse.Namespace) -> dict:
    """Flags that set a config key, so the schema checks them like the file and the environment."""
    return {"server.host": getattr(args, "host", None), "server.port": getattr(args, "port", None)}


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "chat":
        from entrypoints.chat.repl import run_chat

        return asyncio.run(run_chat(make_container(settings)))
    if args.command == "bot":
        try:
            from entrypoints.bot.run import serve_bot
        except ModuleNotFoundError as error:
            raise SetupError(f"the bot needs {error.name}; install the bot extra: pip install -e '.[bot]'") from None
        return serve_bot(make_container(settings), settings)
    if args.command == "train":
        from entrypoints.train.command import run_train

        return run_train(args, settings, make_container(settings))
    if args.command == "serve":
        from entrypoints.api.serve import serve

        return serve(make_container(settings), settings)
    if args.command == "export":
        from entrypoints.export.command import run_export

        return run_export(args, settings, make_container(settings))
    raise AssertionError(f"unhandled command {args.command}")


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.logging.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


if __name__ == "__main__":
    sys.exit(main())
