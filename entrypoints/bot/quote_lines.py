"""A quote as a Russian investor reads it: 1 234,56 ₽, +1,23 %, the time, or the close's date."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from tinktalker.domain.market import Quote, SecurityMatch
from tinktalker.entrypoints.settings import BotTexts

NARROW_NBSP = "\u202f"  # groups thousands and parts a number from its unit; never breaks a line
MINUS = "\u2212"
_SYMBOLS = {"RUB": "₽", "USD": "$", "EUR": "€", "CNY": "¥"}


def amount(value: float, decimals: int) -> str:
    """Rounded half up to `decimals` places, decimal comma, thousands in narrow no-break spaces."""
    rounded = Decimal(repr(abs(value))).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    digits = f"{rounded:,.{decimals}f}".replace(",", NARROW_NBSP).replace(".", ",")
    return (MINUS if value < 0 and rounded else "") + digits


def change(percent: float) -> str:
    """Two decimals with its sign (none for zero): +1,23 %, −0,40 %, 0,00 %."""
    text = amount(percent, 2)
    sign = "+" if not text.startswith(MINUS) and text.strip("0,") else ""
    return f"{sign}{text}{NARROW_NBSP}%"


def price(quote: Quote) -> str:
    unit = _SYMBOLS.get(quote.currency, quote.currency)
    return f"{amount(quote.price, quote.decimals)}{NARROW_NBSP}{unit}"


def name_of(ticker: str, short_name: str) -> str:
    return f"{ticker} ({short_name})" if short_name and short_name != ticker else ticker


def quote_line(quote: Quote, today: date, texts: BotTexts) -> str:
    """`SBER (Сбербанк): 312,45 ₽, +1,23 % (15:42 МСК)`; no trades today: the close's date."""
    head = f"{name_of(quote.ticker, quote.short_name)}: {price(quote)}"
    if not quote.traded_today or quote.change_percent is None:
        closed = quote.close_date.strftime("%d.%m.%Y") if quote.close_date else "—"
        return f"{head}, {texts.price_no_trades_today.format(date=closed)}"
    line = f"{head}, {change(quote.change_percent)}"
    if quote.at is None:
        return line
    shown = "%H:%M" if quote.at.date() == today else "%d.%m.%Y %H:%M"
    return f"{line} ({quote.at.strftime(shown)} {texts.price_time_zone})"


def not_found_line(query: str, suggestions: tuple[SecurityMatch, ...], texts: BotTexts) -> str:
    line = texts.price_not_found.format(query=query)
    if not suggestions:
        return line
    similar = ", ".join(name_of(match.ticker, match.short_name) for match in suggestions)
    return f"{line} {texts.price_similar.format(matches=similar)}"
