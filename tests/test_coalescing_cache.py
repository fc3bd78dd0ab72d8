"""CoalescingCache with a hand-driven clock: expiry, bounded size, a give-up cancels nothing."""

from __future__ import annotations

import asyncio

import pytest

from tinktalker.adapters.market.coalescing_cache import CoalescingCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Loader:
    def __init__(self) -> None:
        self.loads: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    def of(self, key: str):
        async def load() -> str:
            self.loads.append(key)
            await self.gate.wait()
            return f"value of {key} #{len(self.loads)}"

        return load


async def test_a_value_is_kept_ttl_s_then_loaded_again():
    clock, loader = Clock(), Loader()
    cache: CoalescingCache[str] = CoalescingCache(10, clock)
    first = await cache.get("SBER", loader.of("SBER"))
    clock.now = 9.9
    assert await cache.get("SBER", loader.of("SBER")) == first
    clock.now = 10.0
    assert await cache.get("SBER", loader.of("SBER")) != first
    assert loader.loads == ["SBER", "SBER"]


async def test_the_cache_holds_at_most_max_entries_dropping_the_oldest():
    clock, loader = Clock(), Loader()
    cache: CoalescingCache[str] = CoalescingCache(60, clock, max_entries=2)
    for key in ("A", "B", "C"):
        await cache.get(key, loader.of(key))
    await cache.get("C", loader.of("C"))
    await cache.get("A", loader.of("A"))
    assert loader.loads == ["A", "B", "C", "A"]


async def test_one_caller_giving_up_does_not_cancel_the_load_the_others_wait_for():
    loader = Loader()
    loader.gate.clear()
    cache: CoalescingCache[str] = CoalescingCache(60)
    impatient = asyncio.ensure_future(cache.get("GAZP", loader.of("GAZP")))
    patient = asyncio.ensure_future(cache.get("GAZP", loader.of("GAZP")))
    await asyncio.sleep(0)
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    loader.gate.set()
    assert await patient == "value of GAZP #1"
    assert loader.loads == ["GAZP"]
