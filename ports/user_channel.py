"""Port: the way back to the person we talk with."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from tinktalker.domain.dialogue import Conversation


class UserChannel(Protocol):
    """Delivers replies to a conversation (a chat, or a topic in one), and shows that the bot is
    typing.

    `send_reply(..., reply_to=id)` quotes the message with that id (the reply still goes out if it
    is gone). It raises `DeliveryFailed` when the text could not be delivered now but may be later;
    a conversation that can never be written to again (the user blocked the bot) is logged and the
    reply dropped. `typing(conversation)` is an async context manager: the indicator shows for as
    long as the block runs.
    """

    async def send_reply(
        self, conversation: Conversation, text: str, reply_to: int | None = None
    ) -> None: ...

    def typing(self, conversation: Conversation) -> AbstractAsyncContextManager[None]: ...
