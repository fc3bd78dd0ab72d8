"""Telegram updates in, DialogueService calls out: greetings, /reset, /ask, text, non-text, access,
flooding."""

from __future__ import annotations

import logging
import time

from telegram import BotCommand, Message, Update
from telegram.error import Forbidden, NetworkError, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from tinktalker.domain.errors import DeliveryFailed
from tinktalker.domain.flood_guard import FloodGuard, Verdict
from tinktalker.domain.service import DialogueService
from tinktalker.entrypoints.bot.audience import (
    Allowlist,
    conversation_of,
    is_private,
    speaks_to_bot,
    without_mentions,
)
from tinktalker.entrypoints.bot.price_replies import PriceReplies
from tinktalker.entrypoints.settings import BotSettings
from tinktalker.ports.user_channel import UserChannel

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE
_NEW_MESSAGES = filters.UpdateType.MESSAGE


class BotHandlers:
    """Thin: decides whether to answer, then hands the text to the DialogueService."""

    def __init__(
        self,
        service: DialogueService,
        channel: UserChannel,
        settings: BotSettings,
        unavailable_reply: str,
        prices: PriceReplies | None = None,
    ) -> None:
        self._service = service
        self._channel = channel
        self._settings = settings
        self._texts = settings.texts
        self._unavailable_reply = unavailable_reply
        self._allowlist = Allowlist(
            frozenset(settings.allowed_user_ids), frozenset(settings.allowed_chat_ids)
        )
        self._flood = FloodGuard(settings.user_messages_per_minute)
        self._prices = prices  # None: market data is off

    def register(self, application: Application) -> None:
        application.add_handler(CommandHandler("start", self.on_start, _NEW_MESSAGES))
        application.add_handler(CommandHandler("help", self.on_help, _NEW_MESSAGES))
        application.add_handler(CommandHandler("reset", self.on_reset, _NEW_MESSAGES))
        application.add_handler(CommandHandler("ask", self.on_ask, _NEW_MESSAGES))
        if self._prices is not None:
            application.add_handler(CommandHandler("price", self.on_price, _NEW_MESSAGES))
        # an unknown command in a private chat gets the help; in a group it may be another bot's
        application.add_handler(
            MessageHandler(_NEW_MESSAGES & filters.COMMAND & filters.ChatType.PRIVATE, self.on_help)
        )
        application.add_handler(
            MessageHandler(_NEW_MESSAGES & filters.TEXT & ~filters.COMMAND, self.on_text)
        )
        application.add_handler(
            MessageHandler(
                _NEW_MESSAGES & ~filters.TEXT & ~filters.StatusUpdate.ALL, self.on_non_text
            )
        )
        application.add_error_handler(self.on_error)

    def commands(self) -> list[BotCommand]:
        return [
            BotCommand("start", self._texts.start_command),
            BotCommand("help", self._texts.help_command),
            BotCommand("reset", self._texts.reset_command),
            BotCommand("ask", self._texts.ask_command),
        ] + ([BotCommand("price", self._texts.price_command)] if self._prices else [])

    async def on_start(self, update: Update, context: Context) -> None:
        await self._say(_message_of(update), self._texts.start)

    async def on_help(self, update: Update, context: Context) -> None:
        await self._say(_message_of(update), self._texts.help)

    async def on_reset(self, update: Update, context: Context) -> None:
        message = _message_of(update)
        if await self._admitted(message):
            await self._service.reset(conversation_of(message))
            await self._send(message, self._texts.reset)

    async def on_ask(self, update: Update, context: Context) -> None:
        message = _message_of(update)
        if await self._admitted(message):
            await self._talk(message, " ".join(context.args or ()))

    async def on_price(self, update: Update, context: Context) -> None:
        """Quotes straight from the exchange: the model is never asked."""
        message = update.effective_message
        if message is None or self._prices is None:
            return
        if await self._admitted(message) and await self._unhurried(message):
            await self._send(message, await self._prices.for_command(context.args or ()))

    async def on_text(self, update: Update, context: Context) -> None:
        message = _message_of(update)
        if self._addressed(message, context) and await self._admitted(message):
            await self._talk(
                message, without_mentions(message, context.bot.id, context.bot.username)
            )

    async def on_non_text(self, update: Update, context: Context) -> None:
        message = _message_of(update)
        if self._addressed(message, context):
            await self._say(message, self._texts.non_text)

    async def on_error(self, update: object, context: Context) -> None:
        error = context.error
        where = (
            update.effective_chat.id
            if isinstance(update, Update) and update.effective_chat
            else "-"
        )
        if isinstance(error, DeliveryFailed):  # the channel retried what was worth retrying
            log.warning("a reply to chat %s was not delivered: %s", where, error)
        elif isinstance(error, Forbidden):
            log.warning("chat %s cannot be written to: %s", where, error.message)
        elif isinstance(error, (NetworkError, RetryAfter)):
            log.warning("Telegram request for chat %s failed: %s", where, error)
        else:
            log.error("handling an update for chat %s failed", where, exc_info=error)

    async def _say(self, message: Message, text: str) -> None:
        if await self._admitted(message):
            await self._send(message, text)

    async def _send(self, message: Message, text: str) -> None:
        await self._channel.send_reply(conversation_of(message), text, self._quoted(message))

    async def _talk(self, message: Message, text: str) -> None:
        if not text:
            await self._send(message, self._texts.help)
            return
        if not await self._unhurried(message):
            return
        if self._prices and (quotes := await self._prices.for_cashtags(text)):
            await self._send(message, quotes)  # its own message, before the model's reply
        conversation = conversation_of(message)
        try:
            await self._service.handle(conversation, text, self._quoted(message))
        except (
            DeliveryFailed
        ) as error:  # the channel retried what it could: the message is given up
            log.error("reply in conversation %s never delivered, given up: %s", conversation, error)
        except Exception:  # a broken generator must cost one reply, never the bot
            log.exception("no reply for conversation %s", conversation)
            await self._send(message, self._unavailable_reply)

    async def _unhurried(self, message: Message) -> bool:
        """The flood guard: one sender's excess is dropped, with one "slow down" when they cross the
        limit."""
        sender = message.from_user.id if message.from_user else message.chat_id
        verdict = self._flood.check(sender, time.monotonic())
        if verdict is Verdict.WARN:
            log.info(
                "user %s sends more than %d messages a minute; the excess is dropped",
                sender,
                self._settings.user_messages_per_minute,
            )
            await self._send(message, self._texts.slow_down)
        return verdict is Verdict.ANSWER

    def _quoted(self, message: Message) -> int | None:
        """The message a reply quotes (bot.reply_threading), so a group sees whose question it
        answers."""
        threading = self._settings.reply_threading
        if threading == "always" or (threading == "groups" and not is_private(message)):
            return message.message_id
        return None

    def _addressed(self, message: Message, context: Context) -> bool:
        if is_private(message):
            return True
        mode = self._settings.group_mode
        return mode == "every_message" or (
            mode == "addressed" and speaks_to_bot(message, context.bot.id, context.bot.username)
        )

    async def _admitted(self, message: Message) -> bool:
        if not is_private(message) and self._settings.group_mode == "ignore":
            return False
        user_id = message.from_user.id if message.from_user else None
        if self._allowlist.admits(user_id, message.chat_id):
            return True
        log.info("refused user %s in chat %s (not in the allowlists)", user_id, message.chat_id)
        if self._settings.when_denied == "reply":
            await self._send(message, self._texts.denied)
        return False


def _message_of(update: Update) -> Message:
    # every handler is registered for new messages only (filters.UpdateType.MESSAGE)
    message = update.effective_message
    if message is None:
        raise TypeError(f"update {update.update_id} carries no message")
    return message
