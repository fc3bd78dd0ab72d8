"""MarketData on the Moscow Exchange's ISS (public, no key, quotes delayed about 15 minutes)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote as quoted

import httpx

from tinktalker.adapters.market.coalescing_cache import CoalescingCache
from tinktalker.adapters.market.iss_blocks import (
    IssAnswerUnreadable,
    block_rows,
    day,
    moment,
    number,
    text,
)
from tinktalker.domain.market import MarketDataUnavailable, Quote, SecurityMatch
from tinktalker.ports.market_data import MarketData

log = logging.getLogger(__name__)

BOARD = "TQBR"  # T+: shares, the main board
SECURITY_COLUMNS = ("SECID", "SHORTNAME", "PREVPRICE", "PREVDATE", "DECIMALS", "CURRENCYID")
MARKET_COLUMNS = ("SECID", "LAST", "LASTTOPREVPRICE", "UPDATETIME", "SYSTIME")
SEARCH_COLUMNS = ("secid", "shortname", "name", "is_traded", "group", "primary_boardid")
_CURRENCIES = {"SUR": "RUB"}  # ISS still calls the rouble by its pre-1998 code


class MoexIssMarketData(MarketData):
    """Implements ports.MarketData. Answers (unknown tickers included) are kept `cache_s` seconds,
    concurrent asks for the same one share a request, and each request gives up after `timeout_s`.
    """

    def __init__(
        self, iss_url: str, timeout_s: float, cache_s: float, client: httpx.AsyncClient
    ) -> None:
        self._base = iss_url.rstrip("/")
        self._timeout_s = timeout_s
        self._client = client
        self._quotes: CoalescingCache[Quote | None] = CoalescingCache(cache_s)
        self._searches: CoalescingCache[list[SecurityMatch]] = CoalescingCache(cache_s)

    async def quote(self, ticker: str) -> Quote | None:
        ticker = ticker.upper()
        return await self._quotes.get(ticker, lambda: self._fetch_quote(ticker))

    async def search(self, text: str) -> list[SecurityMatch]:
        key = " ".join(text.casefold().split())
        return await self._searches.get(key, lambda: self._fetch_search(key))

    async def _fetch_quote(self, ticker: str) -> Quote | None:
        secid = quoted(ticker, safe="")
        path = f"/engines/stock/markets/shares/boards/{BOARD}/securities/{secid}.json"
        payload = await self._get(
            path,
            {
                "iss.meta": "off",
                "iss.only": "securities,marketdata",
                "securities.columns": ",".join(SECURITY_COLUMNS),
                "marketdata.columns": ",".join(MARKET_COLUMNS),
            },
        )
        with _logged(path):
            securities = _rows_of(payload, "securities", SECURITY_COLUMNS, ticker)
            market = _rows_of(payload, "marketdata", MARKET_COLUMNS, ticker)
            return _quote(securities[0], market[0] if market else None) if securities else None

    async def _fetch_search(self, query: str) -> list[SecurityMatch]:
        payload = await self._get(
            "/securities.json",
            {
                "q": query,
                "iss.meta": "off",
                "iss.only": "securities",
                "securities.columns": ",".join(SEARCH_COLUMNS),
            },
        )
        with _logged("/securities.json"):
            rows = block_rows(payload, "securities", SEARCH_COLUMNS)
            return ranked([_match(row) for row in rows], query)

    async def _get(self, path: str, params: dict[str, str]) -> Any:
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._client.get(self._base + path, params=params)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, TimeoutError, ValueError) as error:
            log.warning("MOEX ISS %s failed: %s %s", path, error.__class__.__name__, error)
            raise MarketDataUnavailable(f"MOEX ISS {path}: {error!r}") from None


@contextmanager
def _logged(path: str) -> Iterator[None]:
    try:
        yield
    except IssAnswerUnreadable as error:
        log.warning("MOEX ISS %s answered something unreadable: %s", path, error)
        raise


def ranked(matches: list[SecurityMatch], query: str) -> list[SecurityMatch]:
    """Quotable shares first; then the exact ticker, names starting with the query, the shortest
    ticker (the ordinary share, SBER, before the preferred, SBERP)."""
    wanted = query.casefold()

    def rank(match: SecurityMatch) -> tuple[bool, bool, bool, int]:
        names = (match.short_name.casefold(), match.name.casefold())
        starts = any(name.startswith(wanted) for name in names)
        return (
            not match.quotable,
            match.ticker.casefold() != wanted,
            not starts,
            len(match.ticker),
        )

    return sorted(matches, key=rank)  # stable: ties keep ISS's own relevance order


def _rows_of(payload: Any, block: str, columns: tuple[str, ...], ticker: str) -> list[dict]:
    return [row for row in block_rows(payload, block, columns) if text(row, "SECID") == ticker]


def _quote(security: dict[str, Any], market: dict[str, Any] | None) -> Quote | None:
    previous = number(security, "PREVPRICE")
    last = number(market, "LAST") if market else None
    price = last if last is not None else previous
    if price is None:  # listed, but never traded: there is no price to tell
        return None
    change = number(market, "LASTTOPREVPRICE") if market and last is not None else None
    if change is None and last is not None and previous:
        change = (last / previous - 1) * 100
    decimals = number(security, "DECIMALS")
    if decimals is None or not 0 <= decimals <= 10:
        raise IssAnswerUnreadable(f"DECIMALS is {decimals!r}")
    currency = text(security, "CURRENCYID") or "RUB"
    return Quote(
        ticker=text(security, "SECID"),
        short_name=text(security, "SHORTNAME"),
        price=price,
        decimals=int(decimals),
        currency=_CURRENCIES.get(currency, currency),
        change_percent=change,
        at=moment(market.get("SYSTIME"), market.get("UPDATETIME")) if market else None,
        traded_today=last is not None,
        close_date=day(security, "PREVDATE"),
    )


def _match(row: dict[str, Any]) -> SecurityMatch:
    return SecurityMatch(
        ticker=text(row, "secid"),
        short_name=text(row, "shortname"),
        name=text(row, "name"),
        quotable=row["is_traded"] in (1, True)
        and text(row, "group") == "stock_shares"
        and text(row, "primary_boardid") == BOARD,
    )


async def open_moex_iss_market_data(
    iss_url: str, timeout_s: float, cache_s: float
) -> AsyncIterator[MoexIssMarketData]:
    """The adapter with its pooled HTTP client, closed when the resource shuts down."""
    async with httpx.AsyncClient(
        timeout=timeout_s, headers={"Accept": "application/json"}
    ) as client:
        yield MoexIssMarketData(iss_url, timeout_s, cache_s, client)
