"""`stream: true`: the replies as Server-Sent Events in OpenAI's chunk format, ending in `data: [DONE]`.

Each choice's context is a `ListenedContext`: a generator that can (one beam, in-process) hands over the
reply piece by piece while writing it, and each piece becomes a chunk at once; whatever was not handed
over (all of it, with beams or a remote model) follows as one chunk when the reply is written. Errors
before the first piece are ordinary JSON answers with their status; later ones an `error` event.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from functools import partial

import msgspec
from litestar import Request
from litestar.response import Stream

from tinktalker.domain.dialogue import GenerationOptions, ListenedContext, Message, Reply
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
    context: Sequence[Message],
    options: GenerationOptions,
    n: int,
    chunks: ChatChunks | TextChunks,
    include_usage: bool,
) -> Stream:
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue = asyncio.Queue()
    contexts = [ListenedContext(context, partial(_hand_over, loop, pieces, i)) for i in range(n)]
    work = asyncio.ensure_future(serving.replies(request, contexts, options))
    work.add_done_callback(lambda _: pieces.put_nowait(None))
    first = await pieces.get()
    if first is None:
        await work  # an error before anything was sent is an ordinary answer with its status
    return _event_stream(_events(first, pieces, work, n, chunks, include_usage))


def _hand_over(
    loop: asyncio.AbstractEventLoop, pieces: asyncio.Queue, index: int, piece: str
) -> None:
    loop.call_soon_threadsafe(pieces.put_nowait, (index, piece))  # called from the model's thread


async def _events(
    item, pieces: asyncio.Queue, work: asyncio.Future, n: int, chunks, include_usage: bool
):
    sent = [""] * n
    try:
        yield chunks.opening(n)
        while item is not None:
            index, piece = item
            sent[index] += piece
            yield [chunks.piece(index, piece)]
            item = await pieces.get()
        try:
            replies: list[Reply] = work.result()
        except ClientGone:
            return
        except ApiError as error:  # e.g. the deadline passed while pieces were being sent
            yield [ErrorBody(ErrorDetail(error.message, error.kind, error.status_code))]
            return
        yield [
            chunks.piece(i, r.text[len(sent[i]) :])
            for i, r in enumerate(replies)
            if r.text.startswith(sent[i]) and len(r.text) > len(sent[i])
        ]
        yield [chunks.closing(replies)]
        if include_usage:
            yield [chunks.usage(usage_of(replies))]
    finally:
        if not work.done():  # the client left mid-stream: its work is given up
            work.cancel()


def _event_stream(events: AsyncIterator[list]) -> Stream:
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
    """`chat.completion.chunk` events: a role delta per choice, content deltas, finish reasons, usage."""

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
