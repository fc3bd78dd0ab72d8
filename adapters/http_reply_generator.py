"""ReplyGenerator on a model server over HTTP: OpenAI-compatible chat (tinktalker serve, vLLM with a
chat template), OpenAI text completions with the prompt built here (servers without a chat
template), or the original /answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import asdict
from email.utils import parsedate_to_datetime
from typing import Literal

import httpx

from tinktalker.adapters.model.rudialogpt_prompt import PromptMarkers, prompt_text
from tinktalker.domain.dialogue import GenerationOptions, Message, Reply, Speaker, StreamEvent
from tinktalker.domain.errors import ReplyUnavailable
from tinktalker.ports.reply_generator import ReplyGenerator

log = logging.getLogger(__name__)

_RETRY_STATUSES = (429, 503)
_ANSWER_CONTEXT = 3  # the original server takes the last three messages
_MAX_STOP = 4  # OpenAI's limit on stop strings
Protocol = Literal["openai", "completions", "answer"]
# vLLM's sampling fields beyond OpenAI's, by our decoding name (tinktalker serve takes min_tokens)
EXTENSIONS = {
    "top_k": "top_k",
    "repetition_penalty": "repetition_penalty",
    "min_tokens": "min_new_tokens",
}


class HttpReplyGenerator(ReplyGenerator):
    """Implements ports.ReplyGenerator; one pooled connection set per instance, closed by `aclose`.

    Retries connection errors, 429 and 503 up to `max_retries` times, waiting `backoff_s` doubling
    or the server's Retry-After, all within `deadline_s` per reply. Other failures raise
    `ReplyUnavailable`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        protocol: Protocol = "openai",
        model: str = "tinktalker",
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        deadline_s: float = 120.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        *,
        markers: PromptMarkers,
        pad_to_messages: int,
        decoding: dict | None = None,
        extensions: Sequence[str] = (),
    ) -> None:
        if protocol not in ("openai", "completions", "answer"):
            raise ValueError(
                f"protocol must be 'openai', 'completions' or 'answer', not {protocol!r}"
            )
        unknown = set(extensions) - set(EXTENSIONS)
        if unknown:
            raise ValueError(
                f"extensions must be among {sorted(EXTENSIONS)}, not {sorted(unknown)}"
            )
        # the bot's decoding settings, sent as the fields the server takes; a request's options win
        self._decoding = dict(decoding or {})
        self._extensions = tuple(extensions)
        self._markers = markers
        self._pad_to = pad_to_messages
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s),
        )
        self._protocol = protocol
        self._model = model
        self._deadline_s = deadline_s
        self._max_retries = max_retries
        self._backoff_s = backoff_s

    async def generate(
        self, context: Sequence[Message], options: GenerationOptions | None = None
    ) -> Reply:
        path, body = self._request(context, options or GenerationOptions())
        try:
            async with asyncio.timeout(self._deadline_s):
                data = await self._post_with_retries(
                    path, body, time.monotonic() + self._deadline_s
                )
        except TimeoutError:
            raise ReplyUnavailable(
                f"no reply from {self._client.base_url} within {self._deadline_s} s"
            ) from None
        return self._reply(data)

    async def generate_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> list[Reply]:
        # Sent side by side: the server batches them (and any other client's) itself.
        return list(await asyncio.gather(*(self.generate(c, options) for c in contexts)))

    async def stream_batch(
        self, contexts: Sequence[Sequence[Message]], options: GenerationOptions | None = None
    ) -> AsyncGenerator[StreamEvent, None]:
        """The replies once written, as the stream's one event: the whole text follows as one
        piece."""
        yield await self.generate_batch(contexts, options)

    def _request(self, context: Sequence[Message], options: GenerationOptions) -> tuple[str, dict]:
        if self._protocol == "answer":  # the original format has no options
            return "/answer", {"context": [m.text for m in context][-_ANSWER_CONTEXT:]}
        if (
            self._protocol == "completions"
        ):  # the server has no chat template: the prompt is built here
            body: dict = {
                "model": self._model,
                "prompt": prompt_text(context, self._markers, self._pad_to),
            }
            return "/v1/completions", self._sampling(
                body, options, (self._markers.first, self._markers.second)
            )
        body = {
            "model": self._model,
            "messages": [
                {"role": "user" if m.speaker is Speaker.USER else "assistant", "content": m.text}
                for m in context
            ],
        }
        return "/v1/chat/completions", self._sampling(body, options, ())

    def _sampling(self, body: dict, options: GenerationOptions, stops: tuple[str, ...]) -> dict:
        wanted = {**self._decoding, **{k: v for k, v in asdict(options).items() if v is not None}}
        if wanted.get("max_new_tokens") is not None:
            body["max_tokens"] = wanted["max_new_tokens"]
        if wanted.get("do_sample") is False:
            body["temperature"] = 0.0
        elif wanted.get("temperature") is not None:
            body["temperature"] = wanted["temperature"]
        for key in ("top_p", "seed"):
            if wanted.get(key) is not None:
                body[key] = wanted[key]
        for field, key in EXTENSIONS.items():
            if field in self._extensions and wanted.get(key) is not None:
                body[field] = wanted[key]
        if stops or options.stop:
            body["stop"] = list(dict.fromkeys([*stops, *options.stop]))[:_MAX_STOP]
        return body

    async def _post_with_retries(self, path: str, body: dict, deadline: float):
        for attempt in range(self._max_retries + 1):
            last = attempt == self._max_retries
            try:
                response = await self._client.post(path, json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as error:
                if last:
                    raise ReplyUnavailable(
                        f"cannot reach {self._client.base_url}: {error!r}"
                    ) from error
                await self._pause(self._backoff(attempt), deadline)
                continue
            except (
                httpx.HTTPError
            ) as error:  # a read timeout: the server is too slow, asking again adds load
                raise ReplyUnavailable(
                    f"{self._client.base_url} did not answer: {error!r}"
                ) from error
            if response.status_code in _RETRY_STATUSES and not last:
                await self._pause(_retry_after(response) or self._backoff(attempt), deadline)
                continue
            return self._json(response)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        return self._backoff_s * 2**attempt

    async def _pause(self, seconds: float, deadline: float) -> None:
        if time.monotonic() + seconds > deadline:  # waiting would only end in the deadline
            raise TimeoutError
        await asyncio.sleep(seconds)

    def _json(self, response: httpx.Response):
        if response.status_code != 200:
            log.error(
                "%s answered %d: %s",
                response.request.url,
                response.status_code,
                response.text[:500],
            )
            raise ReplyUnavailable(
                f"{response.request.url} answered {response.status_code}: {response.text[:200]}"
            )
        try:
            return response.json()
        except ValueError as error:
            raise ReplyUnavailable(
                f"{response.request.url} sent no JSON: {response.text[:200]!r}"
            ) from error

    def _reply(self, data) -> Reply:
        try:
            if self._protocol == "answer":
                if not isinstance(data, str):
                    raise TypeError("the /answer format is a JSON string")
                return Reply(data)
            choice, usage = data["choices"][0], data.get("usage") or {}
            finish: Literal["stop", "length"] = (
                "length" if choice.get("finish_reason") == "length" else "stop"
            )
            text = (
                choice["text"] if self._protocol == "completions" else choice["message"]["content"]
            )
            return Reply(
                (text or "").strip(),
                int(usage.get("prompt_tokens", 0)),
                int(usage.get("completion_tokens", 0)),
                finish,
            )
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise ReplyUnavailable(
                f"{self._client.base_url} sent an unexpected response: {str(data)[:200]}"
            ) from error

    async def aclose(self) -> None:
        await self._client.aclose()


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds, given as seconds or as an HTTP date."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


async def open_http_reply_generator(**settings) -> AsyncIterator[HttpReplyGenerator]:
    """Resource: one pooled client for the process, closed on shutdown."""
    generator = HttpReplyGenerator(**settings)
    try:
        yield generator
    finally:
        await generator.aclose()
