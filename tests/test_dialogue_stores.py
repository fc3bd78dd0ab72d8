"""Both DialogueStore adapters keep chats apart; the SQLite file survives a reopen."""

from __future__ import annotations

import pytest

from tinktalker.adapters.storage.memory_dialogue_store import InMemoryDialogueStore
from tinktalker.adapters.storage.sqlite_database import SqliteDatabase
from tinktalker.adapters.storage.sqlite_dialogue_store import SqliteDialogueStore
from tinktalker.domain.dialogue import Conversation as C
from tinktalker.domain.dialogue import Message, Speaker
from tinktalker.domain.errors import SetupError

U, B = Speaker.USER, Speaker.BOT


@pytest.fixture(params=["sqlite", "memory"])
def store(request, tmp_path):
    if request.param == "memory":
        yield InMemoryDialogueStore()
    else:
        database = SqliteDatabase(tmp_path / "history.sqlite3")
        yield SqliteDialogueStore(database)
        database.close()


async def test_recent_messages_come_back_oldest_first_per_chat(store):
    await store.append(C("a"), [Message(U, "1"), Message(B, "2")])
    await store.append(C("b"), [Message(U, "other")])
    await store.append(C("a"), [Message(U, "3"), Message(B, "4")])
    assert await store.load_recent(C("a"), 3) == [Message(B, "2"), Message(U, "3"), Message(B, "4")]
    assert await store.load_recent(C("b"), 10) == [Message(U, "other")]
    assert await store.load_recent(C("a"), 0) == []
    assert await store.load_recent(C("nobody"), 3) == []


async def test_clear_forgets_one_chat(store):
    await store.append(C("a"), [Message(U, "x")])
    await store.append(C("b"), [Message(U, "y")])
    await store.clear(C("a"))
    assert await store.load_recent(C("a"), 5) == [] and await store.load_recent(C("b"), 5) == [
        Message(U, "y")
    ]


async def test_forum_topics_keep_separate_histories_and_clear_one_topic(store):
    await store.append(C("-100"), [Message(U, "general")])
    await store.append(C("-100", 7), [Message(U, "topic seven")])
    await store.append(C("-100", 9), [Message(U, "topic nine")])
    await store.clear(C("-100", 7))
    assert await store.load_recent(C("-100", 7), 5) == []
    assert await store.load_recent(C("-100"), 5) == [Message(U, "general")]
    assert await store.load_recent(C("-100", 9), 5) == [Message(U, "topic nine")]


async def test_sqlite_history_survives_a_reopen(tmp_path):
    path = tmp_path / "sub" / "history.sqlite3"
    first = SqliteDatabase(path)
    await SqliteDialogueStore(first).append(
        C("42"), [Message(U, "привет"), Message(B, "здравствуй")]
    )
    first.close()
    second = SqliteDatabase(path)
    assert await SqliteDialogueStore(second).load_recent(C("42"), 5) == [
        Message(U, "привет"),
        Message(B, "здравствуй"),
    ]
    second.close()


def test_an_unwritable_path_names_the_key_to_fix(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SetupError, match="store.sqlite_path"):
        SqliteDatabase(blocker / "history.sqlite3")
