"""Telegram's `Update` <-> the domain: the conversation of a message, and the inbox entry."""

from __future__ import annotations

import json

from telegram import Bot, Message, Update

from tinktalker.domain.dialogue import Conversation
from tinktalker.domain.inbox import InboxEntry


def conversation_of(message: Message) -> Conversation:
    """The chat, plus the forum topic the message was posted in (the General topic has no id)."""
    topic = message.message_thread_id if message.is_topic_message else None
    return Conversation(str(message.chat_id), topic)


def inbox_entry_of(update: Update) -> InboxEntry | None:
    """What the inbox keeps of an update; None for one that carries no message."""
    message = update.effective_message
    if message is None:
        return None
    return InboxEntry(
        delivery_id=update.update_id,
        conversation=conversation_of(message),
        message_id=message.message_id,
        text=message.text or message.caption or "",
        sent_at=message.date.timestamp(),
        payload=update.to_json(),
    )


def update_of(entry: InboxEntry, bot: Bot) -> Update:
    """The update an inbox entry was made from, as Telegram sent it."""
    return Update.de_json(json.loads(entry.payload), bot)
