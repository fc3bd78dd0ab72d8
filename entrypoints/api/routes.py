"""The generating endpoints: the original /answer and the OpenAI-compatible /v1 subset."""

# No `from __future__ import annotations`: Litestar reads the handlers' real annotations.
import json
import time
import uuid

from litestar import Request, Response, Router, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import Guard

from tinktalker.domain.dialogue import GenerationOptions, Message, Speaker
from tinktalker.entrypoints.api.booleans import check_booleans
from tinktalker.entrypoints.api.limits import check_limits
from tinktalker.entrypoints.api.request_types import (
    AnswerRequest,
    ChatCompletionRequest,
    CompletionRequest,
    SamplingRequest,
    TextPart,
)
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


_ERRORS = {
    400: "malformed body, a field beyond its limit, or a prompt too long",
    401: "missing or wrong API key",
    404: "another model than the one served",
    413: "body larger than server.max_body_bytes",
    429: "too many requests waiting; see Retry-After",
    503: "model loading or failing; see Retry-After",
    504: "no reply within server.request_timeout_s",
}


def _error_specs(*codes: int) -> dict[int, ResponseSpec]:
    return {
        code: ResponseSpec(data_container=ErrorBody, description=_ERRORS[code]) for code in codes
    }


# 401 is left out of the published schema when no API key is asked for (openapi_truth.py)
_ERRORS_OF_REPLIES = _error_specs(400, 401, 413, 429, 503, 504)
_ERRORS_OF_OPENAI = {**_ERRORS_OF_REPLIES, **_error_specs(404)}


@post(
    "/answer",
    status_code=200,
    tags=["original"],
    summary="Reply in the original format",
    responses={
        200: ResponseSpec(data_container=str, description="the reply, as a JSON string"),
        **_ERRORS_OF_REPLIES,
    },
)
async def answer(request: Request, data: AnswerRequest, serving: Serving) -> Response[bytes]:
    """The original TinkTalker endpoint, byte for byte: `{"context": [up to 3 strings]}` in, the
    reply as a JSON string out. Strings alternate speakers and the last is the user's; decoding is
    the server's."""
    await check_booleans(request, type(data))
    check_limits(request, data, serving.limits)
    count = len(data.context)
    messages = [
        Message(Speaker.USER if (count - i) % 2 else Speaker.BOT, text)
        for i, text in enumerate(data.context)
    ]
    reply = (await serving.answer(request, messages, 1, GenerationOptions(), True))[0]
    body = json.dumps(reply.text, ensure_ascii=False)  # what the original server sent
    return Response(body.encode("utf-8"), media_type="application/json")


@post(
    "/v1/chat/completions",
    status_code=200,
    tags=["openai"],
    summary="Chat completion",
    responses=_ERRORS_OF_OPENAI,
)
async def chat_completions(
    request: Request, data: ChatCompletionRequest, serving: Serving
) -> Response[ChatCompletion]:
    """OpenAI-compatible chat completion. Roles `user` and `assistant` map to the model's two
    speakers; `system` and `developer` messages are ignored; only the last `dialogue.context_size`
    messages are used, and the prompt is cut from the oldest side to fit. The reply is the bot's
    next message. `temperature` 0 means deterministic. With `stream: true` the answer is
    Server-Sent Events (`chat.completion.chunk`, then `data: [DONE]`): token by token with one
    beam, else one content chunk once the reply is written. Tools, logprobs and non-zero penalties
    are refused."""
    await check_booleans(request, type(data))
    check_limits(request, data, serving.limits)
    _check_model(serving, data.model)
    messages = [
        Message(_SPEAKERS[m.role], _text(m.content)) for m in data.messages if m.role in _SPEAKERS
    ]
    options = _options(
        data, data.max_completion_tokens or data.max_tokens, serving.default_max_tokens
    )
    if data.stream:
        chunks = ChatChunks(serving.model_id)
        return await streamed_replies(  # type: ignore[return-value]  # the schema has both
            serving, request, messages, options, data.n, chunks, _include_usage(data)
        )
    replies = await serving.answer(request, messages, data.n, options, False)
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
    status_code=200,
    tags=["openai"],
    summary="Text completion",
    responses=_ERRORS_OF_OPENAI,
)
async def completions(
    request: Request, data: CompletionRequest, serving: Serving
) -> Response[Completion]:
    """OpenAI-compatible completion: the prompt is taken as one user message and the reply is the
    bot's answer to it. Same parameters, streaming and refusals as chat completions."""
    await check_booleans(request, type(data))
    check_limits(request, data, serving.limits)
    _check_model(serving, data.model)
    messages = [Message(Speaker.USER, data.prompt)]
    options = _options(data, data.max_tokens, serving.default_max_tokens)
    if data.stream:
        chunks = TextChunks(serving.model_id)
        return await streamed_replies(  # type: ignore[return-value]  # the schema has both
            serving, request, messages, options, data.n, chunks, _include_usage(data)
        )
    replies = await serving.answer(request, messages, data.n, options, False)
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


@get("/v1/models", tags=["openai"], summary="Models served", responses=_error_specs(401))
async def models(serving: Serving) -> ModelList:
    """The one model this server serves; use its id as `model`."""
    return ModelList([ModelCard(serving.model_id, serving.model_created)])


def generation_router(guards: list[Guard]) -> Router:
    """The generating endpoints and /v1/models, behind `guards` (the app provides `serving`)."""
    return Router(
        "/", route_handlers=[answer, chat_completions, completions, models], guards=guards
    )


def _options(
    data: SamplingRequest, max_tokens: int | None, default_max_tokens: int
) -> GenerationOptions:
    stop = (data.stop,) if isinstance(data.stop, str) else tuple(data.stop or ())
    temperature = data.temperature
    if temperature is not None and temperature < GREEDY_BELOW:
        temperature = (
            0.0  # the limit such temperatures approach; dividing logits by them overflows to NaN
        )
    max_new_tokens = max_tokens or default_max_tokens
    return GenerationOptions(
        max_new_tokens=max_new_tokens,
        temperature=temperature or None,
        top_p=data.top_p,
        seed=data.seed,
        stop=stop,
        do_sample=None if temperature is None else temperature > 0,
        min_new_tokens=None if data.min_tokens is None else min(data.min_tokens, max_new_tokens),
    )


def _text(content: str | list[TextPart]) -> str:
    return content if isinstance(content, str) else "\n".join(part.text for part in content)


def _include_usage(data: SamplingRequest) -> bool:
    return data.stream_options is not None and data.stream_options.include_usage


def _check_model(serving: Serving, model: str) -> None:
    if model != serving.model_id:
        raise ApiError(
            404,
            f"model '{model}' is not served here; use '{serving.model_id}' (see GET /v1/models)",
            "model_not_found",
        )
