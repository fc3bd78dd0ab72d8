"""DialogueStore in a dict: for tests and throwaway sessions."""

from __future__ import annotations

from collections.abc import Sequence

from tinktalker.domain.dialogue import Conversation, Message
from tinktalker.ports.dialogue_store import DialogueStore


class InMemoryDialogueStore(DialogueStore):
    """Implements ports.DialogueStore; forgets everything when the process ends."""

    def __init__(self) -> None:
        self._conversations: dict[Conversation, list[Message]] = {}

    async def load_recent(self, conversation: Conversation, limit: int) -> list[Message]:
        return self._conversations.get(conversation, [])[-limit:] if limit > 0 else []

    async def append(self, conversation: Conversation, messages: Sequence[Message]) -> None:
        self._conversations.setdefault(conversation, []).extend(messages)

    async def clear(self, conversation: Conversation) -> None:
        self._conversations.pop(conversation, None)
