"""A hand-written ReplyGenerator for API and batching tests: echoes, records batches, can be slow or
fail."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence

from tinktalker.domain.dialogue import GenerationOptions, Message, Reply, StreamEvent
from tinktalker.domain.errors import ReplyUnavailable


class EchoReplyGenerator:
    """Replies `echo: <last message>`; `delay_s` makes each batch take that long."""

    def __init__(self, delay_s: float = 0.0, fail_with: Exception | None = None) -> None:
        self.delay_s = delay_s
        self.fail_with = fail_with
        self.batches: list[tuple[list[str], GenerationOptions | None]] = []

    async def generate(
        self, context: Sequence[Message], options: GenerationOptions | None = None
    ) -> Reply:
        return (await self.generate_batch([context], options))[0]

    async def generate_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> list[Reply]:
        self.batches.append(([c[-1].text if c else "" for c in contexts], options))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_with is not None:
            raise self.fail_with
        return [
            Reply(f"echo: {c[-1].text if c else ''}", prompt_tokens=len(c), completion_tokens=2)
            for c in contexts
        ]

    async def stream_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        """Like a remote model: no pieces, the replies once written."""
        yield await self.generate_batch(contexts, options)


def unavailable() -> ReplyUnavailable:
    return ReplyUnavailable("the fake model is down")


class WordCountPromptMeter:
    """Implements ports.PromptMeter: one token per word."""

    def __init__(self, context_length: int = 100) -> None:
        self.context_length = context_length

    async def prompt_tokens(self, context: Sequence[Message]) -> int:
        return sum(len(m.text.split()) for m in context)
