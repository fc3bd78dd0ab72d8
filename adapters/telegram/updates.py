"""Telegram's `Update` <-> the domain: the conversation of a message, and the inbox entry."""

from __future__ import annotations

import json
import re
from typing import Any

from telegram import Bot, Message, Update

from tinktalker.domain.dialogue import Conversation
from tinktalker.domain.inbox import InboxEntry


def conversation_of(message: Message) -> Conversation:
    """The chat, plus the forum topic the message was posted in (the General topic has no id)."""
    topic = message.message_thread_id if message.is_topic_message else None
    return Conversation(str(message.chat_id), topic)


# A JSON escape such as \ud800 alone decodes to a lone surrogate, which no UTF-8 store can hold
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(update: Update) -> Update:
    """The update with every lone surrogate in its strings replaced by U+FFFD (itself if none)."""
    data = update.to_dict()
    cleaned = _without_lone_surrogates(data)
    if cleaned == data:
        return update
    try:
        bot: Bot | None = update.get_bot()
    except RuntimeError:
        bot = None
    return Update.de_json(cleaned, bot)


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {key: _without_lone_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    return value


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
