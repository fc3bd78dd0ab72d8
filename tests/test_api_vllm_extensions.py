"""vLLM's extension fields on /v1: a client written for vLLM sends them to `tinktalker serve`
unchanged (a real uvicorn on loopback, the openai client, the tiny real model)."""

from __future__ import annotations

import openai
import pytest

from devkit.loopback_server import serving_in_thread
from tinktalker.entrypoints.api.app import make_app
from tinktalker.entrypoints.container import make_container
from tinktalker.entrypoints.settings import Settings


@pytest.fixture(scope="module", params=["torch", "ctranslate2"])
def client(request, tiny_model_dir, tmp_path_factory):
    settings = Settings.model_validate(
        {
            "model": {
                "name_or_path": str(tiny_model_dir),
                "device": "cpu",
                "engine": request.param,
                "cache_dir": str(tmp_path_factory.mktemp("ct2")),
            },
            "generation": {"num_beams": 1},
            "store": {"backend": "memory"},
        }
    )
    with serving_in_thread(make_app(make_container(settings), settings)) as url:
        yield openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)


def _completion_tokens(client: openai.OpenAI, **extra) -> int:
    reply = client.chat.completions.create(
        model="tinktalker",
        messages=[{"role": "user", "content": "привет"}],
        max_tokens=16,
        temperature=0,
        **extra,
    )
    return reply.usage.completion_tokens


def test_min_tokens_holds_the_reply_to_at_least_that_many_tokens(client):
    # greedy with one beam, the random model's likeliest first token ends the reply
    assert _completion_tokens(client) < 10
    assert _completion_tokens(client, extra_body={"min_tokens": 10}) >= 10
    assert _completion_tokens(client, extra_body={"min_tokens": 99}) == 16  # capped by max_tokens


def test_min_tokens_beyond_the_servers_limit_is_refused(client):
    with pytest.raises(openai.BadRequestError, match="min_tokens"):
        _completion_tokens(client, extra_body={"min_tokens": 100_000})
