"""Port: the durable inbox, where each incoming message waits until it has been answered."""

from __future__ import annotations

from typing import Protocol

from tinktalker.domain.inbox import InboxEntry


class UpdateInbox(Protocol):
    """`record` keeps an entry before its receipt is confirmed to the sender and returns False for a
    delivery id it already holds (a re-delivery); `pending` lists entries not yet `finish`ed, oldest
    delivery id first; `forget_finished` drops finished entries older than `before` (Unix time).
    Raises `StorageUnavailable` when it cannot read or write now."""

    async def record(self, entry: InboxEntry) -> bool: ...

    async def finish(self, delivery_id: int) -> None: ...

    async def pending(self) -> list[InboxEntry]: ...

    async def forget_finished(self, before: float) -> int: ...
