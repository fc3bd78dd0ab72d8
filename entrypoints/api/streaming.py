"""`stream: true`: the replies as Server-Sent Events in OpenAI's chunk format, ending in `data: [DONE]`.

The replies are written before the first event (the ReplyGenerator port answers whole replies), so each
choice arrives as one content chunk; errors before that are ordinary JSON answers with their status.
"""
from __future__ import annotations

from collections.abc import Iterator

import msgspec
from litestar.response import Stream

from domain.dialogue import Reply
from entrypoints.api.schemas import (ChatChunkChoice, ChatCompletionChunk, ChatDelta, CompletionChunk,
                                     CompletionChunkChoice, Usage)


def event_stream(events: Iterator[msgspec.Struct]) -> Stream:
    def encoded() -> Iterator[bytes]:
        for event in events:
            yield b"data: " + msgspec.json.encode(event) + b"\n\n"
        yield b"data: [DONE]\n\n"

    return Stream(encoded(), media_type="text/event-stream",
                  headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})  # proxies must not buffer


def chat_chunks(id_: str, created: int, model: str, replies: list[Reply], usage: Usage | None
                ) -> Iterator[ChatCompletionChunk]:
    def chunk(choices: list[ChatChunkChoice], usage_: Usage | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(id_, created, model, choices, usage_)

    yield chunk([ChatChunkChoice(i, ChatDelta(role="assistant", content="")) for i in range(len(replies))])
    for i, reply in enumerate(replies):
        if reply.text:
            yield chunk([ChatChunkChoice(i, ChatDelta(content=reply.text))])
    yield chunk([ChatChunkChoice(i, ChatDelta(), r.finish_reason) for i, r in enumerate(replies)])
    if usage is not None:
        yield chunk([], usage)


def completion_chunks(id_: str, created: int, model: str, replies: list[Reply], usage: Usage | None
                      ) -> Iterator[CompletionChunk]:
    for i, reply in enumerate(replies):
        if reply.text:
            yield CompletionChunk(id_, created, model, [CompletionChunkChoice(i, reply.text)])
    yield CompletionChunk(id_, created, model, [CompletionChunkChoice(i, "", r.finish_reason)
                                                for i, r in enumerate(replies)])
    if usage is not None:
        yield CompletionChunk(id_, created, model, [], usage)
