"""The SQLite adapters under load on a real file: many concurrent writers and readers through both
stores, and the database closed while they run; no SQLite error may happen, in the log or raised."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tinktalker.adapters.storage.sqlite_database import SqliteDatabase
from tinktalker.adapters.storage.sqlite_dialogue_store import SqliteDialogueStore
from tinktalker.adapters.storage.sqlite_update_inbox import SqliteUpdateInbox
from tinktalker.domain.dialogue import Conversation, Message, Speaker
from tinktalker.domain.errors import StorageUnavailable
from tinktalker.domain.inbox import InboxEntry

CHATS = 40
ROUNDS = 15


def _entry(delivery_id: int, chat: int) -> InboxEntry:
    return InboxEntry(delivery_id, Conversation(str(chat)), delivery_id, "hi", 0.0, "{}")


async def _chat(store, inbox, chat: int) -> None:
    conversation = Conversation(str(chat))
    for n in range(ROUNDS):
        delivery_id = chat * 1000 + n
        assert await inbox.record(_entry(delivery_id, chat))
        await store.load_recent(conversation, 10)
        await store.append(
            conversation, [Message(Speaker.USER, f"q{n}"), Message(Speaker.BOT, "a")]
        )
        await inbox.finish(delivery_id)
        await inbox.pending()


def _sqlite_troubles(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def test_many_concurrent_chats_meet_no_sqlite_error(tmp_path, caplog):
    database = SqliteDatabase(tmp_path / "bot.sqlite3", busy_timeout_s=5, threads=8)
    store, inbox = SqliteDialogueStore(database), SqliteUpdateInbox(database)
    await asyncio.gather(*(_chat(store, inbox, chat) for chat in range(CHATS)))
    assert len(await inbox.pending()) == 0
    for chat in range(CHATS):
        assert len(await store.load_recent(Conversation(str(chat)), 100)) == 2 * ROUNDS
    database.close()
    assert _sqlite_troubles(caplog) == []


async def test_closing_while_chats_write_raises_only_storage_unavailable(tmp_path, caplog):
    database = SqliteDatabase(tmp_path / "bot.sqlite3", busy_timeout_s=5, threads=8)
    store, inbox = SqliteDialogueStore(database), SqliteUpdateInbox(database)
    chats = [asyncio.ensure_future(_chat(store, inbox, chat)) for chat in range(CHATS)]
    while not await store.load_recent(Conversation("0"), 1):  # the chats are under way
        await asyncio.sleep(0)
    await asyncio.to_thread(database.close)
    results = await asyncio.gather(*chats, return_exceptions=True)
    unexpected = [r for r in results if r is not None and not isinstance(r, StorageUnavailable)]
    assert unexpected == []
    assert any(isinstance(r, StorageUnavailable) for r in results)  # it closed mid-way
    for result in results:
        if isinstance(result, StorageUnavailable):
            assert "closed" in str(result)
    with pytest.raises(StorageUnavailable, match="closed"):
        await inbox.pending()
    assert _sqlite_troubles(caplog) == []
