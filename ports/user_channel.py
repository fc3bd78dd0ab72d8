"""Port: the way back to the person we talk with."""
from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from domain.dialogue import ChatId


class UserChannel(Protocol):
    """Delivers replies to a chat, and shows that the bot is typing while a reply is written.

    `typing(chat)` is an async context manager: the indicator shows for as long as the block runs.
    """

    async def send_reply(self, chat_id: ChatId, text: str) -> None: ...

    def typing(self, chat_id: ChatId) -> AbstractAsyncContextManager[None]: ...
