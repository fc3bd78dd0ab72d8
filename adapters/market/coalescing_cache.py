"""Answers reused for a while, and one load per key at a time however many ask at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class CoalescingCache(Generic[V]):
    """A value is kept `ttl_s` seconds; callers asking for a key being loaded wait for that load.

    Failures are shared by the callers waiting at the time and never kept. A caller that gives up
    (cancelled, timed out) does not cancel the load the others wait for.
    """

    def __init__(
        self,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 1024,
    ) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._max_entries = max_entries
        self._values: dict[Hashable, tuple[float, V]] = {}
        self._loading: dict[Hashable, asyncio.Task[V]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        kept = self._values.get(key)
        if kept is not None and kept[0] > self._clock():
            return kept[1]
        task = self._loading.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(key, load))
            task.add_done_callback(_retrieve_failure)
            self._loading[key] = task
        return await asyncio.shield(task)

    async def _load(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await load()
        finally:
            del self._loading[key]
        if self._ttl_s > 0:
            self._keep(key, value)
        return value

    def _keep(self, key: Hashable, value: V) -> None:
        now = self._clock()
        if len(self._values) >= self._max_entries:  # drop what expired, else the oldest
            self._values = {k: kept for k, kept in self._values.items() if kept[0] > now}
            while len(self._values) >= self._max_entries:
                del self._values[next(iter(self._values))]
        self._values.pop(key, None)
        self._values[key] = (now + self._ttl_s, value)


def _retrieve_failure(task: asyncio.Task) -> None:
    # every waiter may have given up already; the failure was theirs to see, not the event loop's
    if not task.cancelled():
        task.exception()
