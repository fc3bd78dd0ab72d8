"""MoexIssMarketData against a loopback ISS stand-in speaking ISS's JSON blocks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date, datetime

import pytest

from devkit.loopback_server import free_port
from tests.iss_stand_in import MOSCOW, IssStandIn
from tinktalker.adapters.market.iss_blocks import IssAnswerUnreadable
from tinktalker.adapters.market.moex_iss_market_data import (
    MoexIssMarketData,
    open_moex_iss_market_data,
)
from tinktalker.domain.market import MarketDataUnavailable


@pytest.fixture
def iss() -> Iterator[IssStandIn]:
    with IssStandIn() as stand_in:
        yield stand_in


@asynccontextmanager
async def market(
    url: str, timeout_s: float = 5.0, cache_s: float = 60.0
) -> AsyncIterator[MoexIssMarketData]:
    opened = asynccontextmanager(open_moex_iss_market_data)(url, timeout_s, cache_s)
    async with opened as adapter:
        yield adapter


@pytest.mark.parametrize("all_columns", [False, True])
async def test_a_quote_is_read_by_column_name_in_whatever_order_iss_sends(iss, all_columns):
    iss.ignore_columns = all_columns  # every ISS column, in ISS's order: positions all differ
    async with market(iss.url) as adapter:
        quote = await adapter.quote("sber")
    assert quote is not None
    assert (quote.ticker, quote.short_name, quote.price, quote.change_percent) == (
        "SBER",
        "Сбербанк",
        315.9,
        1.23,
    )
    assert (quote.decimals, quote.currency, quote.traded_today) == (2, "RUB", True)
    assert quote.at is not None and quote.at.date() == datetime.now(MOSCOW).date()
    assert quote.close_date == date(2026, 11, 30)
    path, params = iss.requests[0]
    assert path == "/iss/engines/stock/markets/shares/boards/TQBR/securities/SBER.json"
    assert params["iss.only"] == "securities,marketdata"
    assert "LAST" in params["marketdata.columns"].split(",")


async def test_before_the_first_trade_the_quote_is_the_previous_close_without_a_change(iss):
    async with market(iss.url) as adapter:
        quote = await adapter.quote("VTBR")
    assert quote is not None
    assert (quote.price, quote.decimals, quote.change_percent) == (71.555, 3, None)
    assert not quote.traded_today and quote.close_date == date(2026, 11, 30)


async def test_a_ticker_the_board_does_not_list_is_none_not_a_number(iss):
    async with market(iss.url) as adapter:
        assert await adapter.quote("NOSUCH") is None


async def test_search_puts_traded_main_board_shares_first_the_ordinary_before_the_preferred(iss):
    async with market(iss.url) as adapter:
        matches = await adapter.search("Сбер")
    assert [m.ticker for m in matches][:2] == ["SBER", "SBERP"]
    assert {m.ticker for m in matches[2:]} == {"RU000A10B0J7", "SBRCY"}  # a bond, an untraded DR
    assert [m.quotable for m in matches] == [True, True, False, False]
    assert iss.requests[0][1]["q"] == "сбер"


async def test_a_search_finding_only_bonds_has_nothing_quotable(iss):
    async with market(iss.url) as adapter:
        matches = await adapter.search("офз")
    assert [(m.ticker, m.quotable) for m in matches] == [("SU26238RMFS4", False)]


async def test_answers_are_reused_for_cache_s_and_unknown_tickers_too(iss):
    async with market(iss.url, cache_s=60) as adapter:
        for _ in range(3):
            await adapter.quote("SBER")
            await adapter.quote("NOSUCH")
            await adapter.search("сбер")
    assert (iss.asked("/SBER.json"), iss.asked("/NOSUCH.json"), iss.asked("/securities.json")) == (
        1,
        1,
        1,
    )


async def test_cache_s_0_asks_every_time(iss):
    async with market(iss.url, cache_s=0) as adapter:
        await adapter.quote("SBER")
        await adapter.quote("SBER")
    assert iss.asked("/SBER.json") == 2


async def test_concurrent_asks_for_one_ticker_share_one_request(iss):
    iss.mode = "hold"
    async with market(iss.url, cache_s=0) as adapter:  # no cache: only the coalescing is at work
        asks = [asyncio.ensure_future(adapter.quote("SBER")) for _ in range(5)]
        await asyncio.to_thread(iss.wait_for_requests, 1)
        iss.mode = "ok"
        iss.release()
        quotes = await asyncio.gather(*asks)
    assert iss.asked("/SBER.json") == 1
    assert len({q.price for q in quotes if q}) == 1 and all(quotes)


async def test_a_failure_is_shared_by_those_waiting_and_never_kept(iss):
    iss.mode = "down"
    async with market(iss.url, cache_s=60) as adapter:
        results = await asyncio.gather(
            *(adapter.quote("GAZP") for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(r, MarketDataUnavailable) for r in results)
        assert iss.asked("/GAZP.json") == 1
        iss.mode = "ok"
        quote = await adapter.quote("GAZP")
    assert quote is not None and quote.price == 127.31
    assert iss.asked("/GAZP.json") == 2


async def test_a_slow_iss_is_given_up_after_timeout_s(iss):
    iss.mode = "hold"  # answers only when released (or after 10 s)
    async with market(iss.url, timeout_s=0.3) as adapter:
        with pytest.raises(MarketDataUnavailable):
            await adapter.quote("SBER")
        assert not iss._released.is_set()  # it gave up by itself, not because ISS answered


@pytest.mark.parametrize("mode", ["down", "garbage", "no_blocks"])
async def test_an_iss_that_fails_or_answers_nonsense_is_unavailable(iss, mode):
    iss.mode = mode
    async with market(iss.url) as adapter:
        with pytest.raises(MarketDataUnavailable):
            await adapter.quote("SBER")
        with pytest.raises(MarketDataUnavailable):
            await adapter.search("сбер")


async def test_a_value_of_the_wrong_kind_is_unreadable_not_guessed(iss):
    iss.shares["SBER"].last = "315,9"  # type: ignore[assignment]
    async with market(iss.url) as adapter:
        with pytest.raises(IssAnswerUnreadable, match="LAST"):
            await adapter.quote("SBER")


async def test_nobody_listening_is_unavailable():
    async with market(f"http://127.0.0.1:{free_port()}/iss") as adapter:
        with pytest.raises(MarketDataUnavailable):
            await adapter.quote("SBER")
