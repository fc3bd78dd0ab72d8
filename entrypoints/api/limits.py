"""The server's limits (settings): checked on each request body, written into the published schema.

The request types (request_types.py) are static; what the settings decide (how many messages, how
long, how many tokens and choices, which model id) is checked here with msgspec's own messages and
set at the same fields of the published JSON Schema, so the schema still tells the whole truth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from litestar import Request
from litestar.exceptions import ValidationException

from tinktalker.entrypoints.api.request_types import (
    AnswerRequest,
    ChatCompletionRequest,
    CompletionRequest,
    SamplingRequest,
)

if TYPE_CHECKING:
    from tinktalker.entrypoints.api.serving import Serving

Body = ChatCompletionRequest | CompletionRequest | AnswerRequest


@dataclass(frozen=True, kw_only=True)
class ApiLimits:
    """The server's limits, as the settings give them (their defaults live there alone)."""

    max_messages: int
    max_message_chars: int
    max_prompt_tokens: int
    max_tokens: int
    max_n: int
    max_body_bytes: int


def bound_by_model(serving: Serving, longest_reply: int | None) -> None:
    """max_tokens (checked and published) and the default within what the model can write."""
    if longest_reply is not None:
        serving.limits = replace(
            serving.limits, max_tokens=min(serving.limits.max_tokens, longest_reply)
        )
        serving.default_max_tokens = min(serving.default_max_tokens, longest_reply)


def check_limits(request: Request, data: Body, limits: ApiLimits) -> None:
    """A 400 naming the first field beyond a limit, worded as msgspec words its own checks."""
    for key, message in _problems(data, limits):
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise ValidationException(
            detail=f"Validation failed for {request.method} {path}",
            extra=[{"message": message, "key": key, "source": "body"}],
        )


def _problems(data: Body, limits: ApiLimits) -> Iterator[tuple[str, str]]:
    chars = limits.max_message_chars
    if isinstance(data, AnswerRequest):
        yield from _texts("context", data.context, chars)
        return
    if isinstance(data, ChatCompletionRequest):
        if len(data.messages) > limits.max_messages:
            yield "messages", f"Expected `array` of length <= {limits.max_messages}"
        for i, message in enumerate(data.messages):
            key = f"messages[{i}].content"
            if isinstance(message.content, str):
                yield from _texts(key, [message.content], chars, indexed=False)
            else:
                yield from _texts(key, [part.text for part in message.content], chars, ".text")
        yield from _at_most("max_completion_tokens", data.max_completion_tokens, limits.max_tokens)
    else:
        yield from _texts("prompt", [data.prompt], chars, indexed=False)
    yield from _sampling(data, limits)


def _sampling(data: SamplingRequest, limits: ApiLimits) -> Iterator[tuple[str, str]]:
    yield from _at_most("max_tokens", data.max_tokens, limits.max_tokens)
    yield from _at_most("min_tokens", data.min_tokens, limits.max_tokens)
    yield from _at_most("n", data.n, limits.max_n)


def _texts(
    key: str, texts: list[str], chars: int, suffix: str = "", indexed: bool = True
) -> Iterator[tuple[str, str]]:
    for i, text in enumerate(texts):
        if len(text) > chars:
            where = f"{key}[{i}]{suffix}" if indexed else key
            yield where, f"Expected `str` of length <= {chars}"


def _at_most(key: str, value: int | None, limit: int) -> Iterator[tuple[str, str]]:
    if value is not None and value > limit:
        yield key, f"Expected `int` <= {limit}"


def publish_limits(components: dict[str, Any], limits: ApiLimits, model_id: str) -> None:
    """Writes the limits into msgspec's schemas of the request bodies (in place)."""
    chars = {"maxLength": limits.max_message_chars}
    text = {**chars, "description": f"at most {limits.max_message_chars} characters"}
    components["TextPart"]["properties"]["text"].update(text)
    components["ChatMessage"]["properties"]["content"]["anyOf"][0].update(text)
    components["AnswerRequest"]["properties"]["context"]["items"].update(text)
    components["CompletionRequest"]["properties"]["prompt"].update(chars)
    chat = components["ChatCompletionRequest"]["properties"]
    chat["messages"]["maxItems"] = limits.max_messages
    chat["max_completion_tokens"]["anyOf"][0]["maximum"] = limits.max_tokens
    for name in ("ChatCompletionRequest", "CompletionRequest"):
        fields = components[name]["properties"]
        fields["model"].update({"enum": [model_id], "examples": [model_id]})
        fields["max_tokens"]["anyOf"][0]["maximum"] = limits.max_tokens
        fields["min_tokens"]["anyOf"][0]["maximum"] = limits.max_tokens
        fields["n"]["maximum"] = limits.max_n
