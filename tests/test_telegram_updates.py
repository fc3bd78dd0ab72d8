"""Telegram's Update <-> the domain (adapters/telegram/updates.py): the conversation a message
belongs to, and the inbox entry an update is kept as and handled again from."""

from __future__ import annotations

import datetime as dtm

from telegram import Bot, Chat, Message, Update, User

from tinktalker.adapters.telegram.application import AdmittingUpdateQueue
from tinktalker.adapters.telegram.updates import (
    conversation_of,
    inbox_entry_of,
    storable,
    update_of,
)
from tinktalker.domain.dialogue import Conversation
from tinktalker.entrypoints.bot import audience

BOT = Bot("1:x")
SENT = dtm.datetime(2026, 5, 1, 12, 0, tzinfo=dtm.UTC)
FORUM = Chat(-100, "supergroup", is_forum=True)


def message(chat: Chat, text: str | None = "hi", **fields) -> Message:
    return Message(7, SENT, chat, from_user=User(5, "Dave", False), text=text, **fields)


def test_a_topic_is_its_own_conversation_and_the_general_topic_is_the_chat():
    in_topic = message(FORUM, message_thread_id=11, is_topic_message=True)
    # a reply in General carries the thread id of the message it answers, but is no topic message
    in_general = message(FORUM, message_thread_id=11)
    private = message(Chat(5, "private"))
    cases = [(in_topic, Conversation("-100", 11)), (in_general, Conversation("-100"))]
    for item, conversation in [*cases, (private, Conversation("5"))]:
        assert conversation_of(item) == conversation
        assert audience.conversation_of(item) == conversation  # the handlers key it the same way


def test_an_update_is_kept_as_an_entry_and_handled_again_as_the_same_update():
    update = Update(
        42, message=message(FORUM, "about bonds", message_thread_id=11, is_topic_message=True)
    )
    entry = inbox_entry_of(update)
    assert entry is not None
    assert (entry.delivery_id, entry.conversation, entry.message_id, entry.text) == (
        42,
        Conversation("-100", 11),
        7,
        "about bonds",
    )
    assert entry.sent_at == SENT.timestamp()
    again = update_of(entry, BOT)
    assert again.update_id == 42 and again.effective_message.text == "about bonds"
    assert conversation_of(again.effective_message) == entry.conversation


def test_a_caption_is_the_text_and_an_update_without_a_message_has_no_entry():
    photo = Update(1, message=message(Chat(5, "private"), None, caption="look"))
    assert inbox_entry_of(photo).text == "look"
    assert inbox_entry_of(Update(2)) is None


class _FailingInbox:
    """A DurableInbox whose admission fails with a bug, not with the store."""

    async def admit(self, entry) -> bool:
        raise ValueError("a bug in admission")


async def test_an_unexpected_admission_error_is_logged_with_the_update_id_and_the_update_queued(
    caplog,
):
    queue = AdmittingUpdateQueue(_FailingInbox())  # type: ignore[arg-type]
    update = Update(41, message=message(Chat(5, "private")))
    await queue.put(update)
    assert queue.get_nowait() is update
    assert any("update 41" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_a_lone_surrogate_becomes_a_replacement_character_everywhere_in_the_update():
    update = Update(42, message=message(Chat(5, "private"), text="a\ud800b"))
    cleaned = storable(update)
    assert cleaned.message is not None and cleaned.message.text == "a\ufffdb"
    assert storable(cleaned) is cleaned  # nothing left to replace
