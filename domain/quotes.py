"""Quotes for what people type: tickers or names, several at once, each within a deadline."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass

from tinktalker.domain.market import MarketDataUnavailable, Quote, SecurityMatch
from tinktalker.ports.market_data import MarketData

_TICKER = re.compile(r"[A-Za-z][A-Za-z0-9]{0,11}")
_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9]{0,11})\b")
# shorter searches match half the exchange; a ticker that short is still asked for directly
_MIN_SEARCH_CHARS = 3


@dataclass(frozen=True)
class Found:
    query: str
    quote: Quote


@dataclass(frozen=True)
class NotFound:
    query: str
    suggestions: tuple[SecurityMatch, ...]


@dataclass(frozen=True)
class Unavailable:
    query: str


Lookup = Found | NotFound | Unavailable


def cashtags_in(text: str) -> list[str]:
    """The tickers written as cashtags ($SBER), upper-cased, each once, in order."""
    return list(dict.fromkeys(tag.upper() for tag in _CASHTAG.findall(text)))


class QuoteDesk:
    """Answers each query with a quote, the closest matches, or "unavailable"; never a guess."""

    def __init__(
        self,
        market: MarketData,
        deadline_s: float,
        max_queries: int = 10,
        max_suggestions: int = 3,
    ) -> None:
        self._market = market
        self._deadline_s = deadline_s
        self._max_queries = max_queries
        self._max_suggestions = max_suggestions

    async def look_up(self, queries: Sequence[str]) -> list[Lookup]:
        """One answer per distinct query (case-insensitive), the first `max_queries`, in order."""
        distinct: dict[str, str] = {}
        for query in (query.strip() for query in queries):
            if query:
                distinct.setdefault(query.casefold(), query)
        ordered = list(distinct.values())[: self._max_queries]
        return list(await asyncio.gather(*(self._within_deadline(q) for q in ordered)))

    async def _within_deadline(self, query: str) -> Lookup:
        try:
            async with asyncio.timeout(self._deadline_s):
                return await self._find(query)
        except (MarketDataUnavailable, TimeoutError):
            return Unavailable(query)

    async def _find(self, query: str) -> Lookup:
        if _TICKER.fullmatch(query):
            quote = await self._market.quote(query.upper())
            if quote is not None:
                return Found(query, quote)
        if len(query) < _MIN_SEARCH_CHARS:
            return NotFound(query, ())
        matches = await self._market.search(query)
        best = next((match for match in matches if match.quotable), None)
        if best is not None and (quote := await self._market.quote(best.ticker)) is not None:
            return Found(query, quote)
        return NotFound(query, tuple(matches[: self._max_suggestions]))
