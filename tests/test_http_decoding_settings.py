"""With `generator.backend: http` the bot's own `generation:` settings reach the model server: a
loopback OpenAI-compatible stand-in records the bodies the backend the container builds sends."""

from __future__ import annotations

import asyncio

import pytest
from litestar import Litestar, Request, post

from devkit.loopback_server import serving_in_thread
from tinktalker.domain.dialogue import GenerationOptions, Message, Speaker
from tinktalker.entrypoints.container import make_container
from tinktalker.entrypoints.settings import Settings

REPLY = {
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "text": "ok"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}
GENERATION = {
    "temperature": 0.7,
    "top_p": 0.9,
    "top_k": 5,
    "repetition_penalty": 1.3,
    "max_new_tokens": 30,
    "min_new_tokens": 4,
}


@pytest.fixture(scope="module")
def recorded():
    bodies: list[dict] = []

    @post(["/v1/chat/completions", "/v1/completions"], status_code=200)
    async def answer(request: Request) -> dict:
        bodies.append(await request.json())
        return REPLY

    with serving_in_thread(Litestar([answer])) as url:
        yield url, bodies


def sent(recorded, options: GenerationOptions | None = None, **http) -> dict:
    url, bodies = recorded
    settings = Settings.model_validate(
        {
            "generation": GENERATION,
            "generator": {"backend": "http", "http": {"base_url": url, **http}},
        }
    )

    async def ask() -> None:
        container = make_container(settings)
        generator = await container.reply_generator()
        try:
            await generator.generate([Message(Speaker.USER, "привет")], options)
        finally:
            await container.shutdown_resources()

    bodies.clear()
    asyncio.run(ask())
    (body,) = bodies
    return body


SAMPLING = ("max_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "min_tokens")


def test_the_bots_decoding_settings_go_out_as_openai_fields(recorded):
    body = sent(recorded)
    assert {k: body[k] for k in SAMPLING if k in body} == {
        "max_tokens": 30,
        "temperature": 0.7,
        "top_p": 0.9,
    }


@pytest.mark.parametrize("protocol", ["openai", "completions"])
def test_vllms_extension_fields_go_out_when_configured(recorded, protocol):
    body = sent(
        recorded,
        protocol=protocol,
        extensions=["top_k", "repetition_penalty", "min_tokens"],
    )
    assert {k: body[k] for k in SAMPLING if k in body} == {
        "max_tokens": 30,
        "temperature": 0.7,
        "top_p": 0.9,
        "top_k": 5,
        "repetition_penalty": 1.3,
        "min_tokens": 4,
    }


def test_a_requests_own_options_win_over_the_settings(recorded):
    options = GenerationOptions(max_new_tokens=8, do_sample=False, top_k=2, min_new_tokens=1)
    body = sent(recorded, options, extensions=["top_k", "min_tokens"])
    assert {k: body[k] for k in SAMPLING if k in body} == {
        "max_tokens": 8,
        "temperature": 0.0,
        "top_p": 0.9,
        "top_k": 2,
        "min_tokens": 1,
    }


def test_an_unknown_extension_is_refused_by_the_settings():
    with pytest.raises(ValueError, match="extensions"):
        Settings.model_validate({"generator": {"http": {"extensions": ["no_repeat_ngram_size"]}}})
