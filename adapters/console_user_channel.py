"""UserChannel on a terminal: replies printed, a 'thinking' line while the model writes."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

from tinktalker.domain.dialogue import Conversation
from tinktalker.ports.user_channel import UserChannel


class ConsoleUserChannel(UserChannel):
    """Implements ports.UserChannel for `tinktalker chat`."""

    def __init__(
        self, out: TextIO, bot_name: str = "bot", thinking_text: str = "thinking…"
    ) -> None:
        self._out = out
        self._bot_name = bot_name
        self._thinking = f"{bot_name}: ({thinking_text})"

    async def send_reply(
        self, conversation: Conversation, text: str, reply_to: int | None = None
    ) -> None:
        self._out.write(f"{self._bot_name}: {printable(text)}\n")
        self._out.flush()

    @asynccontextmanager
    async def typing(self, conversation: Conversation) -> AsyncIterator[None]:
        interactive = self._out.isatty()
        self._out.write(self._thinking + ("" if interactive else "\n"))
        self._out.flush()
        try:
            yield
        finally:
            if interactive:  # wipe the indicator so the reply takes its place
                self._out.write("\r" + " " * len(self._thinking) + "\r")
                self._out.flush()


# Bidi overrides and isolates can make printed text read differently from what it is.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """`text` without what a terminal would act on (escape sequences, carriage returns, bells, bidi
    overrides): each such character is shown as its code, e.g. <U+001B>; newlines and tabs stay."""
    return "".join(f"<U+{ord(char):04X}>" if _acts_on_terminal(char) else char for char in text)


def _acts_on_terminal(char: str) -> bool:
    return char not in "\n\t" and (unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS)
