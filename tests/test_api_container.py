"""Container wiring for the API work: the http backend, batching over any backend, and config.yml
defaults."""

import asyncio
from pathlib import Path

import yaml

from tests.api_app_under_test import api_server
from tests.fake_reply_generator import EchoReplyGenerator
from tinktalker.domain.dialogue import Message, Speaker
from tinktalker.entrypoints.container import make_container
from tinktalker.entrypoints.settings import Settings


def test_the_http_backend_talks_to_a_server_with_the_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("TINKTALKER_GENERATOR_API_KEY", "k3y")
    with api_server(EchoReplyGenerator(), api_key="k3y") as url:
        settings = Settings.model_validate(
            {"generator": {"backend": "http", "http": {"base_url": url}}}
        )
        container = make_container(settings)

        async def ask():
            direct = await container.reply_generator()
            batching = await container.batching_reply_generator()
            replies = [
                await direct.generate([Message(Speaker.USER, "hi")]),
                await batching.generate([Message(Speaker.USER, "there")]),
            ]
            await container.shutdown_resources()
            return direct, replies

        direct, replies = asyncio.run(ask())
    assert type(direct).__name__ == "HttpReplyGenerator"
    assert [r.text for r in replies] == ["echo: hi", "echo: there"]
    assert container.prompt_meter() is None  # a remote model measures its own prompts


def test_config_yml_documents_exactly_the_schema_defaults():
    shipped = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "config.yml").read_text(encoding="utf-8")
    )
    assert Settings.model_validate(shipped) == Settings()
    assert set(shipped) == set(Settings.model_fields)
