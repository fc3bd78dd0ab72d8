"""The python-telegram-bot Application: Bot API client, rate limiter, chats handled side by side."""
from __future__ import annotations

from collections.abc import Awaitable

from telegram import Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, BaseUpdateProcessor

from domain.chat_locks import ChatLocks


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    """Up to `max_concurrent_updates` updates at once, but one chat's updates strictly in arrival order
    (a command never overtakes the reply to the message before it)."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._chats = ChatLocks()

    async def do_process_update(self, update: object, coroutine: Awaitable) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        async with self._chats.hold(str(chat.id)):
            await coroutine

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class MessageRateLimiter(AIORateLimiter):
    """AIORateLimiter for messages only: Telegram allows about 20 messages a minute per group, and
    "typing…" actions queued in that allowance would hold the replies themselves up for a minute."""

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        if endpoint == "sendChatAction":
            return await callback(*args, **kwargs)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


def build_telegram_application(token: str, api_base_url: str, max_concurrent_updates: int,
                               rate_limit_retries: int) -> Application:
    """An Application that talks to `api_base_url` (token appended, or put where "{token}" stands),
    handles up to `max_concurrent_updates` at once, keeps to Telegram's flood limits and, on a 429,
    waits the server's retry_after and retries up to `rate_limit_retries` times. No I/O happens here."""
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(api_base_url)
        .concurrent_updates(ChatOrderedUpdateProcessor(max_concurrent_updates))
        .rate_limiter(MessageRateLimiter(max_retries=rate_limit_retries))
        .build()
    )
