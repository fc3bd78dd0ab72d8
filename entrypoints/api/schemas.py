"""Request and response bodies of the HTTP API; the configured limits become schema constraints (and OpenAPI)."""
# No `from __future__ import annotations`: the request types are built per app from its limits, and
# Litestar reads the real annotation objects.
from dataclasses import dataclass
from typing import Annotated, Literal

from msgspec import Meta, Struct

MAX_STOP_STRINGS = 4
ANSWER_CONTEXT = 3  # the original /answer took at most three messages


@dataclass(frozen=True)
class ApiLimits:
    max_messages: int = 16
    max_message_chars: int = 2000
    max_prompt_tokens: int = 1024
    max_tokens: int = 256
    max_n: int = 4
    max_body_bytes: int = 65536


@dataclass(frozen=True)
class RequestTypes:
    chat: type
    completion: type
    answer: type


def request_types(limits: ApiLimits) -> RequestTypes:
    Text = Annotated[str, Meta(max_length=limits.max_message_chars,
                               description=f"at most {limits.max_message_chars} characters")]
    MaxTokens = Annotated[int, Meta(ge=1, le=limits.max_tokens, description="reply length limit, in tokens")]
    Temperature = Annotated[float, Meta(ge=0, le=2, description="0 = deterministic; higher = more adventurous")]
    TopP = Annotated[float, Meta(gt=0, le=1)]
    Choices = Annotated[int, Meta(ge=1, le=limits.max_n, description="how many replies to write")]
    StopText = Annotated[str, Meta(min_length=1, max_length=100)]
    Stop = StopText | Annotated[list[StopText], Meta(max_length=MAX_STOP_STRINGS)] | None
    Seed = Annotated[int, Meta(ge=0, le=2**63 - 1, description="same seed and input, same reply")]
    Unsupported = Annotated[float, Meta(description="accepted for compatibility; only 0 is supported")]

    class ChatMessage(Struct, forbid_unknown_fields=True):
        role: Annotated[Literal["user", "assistant"], Meta(description="the model knows only these two",
                                                           examples=["user"])]
        content: Annotated[Text, Meta(examples=["Привет! Что думаешь о рынке?"])]

    class SamplingRequest(Struct, forbid_unknown_fields=True, kw_only=True):
        """The fields both OpenAI completion endpoints share."""
        model: Annotated[str, Meta(max_length=200, examples=["tinktalker"])]
        max_tokens: Annotated[MaxTokens, Meta(examples=[40])] | None = None
        temperature: Annotated[Temperature, Meta(examples=[1.2])] | None = None
        top_p: TopP | None = None
        n: Choices = 1
        stop: Stop = None
        seed: Seed | None = None
        stream: bool = False
        presence_penalty: Unsupported = 0.0
        frequency_penalty: Unsupported = 0.0
        user: Annotated[str, Meta(max_length=200)] | None = None

    class ChatCompletionRequest(SamplingRequest, kw_only=True):
        messages: Annotated[list[ChatMessage], Meta(min_length=1, max_length=limits.max_messages, examples=[[
            {"role": "user", "content": "Привет!"}, {"role": "assistant", "content": "Привет! Как дела?"},
            {"role": "user", "content": "Что думаешь о рынке?"}]])]
        max_completion_tokens: MaxTokens | None = None

    class CompletionRequest(SamplingRequest, kw_only=True):
        prompt: Annotated[Text, Meta(description="one user message", examples=["Что думаешь о рынке?"])]

    class AnswerRequest(Struct):
        context: Annotated[list[Text], Meta(max_length=ANSWER_CONTEXT,
                                            description="the last messages, oldest first, the user's last",
                                            examples=[["Привет!", "Привет, как дела?", "Что думаешь о рынке?"]])]

    return RequestTypes(ChatCompletionRequest, CompletionRequest, AnswerRequest)


class Usage(Struct):
    prompt_tokens: Annotated[int, Meta(examples=[19])]
    completion_tokens: Annotated[int, Meta(examples=[21])]
    total_tokens: Annotated[int, Meta(examples=[40])]


class AssistantMessage(Struct):
    content: Annotated[str, Meta(examples=["Думаю, что рынок сейчас на распутье, но я держу долгосрок."])]
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
    text: Annotated[str, Meta(examples=["Думаю, что рынок сейчас на распутье, но я держу долгосрок."])]
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class Completion(Struct):
    id: Annotated[str, Meta(examples=["cmpl-8f14e45fceea167a"])]
    created: Annotated[int, Meta(examples=[1764250000])]
    model: Annotated[str, Meta(examples=["tinktalker"])]
    choices: list[CompletionChoice]
    usage: Usage
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
