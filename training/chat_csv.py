"""Reads a chat CSV: a header, then per row the context (oldest first, the answered message last)
and the reply. Two columns = a one-message context; `,`, `;` or tab between cells (the header's)."""

from __future__ import annotations

import csv
from collections import Counter, deque
from collections.abc import Iterator
from pathlib import Path

from tinktalker.domain.errors import SetupError
from tinktalker.training.exchanges import ChatData, DataRules, Exchange

MISSING = {"", "none"}  # the original export wrote Python's None into empty cells
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


def read_chat_csv(path: Path, rules: DataRules, limit: int | None = None) -> ChatData:
    """The file's usable exchanges, read row by row: with `limit`, only the last `limit` are kept,
    so memory follows what is kept, not the file's size."""
    exchanges: deque[Exchange] = deque(maxlen=limit or None)
    skipped: Counter[str] = Counter()
    rows = 0
    with open(path, "rb") as handle:
        lines = checked_lines(handle, path)
        header = next(lines, "")
        delimiter = _delimiter(header)
        reader = csv.reader(_chained(header, lines), delimiter=delimiter, strict=True)
        row_start = 1  # a quoted cell may span lines: errors name the line its row began on
        try:
            width = _check_header(next(reader, None), path, delimiter)
            row_start = reader.line_num + 1
            for cells in reader:
                rows += 1
                exchange = _exchange(cells, width, rules, path, reader.line_num)
                if exchange is None:
                    skipped["with the reply or the answered message empty"] += 1
                else:
                    exchanges.append(exchange)
                row_start = reader.line_num + 1
        except csv.Error as error:
            raise SetupError(
                f"training data '{path}' line {row_start}: not valid CSV ({error}); "
                "quote cells that contain the separator, quotes or line breaks"
            ) from None
    if not exchanges:
        raise SetupError(
            f"training data '{path}' has no usable rows ({rows} rows read, all missing a side); "
            "each row needs the message answered and the reply"
        )
    kind = "CSV" if delimiter == "," else f"CSV ({DELIMITERS[delimiter]}-separated)"
    left_out = rows - sum(skipped.values()) - len(exchanges)
    return ChatData(list(exchanges), kind, rows, "rows", skipped, left_out)


def checked_lines(handle: Iterator[bytes], path: Path) -> Iterator[str]:
    """The file's lines as text, refusing what is not UTF-8 or holds NUL bytes (naming the line)."""
    for number, raw in enumerate(handle, 1):
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise SetupError(
                f"training data '{path}' line {number}: not UTF-8 text; re-save the file as "
                "UTF-8 (e.g. `iconv -f cp1251 -t utf-8`)"
            ) from None
        if "\x00" in line:
            raise SetupError(
                f"training data '{path}' line {number}: a NUL byte; the file is binary or "
                "damaged (remove the NULs, e.g. `tr -d '\\000'`)"
            )
        yield line


def _chained(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _check_header(header: list[str] | None, path: Path, delimiter: str) -> int:
    if header is None or not any(cell.strip() for cell in header):
        raise SetupError(
            f"training data '{path}' is empty; it needs a header line and then one "
            "exchange per row: the message answered, the reply"
        )
    if len(header) < 2:
        raise SetupError(
            f"training data '{path}' line 1: the header has {len(header)} column; expected 2 "
            "or more (context..., reply) separated by commas, semicolons or tabs; or pass a "
            "Telegram export (result.json) or JSON Lines"
        )
    return len(header)


def _exchange(
    cells: list[str], width: int, rules: DataRules, path: Path, line: int
) -> Exchange | None:
    if len(cells) > width:
        raise SetupError(
            f"training data '{path}' line {line}: {len(cells)} cells, expected {width}; "
            "quote cells that contain the separator"
        )
    sides = [cell.strip() for cell in cells] + [""] * (width - len(cells))
    texts = ["" if s.lower() in MISSING else rules.clean(s) for s in sides]
    *context, reply = texts
    if not reply or not context[-1]:
        return None
    context = [text for text in context if text]  # a shorter context in a wider file
    return Exchange(tuple(context[-rules.context_size :]), reply)
