"""A hand-written fake of ports.MarketData, for the quote desk's tests."""

from __future__ import annotations

import asyncio

from tinktalker.domain.market import MarketDataUnavailable, Quote, SecurityMatch


def quote(ticker: str, price: float = 100.0, short_name: str = "") -> Quote:
    return Quote(ticker, short_name or ticker, price, 2, "RUB", 1.0, None, True)


class FakeMarketData:
    """Knows `quotes` by ticker and answers searches from `matches`; records what it was asked.
    `down` raises MarketDataUnavailable; `hang` never answers."""

    def __init__(
        self, quotes: dict[str, Quote], matches: dict[str, list[SecurityMatch]] | None = None
    ) -> None:
        self.quotes = quotes
        self.matches = matches or {}
        self.asked: list[str] = []
        self.down = False
        self.hang = False

    async def quote(self, ticker: str) -> Quote | None:
        await self._answering(f"quote {ticker}")
        return self.quotes.get(ticker)

    async def search(self, text: str) -> list[SecurityMatch]:
        await self._answering(f"search {text}")
        return self.matches.get(text.casefold(), [])

    async def _answering(self, what: str) -> None:
        self.asked.append(what)
        if self.hang:
            await asyncio.Event().wait()
        if self.down:
            raise MarketDataUnavailable("fake exchange is down")
