"""/price and cashtags: quotes from the exchange, answered without the model."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, timezone

from tinktalker.domain.quotes import Found, Lookup, NotFound, QuoteDesk, cashtags_in
from tinktalker.entrypoints.bot.quote_lines import not_found_line, quote_line
from tinktalker.entrypoints.settings import BotTexts

MOSCOW = timezone(timedelta(hours=3), "MSK")  # the exchange's clock; Moscow keeps no summer time
_SEPARATORS = re.compile(r"[\s,;]+")


def moscow_today() -> date:
    return datetime.now(MOSCOW).date()


class PriceReplies:
    """The one message answering `/price ...`, or the quote lines for a message's cashtags."""

    def __init__(
        self, desk: QuoteDesk, texts: BotTexts, today: Callable[[], date] = moscow_today
    ) -> None:
        self._desk = desk
        self._texts = texts
        self._today = today

    async def for_command(self, args: Sequence[str]) -> str:
        queries = [query for arg in args for query in _SEPARATORS.split(arg) if query]
        if not queries:
            return self._texts.price_usage
        lookups = await self._desk.look_up(queries)
        if not any(isinstance(lookup, Found | NotFound) for lookup in lookups):
            return self._texts.price_unavailable
        return "\n".join([self._texts.price_header, *map(self._line, lookups)])

    async def for_cashtags(self, text: str) -> str | None:
        """Only the quotes found: a cashtag unknown, or unanswered now, says nothing."""
        tickers = cashtags_in(text)
        if not tickers:
            return None
        found = [
            lookup for lookup in await self._desk.look_up(tickers) if isinstance(lookup, Found)
        ]
        if not found:
            return None
        return "\n".join([self._texts.price_header, *map(self._line, found)])

    def _line(self, lookup: Lookup) -> str:
        if isinstance(lookup, Found):
            return quote_line(lookup.quote, self._today(), self._texts)
        if isinstance(lookup, NotFound):
            return not_found_line(lookup.query, lookup.suggestions, self._texts)
        return self._texts.price_unavailable_one.format(query=lookup.query)
