"""DialogueStore in one SQLite file: the embedded default, survives restarts."""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from adapters.storage.sqlite_database import SqliteDatabase
from domain.dialogue import Conversation, Message, Speaker

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id TEXT NOT NULL,
    speaker TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
"""
# A forum topic is its own conversation; files from before topics get the column, NULL = the whole chat.
_TOPICS = "ALTER TABLE messages ADD COLUMN topic_id INTEGER"
_INDEX = "CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (chat_id, topic_id, id);"


class SqliteDialogueStore:
    """Implements ports.DialogueStore on a shared SqliteDatabase."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database
        database.setup(_create)

    async def load_recent(self, conversation: Conversation, limit: int) -> list[Message]:
        if limit <= 0:
            return []
        rows = await self._db.read(lambda db: db.execute(
            "SELECT speaker, text FROM messages WHERE chat_id = ? AND topic_id IS ? ORDER BY id DESC LIMIT ?",
            (conversation.chat_id, conversation.topic_id, limit)).fetchall())
        return [Message(Speaker(speaker), text) for speaker, text in reversed(rows)]

    async def append(self, conversation: Conversation, messages: Sequence[Message]) -> None:
        rows = [(conversation.chat_id, conversation.topic_id, m.speaker.value, m.text) for m in messages]
        await self._db.write(lambda db: db.executemany(
            "INSERT INTO messages (chat_id, topic_id, speaker, text) VALUES (?, ?, ?, ?)", rows))

    async def clear(self, conversation: Conversation) -> None:
        await self._db.write(lambda db: db.execute(
            "DELETE FROM messages WHERE chat_id = ? AND topic_id IS ?", (conversation.chat_id, conversation.topic_id)))


def _create(db: sqlite3.Connection) -> None:
    db.executescript(_SCHEMA)
    if not any(column[1] == "topic_id" for column in db.execute("PRAGMA table_info(messages)")):
        db.execute(_TOPICS)
    db.executescript(_INDEX)
