"""The generating endpoints: the original /answer and the OpenAI-compatible /v1 subset."""

# No `from __future__ import annotations`: handler annotations are per-app types Litestar must see.
import json
import time
import uuid

from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import Guard

from tinktalker.domain.dialogue import GenerationOptions, Message, Speaker
from tinktalker.entrypoints.api.request_types import RequestTypes
from tinktalker.entrypoints.api.schemas import (
    AssistantMessage,
    ChatChoice,
    ChatCompletion,
    Completion,
    CompletionChoice,
    ErrorBody,
    ModelCard,
    ModelList,
    usage_of,
)
from tinktalker.entrypoints.api.serving import ApiError, Serving
from tinktalker.entrypoints.api.streaming import ChatChunks, TextChunks, streamed_replies

GREEDY_BELOW = 1e-4  # temperatures under this decode greedily
_SPEAKERS = {
    "user": Speaker.USER,
    "assistant": Speaker.BOT,
}  # system and developer messages are left out


def generation_routes(serving: Serving, types: RequestTypes, guards: list[Guard]) -> list:
    chat_request, completion_request, answer_request = types.chat, types.completion, types.answer
    errors = _error_specs(400, *([401] if guards else []), 413, 429, 503, 504)
    openai_errors = {**errors, **_error_specs(404)}

    @post(
        "/answer",
        guards=guards,
        status_code=200,
        tags=["original"],
        summary="Reply in the original format",
        responses={200: _json_string_response(), **errors},
    )
    async def answer(request: Request, data: answer_request) -> Response[bytes]:
        """The original TinkTalker endpoint, byte for byte: `{"context": [up to 3 strings]}` in, the reply as a
        JSON string out. Strings alternate speakers and the last is the user's; decoding is the server's."""
        count = len(data.context)
        messages = [
            Message(Speaker.USER if (count - i) % 2 else Speaker.BOT, text)
            for i, text in enumerate(data.context)
        ]
        context = await serving.fit_prompt(serving.window(messages), serving.default_max_tokens)
        reply = (await serving.replies(request, [context], GenerationOptions()))[0]
        body = json.dumps(reply.text, ensure_ascii=False)  # what the original server sent
        return Response(body.encode("utf-8"), media_type="application/json")

    @post(
        "/v1/chat/completions",
        guards=guards,
        status_code=200,
        tags=["openai"],
        summary="Chat completion",
        responses=openai_errors,
    )
    async def chat_completions(request: Request, data: chat_request) -> Response[ChatCompletion]:
        """OpenAI-compatible chat completion. Roles `user` and `assistant` map to the model's two speakers;
        `system` and `developer` messages are ignored; only the last `dialogue.context_size` messages are
        used, and the prompt is cut from the oldest side to fit. The reply is the bot's next message.
        `temperature` 0 means deterministic. With `stream: true` the answer is Server-Sent Events
        (`chat.completion.chunk`, then `data: [DONE]`): token by token with one beam, else one content chunk
        once the reply is written. Tools, logprobs and non-zero penalties are refused."""
        _check_model(serving, data.model)
        messages = [
            Message(_SPEAKERS[m.role], _text(m.content))
            for m in data.messages
            if m.role in _SPEAKERS
        ]
        context, options = await _prepare(
            serving, serving.window(messages), data, data.max_completion_tokens or data.max_tokens
        )
        if data.stream:
            return await streamed_replies(
                serving,
                request,
                context,
                options,
                data.n,
                ChatChunks(serving.model_id),
                _include_usage(data),
            )
        replies = await serving.replies(request, [context] * data.n, options)
        choices = [
            ChatChoice(i, AssistantMessage(r.text), r.finish_reason) for i, r in enumerate(replies)
        ]
        return Response(
            ChatCompletion(
                f"chatcmpl-{uuid.uuid4().hex}",
                int(time.time()),
                serving.model_id,
                choices,
                usage_of(replies),
            )
        )

    @post(
        "/v1/completions",
        guards=guards,
        status_code=200,
        tags=["openai"],
        summary="Text completion",
        responses=openai_errors,
    )
    async def completions(request: Request, data: completion_request) -> Response[Completion]:
        """OpenAI-compatible completion: the prompt is taken as one user message and the reply is the bot's
        answer to it. Same parameters, streaming and refusals as chat completions."""
        _check_model(serving, data.model)
        context, options = await _prepare(
            serving, serving.window([Message(Speaker.USER, data.prompt)]), data, data.max_tokens
        )
        if data.stream:
            return await streamed_replies(
                serving,
                request,
                context,
                options,
                data.n,
                TextChunks(serving.model_id),
                _include_usage(data),
            )
        replies = await serving.replies(request, [context] * data.n, options)
        choices = [CompletionChoice(i, r.text, r.finish_reason) for i, r in enumerate(replies)]
        return Response(
            Completion(
                f"cmpl-{uuid.uuid4().hex}",
                int(time.time()),
                serving.model_id,
                choices,
                usage_of(replies),
            )
        )

    @get(
        "/v1/models",
        guards=guards,
        tags=["openai"],
        summary="Models served",
        responses=_error_specs(*([401] if guards else [])),
    )
    async def models() -> ModelList:
        """The one model this server serves; use its id as `model`."""
        return ModelList([ModelCard(serving.model_id, serving.model_created)])

    return [answer, chat_completions, completions, models]


async def _prepare(
    serving: Serving, context: list[Message], data, max_tokens: int | None
) -> tuple[list[Message], GenerationOptions]:
    max_tokens = max_tokens or serving.default_max_tokens
    context = await serving.fit_prompt(context, max_tokens)
    stop = (data.stop,) if isinstance(data.stop, str) else tuple(data.stop or ())
    temperature = data.temperature
    if temperature is not None and temperature < GREEDY_BELOW:
        temperature = (
            0.0  # the limit such temperatures approach; dividing logits by them overflows to NaN
        )
    return context, GenerationOptions(
        max_new_tokens=max_tokens,
        temperature=temperature or None,
        top_p=data.top_p,
        seed=data.seed,
        stop=stop,
        do_sample=None if temperature is None else temperature > 0,
    )


def _text(content) -> str:
    return content if isinstance(content, str) else "\n".join(part.text for part in content)


def _include_usage(data) -> bool:
    return data.stream_options is not None and data.stream_options.include_usage


def _check_model(serving: Serving, model: str) -> None:
    if model != serving.model_id:
        raise ApiError(
            404,
            f"model '{model}' is not served here; use '{serving.model_id}' (see GET /v1/models)",
            "model_not_found",
        )


_ERRORS = {
    400: "malformed body, a field beyond its limit, or a prompt too long",
    401: "missing or wrong API key",
    404: "another model than the one served",
    413: "body larger than server.max_body_bytes",
    429: "too many requests waiting; see Retry-After",
    503: "model loading or failing; see Retry-After",
    504: "no reply within server.request_timeout_s",
}


def _error_specs(*codes: int) -> dict:
    return {
        code: ResponseSpec(data_container=ErrorBody, description=_ERRORS[code]) for code in codes
    }


def _json_string_response() -> ResponseSpec:
    return ResponseSpec(data_container=str, description="the reply, as a JSON string")
