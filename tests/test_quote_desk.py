"""QuoteDesk with a fake exchange: tickers, names, unknowns, failures, several queries at once."""

from __future__ import annotations

from tests.market_fakes import FakeMarketData, quote
from tinktalker.domain.market import SecurityMatch
from tinktalker.domain.quotes import Found, NotFound, QuoteDesk, Unavailable, cashtags_in

SBER = quote("SBER", 315.9, "Сбербанк")
BOND = SecurityMatch("RU000A10B0J7", "Сбер Sb51R", "Сбербанк ПАО 001Р", quotable=False)
SHARE = SecurityMatch("SBER", "Сбербанк", "Сбербанк России ПАО ао", quotable=True)


def desk(market: FakeMarketData, deadline_s: float = 5.0) -> QuoteDesk:
    return QuoteDesk(market, deadline_s=deadline_s)


async def test_a_ticker_is_asked_for_directly_in_any_case():
    market = FakeMarketData({"SBER": SBER})
    assert await desk(market).look_up(["sber"]) == [Found("sber", SBER)]
    assert market.asked == ["quote SBER"]


async def test_a_name_is_searched_and_the_first_quotable_match_quoted():
    market = FakeMarketData({"SBER": SBER}, {"сбер": [BOND, SHARE]})
    assert await desk(market).look_up(["сбер"]) == [Found("сбер", SBER)]
    assert market.asked == ["search сбер", "quote SBER"]


async def test_a_latin_name_that_is_no_ticker_is_searched_too():
    market = FakeMarketData({"SBER": SBER}, {"sberbank": [SHARE]})
    assert await desk(market).look_up(["sberbank"]) == [Found("sberbank", SBER)]
    assert market.asked == ["quote SBERBANK", "search sberbank", "quote SBER"]


async def test_unknown_names_get_the_closest_matches_and_no_quote():
    market = FakeMarketData({}, {"офз": [BOND] * 5})
    assert await desk(market).look_up(["офз", "абырвалг"]) == [
        NotFound("офз", (BOND,) * 3),
        NotFound("абырвалг", ()),
    ]


async def test_a_short_unknown_ticker_is_not_searched():
    market = FakeMarketData({})
    assert await desk(market).look_up(["ZZ"]) == [NotFound("ZZ", ())]
    assert market.asked == ["quote ZZ"]


async def test_queries_are_answered_once_each_in_order_at_most_ten():
    market = FakeMarketData({f"T{n}": quote(f"T{n}") for n in range(12)})
    queries = ["t0", "T0", " t1 ", *(f"T{n}" for n in range(2, 12))]
    lookups = await desk(market).look_up(queries)
    assert [lookup.query for lookup in lookups] == ["t0", "t1", *(f"T{n}" for n in range(2, 10))]


async def test_a_down_or_hanging_exchange_is_unavailable_never_a_guess():
    market = FakeMarketData({"SBER": SBER})
    market.down = True
    assert await desk(market).look_up(["SBER"]) == [Unavailable("SBER")]
    market.down, market.hang = False, True
    assert await desk(market, deadline_s=0.05).look_up(["SBER", "сбер"]) == [
        Unavailable("SBER"),
        Unavailable("сбер"),
    ]


def test_cashtags_are_found_upper_cased_once_each():
    text = "Что с $sber и $GAZP? $SBER снова, а US$5 и $ 5 не тикеры"
    assert cashtags_in(text) == ["SBER", "GAZP"]
