"""The python-telegram-bot Application: Bot API client, rate limiter, conversations in turns."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable
from typing import Any

from telegram import Bot, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, BaseUpdateProcessor

from tinktalker.adapters.telegram.updates import (
    conversation_of,
    inbox_entry_of,
    storable,
    update_of,
)
from tinktalker.domain.durable_inbox import DurableInbox
from tinktalker.domain.errors import StorageUnavailable
from tinktalker.domain.turns import ConversationTurns

log = logging.getLogger(__name__)
# While the inbox cannot write, polling tries the same update again this often, and says so once
# a minute (not on every try)
_RETRY_UNWRITABLE_S = 1.0
_REPORT_EVERY_S = 60.0

# python-telegram-bot takes its own concurrency slot before `do_process_update`; a slot taken there
# would be held while the update waits for its conversation, so that one is made too large to wait.
_NO_LIMIT = sys.maxsize


class ConversationOrderedUpdateProcessor(BaseUpdateProcessor):
    """Each update takes its conversation's turn (a chat, or a forum topic in one), then a slot: one
    conversation's updates strictly in arrival order (a command never overtakes the reply to the
    message before it), and a conversation with a backlog waits without holding any slot. A handled
    update is settled in the durable inbox (when there is one)."""

    def __init__(self, turns: ConversationTurns, inbox: DurableInbox | None) -> None:
        super().__init__(_NO_LIMIT)
        self._turns = turns
        self._inbox = inbox

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        message = update.effective_message if isinstance(update, Update) else None
        if message is None:
            async with self._turns.slot():
                await coroutine
        else:
            async with self._turns.turn(conversation_of(message)):
                await coroutine
        if self._inbox is not None and isinstance(update, Update):
            await self._inbox.settle(update.update_id)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class AdmittingUpdateQueue(asyncio.Queue[object]):
    """The queue the Updater fills: each update is admitted by the durable inbox (recorded, or found
    to be a re-delivery to skip) before it is queued. The Updater confirms an update to Telegram
    (the next getUpdates offset, or the webhook's 200) only after `put` returns, so only what was
    kept is confirmed: while the inbox cannot write, `put` waits and tries again (polling takes
    nothing new meanwhile) and `admit_now` raises `StorageUnavailable` (the webhook's 503).
    Admission never fails otherwise: text the store cannot hold is replaced, and an unexpected
    error is logged with the update id and the update handled anyway. `replay` queues, without
    admission, what the last run left unhandled."""

    def __init__(self, inbox: DurableInbox | None) -> None:
        super().__init__()
        self._inbox = inbox
        self._reported_at = float("-inf")

    async def put(self, item: object) -> None:
        while True:
            try:
                return await self.admit_now(item)
            except StorageUnavailable as error:
                self.report_unwritable(error)
                await asyncio.sleep(_RETRY_UNWRITABLE_S)

    async def admit_now(self, item: object) -> None:
        """Queues `item` once the inbox kept it; raises StorageUnavailable when it cannot now."""
        if not isinstance(item, Update):
            return self.put_nowait(item)
        try:
            update = storable(item)
            entry = inbox_entry_of(update)
            if entry is not None and self._inbox is not None and not await self._inbox.admit(entry):
                return None
        except StorageUnavailable:
            raise
        except Exception:  # a poller that stops here would leave every chat unanswered
            log.exception("update %s could not be recorded; handling it anyway", item.update_id)
            update = item
        self.put_nowait(update)
        self._reported_at = float("-inf")
        return None

    def report_unwritable(self, error: StorageUnavailable) -> None:
        """One ERROR line a minute while updates cannot be recorded (and so are not confirmed)."""
        now = time.monotonic()
        if now - self._reported_at >= _REPORT_EVERY_S:
            self._reported_at = now
            log.error("new updates wait unconfirmed until the inbox can record them: %s", error)

    def polling_error(self, error: TelegramError) -> None:
        """The Updater's error callback: one line per failed getUpdates, no traceback."""
        if not isinstance(error, InvalidToken):  # that one ends polling; the bot then stops
            log.warning("getUpdates failed, polling again shortly: %s", error)

    async def replay(self, bot: Bot) -> int:
        """Queues the updates left unsettled by the last run, oldest first; returns how many."""
        pending = await self._inbox.replay() if self._inbox is not None else []
        for entry in pending:
            self.put_nowait(update_of(entry, bot))
        return len(pending)


class MessageRateLimiter(AIORateLimiter):
    """AIORateLimiter for messages only: Telegram allows about 20 messages a minute per group, and
    "typing…" actions queued in that allowance would hold the replies themselves up for a minute.
    Drafts (sendMessageDraft) bypass it too: they are courtesies the channel drops on a 429."""

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        if endpoint in ("sendChatAction", "sendMessageDraft"):
            return await callback(*args, **kwargs)
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )


def build_telegram_application(
    *,
    token: str,
    api_base_url: str,
    turns: ConversationTurns,
    update_queue: AdmittingUpdateQueue,
    inbox: DurableInbox | None,
    rate_limit_retries: int,
) -> Application:
    """An Application that talks to `api_base_url` (token appended, or put where "{token}" stands),
    handles updates in `turns` (their slots bound how many at once), keeps to Telegram's flood
    limits and, on a 429, waits the server's retry_after and retries up to `rate_limit_retries`
    times. Every received update passes `update_queue`'s admission before Telegram is told it
    arrived. No I/O happens here."""
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(api_base_url)
        .update_queue(update_queue)
        .concurrent_updates(ConversationOrderedUpdateProcessor(turns, inbox))
        .rate_limiter(MessageRateLimiter(max_retries=rate_limit_retries))
        .build()
    )
