"""`tinktalker serve` as a real process: the official openai client, the original /answer format,
the API key, the HttpReplyGenerator against it, and a graceful stop."""

import asyncio
import json

import httpx
import openai
import pytest

from devkit import schema_defaults as defaults
from devkit.loopback_server import serve_process
from tinktalker.adapters.http_reply_generator import HttpReplyGenerator
from tinktalker.domain.dialogue import GenerationOptions, Message, Speaker

KEY = "test-key-123"


@pytest.fixture(scope="module")
def server(tiny_model_dir):
    # torch: these tests count the tokens of a random model's deterministic beam-search reply, and
    # CTranslate2 ends a beam search when its best beam ends (here at once: an empty reply); its own
    # serve test is elsewhere
    env = {
        "TINKTALKER_API_KEY": KEY,
        "TINKTALKER__STORE__BACKEND": "memory",
        "TINKTALKER__GENERATION__MAX_NEW_TOKENS": "8",
        "TINKTALKER__MODEL__ENGINE": "torch",
    }
    with serve_process(tiny_model_dir, env) as (url, process):
        yield url, process


def test_the_openai_client_gets_chat_and_text_completions(server):
    url, _ = server
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
    chat = client.chat.completions.create(
        model="tinktalker",
        messages=[
            {"role": "user", "content": "привет"},
            {"role": "assistant", "content": "да"},
            {"role": "user", "content": "акции растут?"},
        ],
        max_tokens=6,
        temperature=0,
        n=2,
        seed=1,
    )
    assert len(chat.choices) == 2 and chat.choices[0].message.role == "assistant"
    assert (
        chat.choices[0].message.content == chat.choices[1].message.content
    )  # temperature 0: deterministic
    assert chat.usage.prompt_tokens > 0 and 0 < chat.usage.completion_tokens <= 12
    assert chat.choices[0].finish_reason in ("stop", "length")
    text = client.completions.create(model="tinktalker", prompt="привет", max_tokens=4)
    assert isinstance(text.choices[0].text, str) and text.usage.completion_tokens <= 4
    assert [m.id for m in client.models.list()] == ["tinktalker"]


def test_the_openai_clients_stream_from_the_real_model(server):
    url, _ = server
    messages = [{"role": "system", "content": "ignored"}, {"role": "user", "content": "привет"}]
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
    whole = client.chat.completions.create(
        model="tinktalker", messages=messages, max_tokens=6, temperature=0
    )
    chunks = list(
        client.chat.completions.create(
            model="tinktalker",
            messages=messages,
            max_tokens=6,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert "".join(pieces) == whole.choices[0].message.content
    assert len(pieces) <= 1  # beam sampling (the model card's): the reply as one chunk once written
    assert chunks[-2].choices[0].finish_reason == whole.choices[0].finish_reason
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens

    async def stream_text() -> str:
        async_client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
        try:
            stream = await async_client.completions.create(
                model="tinktalker", prompt="привет", max_tokens=6, temperature=0, stream=True
            )
            return "".join([c.choices[0].text async for c in stream if c.choices])
        finally:
            await async_client.close()

    whole_text = client.completions.create(
        model="tinktalker", prompt="привет", max_tokens=6, temperature=0
    )
    assert asyncio.run(stream_text()) == whole_text.choices[0].text


def test_the_openai_client_sees_clear_errors(server):
    url, _ = server
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError, match="not served here"):
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError, match="max_tokens"):
        client.chat.completions.create(
            model="tinktalker", messages=[{"role": "user", "content": "hi"}], max_tokens=10**6
        )
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0).models.list()


def test_answer_speaks_the_original_format_byte_for_byte(server):
    url, _ = server
    response = httpx.post(
        f"{url}/answer",
        json={"context": ["привет", "здравствуй", "как дела?"]},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "application/json"
    )
    reply = json.loads(response.content)
    assert isinstance(reply, str)
    assert response.content == json.dumps(reply, ensure_ascii=False).encode("utf-8")
    assert (
        httpx.post(
            f"{url}/answer",
            json={"context": ["a", "b", "c", "d"]},
            headers={"Authorization": f"Bearer {KEY}"},
        ).status_code
        == 400
    )


def test_probes_and_metrics_stay_open_while_replies_want_the_key(server):
    url, _ = server
    assert httpx.get(f"{url}/health").json() == {"status": "ok"}
    assert httpx.get(f"{url}/ready").status_code == 200
    assert "tinktalker_requests_total" in httpx.get(f"{url}/metrics").text
    refused = httpx.post(f"{url}/answer", json={"context": ["hi"]})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert "API key" in refused.json()["error"]["message"]


@pytest.mark.parametrize("protocol", ["openai", "answer"])
def test_the_http_reply_generator_gets_replies_from_the_server(server, protocol):
    url, _ = server
    context = [
        Message(Speaker.USER, "привет"),
        Message(Speaker.BOT, "да"),
        Message(Speaker.USER, "акции?"),
    ]

    async def ask():
        generator = HttpReplyGenerator(
            url,
            api_key=KEY,
            protocol=protocol,
            markers=defaults.markers(),
            pad_to_messages=3,
        )
        try:
            one = await generator.generate(
                context, GenerationOptions(do_sample=False, max_new_tokens=5)
            )
            many = await generator.generate_batch(
                [context, context[:1]], GenerationOptions(do_sample=False)
            )
        finally:
            await generator.aclose()
        return one, many

    one, many = asyncio.run(ask())
    assert isinstance(one.text, str) and len(many) == 2
    if protocol == "openai":
        assert one.prompt_tokens > 0 and one.completion_tokens <= 5


def test_sigterm_stops_the_server_cleanly(tiny_model_dir):
    env = {"TINKTALKER__STORE__BACKEND": "memory", "TINKTALKER__LOGGING__LEVEL": "INFO"}
    with serve_process(tiny_model_dir, env) as (url, process):
        assert httpx.get(f"{url}/ready").status_code == 200
        process.terminate()
        # uvicorn finishes in-flight work and the lifespan, then re-raises SIGTERM so the exit says
        # why
        assert process.wait(20) in (0, -15)
        log = process.stderr.read()
    assert "Application shutdown complete" in log and "Traceback" not in log


def test_a_missing_model_ends_in_one_clear_line(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tinktalker.entrypoints.cli",
            "serve",
            "--model",
            str(tmp_path / "nope"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr.startswith("tinktalker: error: model folder")
        and "Traceback" not in result.stderr
    )
