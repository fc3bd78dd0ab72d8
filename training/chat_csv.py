"""Reads a chat CSV (header + first speaker, second speaker; one exchange per row) into exchanges."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from tinktalker.domain.errors import SetupError

MISSING = {"", "none"}  # the original export wrote Python's None into empty cells


@dataclass(frozen=True)
class Exchange:
    first: str
    second: str


@dataclass(frozen=True)
class ChatData:
    exchanges: list[Exchange]
    rows: int  # data rows in the file (header excluded)
    skipped: int  # rows without both sides
    left_out: int  # usable rows dropped by --limit (the oldest)

    @property
    def used(self) -> int:
        return len(self.exchanges)


def read_chat_csv(path: str | Path, limit: int | None = None) -> ChatData:
    """Usable exchanges of the file, the last `limit` of them when a limit is given."""
    path = Path(path)
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    exchanges: list[Exchange] = []
    rows = skipped = 0
    row_start = 1  # a quoted cell may span lines: errors name the line its row began on
    try:
        _check_header(next(reader, None), path)
        row_start = reader.line_num + 1
        for cells in reader:
            rows += 1
            exchange = _exchange(cells, path, reader.line_num)
            if exchange is None:
                skipped += 1
            else:
                exchanges.append(exchange)
            row_start = reader.line_num + 1
    except csv.Error as error:
        raise SetupError(
            f"training data '{path}' line {row_start}: not valid CSV ({error}); "
            "quote cells that contain commas, quotes or line breaks"
        ) from None
    if not exchanges:
        raise SetupError(
            f"training data '{path}' has no usable rows ({rows} rows read, all missing a side); "
            "each row needs both the first and the second speaker's text"
        )
    kept = exchanges[-limit:] if limit else exchanges
    return ChatData(kept, rows, skipped, len(exchanges) - len(kept))


def _check_header(header: list[str] | None, path: Path) -> None:
    if header is None or not any(cell.strip() for cell in header):
        raise SetupError(
            f"training data '{path}' is empty; it needs a header line and then one "
            "exchange per row: first speaker's text, second speaker's text"
        )
    if len(header) != 2:
        raise SetupError(
            f"training data '{path}' line 1: the header has {len(header)} columns; "
            "expected 2 (first speaker, second speaker)"
        )


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise SetupError(
            f"training data '{path}' not found; pass --data with a CSV file "
            "(header + two columns: first speaker, second speaker)"
        )
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise SetupError(
            f"training data '{path}' cannot be read ({error.strerror}); check its permissions"
        ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise SetupError(
            f"training data '{path}' line {line}: not UTF-8 text; re-save the file as UTF-8 "
            "(e.g. `iconv -f cp1251 -t utf-8`)"
        ) from None


def _exchange(cells: list[str], path: Path, line: int) -> Exchange | None:
    if len(cells) > 2:
        raise SetupError(
            f"training data '{path}' line {line}: {len(cells)} cells, expected 2; "
            "quote cells that contain commas"
        )
    sides = [cell.strip() for cell in cells] + ["", ""]
    first, second = sides[0], sides[1]
    if first.lower() in MISSING or second.lower() in MISSING:
        return None
    return Exchange(first, second)
