"""Finds what a training data file is by its content and reads it: a Telegram Desktop export,
JSON Lines in the `tinktalker dataset` format, or a chat CSV. Also writes the JSON Lines."""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from tinktalker.domain.errors import SetupError
from tinktalker.training.chat_csv import checked_lines, read_chat_csv
from tinktalker.training.exchanges import ChatData, DataRules, Exchange

FORMATS = "a Telegram Desktop export (result.json), JSON Lines of {context, reply}, or a CSV"


def read_chat_data(path: Path, rules: DataRules, limit: int | None = None) -> ChatData:
    """Every usable exchange of the file (the last `limit` when given), with what was skipped."""
    return _read(Path(path), rules, limit).limited(limit)


def stream_exchanges(
    path: Path, rules: DataRules
) -> tuple[Iterable[Exchange], Callable[[], ChatData]]:
    """Exchanges one by one (an export is never held whole), and what reports the counts once
    they are all read (its `exchanges` are left empty for an export)."""
    path = Path(path)
    if _kind(path) == "export":
        from tinktalker.training.telegram_export import ExportExchanges

        found = ExportExchanges(path, rules)
        return found, lambda: ChatData([], "Telegram export", found.read, "messages", found.skipped)
    data = _read(path, rules)
    return data.exchanges, lambda: data


def no_usable_exchange(path: Path, data: ChatData, rules: DataRules) -> SetupError:
    return SetupError(
        f"training data '{path}' is a Telegram export with no usable exchange "
        f"({data.summary(used=0)}); a reply needs a reply link, or another person's message "
        f"at most --gap ({rules.gap_minutes:g}) minutes before it"
    )


def _read(path: Path, rules: DataRules, limit: int | None = None) -> ChatData:
    kind = _kind(path)
    if kind == "export":
        from tinktalker.training.telegram_export import read_export

        data = read_export(path, rules)
        if not data.exchanges:
            raise no_usable_exchange(path, data, rules)
        return data
    if kind == "jsonl":
        return _read_json_lines(path, rules, limit)
    return read_chat_csv(path, rules, limit)


def _kind(path: Path) -> str:
    head = _head(path)
    if not head.startswith(b"{") and not head.startswith(b"["):
        return "csv"
    first = head.split(b"\n", 1)[0]
    try:
        line = json.loads(first)
    except ValueError:
        line = None
    if isinstance(line, dict) and "reply" in line and "context" in line:
        return "jsonl"
    return "export"


def _head(path: Path) -> bytes:
    if not path.is_file():
        raise SetupError(f"training data '{path}' not found; pass --data with {FORMATS}")
    try:
        with open(path, "rb") as handle:
            return handle.read(1 << 20).removeprefix(b"\xef\xbb\xbf").lstrip()
    except OSError as error:
        raise SetupError(
            f"training data '{path}' cannot be read ({error.strerror}); check its permissions"
        ) from None


def _read_json_lines(path: Path, rules: DataRules, limit: int | None) -> ChatData:
    """Line by line; with `limit`, only the last `limit` exchanges are kept."""
    exchanges: deque[Exchange] = deque(maxlen=limit or None)
    skipped: Counter[str] = Counter()
    lines = 0
    with open(path, "rb") as handle:
        for number, line in enumerate(checked_lines(handle, path), 1):
            if not line.strip():
                continue
            lines += 1
            exchange = _json_line(line, path, number, rules)
            if exchange is None:
                skipped["with the reply or the answered message empty"] += 1
            else:
                exchanges.append(exchange)
    if not exchanges:
        raise SetupError(f"training data '{path}' has no usable line ({lines} read)")
    left_out = lines - sum(skipped.values()) - len(exchanges)
    return ChatData(list(exchanges), "JSON Lines", lines, "lines", skipped, left_out)


def _json_line(line: str, path: Path, number: int, rules: DataRules) -> Exchange | None:
    try:
        value = json.loads(line)
        context, reply = value["context"], value["reply"]
        if not isinstance(reply, str) or not all(isinstance(c, str) for c in context):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise SetupError(
            f"training data '{path}' line {number}: not a {{\"context\": [text, ...], "
            '"reply": text} object (the `tinktalker dataset` format)'
        ) from None
    texts = [t for t in (rules.clean(c) for c in context) if t]
    reply = rules.clean(reply)
    if not texts or not reply:
        return None
    return Exchange(tuple(texts[-rules.context_size :]), reply)


def write_json_lines(exchanges: Iterable[Exchange], out: TextIO) -> int:
    """One {"context": [...], "reply": ...} object a line; returns how many were written."""
    count = 0
    for exchange in exchanges:
        out.write(
            json.dumps(
                {"context": list(exchange.context), "reply": exchange.reply}, ensure_ascii=False
            )
            + "\n"
        )
        count += 1
    return count
