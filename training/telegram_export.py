"""Telegram Desktop's JSON export (one chat's result.json, or a whole account's with `chats.list`),
streamed with ijson: memory holds the recent messages that replies may point at, not the file."""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from tinktalker.domain.errors import SetupError
from tinktalker.training.exchanges import ChatData, DataRules, Exchange

_JSON_ERRORS = (ijson.JSONError, ijson.IncompleteJSONError)
UNKNOWN_TARGET = "replying to a message without text or not in the export"
NO_TEXT = "without text (stickers, voice, media without a caption)"
REMEMBERED = 50_000  # messages a reply can point back to; older targets count as not found
PREFIXES = {"messages": "messages.item", "chats": "chats.list.item.messages.item"}


@dataclass(frozen=True)
class Said:
    """A text message as far as replies need it: who, when, what, and what it answered."""

    author: str
    time: float
    text: str
    parent: int | None  # the id of the message it answers, when it answers one


class ExportExchanges:
    """The exchanges of an export, one by one; counts what it read and skipped (by reason)."""

    def __init__(self, path: Path, rules: DataRules) -> None:
        self.path, self.rules = path, rules
        self.read = 0
        self.skipped: Counter[str] = Counter()

    def __iter__(self) -> Iterator[Exchange]:
        prefix = export_layout(self.path)
        with open(self.path, "rb") as handle:
            counted = _CountingReader(handle)
            chats = _ChatStarts(counted)
            recent: OrderedDict[int, Said] = OrderedDict()
            chat, last = 0, None
            try:
                for raw in _items(chats, prefix):
                    self.read += 1
                    if chats.number != chat:  # ids and the gap rule hold inside one chat
                        chat, last = chats.number, None
                        recent.clear()
                    exchange, last = self._take(raw, recent, last)
                    if exchange is not None:
                        yield exchange
            except _JSON_ERRORS as error:
                raise SetupError(self._broken(error, counted.position)) from None

    def _take(
        self, raw: dict[str, Any], recent: OrderedDict[int, Said], last: int | None
    ) -> tuple[Exchange | None, int | None]:
        if raw.get("type") != "message":
            return self._skip("service messages (joins, pins, calls)", last)
        text = self.rules.clean(plain_text(raw.get("text", "")))
        if not text:
            empty = "empty after removing control markers" if raw.get("text") else NO_TEXT
            return self._skip(empty, last)
        said, why = self._link(raw, text, recent, last)
        message_id = int(raw["id"])
        recent[message_id] = said
        if len(recent) > REMEMBERED:
            recent.popitem(last=False)
        if "forwarded_from" in raw:
            return self._skip("forwarded (never taken as a reply)", message_id)
        if why is not None:
            return self._skip(why, message_id)
        return Exchange(self._context(said.parent, recent), text), message_id

    def _link(
        self, raw: dict[str, Any], text: str, recent: OrderedDict[int, Said], last: int | None
    ) -> tuple[Said, str | None]:
        """The message and the one it answers: its reply link, else the one before it, when that is
        another person's and at most the gap older. The second value says why it answers none."""
        author, time = str(raw.get("from_id") or raw.get("from") or ""), _time(raw)
        target = raw.get("reply_to_message_id")
        if target is not None:
            parent = recent.get(int(target))
            if parent is None:
                return Said(author, time, text, None), UNKNOWN_TARGET
            if parent.author == author:
                return Said(author, time, text, None), "answering themselves"
            return Said(author, time, text, int(target)), None
        before = recent.get(last) if last is not None else None
        if before is None or time - before.time > self.rules.gap_minutes * 60:
            return Said(author, time, text, None), "starting a conversation (nothing within --gap)"
        if before.author == author:
            return Said(author, time, text, None), "answering themselves"
        return Said(author, time, text, last), None

    def _context(self, answered: int | None, recent: OrderedDict[int, Said]) -> tuple[str, ...]:
        texts: list[str] = []
        while answered is not None and answered in recent and len(texts) < self.rules.context_size:
            said = recent[answered]
            texts.append(said.text)
            answered = said.parent
        return tuple(reversed(texts))

    def _skip(self, reason: str, last: int | None) -> tuple[None, int | None]:
        self.skipped[reason] += 1
        return None, last

    def _broken(self, error: Exception, position: int) -> str:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "broken JSON"
        if "premature EOF" in first_line or "incomplete" in first_line.lower():
            return (
                f"training data '{self.path}' is a truncated Telegram export: the JSON ends at "
                f"byte {position} after {self.read} messages; export the chat again (or copy the "
                "whole file)"
            )
        return (
            f"training data '{self.path}' near byte {position} (after {self.read} messages): not "
            f"valid JSON ({first_line}); export the chat again from Telegram Desktop"
        )


def read_export(path: Path, rules: DataRules) -> ChatData:
    exchanges = ExportExchanges(path, rules)
    found = list(exchanges)
    return ChatData(found, "Telegram export", exchanges.read, "messages", exchanges.skipped)


def plain_text(text: str | list[Any]) -> str:
    """The export's `text`: a string, or a list of strings and entities ({type, text}): links,
    mentions, bold... all kept as the text they show."""
    if isinstance(text, str):
        return text
    return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in text)


def export_layout(path: Path) -> str:
    """The ijson prefix of the messages, found by content; SetupError when this is no export."""
    with open(path, "rb") as handle:
        counted = _CountingReader(handle)
        try:
            for prefix, event, value in ijson.parse(counted):
                if prefix == "" and event not in ("start_map", "map_key"):
                    break  # top level is no object, or it ended without messages
                if prefix == "" and event == "map_key" and value in PREFIXES:
                    return PREFIXES[value]
                if prefix == "" and event == "start_map":
                    continue
        except _JSON_ERRORS as error:
            raise SetupError(
                f"training data '{path}' near byte {counted.position}: not valid JSON "
                f"({str(error).strip().splitlines()[0]}); pass a Telegram Desktop export "
                '(result.json), JSON Lines of {"context": [...], "reply": ...}, or a CSV'
            ) from None
    raise SetupError(
        f"training data '{path}' is JSON but no Telegram export (no \"messages\" or "
        '"chats" list at its top); in Telegram Desktop use Export chat history, format JSON'
    )


def _items(source: _ChatStarts, prefix: str) -> Iterator[dict[str, Any]]:
    if prefix == PREFIXES["messages"]:  # one chat: ijson's C parser builds the messages itself
        return ijson.items(source.reader, prefix)
    return ijson.items(source.events(), prefix)  # 3x slower: Python sees each event, counting chats


def _time(raw: dict[str, Any]) -> float:
    if raw.get("date_unixtime"):
        return float(raw["date_unixtime"])
    try:
        return datetime.fromisoformat(str(raw.get("date"))).timestamp()
    except ValueError:
        return 0.0


class _CountingReader:
    """A binary file that knows how many bytes have been read: errors name the position."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle, self.position = handle, 0

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.position += len(data)
        return data


class _ChatStarts:
    """Parse events that count the chats of a full-account export on the way through."""

    def __init__(self, reader: _CountingReader) -> None:
        self.reader, self.number = reader, 0

    def events(self) -> Iterator[tuple[str, str, Any]]:
        for event in ijson.parse(self.reader):
            if event[1] == "start_map" and event[0] == "chats.list.item":
                self.number += 1
            yield event
