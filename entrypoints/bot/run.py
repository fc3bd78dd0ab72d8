"""`tinktalker bot`: the Telegram bot, by long polling or a webhook, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import signal
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from telegram import Bot
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, Updater

from tinktalker.domain.errors import SetupError
from tinktalker.entrypoints.bot.handlers import BotHandlers
from tinktalker.entrypoints.bot.log_redaction import redact, redact_in_logs
from tinktalker.entrypoints.bot.price_replies import PriceReplies
from tinktalker.entrypoints.bot.watchdog import (
    BotStopped,
    quiet_rejected_token_tracebacks,
    stop_updater,
    wait_for_stop,
)
from tinktalker.entrypoints.container import Container
from tinktalker.entrypoints.environment_secrets import TOKEN_ENV, WEBHOOK_SECRET_ENV, read_secrets
from tinktalker.entrypoints.random_weights import NOTE, has_random_weights
from tinktalker.entrypoints.resolving import resolved
from tinktalker.entrypoints.settings import Settings

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_BOT_TOKEN = re.compile(r"[0-9]+:[A-Za-z0-9_-]{35}")  # the shape @BotFather hands out


class _ReplayingQueue(Protocol):
    async def replay(self, bot: Bot) -> int: ...

    def polling_error(self, error: TelegramError) -> None: ...


class _Webhook(Protocol):
    async def start(self, allowed_updates: list[str]) -> None: ...

    async def stop(self) -> None: ...


def serve_bot(container: Container, settings: Settings) -> int:
    return asyncio.run(run_bot(container, settings))


async def run_bot(
    container: Container,
    settings: Settings,
    env: Mapping[str, str] | None = None,
    stop: asyncio.Event | None = None,
    stop_signals: Sequence[int] = STOP_SIGNALS,
) -> int:
    """Answer chats until `stop` is set or a stop signal arrives; in-flight replies finish first.
    Returns 1 when updates stopped arriving by themselves (so a supervisor restarts the bot)."""
    env = os.environ if env is None else env
    quiet_rejected_token_tracebacks()
    container.telegram_token.override(read_token(env))
    if settings.generator.backend == "local" and has_random_weights(settings.model.name_or_path):
        log.warning("the model %s has %s", settings.model.name_or_path, NOTE)
    webhook_secret = _check_webhook(settings, env) if settings.bot.mode == "webhook" else None
    stop = asyncio.Event() if stop is None else stop
    try:
        # The store opens (and is checked) and the model loads before going online, so a broken
        # setup fails before any chat
        update_queue = container.telegram_update_queue()  # records updates in the durable inbox
        channel = container.telegram_channel()
        # a missing torch for the local backend is the container's SetupError, like for every
        # command
        drafting = container.telegram_drafting()  # private chats see replies as they are written
        service = await resolved(container.dialogue_service(channel=channel, drafting=drafting))
        handlers = BotHandlers(
            service,
            channel,
            settings.bot,
            settings.dialogue.unavailable_reply,
            prices=await _price_replies(container, settings),
        )
        application = container.telegram_application()
        handlers.register(application)
        webhook = (
            container.telegram_webhook(secret_token=webhook_secret) if webhook_secret else None
        )
        async with _online(application, settings):
            await _set_commands(application, handlers)
            await _serve(application, settings, webhook, stop, stop_signals, update_queue)
    except BotStopped as error:
        log.error("%s", error)
        return 1
    finally:
        await resolved(container.shutdown_resources())
    return 0


async def _price_replies(container: Container, settings: Settings) -> PriceReplies | None:
    if not settings.market.enabled:
        return None
    return PriceReplies(await resolved(container.quote_desk()), settings.bot.texts)


def read_token(env: Mapping[str, str]) -> str:
    token = read_secrets(env).telegram_token
    if not token:
        raise SetupError(
            f"{TOKEN_ENV} is not set; create a bot with @BotFather and "
            f"export {TOKEN_ENV}=<its token>"
        )
    redact_in_logs(token)  # before any client exists that could log a URL holding it
    if not _BOT_TOKEN.fullmatch(token):  # checked before the model loads or the network is tried
        raise SetupError(
            f"{TOKEN_ENV} is not a bot token (expected <digits>:<35 letters, digits, _ or ->); "
            "copy it again from @BotFather"
        )
    return token


def _check_webhook(settings: Settings, env: Mapping[str, str]) -> str:
    """The webhook's secret token (from the environment, else random per start), once the URL is
    known."""
    if not settings.bot.webhook.public_url:
        raise SetupError(
            "bot.webhook.public_url is empty; set it to the https URL Telegram should call, "
            "e.g. https://bot.example.com/telegram"
        )
    secret = read_secrets(env).telegram_webhook_secret or secrets.token_urlsafe(32)
    if not _SECRET_TOKEN.fullmatch(secret):
        raise SetupError(
            f"{WEBHOOK_SECRET_ENV} may hold only A-Z, a-z, 0-9, _ and - (1 to 256 characters)"
        )
    redact_in_logs(secret)
    return secret


@asynccontextmanager
async def _online(application: Application, settings: Settings) -> AsyncIterator[None]:
    """The Bot API client started (getMe) and shut down, with start-up failures as one line naming
    the fix."""
    try:
        await application.initialize()
    except InvalidToken:
        raise SetupError(
            f"Telegram rejected {TOKEN_ENV}; copy the token from @BotFather again"
        ) from None
    except TelegramError as error:
        raise SetupError(
            f"cannot reach the Bot API at {settings.bot.api_base_url} ({redact(str(error))}); "
            "check bot.api_base_url and the network"
        ) from None
    try:
        yield
    finally:
        await application.shutdown()


async def _set_commands(application: Application, handlers: BotHandlers) -> None:
    try:
        await application.bot.set_my_commands(handlers.commands())
    except TelegramError as error:  # the menu is a convenience; the bot works without it
        log.warning("could not register the command menu: %s", error)


async def _serve(
    application: Application,
    settings: Settings,
    webhook: _Webhook | None,
    stop: asyncio.Event,
    stop_signals: Sequence[int],
    update_queue: _ReplayingQueue,
) -> None:
    await application.start()
    try:
        # what the last run left unanswered goes first, so each conversation keeps its order
        await update_queue.replay(application.bot)
        if webhook is None:
            await _start_polling(application, settings, update_queue)
        else:
            await webhook.start(allowed_updates=["message"])
        log.info("bot @%s is up (%s)", application.bot.username, settings.bot.mode)
        await wait_for_stop(stop, stop_signals, TOKEN_ENV)
        log.info("stopping: finishing the replies in flight")
    finally:
        if webhook is not None:
            await webhook.stop()
        await stop_updater(_updater(application))
        await application.stop()  # waits for every update already taken in


async def _start_polling(
    application: Application, settings: Settings, update_queue: _ReplayingQueue
) -> None:
    await _updater(application).start_polling(
        timeout=settings.bot.polling_timeout_s,
        allowed_updates=["message"],
        error_callback=update_queue.polling_error,
    )


def _updater(application: Application) -> Updater:
    if application.updater is None:  # the container builds it with one, as ApplicationBuilder does
        raise TypeError("the Telegram application has no Updater")
    return application.updater
