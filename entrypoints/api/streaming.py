"""`stream: true`: the replies as Server-Sent Events in OpenAI's chunk format, then `data: [DONE]`.

The events come from the domain's `ReplyService.stream`, over the generator's `stream_batch`: a
generator that can (one beam, in-process) hands over the reply piece by piece while writing it, and
each piece becomes a chunk at once; whatever was not handed over (all of it, with beams or a remote
model) follows as one chunk when the reply is written. Errors before the first piece are ordinary
JSON answers with their status; later ones an `error` event.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any

import msgspec
from litestar import Request
from litestar.response import Stream

from tinktalker.domain.dialogue import (
    GenerationOptions,
    Message,
    Reply,
    ReplyPiece,
    StreamEvent,
)
from tinktalker.entrypoints.api.schemas import (
    ChatChunkChoice,
    ChatCompletionChunk,
    ChatDelta,
    CompletionChunk,
    CompletionChunkChoice,
    ErrorBody,
    ErrorDetail,
    Usage,
    usage_of,
)
from tinktalker.entrypoints.api.serving import ApiError, ClientGone, Serving


async def streamed_replies(
    serving: Serving,
    request: Request,
    messages: Sequence[Message],
    options: GenerationOptions,
    n: int,
    chunks: ChatChunks | TextChunks,
    include_usage: bool,
) -> Stream:
    # an error before the first event is raised here: an ordinary answer with its status
    events = await serving.stream(request, messages, n, options, fallback=False)
    return _event_stream(_events(events, n, chunks, include_usage))


async def _events(
    events: AsyncGenerator[StreamEvent, None],
    n: int,
    chunks: ChatChunks | TextChunks,
    include_usage: bool,
) -> AsyncIterator[list[Any]]:
    async with aclosing(events):  # the client left: the work is given up
        yield chunks.opening(n)
        try:
            async for event in events:
                if isinstance(event, ReplyPiece):
                    yield [chunks.piece(event.index, event.text)]
                else:
                    replies = event
        except ClientGone:
            return
        except ApiError as error:  # e.g. the deadline passed while pieces were being sent
            yield [ErrorBody(ErrorDetail(error.message, error.kind, error.status_code))]
            return
        yield [chunks.closing(replies)]
        if include_usage:
            yield [chunks.usage(usage_of(replies))]


def _event_stream(events: AsyncIterator[list[Any]]) -> Stream:
    async def encoded() -> AsyncIterator[bytes]:
        async for batch in events:
            for event in batch:
                yield b"data: " + msgspec.json.encode(event) + b"\n\n"
        yield b"data: [DONE]\n\n"

    return Stream(
        encoded(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )  # proxies must not buffer


class ChatChunks:
    """`chat.completion.chunk` events: a role delta per choice, content deltas, finish reasons,
    usage."""

    def __init__(self, model: str) -> None:
        self._id, self._created, self._model = (
            f"chatcmpl-{uuid.uuid4().hex}",
            int(time.time()),
            model,
        )

    def _chunk(
        self, choices: list[ChatChunkChoice], usage: Usage | None = None
    ) -> ChatCompletionChunk:
        return ChatCompletionChunk(self._id, self._created, self._model, choices, usage)

    def opening(self, n: int) -> list:
        return [
            self._chunk(
                [ChatChunkChoice(i, ChatDelta(role="assistant", content="")) for i in range(n)]
            )
        ]

    def piece(self, index: int, text: str) -> ChatCompletionChunk:
        return self._chunk([ChatChunkChoice(index, ChatDelta(content=text))])

    def closing(self, replies: list[Reply]) -> ChatCompletionChunk:
        return self._chunk(
            [ChatChunkChoice(i, ChatDelta(), r.finish_reason) for i, r in enumerate(replies)]
        )

    def usage(self, usage: Usage) -> ChatCompletionChunk:
        return self._chunk([], usage)


class TextChunks:
    """`text_completion` events: text pieces, then each choice's finish reason, then usage."""

    def __init__(self, model: str) -> None:
        self._id, self._created, self._model = f"cmpl-{uuid.uuid4().hex}", int(time.time()), model

    def opening(self, n: int) -> list:
        return []

    def piece(self, index: int, text: str) -> CompletionChunk:
        return CompletionChunk(
            self._id, self._created, self._model, [CompletionChunkChoice(index, text)]
        )

    def closing(self, replies: list[Reply]) -> CompletionChunk:
        return CompletionChunk(
            self._id,
            self._created,
            self._model,
            [CompletionChunkChoice(i, "", r.finish_reason) for i, r in enumerate(replies)],
        )

    def usage(self, usage: Usage) -> CompletionChunk:
        return CompletionChunk(self._id, self._created, self._model, [], usage)
