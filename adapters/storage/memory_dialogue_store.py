"""DialogueStore in a dict: for tests and throwaway sessions."""
from __future__ import annotations

from collections.abc import Sequence

from domain.dialogue import ChatId, Message


class InMemoryDialogueStore:
    """Implements ports.DialogueStore; forgets everything when the process ends."""

    def __init__(self) -> None:
        self._chats: dict[ChatId, list[Message]] = {}

    async def load_recent(self, chat_id: ChatId, limit: int) -> list[Message]:
        return self._chats.get(chat_id, [])[-limit:] if limit > 0 else []

    async def append(self, chat_id: ChatId, messages: Sequence[Message]) -> None:
        self._chats.setdefault(chat_id, []).extend(messages)

    async def clear(self, chat_id: ChatId) -> None:
        self._chats.pop(chat_id, None)
