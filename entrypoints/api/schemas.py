"""Response bodies of the HTTP API (the request bodies are in request_types.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

from tinktalker.domain.dialogue import Reply


class Usage(Struct):
    prompt_tokens: Annotated[int, Meta(examples=[19])]
    completion_tokens: Annotated[int, Meta(examples=[21])]
    total_tokens: Annotated[int, Meta(examples=[40])]


def usage_of(replies: list[Reply]) -> Usage:
    prompt = replies[0].prompt_tokens if replies else 0  # the choices share one prompt
    completion = sum(r.completion_tokens for r in replies)
    return Usage(prompt, completion, prompt + completion)


class AssistantMessage(Struct):
    content: Annotated[
        str, Meta(examples=["Думаю, что рынок сейчас на распутье, но я держу долгосрок."])
    ]
    role: str = "assistant"


class ChatChoice(Struct):
    index: int
    message: AssistantMessage
    finish_reason: Literal["stop", "length"]


class ChatCompletion(Struct):
    id: Annotated[str, Meta(examples=["chatcmpl-8f14e45fceea167a"])]
    created: Annotated[int, Meta(examples=[1764250000])]
    model: Annotated[str, Meta(examples=["tinktalker"])]
    choices: list[ChatChoice]
    usage: Usage
    object: str = "chat.completion"


class CompletionChoice(Struct):
    index: int
    text: Annotated[
        str, Meta(examples=["Думаю, что рынок сейчас на распутье, но я держу долгосрок."])
    ]
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class Completion(Struct):
    id: Annotated[str, Meta(examples=["cmpl-8f14e45fceea167a"])]
    created: Annotated[int, Meta(examples=[1764250000])]
    model: Annotated[str, Meta(examples=["tinktalker"])]
    choices: list[CompletionChoice]
    usage: Usage
    object: str = "text_completion"


class ChatDelta(Struct, omit_defaults=True):
    role: str | None = None
    content: str | None = None


class ChatChunkChoice(Struct):
    index: int
    delta: ChatDelta
    finish_reason: Literal["stop", "length"] | None = None


class ChatCompletionChunk(Struct):
    """One Server-Sent Event of a streamed chat completion."""

    id: str
    created: int
    model: str
    choices: list[ChatChunkChoice]
    usage: Usage | None = None
    object: str = "chat.completion.chunk"


class CompletionChunkChoice(Struct):
    index: int
    text: str
    finish_reason: Literal["stop", "length"] | None = None
    logprobs: None = None


class CompletionChunk(Struct):
    """One Server-Sent Event of a streamed text completion."""

    id: str
    created: int
    model: str
    choices: list[CompletionChunkChoice]
    usage: Usage | None = None
    object: str = "text_completion"


class ModelCard(Struct):
    id: str
    created: int
    owned_by: str = "tinktalker"
    object: str = "model"


class ModelList(Struct):
    data: list[ModelCard]
    object: str = "list"


class Status(Struct):
    status: Annotated[str, Meta(examples=["ready"])]


class ErrorDetail(Struct):
    message: Annotated[str, Meta(examples=["max_tokens: Expected `int` <= 256"])]
    type: Annotated[str, Meta(examples=["invalid_request_error"])]
    code: Annotated[int, Meta(examples=[400])]


class ErrorBody(Struct):
    """Every answer other than 200."""

    error: ErrorDetail
