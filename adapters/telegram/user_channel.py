"""UserChannel on Telegram: replies split to fit a message and sent piece by piece, "typing…"
kept alive while the model writes."""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Bot, ReplyParameters
from telegram.constants import ChatAction, MessageLimit
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from tinktalker.domain.dialogue import Conversation
from tinktalker.domain.errors import DeliveryFailed
from tinktalker.ports.draft_channel import DraftChannel
from tinktalker.ports.user_channel import UserChannel

log = logging.getLogger(__name__)

# python-telegram-bot's error for a 200 whose body is not the JSON it expects
_UNREADABLE_ANSWER = "Invalid server response"
# Preferred cut points, best first: a piece ends after a paragraph, a line, a sentence, a word.
_BOUNDARIES = ("\n\n", "\n", ". ", "! ", "? ", "… ", "; ", ", ", " ")


class TelegramUserChannel(UserChannel, DraftChannel):
    """Implements ports.UserChannel and ports.DraftChannel over a python-telegram-bot `Bot`.

    Each piece of a reply is sent on its own: a piece that fails for the network (a 5xx, no
    connection) is sent again, up to `send_retries` times after `send_backoff_s`, doubled each
    time, so a retried reply resumes at the failed piece. A timeout means "maybe delivered" (the
    request may have arrived): the piece is sent once more at most, and a second timeout counts as
    delivered, so a user sees a piece at most twice. A 200 whose body cannot be read counts as
    delivered. A 429 is the rate limiter's to retry (bot.rate_limit_retries); one still refused,
    like any other Telegram error (a 400 among them), is a `DeliveryFailed`, not retried."""

    def __init__(
        self,
        bot: Bot,
        *,
        typing_interval_s: float,
        send_retries: int,
        send_backoff_s: float,
        max_message_length: int = MessageLimit.MAX_TEXT_LENGTH,
    ) -> None:
        self._bot = bot
        self._typing_interval_s = typing_interval_s
        self._retries = send_retries
        self._backoff_s = send_backoff_s
        self._max_length = max_message_length
        self._drafts_paused_until = 0.0  # loop time; set by a 429 on a draft

    async def send_reply(
        self, conversation: Conversation, text: str, reply_to: int | None = None
    ) -> None:
        """Into the conversation's topic; the first piece quotes `reply_to`, even if it is gone."""
        quote = (
            ReplyParameters(reply_to, allow_sending_without_reply=True)
            if reply_to is not None
            else None
        )
        for piece in split_message(text, self._max_length):
            try:
                await self._send_piece(conversation, piece, quote)
            except Forbidden as error:  # the user blocked the bot or it left the group
                log.warning(
                    "chat %s cannot be written to (%s); reply dropped", conversation, error.message
                )
                return
            except RetryAfter as error:  # still flooded after the rate limiter's own retries
                raise DeliveryFailed(str(error), _seconds(error.retry_after)) from error
            except TelegramError as error:  # BadRequest, ChatMigrated, or the network, retried
                raise DeliveryFailed(f"{type(error).__name__}: {error.message}") from error
            quote = None

    async def _send_piece(
        self, conversation: Conversation, piece: str, quote: ReplyParameters | None
    ) -> None:
        timed_out = False
        for attempt in range(self._retries + 1):
            try:
                await self._bot.send_message(
                    chat_id=int(conversation.chat_id),
                    text=piece,
                    message_thread_id=conversation.topic_id,
                    reply_parameters=quote,
                )
                return
            except (
                BadRequest
            ):  # a NetworkError to python-telegram-bot, but sending again won't help
                raise
            except TimedOut as error:  # it may have arrived: one more try at most
                if timed_out or attempt == self._retries:
                    log.warning(
                        "reply piece to %s timed out twice; taken as delivered", conversation
                    )
                    return
                timed_out = True
                await self._before_retry(conversation, error, attempt)
            except NetworkError as error:  # connection trouble or a 5xx: worth a retry
                if attempt == self._retries:
                    raise
                await self._before_retry(conversation, error, attempt)
            except TelegramError as error:
                if error.message != _UNREADABLE_ANSWER:
                    raise
                log.warning(
                    "Telegram's answer to a reply to %s was unreadable; taken as delivered",
                    conversation,
                )
                return

    async def _before_retry(
        self, conversation: Conversation, error: Exception, attempt: int
    ) -> None:
        wait = self._backoff_s * 2**attempt
        log.warning(
            "reply to conversation %s not delivered (%s); retry %d of the piece in %.1f s",
            conversation,
            error,
            attempt + 1,
            wait,
        )
        await asyncio.sleep(wait)

    def drafts_in(self, conversation: Conversation) -> bool:
        """Part of ports.DraftChannel: Telegram shows drafts in private chats (positive ids)."""
        return int(conversation.chat_id) > 0

    async def show_draft(self, conversation: Conversation, draft_id: int, text: str) -> None:
        """Part of ports.DraftChannel: the reply so far (its first message's worth) as a draft.
        A 429 pauses every draft for its retry_after; no error reaches the caller."""
        pieces = split_message(text, self._max_length)
        if not pieces or asyncio.get_running_loop().time() < self._drafts_paused_until:
            return
        try:
            await self._bot.send_message_draft(
                chat_id=int(conversation.chat_id),
                draft_id=draft_id,
                text=pieces[0],
                message_thread_id=conversation.topic_id,
            )
        except RetryAfter as error:
            wait = _seconds(error.retry_after)
            self._drafts_paused_until = asyncio.get_running_loop().time() + wait
            log.info("drafts paused for %.0f s: Telegram asked to slow down", wait)
        except TelegramError as error:  # the final message still goes out
            log.debug("draft for conversation %s not shown: %s", conversation, error)

    @asynccontextmanager
    async def typing(self, conversation: Conversation) -> AsyncIterator[None]:
        keeper = asyncio.create_task(
            self._keep_typing(int(conversation.chat_id), conversation.topic_id)
        )
        try:
            yield
        finally:
            keeper.cancel()
            await asyncio.wait({keeper})

    async def _keep_typing(self, chat_id: int, topic_id: int | None) -> None:
        # Telegram shows the action for about 5 s, so it is re-sent until the reply goes out
        while True:
            try:
                await self._bot.send_chat_action(
                    chat_id=chat_id, action=ChatAction.TYPING, message_thread_id=topic_id
                )
            except Forbidden:
                return
            except (
                TelegramError
            ) as error:  # the indicator is a courtesy; the reply itself still goes out
                log.debug("typing action for chat %s failed: %s", chat_id, error)
            await asyncio.sleep(self._typing_interval_s)


def _seconds(retry_after: int | dtm.timedelta) -> float:
    return (
        retry_after.total_seconds()
        if isinstance(retry_after, dtm.timedelta)
        else float(retry_after)
    )


def split_message(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Pieces of at most `limit` UTF-16 units (Telegram's measure), cut at the best boundary that
    keeps a piece at least half full; a word longer than that is cut where the limit falls."""
    pieces: list[str] = []
    rest = text.strip()
    while _utf16_length(rest) > limit:
        head = rest[: max(_fitting_prefix_length(rest, limit), 1)]
        cut = _best_cut(head)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _best_cut(head: str) -> int:
    for boundary in _BOUNDARIES:
        position = head.rfind(boundary)
        if position >= len(head) // 2:
            return position + len(boundary)
    return len(head)


def _fitting_prefix_length(text: str, limit: int) -> int:
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
