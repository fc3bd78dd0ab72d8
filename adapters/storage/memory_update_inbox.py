"""UpdateInbox in a dict: re-deliveries are still ignored, but nothing survives the process."""

from __future__ import annotations

import time

from tinktalker.domain.inbox import InboxEntry
from tinktalker.ports.update_inbox import UpdateInbox


class InMemoryUpdateInbox(UpdateInbox):
    """Implements ports.UpdateInbox for store.backend: memory (tests, throwaway sessions)."""

    def __init__(self) -> None:
        self._entries: dict[int, InboxEntry] = {}
        self._finished_at: dict[int, float] = {}

    async def record(self, entry: InboxEntry) -> bool:
        if entry.delivery_id in self._entries:
            return False
        self._entries[entry.delivery_id] = entry
        return True

    async def finish(self, delivery_id: int) -> None:
        self._finished_at.setdefault(delivery_id, time.time())

    async def pending(self) -> list[InboxEntry]:
        return [self._entries[u] for u in sorted(self._entries) if u not in self._finished_at]

    async def forget_finished(self, before: float) -> int:
        old = [u for u, at in self._finished_at.items() if at < before]
        for delivery_id in old:
            del self._entries[delivery_id], self._finished_at[delivery_id]
        return len(old)
