"""Who may talk to the bot, and which group messages speak to it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from telegram import Message, MessageEntity
from telegram.constants import ChatType

from tinktalker.domain.dialogue import Conversation


@dataclass(frozen=True)
class Allowlist:
    """Both lists empty = everyone; otherwise the sender or the chat must be listed."""

    user_ids: Collection[int] = ()
    chat_ids: Collection[int] = ()

    def admits(self, user_id: int | None, chat_id: int) -> bool:
        if not self.user_ids and not self.chat_ids:
            return True
        return user_id in self.user_ids or chat_id in self.chat_ids


def is_private(message: Message) -> bool:
    return message.chat.type == ChatType.PRIVATE


def conversation_of(message: Message) -> Conversation:
    """The chat, plus the forum topic the message was posted in (the General topic has no id)."""
    topic = message.message_thread_id if message.is_topic_message else None
    return Conversation(str(message.chat_id), topic)


def speaks_to_bot(message: Message, bot_id: int, bot_username: str | None) -> bool:
    """A reply to one of the bot's messages, or a message (or caption) that mentions the bot."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return True
    return bool(_mentions(message, bot_id, bot_username))


def without_mentions(message: Message, bot_id: int, bot_username: str | None) -> str:
    """The message text with the bot's own mentions taken out (the model should not see '@bot')."""
    text = message.text or message.caption or ""
    for mention in _mentions(message, bot_id, bot_username):
        text = text.replace(mention, " ")
    return " ".join(text.split())


def _mentions(message: Message, bot_id: int, bot_username: str | None) -> list[str]:
    types: list[str | None] = [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
    entities = (
        message.parse_entities(types) if message.text else message.parse_caption_entities(types)
    )
    handle = f"@{bot_username}".lower() if bot_username else None
    return [
        text
        for entity, text in entities.items()
        if (entity.type == MessageEntity.MENTION and text.lower() == handle)
        or (
            entity.type == MessageEntity.TEXT_MENTION
            and entity.user is not None
            and entity.user.id == bot_id
        )
    ]
