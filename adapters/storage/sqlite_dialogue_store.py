"""DialogueStore in one SQLite file: the embedded default, survives restarts."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Sequence
from typing import NamedTuple

from tinktalker.adapters.storage.sqlite_database import SqliteDatabase
from tinktalker.domain.dialogue import Conversation, Message, Speaker
from tinktalker.domain.errors import StorageUnavailable
from tinktalker.ports.dialogue_store import DialogueStore

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id TEXT NOT NULL,
    speaker TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
"""
# Files from before these columns get them: a forum topic is its own conversation (NULL = the whole
# chat), and a turn key lets an exchange kept in memory be written again without doubling it.
_NEW_COLUMNS = {"topic_id": "INTEGER", "turn_key": "TEXT"}
_INDEXES = """
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (chat_id, topic_id, id);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_turn_key ON messages (turn_key);
"""
_INSERT = (
    "INSERT OR IGNORE INTO messages (chat_id, topic_id, speaker, text, turn_key) "
    "VALUES (?, ?, ?, ?, ?)"
)
_MAX_UNSAVED = (
    10_000  # messages kept in memory while the file cannot be written; older ones are dropped
)


class _Row(NamedTuple):
    chat_id: str
    topic_id: int | None
    speaker: str
    text: str
    turn_key: str


class SqliteDialogueStore(DialogueStore):
    """Implements ports.DialogueStore on a shared SqliteDatabase. An exchange that cannot be written
    now (another process holds the file) is kept in memory, included by `load_recent`, and written
    with the next one; `append` still raises StorageUnavailable so the caller can log it."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database
        self._unsaved: list[_Row] = []
        database.setup(_create)

    async def load_recent(self, conversation: Conversation, limit: int) -> list[Message]:
        if limit <= 0:
            return []
        rows = await self._db.read(
            lambda db: db.execute(
                "SELECT speaker, text, turn_key FROM messages WHERE chat_id = ? AND topic_id IS ? "
                "ORDER BY id DESC LIMIT ?",
                (conversation.chat_id, conversation.topic_id, limit),
            ).fetchall()
        )
        saved = {key for _, _, key in rows}
        unsaved = [
            (r.speaker, r.text)
            for r in self._unsaved
            if _belongs(r, conversation) and r.turn_key not in saved
        ]
        recent = [(speaker, text) for speaker, text, _ in reversed(rows)] + unsaved
        return [Message(Speaker(speaker), text) for speaker, text in recent[-limit:]]

    async def append(self, conversation: Conversation, messages: Sequence[Message]) -> None:
        turn = uuid.uuid4().hex
        self._unsaved += [
            _Row(
                conversation.chat_id, conversation.topic_id, m.speaker.value, m.text, f"{turn}:{i}"
            )
            for i, m in enumerate(messages)
        ]
        if len(self._unsaved) > _MAX_UNSAVED:
            log.error(
                "%d history messages could not be written; the oldest are dropped",
                len(self._unsaved),
            )
            del self._unsaved[:-_MAX_UNSAVED]
        batch = list(self._unsaved)
        try:
            await self._db.write(lambda db: db.executemany(_INSERT, batch))
        except StorageUnavailable as error:
            raise StorageUnavailable(
                f"{error}; {len(batch)} message(s) kept in memory, written with the next exchange"
            ) from error
        written = {row.turn_key for row in batch}
        self._unsaved = [row for row in self._unsaved if row.turn_key not in written]

    async def clear(self, conversation: Conversation) -> None:
        self._unsaved = [row for row in self._unsaved if not _belongs(row, conversation)]
        await self._db.write(
            lambda db: db.execute(
                "DELETE FROM messages WHERE chat_id = ? AND topic_id IS ?",
                (conversation.chat_id, conversation.topic_id),
            )
        )


def _belongs(row: _Row, conversation: Conversation) -> bool:
    return row.chat_id == conversation.chat_id and row.topic_id == conversation.topic_id


def _create(db: sqlite3.Connection) -> None:
    db.executescript(_SCHEMA)
    present = {column[1] for column in db.execute("PRAGMA table_info(messages)")}
    for name, kind in _NEW_COLUMNS.items():
        if name not in present:
            db.execute(f"ALTER TABLE messages ADD COLUMN {name} {kind}")
    db.executescript(_INDEXES)
