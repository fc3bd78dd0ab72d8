"""Request bodies of the HTTP API: every rule the server enforces is a schema rule.

msgspec checks them and also writes the published JSON Schema (see openapi_truth.py), so the two
cannot drift. The server's limits (settings) are checked and published by limits.py, at the fields
marked here "(limit: ...)".
"""

# No `from __future__ import annotations`: Litestar and msgspec read the real annotations.
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

MAX_STOP_STRINGS = 4
MAX_CONTENT_PARTS = 8
ANSWER_CONTEXT = 3  # the original /answer took at most three messages
_SHORT = Annotated[str, Meta(max_length=200)]

# Fields whose meaning this server cannot honour: the schema allows only their "off" value;
# a 400 says why.
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


class StreamOptions(Struct, forbid_unknown_fields=True, kw_only=True):
    include_usage: bool = False
    include_obfuscation: bool | None = None  # accepted and ignored: nothing here is obfuscated


class ResponseFormat(Struct, forbid_unknown_fields=True):
    type: Literal["text"]


_OFF = Meta(description="not supported here; only the value that turns it off")


Text = Annotated[str, Meta(description="at most server.max_message_chars characters")]
MaxTokens = Annotated[int, Meta(ge=1, description="reply length limit, in tokens")]
Temperature = Annotated[
    float, Meta(ge=0, le=2, description="0 = deterministic; higher = more adventurous")
]
TopP = Annotated[float, Meta(gt=0, le=1)]
Choices = Annotated[int, Meta(ge=1, description="how many replies to write")]
StopText = Annotated[str, Meta(min_length=1, max_length=100)]
Stop = StopText | Annotated[list[StopText], Meta(max_length=MAX_STOP_STRINGS)] | None
Seed = Annotated[int, Meta(ge=0, le=2**63 - 1, description="same seed and input, same reply")]
Zero = Annotated[float, Meta(ge=0, le=0)]
Empty = Annotated[list[Any], Meta(max_length=0)]


class TextPart(Struct, forbid_unknown_fields=True):
    type: Literal["text"]
    text: Text  # (limit: max_message_chars)


Content = Text | Annotated[list[TextPart], Meta(min_length=1, max_length=MAX_CONTENT_PARTS)]


class ChatMessage(Struct, forbid_unknown_fields=True, kw_only=True):
    role: Annotated[
        Literal["system", "developer", "user", "assistant"],
        Meta(
            description="user and assistant are the model's two speakers; system and developer "
            "messages are accepted and ignored (the model has no instructions)"
        ),
    ]
    content: Content  # (limit: max_message_chars)
    name: _SHORT | None = None  # accepted and ignored


class SamplingRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """The fields both OpenAI completion endpoints share; `user`, `metadata`, `store` and the like
    are accepted and ignored."""

    # Published as the one served id; any other string is answered 404 (OpenAI's `model_not_found`).
    model: Annotated[str, Meta(max_length=200)]  # (limit: the served model id)
    max_tokens: MaxTokens | None = None  # (limit: max_tokens)
    temperature: Temperature | None = None
    top_p: TopP | None = None
    n: Choices = 1  # (limit: max_n)
    stop: Stop = None
    seed: Seed | None = None
    # vLLM's extension: the reply does not end (at a marker or eos) before this many tokens
    min_tokens: Annotated[int, Meta(ge=0)] | None = None  # (limit: max_tokens)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    presence_penalty: Annotated[Zero, _OFF] | None = None
    frequency_penalty: Annotated[Zero, _OFF] | None = None
    logit_bias: Annotated[Annotated[dict[str, float], Meta(max_length=0)], _OFF] | None = None
    user: _SHORT | None = None
    metadata: (
        Annotated[dict[str, Annotated[str, Meta(max_length=512)]], Meta(max_length=16)] | None
    ) = None
    store: bool | None = None
    service_tier: _SHORT | None = None
    prompt_cache_key: _SHORT | None = None
    safety_identifier: _SHORT | None = None


class ChatCompletionRequest(SamplingRequest, kw_only=True):
    messages: Annotated[  # (limit: max_messages)
        list[ChatMessage],
        Meta(
            min_length=1,
            examples=[
                [
                    {"role": "user", "content": "Привет!"},
                    {"role": "assistant", "content": "Привет! Как дела?"},
                    {"role": "user", "content": "Что думаешь о рынке?"},
                ]
            ],
        ),
    ]
    max_completion_tokens: MaxTokens | None = None  # (limit: max_tokens)
    logprobs: Annotated[Literal[False], _OFF] | None = None
    top_logprobs: Annotated[Annotated[int, Meta(ge=0, le=0)], _OFF] | None = None
    tools: Annotated[Empty, _OFF] | None = None
    tool_choice: Annotated[Literal["none", "auto"], _OFF] | None = None
    parallel_tool_calls: bool | None = None  # without tools it means nothing
    functions: Annotated[Empty, _OFF] | None = None
    function_call: Annotated[Literal["none", "auto"], _OFF] | None = None
    response_format: Annotated[ResponseFormat, _OFF] | None = None
    modalities: Annotated[Annotated[list[Literal["text"]], Meta(max_length=1)], _OFF] | None = None
    reasoning_effort: _SHORT | None = None  # accepted and ignored: the model does not reason
    verbosity: _SHORT | None = None  # accepted and ignored
    audio: Annotated[None, _OFF] | None = None
    prediction: Annotated[None, _OFF] | None = None
    web_search_options: Annotated[None, _OFF] | None = None


class CompletionRequest(SamplingRequest, kw_only=True):
    prompt: Annotated[  # (limit: max_message_chars)
        Text, Meta(description="one user message", examples=["Что думаешь о рынке?"])
    ]
    best_of: Annotated[Annotated[int, Meta(ge=1, le=1)], _OFF] | None = None
    echo: Annotated[Literal[False], _OFF] | None = None
    logprobs: Annotated[None, _OFF] | None = None
    suffix: Annotated[None, _OFF] | None = None


class AnswerRequest(Struct):
    context: Annotated[  # (limit: max_message_chars, each)
        list[Text],
        Meta(
            max_length=ANSWER_CONTEXT,
            description="the last messages, oldest first, the user's last",
            examples=[["Привет!", "Привет, как дела?", "Что думаешь о рынке?"]],
        ),
    ]
