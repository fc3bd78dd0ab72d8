"""ISS answers as rows by column name: a block is {"columns": [...], "data": [[...], ...]}."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time
from typing import Any

from tinktalker.domain.market import MarketDataUnavailable


class IssAnswerUnreadable(MarketDataUnavailable):
    """ISS answered, but not with the blocks and columns asked for."""


def block_rows(payload: Any, block: str, needed: Collection[str]) -> list[dict[str, Any]]:
    """The block's rows as {column: value}; columns may come in any order, extra ones are fine."""
    part = payload.get(block) if isinstance(payload, dict) else None
    columns = part.get("columns") if isinstance(part, dict) else None
    data = part.get("data") if isinstance(part, dict) else None
    if not isinstance(columns, list) or not isinstance(data, list):
        raise IssAnswerUnreadable(f"the answer has no {block!r} block")
    if missing := set(needed) - set(columns):
        raise IssAnswerUnreadable(f"the {block!r} block lacks {sorted(missing)}")
    if any(not isinstance(row, list) or len(row) != len(columns) for row in data):
        raise IssAnswerUnreadable(f"a row of {block!r} does not match its columns")
    return [dict(zip(columns, row, strict=True)) for row in data]


def number(row: dict[str, Any], column: str) -> float | None:
    value = row[column]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IssAnswerUnreadable(f"{column} is {value!r}, not a number")
    return float(value)


def text(row: dict[str, Any], column: str) -> str:
    value = row[column]
    if value is None:
        return ""
    if not isinstance(value, str):
        raise IssAnswerUnreadable(f"{column} is {value!r}, not text")
    return value


def day(row: dict[str, Any], column: str) -> date | None:
    try:
        return date.fromisoformat(row[column]) if row[column] else None
    except (TypeError, ValueError):
        raise IssAnswerUnreadable(f"{column} is {row[column]!r}, not a date") from None


def moment(on: str | None, at: str | None) -> datetime | None:
    """SYSTIME's day with UPDATETIME's clock ("2026-12-01 15:42:07", "15:42:05"), exchange time."""
    if not on or not at:
        return None
    try:
        return datetime.combine(date.fromisoformat(on[:10]), time.fromisoformat(at))
    except (TypeError, ValueError):
        raise IssAnswerUnreadable(f"the quote's time {on!r} {at!r} is unreadable") from None
