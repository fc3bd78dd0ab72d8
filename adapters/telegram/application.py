"""The python-telegram-bot Application: Bot API client, rate limiter, conversations handled side by side."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, BaseUpdateProcessor

from tinktalker.domain.chat_locks import ChatLocks

Admission = Callable[[Update], Awaitable[bool]]


class ConversationOrderedUpdateProcessor(BaseUpdateProcessor):
    """Up to `max_concurrent_updates` updates at once, but one conversation's updates (a chat, or a forum
    topic in one) strictly in arrival order: a command never overtakes the reply to the message before it."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._conversations = ChatLocks()

    async def do_process_update(self, update: object, coroutine: Awaitable) -> None:
        message = update.effective_message if isinstance(update, Update) else None
        if message is None:
            await coroutine
            return
        topic = message.message_thread_id if message.is_topic_message else None
        async with self._conversations.hold((message.chat_id, topic)):
            await coroutine

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class AdmittingUpdateQueue(asyncio.Queue):
    """The queue the Updater fills: each update goes through `admit` (which records it durably, or says it
    is a re-delivery to skip) before it is queued. The Updater confirms an update to Telegram (the next
    getUpdates offset, or the webhook's 200) only after `put` returns, so only what was kept is confirmed.
    `put_nowait` skips admission: for updates already recorded (replayed after a restart)."""

    def __init__(self, admit: Admission | None) -> None:
        super().__init__()
        self._admit = admit

    async def put(self, item: object) -> None:
        if isinstance(item, Update) and self._admit is not None and not await self._admit(item):
            return
        self.put_nowait(item)


class MessageRateLimiter(AIORateLimiter):
    """AIORateLimiter for messages only: Telegram allows about 20 messages a minute per group, and
    "typing…" actions queued in that allowance would hold the replies themselves up for a minute."""

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        if endpoint == "sendChatAction":
            return await callback(*args, **kwargs)
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )


def build_telegram_application(
    token: str,
    api_base_url: str,
    max_concurrent_updates: int,
    rate_limit_retries: int,
    admit: Admission | None = None,
) -> Application:
    """An Application that talks to `api_base_url` (token appended, or put where "{token}" stands),
    handles up to `max_concurrent_updates` at once, keeps to Telegram's flood limits and, on a 429,
    waits the server's retry_after and retries up to `rate_limit_retries` times. Every received update
    passes `admit` before Telegram is told it arrived. No I/O happens here."""
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(api_base_url)
        .update_queue(AdmittingUpdateQueue(admit))
        .concurrent_updates(ConversationOrderedUpdateProcessor(max_concurrent_updates))
        .rate_limiter(MessageRateLimiter(max_retries=rate_limit_retries))
        .build()
    )
