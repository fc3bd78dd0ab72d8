"""UpdateInbox in the same SQLite file as the history: what was received survives a crash."""

from __future__ import annotations

import sqlite3
import time

from tinktalker.adapters.storage.sqlite_database import SqliteDatabase
from tinktalker.domain.dialogue import Conversation
from tinktalker.domain.inbox import InboxEntry
from tinktalker.ports.update_inbox import UpdateInbox

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    update_id INTEGER PRIMARY KEY,
    chat_id TEXT NOT NULL,
    topic_id INTEGER,
    message_id INTEGER,
    text TEXT NOT NULL,
    sent_at REAL NOT NULL,
    payload TEXT NOT NULL,
    recorded_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS inbox_pending ON inbox (finished_at, update_id);
"""
_COLUMNS = "update_id, chat_id, topic_id, message_id, text, sent_at, payload"


class SqliteUpdateInbox(UpdateInbox):
    """Implements ports.UpdateInbox on a shared SqliteDatabase. A `finish` that cannot be written
    now is kept and written with the next one (until then a restart would handle that update once
    more)."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database
        self._unfinished: set[int] = set()
        database.setup(lambda db: db.executescript(_SCHEMA))

    async def record(self, entry: InboxEntry) -> bool:
        row = (
            entry.delivery_id,
            entry.conversation.chat_id,
            entry.conversation.topic_id,
            entry.message_id,
            entry.text,
            entry.sent_at,
            entry.payload,
            time.time(),
        )
        inserted = await self._db.write(
            lambda db: (
                db.execute(
                    f"INSERT OR IGNORE INTO inbox ({_COLUMNS}, recorded_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                ).rowcount
            )
        )
        return inserted == 1

    async def finish(self, delivery_id: int) -> None:
        self._unfinished.add(delivery_id)
        rows = [(time.time(), finished) for finished in sorted(self._unfinished)]
        await self._db.write(
            lambda db: db.executemany(
                "UPDATE inbox SET finished_at = ? WHERE update_id = ? AND finished_at IS NULL", rows
            )
        )
        self._unfinished.difference_update(finished for _, finished in rows)

    async def pending(self) -> list[InboxEntry]:
        rows = await self._db.read(
            lambda db: db.execute(
                f"SELECT {_COLUMNS} FROM inbox WHERE finished_at IS NULL ORDER BY update_id"
            ).fetchall()
        )
        return [_entry(row) for row in rows]

    async def forget_finished(self, before: float) -> int:
        return await self._db.write(
            lambda db: (
                db.execute(
                    "DELETE FROM inbox WHERE finished_at IS NOT NULL AND finished_at < ?", (before,)
                ).rowcount
            )
        )


def _entry(row: sqlite3.Row | tuple) -> InboxEntry:
    delivery_id, chat_id, topic_id, message_id, text, sent_at, payload = row
    return InboxEntry(
        delivery_id, Conversation(chat_id, topic_id), message_id, text, sent_at, payload
    )
