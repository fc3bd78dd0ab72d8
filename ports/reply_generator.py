"""Port: something that writes the bot's next reply for a dialogue context."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Protocol

from tinktalker.domain.dialogue import GenerationOptions, Message, Reply, StreamEvent


class ReplyGenerator(Protocol):
    """Turns a context (oldest first, last message the user's) into the bot's reply.

    Raises `ReplyUnavailable` when it cannot answer now; never returns control markers.
    `generate_batch` answers several contexts at once, in order, one reply each. `stream_batch` does
    the same as an async iterator: `ReplyPiece`s (row `index` of `contexts`) as the replies are
    written, each row's pieces adding up to a prefix of its final text, then the list of replies as
    the last event. A generator that cannot stream (beams, a remote model) yields only that list.
    Closing the iterator early gives up the work; errors are raised from the iteration.
    """

    async def generate(
        self, context: Sequence[Message], options: GenerationOptions | None = None
    ) -> Reply: ...

    async def generate_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> list[Reply]: ...

    def stream_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> AsyncGenerator[StreamEvent, None]: ...
