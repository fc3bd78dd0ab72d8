"""Both UpdateInbox adapters, and the domain's DurableInbox on top: record once, pending in order,
replay."""

from __future__ import annotations

import json

import pytest

from tinktalker.adapters.storage.memory_update_inbox import InMemoryUpdateInbox
from tinktalker.adapters.storage.sqlite_database import SqliteDatabase
from tinktalker.adapters.storage.sqlite_update_inbox import SqliteUpdateInbox
from tinktalker.domain.dialogue import Conversation
from tinktalker.domain.durable_inbox import DurableInbox
from tinktalker.domain.errors import StorageUnavailable
from tinktalker.domain.inbox import InboxEntry

NOW = 1_800_000_000.0


def entry(delivery_id: int, sent_at: float = NOW, topic: int | None = None) -> InboxEntry:
    payload = {
        "update_id": delivery_id,
        "message": {
            "message_id": delivery_id,
            "date": int(sent_at),
            "text": f"m{delivery_id}",
            "chat": {"id": 5, "type": "private"},
        },
    }
    return InboxEntry(
        delivery_id,
        Conversation("5", topic),
        delivery_id,
        f"m{delivery_id}",
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


async def test_replay_hands_back_unsettled_entries_in_order_and_settles_an_old_backlog():
    inbox = InMemoryUpdateInbox()
    for item in (entry(4), entry(2, sent_at=NOW - 7200), entry(3)):
        await inbox.record(item)
    durable = DurableInbox(
        inbox=inbox, backlog_max_age_s=3600, strict=False, clock=lambda: NOW + 10
    )
    assert await durable.replay() == [entry(3), entry(4)]
    assert [e.delivery_id for e in await inbox.pending()] == [3, 4]  # until they are handled
    await durable.settle(3)
    assert [e.delivery_id for e in await inbox.pending()] == [4]


async def test_admit_records_once_and_turns_away_re_deliveries_and_an_old_backlog():
    inbox = InMemoryUpdateInbox()
    durable = DurableInbox(
        inbox=inbox, backlog_max_age_s=3600, strict=False, clock=lambda: NOW + 10
    )
    assert await durable.admit(entry(1)) and not await durable.admit(entry(1))
    assert not await durable.admit(entry(2, sent_at=NOW - 7200))
    assert await inbox.pending() == [entry(1)]


class _BrokenInbox(InMemoryUpdateInbox):
    async def record(self, entry: InboxEntry) -> bool:
        raise StorageUnavailable("the file is locked")


async def test_an_unrecordable_message_is_handled_once_or_refused_when_strict():
    lenient = DurableInbox(inbox=_BrokenInbox(), backlog_max_age_s=None, strict=False)
    assert await lenient.admit(entry(1)) and not await lenient.admit(entry(1))
    strict = DurableInbox(inbox=_BrokenInbox(), backlog_max_age_s=None, strict=True)
    with pytest.raises(StorageUnavailable):  # the sender is not told it arrived: it sends again
        await strict.admit(entry(1))
