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


def test_batches_in_flight_default_to_what_the_in_process_engine_runs_at_once():
    from devkit import schema_defaults as defaults
    from tinktalker.adapters.model.in_process_reply_generator import InProcessReplyGenerator

    two_workers = InProcessReplyGenerator(None, 128, defaults.decoding(), batches_in_flight=2)

    async def in_flight(inner, **batching) -> int:
        container = make_container(Settings.model_validate({"batching": batching}))
        with container.reply_generator.override(inner):
            batching_generator = await container.batching_reply_generator()
            await container.shutdown_resources()
        return batching_generator.max_in_flight

    assert asyncio.run(in_flight(two_workers)) == 2
    assert asyncio.run(in_flight(EchoReplyGenerator())) == 1  # a model server batches itself
    assert asyncio.run(in_flight(two_workers, max_in_flight=1)) == 1
    two_workers.close()
