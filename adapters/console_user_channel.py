"""UserChannel on a terminal: replies printed, a 'thinking' line while the model writes."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

from domain.dialogue import Conversation


class ConsoleUserChannel:
    """Implements ports.UserChannel for `tinktalker chat`."""

    def __init__(self, out: TextIO, bot_name: str = "bot", thinking_text: str = "thinking…") -> None:
        self._out = out
        self._bot_name = bot_name
        self._thinking = f"{bot_name}: ({thinking_text})"

    async def send_reply(self, conversation: Conversation, text: str, reply_to: int | None = None) -> None:
        self._out.write(f"{self._bot_name}: {text}\n")
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
