"""Turns: each conversation's messages one at a time, in arrival order, a bounded number at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

from tinktalker.domain.dialogue import Conversation


class ConversationTurns:
    """The one per-conversation lock, taken before one of `slots` shared slots (None: unbounded).

    A turn waits in its conversation's line holding no slot, so a conversation with a backlog holds
    at most one slot and never keeps another conversation waiting for more than its current turn.
    A task inside a conversation's turn may enter that turn again (the bot takes it for the whole
    update, the dialogue service once more for the reply)."""

    def __init__(self, *, slots: int | None) -> None:
        self._slots = asyncio.Semaphore(slots) if slots is not None else None
        self._lines: dict[Conversation, asyncio.Lock] = {}
        self._waiting: dict[Conversation, int] = {}
        self._holders: dict[Conversation, asyncio.Task[object] | None] = {}

    @asynccontextmanager
    async def turn(self, conversation: Conversation) -> AsyncIterator[None]:
        """Hold `conversation`'s turn and a slot for the block (at once if this task holds it)."""
        task = asyncio.current_task()
        if conversation in self._holders and self._holders[conversation] is task:
            yield
            return
        line = self._lines.setdefault(conversation, asyncio.Lock())
        self._waiting[conversation] = self._waiting.get(conversation, 0) + 1
        try:
            async with line, self.slot():
                self._holders[conversation] = task
                try:
                    yield
                finally:
                    del self._holders[conversation]
        finally:
            self._waiting[conversation] -= 1
            if self._waiting[conversation] == 0:  # an idle conversation leaves no trace
                del self._waiting[conversation], self._lines[conversation]

    def slot(self) -> AbstractAsyncContextManager[object]:
        """One shared slot, for work that belongs to no conversation."""
        return self._slots if self._slots is not None else nullcontext()

    def __len__(self) -> int:
        """How many conversations have a turn running or waiting."""
        return len(self._lines)
