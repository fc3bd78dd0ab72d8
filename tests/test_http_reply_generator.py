"""HttpReplyGenerator against a loopback stand-in server that answers, fails, hangs and refuses as
scripted."""

import asyncio
import json
import time

import pytest
from litestar import Litestar, Request, Response, post

from devkit import schema_defaults as defaults
from devkit.loopback_server import free_port, serving_in_thread
from tinktalker.adapters.http_reply_generator import HttpReplyGenerator
from tinktalker.domain.dialogue import GenerationOptions, Message, Speaker
from tinktalker.domain.errors import ReplyUnavailable

CONTEXT = [
    Message(Speaker.USER, "раз"),
    Message(Speaker.BOT, "два"),
    Message(Speaker.USER, "три"),
    Message(Speaker.BOT, "четыре"),
    Message(Speaker.USER, "пять"),
]
COMPLETION = {
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "length"}
    ],
    "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
}

TEXT_COMPLETION = {
    "choices": [{"index": 0, "text": " ладно ", "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
}


class StandIn:
    """Answers each request with the next scripted step: 'ok', a status code, or ('hang',
    seconds)."""

    def __init__(self) -> None:
        self.script: list = []
        self.requests: list[tuple[str, dict, str]] = []

    def app(self) -> Litestar:
        @post(["/v1/chat/completions", "/v1/completions", "/answer"], status_code=200)
        async def scripted(request: Request) -> Response:
            body = await request.json()
            self.requests.append((request.url.path, body, request.headers.get("authorization", "")))
            step = self.script.pop(0) if self.script else "ok"
            if isinstance(step, tuple) and step[0] == "hang":
                await asyncio.sleep(step[1])
                step = "ok"
            if isinstance(step, tuple):
                return Response({"error": "scripted"}, status_code=step[0], headers=step[1])
            if step != "ok":
                return Response({"error": "scripted"}, status_code=step)
            if request.url.path == "/answer":  # the original server's JSON string
                return Response(
                    json.dumps("ответ", ensure_ascii=False).encode(), media_type="application/json"
                )
            if request.url.path == "/v1/completions":
                return Response(TEXT_COMPLETION)
            return Response(COMPLETION)

        return Litestar([scripted])


@pytest.fixture(scope="module")
def stand_in():
    server = StandIn()
    with serving_in_thread(server.app()) as url:
        yield server, url


@pytest.fixture
def server(stand_in):
    server, url = stand_in
    server.script.clear()
    server.requests.clear()
    return server, url


def ask(url: str, options: GenerationOptions | None = None, context=CONTEXT, **settings):
    async def run():
        generator = HttpReplyGenerator(
            url, markers=defaults.markers(), pad_to_messages=3, **{"backoff_s": 0.01, **settings}
        )
        started = time.monotonic()
        try:
            return await generator.generate(context, options), time.monotonic() - started
        finally:
            await generator.aclose()

    return asyncio.run(run())


def test_an_openai_request_carries_the_dialogue_the_options_and_the_key(server):
    stand_in, url = server
    reply, _ = ask(
        url,
        GenerationOptions(max_new_tokens=9, do_sample=False, stop=("!",), seed=5),
        api_key="k",
        model="m",
    )
    assert (reply.text, reply.prompt_tokens, reply.completion_tokens, reply.finish_reason) == (
        "ok",
        7,
        3,
        "length",
    )
    path, body, auth = stand_in.requests[0]
    assert path == "/v1/chat/completions" and auth == "Bearer k"
    assert [m["role"] for m in body["messages"]] == [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert {k: body[k] for k in ("model", "max_tokens", "temperature", "stop", "seed")} == {
        "model": "m",
        "max_tokens": 9,
        "temperature": 0.0,
        "stop": ["!"],
        "seed": 5,
    }


def test_the_original_format_sends_the_last_three_texts_and_reads_a_json_string(server):
    stand_in, url = server
    reply, _ = ask(url, protocol="answer")
    assert reply.text == "ответ"
    assert stand_in.requests[0][:2] == ("/answer", {"context": ["три", "четыре", "пять"]})


def test_the_completions_protocol_sends_the_projects_prompt_with_the_markers_as_stop(server):
    from devkit.tiny_model import build_tokenizer
    from tinktalker.adapters.model.rudialogpt_prompt import RuDialoGptPrompt

    stand_in, url = server
    context = CONTEXT[-2:]
    reply, _ = ask(
        url,
        GenerationOptions(max_new_tokens=9, stop=("!",)),
        context=context,
        protocol="completions",
    )
    assert (reply.text, reply.prompt_tokens, reply.finish_reason) == ("ладно", 9, "stop")
    path, body, _ = stand_in.requests[0]
    assert path == "/v1/completions" and body["stop"] == ["@@ПЕРВЫЙ@@", "@@ВТОРОЙ@@", "!"]
    assert body["prompt"] == "@@ПЕРВЫЙ@@  @@ВТОРОЙ@@ четыре @@ПЕРВЫЙ@@ пять @@ВТОРОЙ@@"
    tokenizer = build_tokenizer()  # the server tokenizes it into the very ids the local model gets
    assert tokenizer.encode(body["prompt"]) == RuDialoGptPrompt(
        tokenizer, defaults.markers(), 3
    ).encode(context, 1 << 30)


def test_429_is_retried_after_the_servers_retry_after(server):
    stand_in, url = server
    stand_in.script[:] = [(429, {"Retry-After": "1"}), 503]
    reply, took = ask(url)
    assert reply.text == "ok" and len(stand_in.requests) == 3 and took >= 0.95


def test_retries_are_bounded(server):
    stand_in, url = server
    stand_in.script[:] = [503] * 5
    with pytest.raises(ReplyUnavailable, match="503"):
        ask(url, max_retries=2)
    assert len(stand_in.requests) == 3


def test_a_retry_after_beyond_the_deadline_gives_up_at_once(server):
    stand_in, url = server
    stand_in.script[:] = [(429, {"Retry-After": "30"})]
    started = time.monotonic()
    with pytest.raises(ReplyUnavailable, match="within 5"):
        ask(url, deadline_s=5)
    took = time.monotonic() - started
    # without the guard it sleeps toward Retry-After until the 5 s deadline cuts it off
    assert took < 2.5 and len(stand_in.requests) == 1


def test_a_hanging_server_times_out_without_piling_on_more_requests(server):
    stand_in, url = server
    stand_in.script[:] = [("hang", 3)]
    started = time.monotonic()
    with pytest.raises(ReplyUnavailable, match="did not answer"):
        ask(url, read_timeout_s=0.3)
    assert time.monotonic() - started < 2.5 and len(stand_in.requests) == 1


def test_the_overall_deadline_bounds_a_slow_answer(server):
    stand_in, url = server
    stand_in.script[:] = [("hang", 3)]
    started = time.monotonic()
    with pytest.raises(ReplyUnavailable, match="within 0.5"):
        ask(url, deadline_s=0.5)
    assert time.monotonic() - started < 2.5


def test_a_server_error_is_not_retried(server):
    stand_in, url = server
    stand_in.script[:] = [500]
    with pytest.raises(ReplyUnavailable, match="500"):
        ask(url)
    assert len(stand_in.requests) == 1


def test_connection_errors_are_retried_then_reported():
    started = time.monotonic()
    with pytest.raises(ReplyUnavailable, match="cannot reach"):
        ask(f"http://127.0.0.1:{free_port()}", max_retries=2, connect_timeout_s=0.5)
    assert time.monotonic() - started >= 0.03  # two backoffs: 0.01 + 0.02
