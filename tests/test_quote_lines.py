"""Quote lines as a Russian investor reads them: decimal comma, narrow spaces, sign, time."""

from __future__ import annotations

from datetime import date, datetime

from tinktalker.domain.market import Quote, SecurityMatch
from tinktalker.entrypoints.bot.quote_lines import (
    amount,
    change,
    not_found_line,
    quote_line,
)
from tinktalker.entrypoints.settings import BotTexts

S = "\u202f"  # narrow no-break space
TODAY = date(2026, 12, 1)
TEXTS = BotTexts()


def test_amounts_round_half_up_to_the_securitys_decimals_with_a_comma_and_thin_groups():
    assert amount(1234567.891, 2) == f"1{S}234{S}567,89"
    assert amount(6712.5, 1) == f"6{S}712,5"
    assert amount(71.5555, 3) == "71,556"
    assert amount(0.125, 2) == "0,13"  # half up, as a price is read, not to even
    assert amount(315.9, 2) == "315,90"  # trailing zeros kept: 2 decimals is what SBER trades in
    assert amount(-0.001, 2) == "0,00"


def test_changes_carry_their_sign_and_a_percent_after_a_narrow_space():
    assert change(1.234) == f"+1,23{S}%"
    assert change(-0.4) == f"\u22120,40{S}%"
    assert change(0.0) == change(-0.001) == f"0,00{S}%"


def quote(**fields) -> Quote:
    base = dict(
        ticker="SBER",
        short_name="Сбербанк",
        price=315.9,
        decimals=2,
        currency="RUB",
        change_percent=1.23,
        at=datetime(2026, 12, 1, 15, 42, 7),
        traded_today=True,
        close_date=date(2026, 11, 30),
    )
    return Quote(**{**base, **fields})


def test_a_quote_of_today_shows_its_time_another_days_its_date():
    assert (
        quote_line(quote(), TODAY, TEXTS) == f"SBER (Сбербанк): 315,90{S}₽, +1,23{S}% (15:42 МСК)"
    )
    weekend = quote_line(quote(), date(2026, 12, 5), TEXTS)
    assert weekend.endswith("(01.12.2026 15:42 МСК)")


def test_without_a_trade_today_the_line_says_it_is_the_previous_close_and_its_date():
    line = quote_line(quote(traded_today=False, change_percent=None), TODAY, TEXTS)
    assert (
        line == f"SBER (Сбербанк): 315,90{S}₽, сегодня сделок ещё не было, цена закрытия 30.11.2026"
    )


def test_an_unknown_name_names_the_query_and_the_closest_matches():
    matches = (SecurityMatch("SU26238RMFS4", "ОФЗ 26238", "ОФЗ-ПД", quotable=False),)
    assert not_found_line("офз", matches, TEXTS) == (
        "«офз»: такой акции на Мосбирже не нашёл. Похожие: SU26238RMFS4 (ОФЗ 26238)."
    )
    assert not_found_line("zz", (), TEXTS) == "«zz»: такой акции на Мосбирже не нашёл."
