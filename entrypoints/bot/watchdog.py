"""The bot's background work watched: polling or the update fetcher ending by itself stops the bot
(a rejected token with exit 2, anything else non-zero), so a supervisor can restart it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from telegram.error import InvalidToken
from telegram.ext import Updater

from tinktalker.domain.errors import SetupError

log = logging.getLogger(__name__)
# python-telegram-bot's names for the tasks that fetch updates and hand them to the handlers
_POLLING_TASK = "Updater:start_polling:polling_task"
_FETCHER_SUFFIX = ":update_fetcher"


class BotStopped(Exception):
    """Updates can no longer arrive or be handled; the process should end non-zero."""


class _OneLineForRejectedToken(logging.Filter):
    """python-telegram-bot logs a rejected token with a traceback; the bot says it in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, InvalidToken)


def quiet_rejected_token_tracebacks() -> None:
    logger = logging.getLogger("telegram.ext")
    if not any(isinstance(f, _OneLineForRejectedToken) for f in logger.filters):
        logger.addFilter(_OneLineForRejectedToken())


async def wait_for_stop(stop: asyncio.Event, stop_signals: Sequence[int], token_env: str) -> None:
    """Returns once `stop` is set or a stop signal arrives; raises SetupError (the token was
    rejected while running) or BotStopped when polling or the update fetcher ends by itself."""
    loop = asyncio.get_running_loop()
    for number in stop_signals:
        loop.add_signal_handler(number, stop.set)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        watched = _background_tasks()
        done, _ = await asyncio.wait({stopping, *watched}, return_when=asyncio.FIRST_COMPLETED)
        if stopping not in done:
            raise _failure_of(done.pop(), token_env)
    finally:
        stopping.cancel()
        for number in stop_signals:
            loop.remove_signal_handler(number)


async def stop_updater(updater: Updater) -> None:
    """Stops polling or the webhook; a polling task that already failed was reported already."""
    if not updater.running:
        return
    try:
        await updater.stop()
    except Exception as error:  # noqa: BLE001 (its failure was the reason to stop)
        log.debug("the updater stopped with %r", error)


def _background_tasks() -> set[asyncio.Task]:
    return {
        task
        for task in asyncio.all_tasks()
        if task.get_name() == _POLLING_TASK or task.get_name().endswith(_FETCHER_SUFFIX)
    }


def _failure_of(task: asyncio.Task, token_env: str) -> Exception:
    error = None if task.cancelled() else task.exception()
    if isinstance(error, InvalidToken):
        return SetupError(
            f"Telegram rejected {token_env} while the bot was running ({error.message}); "
            "the token was revoked or replaced: copy it from @BotFather again"
        )
    return BotStopped(f"{task.get_name()} ended by itself ({error!r}); stopping the bot")
