"""Request bodies of the HTTP API, built per app from its limits: every rule the server enforces is a schema rule.

msgspec checks them and also writes the published JSON Schema (see openapi_truth.py), so the two cannot drift.
"""

# No `from __future__ import annotations`: the types are built per app, and Litestar reads the real annotations.
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

MAX_STOP_STRINGS = 4
MAX_CONTENT_PARTS = 8
ANSWER_CONTEXT = 3  # the original /answer took at most three messages
_SHORT = Annotated[str, Meta(max_length=200)]

# Fields whose meaning this server cannot honour: the schema allows only their "off" value; a 400 says why.
UNSUPPORTED = {
    "tools": "[] or leave it out",
    "tool_choice": "'none' or leave it out",
    "functions": "leave it out",
    "function_call": "'none' or leave it out",
    "logprobs": "false or leave it out",
    "top_logprobs": "0 or leave it out",
    "logit_bias": "{} or leave it out",
    "presence_penalty": "0 or leave it out",
    "frequency_penalty": "0 or leave it out",
    "response_format": "{'type': 'text'} or leave it out",
    "audio": "leave it out",
    "modalities": "['text'] or leave it out",
    "prediction": "leave it out",
    "web_search_options": "leave it out",
    "best_of": "1 or leave it out",
    "echo": "false or leave it out",
    "suffix": "leave it out",
}


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


class StreamOptions(Struct, forbid_unknown_fields=True, kw_only=True):
    include_usage: bool = False
    include_obfuscation: bool | None = None  # accepted and ignored: nothing here is obfuscated


class ResponseFormat(Struct, forbid_unknown_fields=True):
    type: Literal["text"]


def _off(
    kind: Any, description: str = "not supported here; only the value that turns it off"
) -> Any:
    return Annotated[kind, Meta(description=description)] | None


def request_types(limits: ApiLimits, model_id: str) -> RequestTypes:
    Text = Annotated[
        str,
        Meta(
            max_length=limits.max_message_chars,
            description=f"at most {limits.max_message_chars} characters",
        ),
    ]
    MaxTokens = Annotated[
        int, Meta(ge=1, le=limits.max_tokens, description="reply length limit, in tokens")
    ]
    Temperature = Annotated[
        float, Meta(ge=0, le=2, description="0 = deterministic; higher = more adventurous")
    ]
    TopP = Annotated[float, Meta(gt=0, le=1)]
    Choices = Annotated[int, Meta(ge=1, le=limits.max_n, description="how many replies to write")]
    StopText = Annotated[str, Meta(min_length=1, max_length=100)]
    Stop = StopText | Annotated[list[StopText], Meta(max_length=MAX_STOP_STRINGS)] | None
    Seed = Annotated[int, Meta(ge=0, le=2**63 - 1, description="same seed and input, same reply")]
    Zero = Annotated[float, Meta(ge=0, le=0)]
    Empty = Annotated[list[Any], Meta(max_length=0)]

    class TextPart(Struct, forbid_unknown_fields=True):
        type: Literal["text"]
        text: Text

    Content = Text | Annotated[list[TextPart], Meta(min_length=1, max_length=MAX_CONTENT_PARTS)]

    class ChatMessage(Struct, forbid_unknown_fields=True, kw_only=True):
        role: Annotated[
            Literal["system", "developer", "user", "assistant"],
            Meta(
                description="user and assistant are the model's two speakers; system and developer "
                "messages are accepted and ignored (the model has no instructions)"
            ),
        ]
        content: Content
        name: _SHORT | None = None  # accepted and ignored

    class SamplingRequest(Struct, forbid_unknown_fields=True, kw_only=True):
        """The fields both OpenAI completion endpoints share; `user`, `metadata`, `store` and the like are
        accepted and ignored."""

        # Published as the one served id; any other string is answered 404 (OpenAI's `model_not_found`).
        model: Annotated[
            str, Meta(max_length=200, examples=[model_id], extra_json_schema={"enum": [model_id]})
        ]
        max_tokens: MaxTokens | None = None
        temperature: Temperature | None = None
        top_p: TopP | None = None
        n: Choices = 1
        stop: Stop = None
        seed: Seed | None = None
        # vLLM's extension: the reply does not end (at a marker or eos) before this many tokens
        min_tokens: Annotated[int, Meta(ge=0, le=limits.max_tokens)] | None = None
        stream: bool | None = False
        stream_options: StreamOptions | None = None
        presence_penalty: _off(Zero) = None
        frequency_penalty: _off(Zero) = None
        logit_bias: _off(Annotated[dict[str, float], Meta(max_length=0)]) = None
        user: _SHORT | None = None
        metadata: (
            Annotated[dict[str, Annotated[str, Meta(max_length=512)]], Meta(max_length=16)] | None
        ) = None
        store: bool | None = None
        service_tier: _SHORT | None = None
        prompt_cache_key: _SHORT | None = None
        safety_identifier: _SHORT | None = None

    class ChatCompletionRequest(SamplingRequest, kw_only=True):
        messages: Annotated[
            list[ChatMessage],
            Meta(
                min_length=1,
                max_length=limits.max_messages,
                examples=[
                    [
                        {"role": "user", "content": "Привет!"},
                        {"role": "assistant", "content": "Привет! Как дела?"},
                        {"role": "user", "content": "Что думаешь о рынке?"},
                    ]
                ],
            ),
        ]
        max_completion_tokens: MaxTokens | None = None
        logprobs: _off(Literal[False]) = None
        top_logprobs: _off(Annotated[int, Meta(ge=0, le=0)]) = None
        tools: _off(Empty) = None
        tool_choice: _off(Literal["none", "auto"]) = None
        parallel_tool_calls: bool | None = None  # without tools it means nothing
        functions: _off(Empty) = None
        function_call: _off(Literal["none", "auto"]) = None
        response_format: _off(ResponseFormat) = None
        modalities: _off(Annotated[list[Literal["text"]], Meta(max_length=1)]) = None
        reasoning_effort: _SHORT | None = None  # accepted and ignored: the model does not reason
        verbosity: _SHORT | None = None  # accepted and ignored
        audio: _off(None) = None
        prediction: _off(None) = None
        web_search_options: _off(None) = None

    class CompletionRequest(SamplingRequest, kw_only=True):
        prompt: Annotated[
            Text, Meta(description="one user message", examples=["Что думаешь о рынке?"])
        ]
        best_of: _off(Annotated[int, Meta(ge=1, le=1)]) = None
        echo: _off(Literal[False]) = None
        logprobs: _off(None) = None
        suffix: _off(None) = None

    class AnswerRequest(Struct):
        context: Annotated[
            list[Text],
            Meta(
                max_length=ANSWER_CONTEXT,
                description="the last messages, oldest first, the user's last",
                examples=[["Привет!", "Привет, как дела?", "Что думаешь о рынке?"]],
            ),
        ]

    return RequestTypes(ChatCompletionRequest, CompletionRequest, AnswerRequest)
