"""Both UpdateInbox adapters, and the bot's DurableInbox on top: record once, pending in order, replay."""

from __future__ import annotations

import json

import pytest
from telegram import Bot

from tinktalker.adapters.storage.memory_update_inbox import InMemoryUpdateInbox
from tinktalker.adapters.storage.sqlite_database import SqliteDatabase
from tinktalker.adapters.storage.sqlite_update_inbox import SqliteUpdateInbox
from tinktalker.domain.dialogue import Conversation
from tinktalker.domain.inbox import InboxEntry
from tinktalker.entrypoints.bot.inbox import DurableInbox

NOW = 1_800_000_000.0


def entry(update_id: int, sent_at: float = NOW, topic: int | None = None) -> InboxEntry:
    payload = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(sent_at),
            "text": f"m{update_id}",
            "chat": {"id": 5, "type": "private"},
        },
    }
    return InboxEntry(
        update_id,
        Conversation("5", topic),
        update_id,
        f"m{update_id}",
        sent_at,
        json.dumps(payload),
    )


@pytest.fixture(params=["sqlite", "memory"])
def inbox(request, tmp_path):
    if request.param == "memory":
        yield InMemoryUpdateInbox()
    else:
        database = SqliteDatabase(tmp_path / "bot.sqlite3")
        yield SqliteUpdateInbox(database)
        database.close()


async def test_an_update_is_recorded_once_and_pending_until_finished(inbox):
    assert await inbox.record(entry(3, topic=7)) and await inbox.record(entry(1))
    assert not await inbox.record(entry(3))  # a re-delivery
    assert await inbox.pending() == [entry(1), entry(3, topic=7)]
    await inbox.finish(1)
    assert await inbox.pending() == [entry(3, topic=7)]
    assert not await inbox.record(entry(1))  # finished ones are still known


async def test_finished_entries_are_forgotten_after_a_while(inbox):
    await inbox.record(entry(1))
    await inbox.record(entry(2))
    await inbox.finish(1)
    assert await inbox.forget_finished(before=float("inf")) == 1
    assert await inbox.record(entry(1)) and await inbox.pending() == [entry(1), entry(2)]


async def test_replay_queues_unfinished_updates_in_order_and_settles_an_old_backlog():
    inbox = InMemoryUpdateInbox()
    for item in (entry(4), entry(2, sent_at=NOW - 7200), entry(3)):
        await inbox.record(item)
    durable = DurableInbox(inbox, backlog_max_age_s=3600, strict=False, clock=lambda: NOW + 10)
    queued = []
    assert await durable.replay(Bot("1:x"), queued.append) == 2
    assert [u.update_id for u in queued] == [3, 4] and queued[0].message.text == "m3"
    assert [e.update_id for e in await inbox.pending()] == [
        3,
        4,
    ]  # pending until their handlers finish
    await durable.settle(queued[0], None)
    assert [e.update_id for e in await inbox.pending()] == [4]
