"""Port: where each conversation's history lives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tinktalker.domain.dialogue import Conversation, Message


class DialogueStore(Protocol):
    """Keeps each conversation's messages apart (a forum topic is its own conversation);
    `load_recent` returns the last `limit`, oldest first. Raises `StorageUnavailable` when it cannot
    read or write now."""

    async def load_recent(self, conversation: Conversation, limit: int) -> list[Message]: ...

    async def append(self, conversation: Conversation, messages: Sequence[Message]) -> None: ...

    async def clear(self, conversation: Conversation) -> None: ...
