"""Port: something that writes the bot's next reply for a dialogue context."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tinktalker.domain.dialogue import GenerationOptions, Message, Reply


class ReplyGenerator(Protocol):
    """Turns a context (oldest first, last message the user's) into the bot's reply.

    Raises `ReplyUnavailable` when it cannot answer now; never returns control markers.
    `generate_batch` answers several contexts at once, in order, one reply each. A context that is a
    `ListenedContext` may get its reply piece by piece through its listener as well.
    """

    async def generate(
        self, context: Sequence[Message], options: GenerationOptions | None = None
    ) -> Reply: ...

    async def generate_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> list[Reply]: ...
