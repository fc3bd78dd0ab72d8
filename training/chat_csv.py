"""Reads a chat CSV: a header, then per row the context (oldest first, the answered message last)
and the reply. Two columns = a one-message context; `,`, `;` or tab between cells (the header's)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from tinktalker.domain.errors import SetupError
from tinktalker.training.exchanges import ChatData, DataRules, Exchange

MISSING = {"", "none"}  # the original export wrote Python's None into empty cells
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


def read_chat_csv(path: Path, text: str, rules: DataRules) -> ChatData:
    """The file's usable exchanges (`text` is its decoded content)."""
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    exchanges: list[Exchange] = []
    skipped: Counter[str] = Counter()
    rows = 0
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
    return ChatData(exchanges, kind, rows, "rows", skipped)


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
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
