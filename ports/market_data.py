"""Port: where share quotes and security names come from (an exchange's data service)."""

from __future__ import annotations

from typing import Protocol

from tinktalker.domain.market import Quote, SecurityMatch


class MarketData(Protocol):
    """Quotes by ticker and the exchange's own name search.

    `quote` returns None for a ticker the main board does not list; `search` returns matches best
    first (quotable shares ahead of bonds and the rest). Both raise `MarketDataUnavailable` when the
    source is down, slower than its timeout or answers something unreadable; never a made-up number.
    """

    async def quote(self, ticker: str) -> Quote | None: ...

    async def search(self, text: str) -> list[SecurityMatch]: ...
