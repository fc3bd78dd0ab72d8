"""The market data port's words: a quote, a search match, the error when quotes are out of reach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Quote:
    """A share's price: the last trade's, or the previous close when there was no trade today.

    `change_percent` is against the previous close (None without a trade today); `at` is the
    exchange's local time of the quote; `close_date` is the previous close's trading day.
    """

    ticker: str
    short_name: str
    price: float
    decimals: int
    currency: str
    change_percent: float | None
    at: datetime | None
    traded_today: bool
    close_date: date | None = None


@dataclass(frozen=True)
class SecurityMatch:
    """One answer of the exchange's search; `quotable` = a share traded on the main board."""

    ticker: str
    short_name: str
    name: str
    quotable: bool


class MarketDataUnavailable(Exception):
    """Quotes cannot be had now (the exchange's server is down, too slow or answers nonsense)."""
