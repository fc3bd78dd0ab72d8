"""Both DialogueStore adapters keep chats apart; the SQLite file survives a reopen."""
from __future__ import annotations

import pytest

from adapters.storage.memory_dialogue_store import InMemoryDialogueStore
from adapters.storage.sqlite_dialogue_store import SqliteDialogueStore
from domain.dialogue import Message, Speaker
from domain.errors import SetupError

U, B = Speaker.USER, Speaker.BOT


@pytest.fixture(params=["sqlite", "memory"])
def store(request, tmp_path):
    if request.param == "memory":
        yield InMemoryDialogueStore()
    else:
        store = SqliteDialogueStore(tmp_path / "history.sqlite3")
        yield store
        store.close()


async def test_recent_messages_come_back_oldest_first_per_chat(store):
    await store.append("a", [Message(U, "1"), Message(B, "2")])
    await store.append("b", [Message(U, "other")])
    await store.append("a", [Message(U, "3"), Message(B, "4")])
    assert await store.load_recent("a", 3) == [Message(B, "2"), Message(U, "3"), Message(B, "4")]
    assert await store.load_recent("b", 10) == [Message(U, "other")]
    assert await store.load_recent("a", 0) == []
    assert await store.load_recent("nobody", 3) == []


async def test_clear_forgets_one_chat(store):
    await store.append("a", [Message(U, "x")])
    await store.append("b", [Message(U, "y")])
    await store.clear("a")
    assert await store.load_recent("a", 5) == [] and await store.load_recent("b", 5) == [Message(U, "y")]


async def test_sqlite_history_survives_a_reopen(tmp_path):
    path = tmp_path / "sub" / "history.sqlite3"
    first = SqliteDialogueStore(path)
    await first.append("42", [Message(U, "привет"), Message(B, "здравствуй")])
    first.close()
    second = SqliteDialogueStore(path)
    assert await second.load_recent("42", 5) == [Message(U, "привет"), Message(B, "здравствуй")]
    second.close()


def test_an_unwritable_path_names_the_key_to_fix(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SetupError, match="store.sqlite_path"):
        SqliteDialogueStore(blocker / "history.sqlite3")
