"""DialogueStore in one SQLite file: the embedded default, survives restarts."""
from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

from domain.dialogue import ChatId, Message, Speaker
from domain.errors import SetupError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id TEXT NOT NULL,
    speaker TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS messages_by_chat ON messages (chat_id, id);
"""


class SqliteDialogueStore:
    """Implements ports.DialogueStore; queries run in a worker thread, one at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise SetupError(f"cannot open the history database '{self.path}' ({error}); "
                             "set store.sqlite_path to a writable file") from error
        self._lock = asyncio.Lock()

    async def load_recent(self, chat_id: ChatId, limit: int) -> list[Message]:
        if limit <= 0:
            return []
        rows = await self._run("SELECT speaker, text FROM messages WHERE chat_id = ? ORDER BY id DESC LIMIT ?",
                               (chat_id, limit))
        return [Message(Speaker(speaker), text) for speaker, text in reversed(rows)]

    async def append(self, chat_id: ChatId, messages: Sequence[Message]) -> None:
        rows = [(chat_id, m.speaker.value, m.text) for m in messages]
        await self._run_many("INSERT INTO messages (chat_id, speaker, text) VALUES (?, ?, ?)", rows)

    async def clear(self, chat_id: ChatId) -> None:
        await self._run("DELETE FROM messages WHERE chat_id = ?", (chat_id,))

    async def _run(self, sql: str, params: tuple) -> list[tuple]:
        async with self._lock:
            return await asyncio.to_thread(lambda: self._db.execute(sql, params).fetchall())

    async def _run_many(self, sql: str, rows: list[tuple]) -> None:
        def write() -> None:
            with self._db:  # one transaction: both turns of an exchange or neither
                self._db.execute("BEGIN")
                self._db.executemany(sql, rows)

        async with self._lock:
            await asyncio.to_thread(write)

    def close(self) -> None:
        self._db.close()


def open_sqlite_dialogue_store(path: str) -> Iterator[SqliteDialogueStore]:
    """Resource: opens the file, yields the store, closes the connection on shutdown."""
    store = SqliteDialogueStore(path)
    try:
        yield store
    finally:
        store.close()
