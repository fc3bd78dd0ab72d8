"""One lock per chat, so a chat's messages run in order while chats run side by side."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from domain.dialogue import ChatId


class ChatLocks:
    def __init__(self) -> None:
        self._locks: dict[ChatId, asyncio.Lock] = {}
        self._users: dict[ChatId, int] = {}

    @asynccontextmanager
    async def hold(self, chat_id: ChatId) -> AsyncIterator[None]:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._users[chat_id] = self._users.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[chat_id] -= 1
            if self._users[chat_id] == 0:  # forget idle chats so the table stays small
                del self._users[chat_id]
                del self._locks[chat_id]

    def __len__(self) -> int:
        return len(self._locks)
