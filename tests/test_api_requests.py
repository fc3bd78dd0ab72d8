"""The API's answers to bad input, floods, slow models and clients that leave (fake generator, real
uvicorn)."""

import asyncio
import time

import httpx
import pytest

from tests.api_app_under_test import api_server
from tests.fake_reply_generator import EchoReplyGenerator, WordCountPromptMeter
from tinktalker.domain.errors import ReplyUnavailable

LIMITS = dict(
    max_messages=4,
    max_message_chars=50,
    max_tokens=20,
    max_n=2,
    max_body_bytes=2048,
    max_prompt_tokens=30,
)
CHAT = "/v1/chat/completions"


def chat(*texts: str, **extra) -> dict:
    roles = ["user", "assistant"]
    messages = [
        {"role": roles[(len(texts) - 1 - i) % 2], "content": t} for i, t in enumerate(texts)
    ]
    return {"model": "tinktalker", "messages": messages, **extra}


@pytest.fixture(scope="module")
def url():
    with api_server(
        EchoReplyGenerator(), WordCountPromptMeter(context_length=40), **LIMITS
    ) as base:
        yield base


@pytest.mark.parametrize(
    "path, body, status, says",
    [
        (CHAT, chat("a", "b", "c", "d", "e"), 400, "messages"),
        (CHAT, chat("x" * 51), 400, "messages[0].content"),
        (CHAT, chat("hi", max_tokens=21), 400, "max_tokens"),
        (CHAT, chat("hi", n=3), 400, "n"),
        (CHAT, chat("hi", frequency_penalty=0.5), 400, "frequency_penalty"),
        (CHAT, chat("hi", logprobs=True), 400, "logprobs is not supported"),
        (
            CHAT,
            chat("hi", tools=[{"type": "function", "function": {"name": "f"}}]),
            400,
            "tools is not supported",
        ),
        (CHAT, chat("hi", presence_penalty=-0.5), 400, "presence_penalty is not supported"),
        (CHAT, chat("hi", response_format={"type": "json_object"}), 400, "response_format"),
        (CHAT, chat("hi", stream_options={"include_usage": True, "x": 1}), 400, "stream_options"),
        (CHAT, chat("hi", surprise=1), 400, "surprise"),
        (
            CHAT,
            {"model": "tinktalker", "messages": [{"role": "tool", "content": "42"}]},
            400,
            "role",
        ),
        (
            CHAT,
            {
                "model": "tinktalker",
                "messages": [{"role": "user", "content": [{"type": "image_url"}]}],
            },
            400,
            "messages[0].content",
        ),
        (
            "/v1/completions",
            {"model": "tinktalker", "prompt": "hi", "echo": True},
            400,
            "echo is not supported",
        ),
        ("/v1/completions", {"model": "tinktalker", "prompt": "hi", "best_of": 3}, 400, "best_of"),
        (CHAT, chat("hi", temperature=3), 400, "temperature"),
        (CHAT, chat("hi", stop=""), 400, "stop"),
        (CHAT, chat("hi", model="gpt-4"), 404, "gpt-4"),
        ("/v1/completions", {"model": "tinktalker", "prompt": ["a", "b"]}, 400, "prompt"),
        ("/answer", {"context": ["a", "b", "c", "d"]}, 400, "context"),
        ("/answer", {"context": "hello"}, 400, "context"),
        ("/answer", {}, 400, "context"),
        # booleans are true/false: 0/1 and "true" were read as booleans (stream=1 streamed)
        (CHAT, chat("hi", stream=1), 400, "stream: Expected `bool`, got `int`"),
        (CHAT, chat("hi", stream_options={"include_usage": 0}), 400, "include_usage"),
        (CHAT, chat("hi", store="true"), 400, "store: Expected `bool`, got `str`"),
        (CHAT, chat("hi", parallel_tool_calls=0), 400, "parallel_tool_calls"),
        ("/v1/completions", {"model": "tinktalker", "prompt": "hi", "stream": 0}, 400, "stream"),
    ],
)
def test_bad_requests_get_a_4xx_json_error_naming_the_problem(url, path, body, status, says):
    response = httpx.post(url + path, json=body)
    assert response.status_code == status, response.text
    assert says in response.json()["error"]["message"]


def test_malformed_and_oversized_bodies_are_client_errors(url):
    assert (
        httpx.post(
            url + CHAT, content=b"{not json", headers={"content-type": "application/json"}
        ).status_code
        == 400
    )
    too_big = httpx.post(url + "/answer", json={"context": ["x" * 3000]})
    assert too_big.status_code == 413 and "error" in too_big.json()


HOSTILE_BODIES = {
    "invalid UTF-8": b'{"context": ["\xff\xfe"], "model": "\xc3", "prompt": "\xff"}',
    "cp1251 text": '{"context": ["привет"], "model": "tinktalker", "prompt": "привет"}'.encode(
        "cp1251"
    ),
    "1000 nested arrays": b"[" * 1000 + b"]" * 1000,
    "1000 levels inside a field": b'{"context":' + b"[" * 1000 + b"]" * 1000 + b"}",  # ~2 KB
    "not an object": b"[1, 2, 3]",
    "null": b"null",
    "huge number": b'{"context": [1e999999], "model": 1e999999, "n": 99999999999999999999999999}',
}


@pytest.mark.parametrize("path", ["/answer", CHAT, "/v1/completions"])
@pytest.mark.parametrize("name", HOSTILE_BODIES)
def test_hostile_bodies_get_a_400_json_error_never_a_5xx(url, path, name):
    response = httpx.post(
        url + path, content=HOSTILE_BODIES[name], headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_good_requests_are_answered_and_counted(url):
    response = httpx.post(
        url + CHAT,
        json=chat("привет", "да", "акции?", n=2, stop=["x"], seed=3, temperature=0, max_tokens=10),
    )
    assert response.status_code == 200
    assert [c["message"]["content"] for c in response.json()["choices"]] == ["echo: акции?"] * 2
    assert (
        httpx.post(url + "/answer", json={"context": ["привет"]}).content
        == '"echo: привет"'.encode()
    )
    metrics = httpx.get(url + "/metrics").text
    assert 'tinktalker_requests_total{path="/v1/chat/completions",status="200"}' in metrics
    assert "tinktalker_batch_size_bucket" in metrics and "tinktalker_queue_depth 0.0" in metrics
    assert 'tinktalker_tokens_total{kind="generated"}' in metrics


def test_openapi_schema_carries_the_limits(url):
    schema = httpx.get(url + "/schema/openapi.json").json()
    components = schema["components"]["schemas"]
    chat, text = components["ChatCompletionRequest"], components["CompletionRequest"]
    fields = chat["properties"]
    assert fields["messages"]["maxItems"] == 4  # max_messages, not the stop list's 4
    content = components["ChatMessage"]["properties"]["content"]["anyOf"]
    assert content[0]["maxLength"] == 50 and content[0]["description"] == "at most 50 characters"
    assert components["TextPart"]["properties"]["text"]["maxLength"] == 50
    assert text["properties"]["prompt"]["maxLength"] == 50
    assert components["AnswerRequest"]["properties"]["context"]["items"]["maxLength"] == 50
    for name in ("max_tokens", "max_completion_tokens"):
        assert fields[name]["anyOf"][0]["maximum"] == 20
    assert text["properties"]["max_tokens"]["anyOf"][0]["maximum"] == 20
    assert fields["n"]["maximum"] == 2 == text["properties"]["n"]["maximum"]
    assert fields["model"]["enum"] == ["tinktalker"] == text["properties"]["model"]["enum"]
    body = schema["paths"][CHAT]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ChatCompletionRequest"}
    assert "401" not in schema["paths"][CHAT]["post"]["responses"]  # no key asked: none refused
    assert {
        "/answer",
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/models",
        "/health",
        "/ready",
    } <= set(schema["paths"])


def test_a_flood_is_refused_with_429_and_every_accepted_request_completes():
    generator = EchoReplyGenerator(delay_s=0.2)

    async def flood(base: str):
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            return await asyncio.gather(*(client.post(CHAT, json=chat(f"m{i}")) for i in range(24)))

    with api_server(generator, batching=dict(max_batch_size=2, max_queue=4, max_wait_s=0)) as base:
        responses = asyncio.run(flood(base))
    statuses = [r.status_code for r in responses]
    assert set(statuses) == {200, 429}, statuses
    refused = [r for r in responses if r.status_code == 429]
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    accepted = [(i, r) for i, r in enumerate(responses) if r.status_code == 200]
    assert all(r.json()["choices"][0]["message"]["content"] == f"echo: m{i}" for i, r in accepted)
    assert sum(len(texts) for texts, _ in generator.batches) == len(
        accepted
    )  # none generated in vain


def test_a_slow_model_gets_504_and_a_failing_one_503():
    with api_server(EchoReplyGenerator(delay_s=1.0), request_timeout_s=0.2) as base:
        slow = httpx.post(base + CHAT, json=chat("hi"))
    assert slow.status_code == 504 and "0.2 s" in slow.json()["error"]["message"]
    with api_server(EchoReplyGenerator(fail_with=ReplyUnavailable("GPU on fire"))) as base:
        down = httpx.post(base + "/answer", json={"context": ["hi"]})
    assert down.status_code == 503 and "GPU on fire" in down.json()["error"]["message"]


def test_a_client_that_leaves_frees_its_place_in_the_queue():
    generator = EchoReplyGenerator(delay_s=0.5)

    async def scenario(base: str):
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            first = asyncio.ensure_future(client.post(CHAT, json=chat("first")))
            await asyncio.sleep(0.1)
            with pytest.raises(httpx.ReadTimeout):  # this client gives up and closes its connection
                await client.post(CHAT, json=chat("leaver"), timeout=0.1)
            await first
            await asyncio.sleep(0.2)
            return (await client.get("/metrics")).text

    with api_server(generator, batching=dict(max_batch_size=1, max_wait_s=0)) as base:
        metrics = asyncio.run(scenario(base))
        time.sleep(0.6)
    assert [texts for texts, _ in generator.batches] == [["first"]]
    assert "tinktalker_queue_depth 0.0" in metrics
    assert 'path="/v1/chat/completions",status="499"' in metrics


def test_with_an_api_key_replies_want_it_and_probes_do_not():
    with api_server(EchoReplyGenerator(), api_key="s3cret") as base:
        assert httpx.post(base + CHAT, json=chat("hi")).status_code == 401
        for header in (
            "Bearer s3cret",
            "bearer s3cret",
            "BEARER  s3cret",
        ):  # the scheme is case-insensitive
            assert (
                httpx.post(
                    base + CHAT, json=chat("hi"), headers={"Authorization": header}
                ).status_code
                == 200
            )
        for header in ("Bearer S3CRET", "Basic s3cret", "s3cret", "Bearer"):
            assert (
                httpx.post(
                    base + CHAT, json=chat("hi"), headers={"Authorization": header}
                ).status_code
                == 401
            )
        assert httpx.get(base + "/health").status_code == 200
        assert httpx.get(base + "/metrics").status_code == 200
        schema = httpx.get(base + "/schema/openapi.json").json()
        assert schema["security"] == [{"bearer": []}]
        assert "401" in schema["paths"][CHAT]["post"]["responses"]
        assert "401" in schema["paths"]["/v1/models"]["get"]["responses"]


def test_the_schema_max_tokens_is_what_the_model_positions_allow_and_is_enforced():
    # a 16-position model behind server.max_tokens 256: the schema said 256, 17..256 were refused
    with api_server(
        EchoReplyGenerator(), WordCountPromptMeter(context_length=16), max_tokens=256
    ) as base:
        schema = httpx.get(base + "/schema/openapi.json").json()["components"]["schemas"]
        maximum = schema["ChatCompletionRequest"]["properties"]["max_tokens"]["anyOf"][0]
        assert maximum["maximum"] == 16  # the fake counts words: an empty prompt takes none
        assert httpx.post(base + CHAT, json=chat("hi", max_tokens=16)).status_code == 200
        beyond = httpx.post(base + CHAT, json=chat("hi", max_tokens=17))
        assert beyond.status_code == 400
        assert "max_tokens: Expected `int` <= 16" in beyond.json()["error"]["message"]
