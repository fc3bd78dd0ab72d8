"""Port: where each chat's history lives."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.dialogue import ChatId, Message


class DialogueStore(Protocol):
    """Keeps each chat's messages apart; `load_recent` returns the last `limit`, oldest first."""

    async def load_recent(self, chat_id: ChatId, limit: int) -> list[Message]: ...

    async def append(self, chat_id: ChatId, messages: Sequence[Message]) -> None: ...

    async def clear(self, chat_id: ChatId) -> None: ...
